"""Every REST route under /api/, one include per app."""

from django.urls import include, path

urlpatterns = [
    path("", include("facesearch.photos.urls")),
    path("", include("facesearch.people.urls")),
    path("", include("facesearch.search.urls")),
    path("", include("facesearch.libraries.urls")),
]
