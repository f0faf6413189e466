from django.apps import AppConfig


class SearchConfig(AppConfig):
    name = "facesearch.search"
    label = "search"
