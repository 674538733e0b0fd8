from django.apps import AppConfig


class DocumentsConfig(AppConfig):
    name = "playground.documents"

    def ready(self) -> None:
        # Registers the job "documents.extract" and the sweep of stalled readings.
        from . import processing  # noqa: F401
