from django.apps import AppConfig


class PhotosConfig(AppConfig):
    name = "facesearch.photos"
    label = "photos"

    def ready(self) -> None:
        from facesearch.photos import checks  # noqa: F401  (registers the system checks)
