from django.apps import AppConfig


class PhotosConfig(AppConfig):
    name = "facesearch.photos"
    label = "photos"
