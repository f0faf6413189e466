"""What the Photos page asks of the API: photos with A and B, with unnamed faces, with none; a timeline order (taken,
else uploaded); bulk delete and reprocess (all or nothing); one upload sent in several requests is one job; Retry is
offered only for failed items a retry can succeed for."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from facesearch.photos.models import IngestItem, IngestJob, Photo
from tests.factories import FaceFactory, IngestJobFactory, LibraryFactory, PersonFactory, PhotoFactory

pytestmark = pytest.mark.django_db


def _ids(response) -> list[int]:
    assert response.status_code == 200, response.content
    return [photo["id"] for photo in response.json()["results"]]


def test_photos_are_filtered_by_several_people_together_and_by_their_faces(api_client, media_root):
    ada, bob = PersonFactory(name="Ada"), PersonFactory(name="Bob")
    both, only_ada, stranger = PhotoFactory(), PhotoFactory(), PhotoFactory()
    FaceFactory(photo=both, person=ada), FaceFactory(photo=both, person=bob), FaceFactory(photo=both)
    FaceFactory(photo=only_ada, person=ada)
    FaceFactory(photo=stranger)
    empty, failed = PhotoFactory(), PhotoFactory(status=Photo.Status.FAILED, error="broken")

    assert set(_ids(api_client.get("/api/photos/", {"person": ada.id}))) == {both.id, only_ada.id}
    assert _ids(api_client.get("/api/photos/", {"person": [ada.id, bob.id]})) == [both.id]  # one row, not three
    assert set(_ids(api_client.get("/api/photos/", {"faces": "unnamed"}))) == {both.id, stranger.id}
    assert _ids(api_client.get("/api/photos/", {"faces": "none"})) == [empty.id]  # a failed photo is not "no face"
    assert _ids(api_client.get("/api/photos/", {"status": "failed"})) == [failed.id]
    assert _ids(api_client.get("/api/photos/", {"person": ada.id, "faces": "unnamed"})) == [both.id]
    assert api_client.get("/api/photos/", {"faces": "some"}).status_code == 400


def test_the_timeline_order_is_when_taken_else_when_uploaded(api_client, media_root):
    old = PhotoFactory(taken_at=datetime(2001, 5, 1, tzinfo=UTC))
    new = PhotoFactory(taken_at=datetime(2030, 1, 1, tzinfo=UTC))
    undated = PhotoFactory()  # uploaded now: between the two
    assert _ids(api_client.get("/api/photos/", {"ordering": "-date"})) == [new.id, undated.id, old.id]
    assert _ids(api_client.get("/api/photos/", {"ordering": "date"})) == [old.id, undated.id, new.id]


def test_bulk_delete_removes_the_photos_with_their_faces_and_people_keep_their_other_faces(api_client, media_root):
    ada = PersonFactory(name="Ada")
    gone, kept = FaceFactory(person=ada), FaceFactory(person=ada)
    other = PhotoFactory()
    response = api_client.post("/api/photos/delete/", {"photo_ids": [gone.photo_id, other.id]}, format="json")
    assert response.status_code == 200 and response.json() == {"deleted": 2}
    assert set(Photo.objects.values_list("id", flat=True)) == {kept.photo_id}
    assert api_client.get(f"/api/people/{ada.id}/").json()["face_count"] == 1


def test_a_bulk_operation_naming_an_unknown_photo_changes_nothing(api_client, media_root):
    mine, elsewhere = PhotoFactory(), PhotoFactory(library=LibraryFactory())
    for url in ("/api/photos/delete/", "/api/photos/reprocess/"):
        response = api_client.post(url, {"photo_ids": [mine.id, elsewhere.id]}, format="json")
        assert response.status_code == 404 and response.json()["extra"] == {"photo_ids": [elsewhere.id]}
    assert Photo.objects.filter(id=mine.id, status=Photo.Status.DONE).exists()
    assert not IngestJob.objects.exists()
    assert api_client.post("/api/photos/delete/", {"photo_ids": []}, format="json").status_code == 400


def test_bulk_reprocess_queues_the_photos_as_one_job_and_names_stay(api_client, media_root):
    ada = PersonFactory(name="Ada")
    face = FaceFactory(person=ada)
    failed = PhotoFactory(status=Photo.Status.FAILED, error="broken")
    response = api_client.post("/api/photos/reprocess/", {"photo_ids": [face.photo_id, failed.id]}, format="json")
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["queued"] == 2 and len(body["jobs"]) == 1
    job = IngestJob.objects.get(id=body["jobs"][0])
    assert job.source == IngestJob.Source.REPROCESS
    assert set(job.items.values_list("photo_id", flat=True)) == {face.photo_id, failed.id}
    assert set(Photo.objects.values_list("status", flat=True)) == {Photo.Status.PENDING}
    face.refresh_from_db()
    assert face.person_id == ada.id


def _upload(path: Path) -> SimpleUploadedFile:
    return SimpleUploadedFile(path.name, path.read_bytes(), content_type="image/jpeg")


def test_an_upload_sent_in_several_requests_is_one_job(api_client, lfw_photos, media_root):
    first = api_client.post("/api/photos/", {"files": [_upload(p) for p in lfw_photos[:3]]}, format="multipart")
    assert first.status_code == 201, first.content
    job_id = first.json()["job"]["id"]
    files = [_upload(p) for p in lfw_photos[3:5]] + [SimpleUploadedFile("notes.jpg", b"not an image\n")]
    second = api_client.post("/api/photos/", {"files": files, "job": job_id}, format="multipart")
    assert second.status_code == 201, second.content
    job = second.json()["job"]
    assert (job["id"], job["total"], job["pending"], job["failed"], job["state"]) == (job_id, 6, 5, 1, "running")
    refused = api_client.post(
        "/api/photos/", {"files": [SimpleUploadedFile("x.jpg", b"no")], "job": job_id}, format="multipart"
    )
    assert refused.status_code == 200 and refused.json()["job"]["failed"] == 2  # kept with the job's other files
    assert IngestJob.objects.count() == 1 and Photo.objects.count() == 5
    missing = api_client.post("/api/photos/", {"files": [_upload(lfw_photos[5])], "job": 10**9}, format="multipart")
    assert missing.status_code == 404 and Photo.objects.count() == 5


def test_a_job_says_how_many_of_its_failures_a_retry_can_help(api_client, media_root):
    upload = IngestJobFactory(source=IngestJob.Source.UPLOAD, state=IngestJob.State.DONE)
    broken = PhotoFactory(status=Photo.Status.FAILED, error="decoder crashed")
    IngestItem.objects.create(job=upload, name="a.jpg", photo=None, state=IngestItem.State.FAILED, error="refused")
    assert api_client.get(f"/api/jobs/{upload.id}/").json()["retryable"] == 0
    IngestItem.objects.create(job=upload, name="b.jpg", photo=broken, state=IngestItem.State.FAILED, error="crashed")
    body = api_client.get(f"/api/jobs/{upload.id}/").json()
    assert (body["failed"], body["retryable"]) == (2, 1)
    folder = IngestJobFactory(source=IngestJob.Source.FOLDER, path="/nowhere", state=IngestJob.State.DONE)
    IngestItem.objects.create(job=folder, name="c.jpg", photo=None, state=IngestItem.State.FAILED, error="unreadable")
    listed = {job["id"]: job["retryable"] for job in api_client.get("/api/jobs/").json()["results"]}
    assert listed == {upload.id: 1, folder.id: 1}
