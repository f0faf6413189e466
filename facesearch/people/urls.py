"""Routes of the people app under /api/ (namespace `people`)."""

from django.urls import path

from facesearch.people import api

app_name = "people"

urlpatterns = [
    path("people/", api.PersonListApi.as_view(), name="person-list"),
    path("people/suggestions/", api.PersonSuggestionListApi.as_view(), name="person-suggestions"),
    path("people/<int:person_id>/", api.PersonDetailApi.as_view(), name="person-detail"),
    path("people/<int:person_id>/faces/", api.PersonFaceListApi.as_view(), name="person-faces"),
    path("people/<int:person_id>/faces/<int:face_id>/", api.PersonFaceDetailApi.as_view(), name="person-face"),
    path("people/<int:person_id>/rejections/", api.PersonRejectionListApi.as_view(), name="person-rejections"),
    path(
        "people/<int:person_id>/rejections/<int:face_id>/",
        api.PersonRejectionDetailApi.as_view(),
        name="person-rejection",
    ),
    path("people/<int:person_id>/merge/", api.PersonMergeApi.as_view(), name="person-merge"),
    path(
        "people/<int:person_id>/merges/<int:merge_id>/undo/", api.PersonMergeUndoApi.as_view(), name="person-merge-undo"
    ),
    path("people/<int:person_id>/history/", api.PersonHistoryApi.as_view(), name="person-history"),
    path("people/<int:person_id>/split/", api.PersonSplitApi.as_view(), name="person-split"),
]
