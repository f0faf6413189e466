"""Routes of the search app under /api/ (namespace `search`)."""

from django.urls import path

from facesearch.search import api

app_name = "search"

urlpatterns = [
    path("search/", api.SearchApi.as_view(), name="search"),
    path("identify/", api.IdentifyApi.as_view(), name="identify"),
    path("verify/", api.VerifyApi.as_view(), name="verify"),
]
