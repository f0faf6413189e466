from django.apps import AppConfig


class GroupingConfig(AppConfig):
    name = "facesearch.grouping"
    label = "grouping"
