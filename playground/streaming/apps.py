from django.apps import AppConfig


class StreamingConfig(AppConfig):
    """Installed so that Celery finds ``tasks`` here; it has no models."""

    name = "playground.streaming"
