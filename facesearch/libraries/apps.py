from django.apps import AppConfig


class LibrariesConfig(AppConfig):
    name = "facesearch.libraries"
    verbose_name = "Libraries and access"

    def ready(self) -> None:
        from facesearch.libraries import signals  # noqa: F401  (a new user gets a personal library)
