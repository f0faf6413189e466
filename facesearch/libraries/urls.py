"""Routes of the libraries app under /api/ (namespace `libraries`)."""

from django.urls import path

from facesearch.libraries import api

app_name = "libraries"

urlpatterns = [
    path("libraries/", api.LibraryListApi.as_view(), name="library-list"),
    path("libraries/<int:library_id>/", api.LibraryDetailApi.as_view(), name="library-detail"),
    path("libraries/<int:library_id>/members/", api.MemberListApi.as_view(), name="member-list"),
    path("libraries/<int:library_id>/members/<int:user_id>/", api.MemberDetailApi.as_view(), name="member-detail"),
    path("libraries/<int:library_id>/keys/", api.ApiKeyListApi.as_view(), name="key-list"),
    path("libraries/<int:library_id>/keys/<int:key_id>/", api.ApiKeyDetailApi.as_view(), name="key-detail"),
    path("audit/", api.AuditListApi.as_view(), name="audit-list"),
    path("erasures/", api.ErasureListApi.as_view(), name="erasure-list"),
]
