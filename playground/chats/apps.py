from django.apps import AppConfig


class ChatsConfig(AppConfig):
    name = "playground.chats"

    def ready(self) -> None:
        # Registers the job "chats.generate" and the sweeps of answers whose worker died.
        from . import actions, generation  # noqa: F401
