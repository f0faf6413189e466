from django.apps import AppConfig


class PeopleConfig(AppConfig):
    name = "facesearch.people"
    label = "people"
    verbose_name = "People"
