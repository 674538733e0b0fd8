from django.apps import AppConfig


class ComparisonsConfig(AppConfig):
    name = "playground.comparisons"
