from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "playground.accounts"

    def ready(self) -> None:
        # Ended sessions close their websockets.
        from . import signals  # noqa: F401
