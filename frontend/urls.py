"""Pages of the web UI; sign-in and sign-out are Django's auth views. Data comes from the REST API under /api/."""

from django.contrib.auth import views as auth_views
from django.urls import path

from frontend import views

urlpatterns = [
    path(
        "login/",
        auth_views.LoginView.as_view(template_name="frontend/login.html", redirect_authenticated_user=True),
        name="login",
    ),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("", views.page("search.html", "search"), name="search"),
    path("photos/", views.page("photos.html", "photos"), name="photos"),
    path("photos/<int:photo_id>/", views.page("photo.html", "photos"), name="photo"),
    path("people/", views.page("people.html", "people"), name="people"),
    path("people/<int:person_id>/", views.page("person.html", "people"), name="person"),
    path("faces/unknown/", views.page("unknown_faces.html", "unknown"), name="unknown-faces"),
    path("jobs/", views.page("jobs.html", "jobs"), name="jobs"),
    path("libraries/", views.page("libraries.html", "libraries"), name="libraries"),
    path("audit/", views.page("audit.html", "audit"), name="audit"),
]
