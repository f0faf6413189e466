from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "facesearch.core"
    label = "core"
    verbose_name = "Core"
