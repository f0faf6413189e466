"""Routes of the photos app under /api/ (namespace `photos`)."""

from django.urls import path

from facesearch.photos import api

app_name = "photos"

urlpatterns = [
    path("photos/", api.PhotoListApi.as_view(), name="photo-list"),
    path("photos/delete/", api.PhotoBulkDeleteApi.as_view(), name="photo-bulk-delete"),
    path("photos/reprocess/", api.PhotoBulkReprocessApi.as_view(), name="photo-bulk-reprocess"),
    path("photos/<int:photo_id>/", api.PhotoDetailApi.as_view(), name="photo-detail"),
    path("photos/<int:photo_id>/image", api.PhotoImageApi.as_view(), name="photo-image"),
    path("photos/<int:photo_id>/faces/", api.PhotoFaceDrawApi.as_view(), name="photo-face-draw"),
    path("faces/", api.FaceListApi.as_view(), name="face-list"),
    path("faces/<int:face_id>/", api.FaceDetailApi.as_view(), name="face-detail"),
    path("faces/<int:face_id>/crop", api.FaceCropApi.as_view(), name="face-crop"),
    path("faces/<int:face_id>/review/", api.FaceReviewApi.as_view(), name="face-review"),
    path("jobs/", api.JobListApi.as_view(), name="job-list"),
    path("jobs/<int:job_id>/", api.JobDetailApi.as_view(), name="job-detail"),
    path("jobs/<int:job_id>/items/", api.JobItemListApi.as_view(), name="job-items"),
    path("jobs/<int:job_id>/retry/", api.JobRetryApi.as_view(), name="job-retry"),
]
