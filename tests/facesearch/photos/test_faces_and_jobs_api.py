"""Faces (list, detail, crop, assign) and jobs (progress, items, retry) through the API."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from facesearch.photos import ingest, jobs
from facesearch.photos.models import Face, IngestItem, IngestJob, Photo
from tests.factories import (
    FaceFactory,
    IngestItemFactory,
    IngestJobFactory,
    LibraryFactory,
    PersonFactory,
    PhotoFactory,
    first_library,
)


@pytest.mark.django_db
def test_a_face_is_assigned_and_unassigned_through_patch(api_client, media_root):
    face = FaceFactory()
    person = PersonFactory(name="Ada")

    response = api_client.patch(f"/api/faces/{face.id}/", {"person": person.id}, format="json")
    assert response.status_code == 200
    assert response.json()["person"] == {"id": person.id, "name": "Ada"} and response.json()["assignment"] == "manual"
    face.refresh_from_db()
    assert (face.person_id, face.assignment) == (person.id, Face.Assignment.MANUAL)

    response = api_client.patch(f"/api/faces/{face.id}/", {"person": None}, format="json")
    assert response.status_code == 200 and response.json()["person"] is None
    face.refresh_from_db()
    assert (face.person_id, face.assignment) == (None, "")


@pytest.mark.django_db
@pytest.mark.parametrize("body", [{"person": "Ada"}, {}], ids=["not_an_id", "missing"])
def test_assigning_to_something_that_is_not_a_person_is_a_400(api_client, media_root, body):
    face = FaceFactory()
    response = api_client.patch(f"/api/faces/{face.id}/", body, format="json")
    assert response.status_code == 400 and "person" in response.json()["extra"]["fields"]
    face.refresh_from_db()
    assert face.person_id is None


@pytest.mark.django_db
@pytest.mark.parametrize("where", ["nowhere", "another_library"])
def test_assigning_to_a_person_outside_the_faces_library_is_a_404_that_changes_nothing(api_client, media_root, where):
    face = FaceFactory()
    person_id = 999_999 if where == "nowhere" else PersonFactory(library=LibraryFactory()).id
    response = api_client.patch(f"/api/faces/{face.id}/", {"person": person_id}, format="json")
    assert response.status_code == 404 and response.json()["extra"] == {"id": person_id}  # the same answer for both
    face.refresh_from_db()
    assert face.person_id is None


@pytest.mark.django_db
def test_face_detail_and_crop(api_client, media_root):
    face = FaceFactory(crop=b"\xff\xd8jpeg bytes")
    body = api_client.get(f"/api/faces/{face.id}/").json()
    assert body["photo"] == face.photo_id and body["box"] == face.box and body["model_id"] == face.model_id
    assert body["crop_url"].endswith(f"/api/faces/{face.id}/crop")
    crop = api_client.get(f"/api/faces/{face.id}/crop")
    assert (crop.status_code, crop["Content-Type"], crop.content) == (200, "image/jpeg", b"\xff\xd8jpeg bytes")


@pytest.mark.django_db
def test_job_detail_counts_items_by_state_and_lists_failures_with_reasons(api_client, media_root):
    job = IngestJobFactory(source=IngestJob.Source.FOLDER, path="/photos", state=IngestJob.State.RUNNING)
    IngestItemFactory.create_batch(3, job=job, state=IngestItem.State.DONE)
    IngestItemFactory(job=job, state=IngestItem.State.SKIPPED)
    IngestItemFactory(job=job, state=IngestItem.State.PENDING)
    failed = IngestItemFactory(job=job, name="bad.jpg", photo=None, state=IngestItem.State.FAILED, error="not an image")

    body = api_client.get(f"/api/jobs/{job.id}/").json()
    assert {key: body[key] for key in ("total", "done", "skipped", "failed", "pending", "state", "source")} == {
        "total": 6, "done": 3, "skipped": 1, "failed": 1, "pending": 1, "state": "running", "source": "folder"
    }  # fmt: skip
    assert body["progress"] == round(5 / 6, 4)
    assert body["failures"] == [
        {"id": failed.id, "name": "bad.jpg", "state": "failed", "error": "not an image", "photo": None,
         "updated_at": body["failures"][0]["updated_at"]}
    ]  # fmt: skip
    items = api_client.get(body["items_url"], {"state": "skipped"}).json()
    assert items["count"] == 1 and items["results"][0]["state"] == "skipped"
    listed = api_client.get("/api/jobs/", {"state": "running"}).json()
    assert [(j["id"], j["total"], j["failed"]) for j in listed["results"]] == [(job.id, 6, 1)]


@pytest.mark.django_db
def test_retry_requeues_failed_photos_and_rereads_failed_folder_files(
    api_client, media_root, tmp_path, lfw_photos, django_capture_on_commit_callbacks
):
    folder = tmp_path / "album"
    folder.mkdir()
    (folder / "later.jpg").write_bytes(b"half-copied")
    job, _ = ingest.folder_job_start(path=folder, library=first_library(), user=None)
    refused, _ = ingest.folder_file_ingest(job=job, name="later.jpg", user=None)
    photo = PhotoFactory(status=Photo.Status.FAILED, error="encoding failed")
    IngestItemFactory(job=job, photo=photo, name="x.jpg", state=IngestItem.State.FAILED, error="encoding failed")
    jobs.job_seal(job=job)
    job.refresh_from_db()
    assert job.state == IngestJob.State.DONE and refused.state == IngestItem.State.FAILED
    (folder / "later.jpg").write_bytes(lfw_photos[0].read_bytes())  # the copy has finished meanwhile

    response = api_client.post(f"/api/jobs/{job.id}/retry/")

    assert response.status_code == 200
    body = response.json()
    assert body["retried"] == 2
    assert (body["job"]["state"], body["job"]["pending"], body["job"]["failed"], body["job"]["failures"]) == (
        "running", 2, 0, []
    )  # fmt: skip
    photo.refresh_from_db()
    assert (photo.status, photo.error) == (Photo.Status.PENDING, "")
    assert job.items.get(name="later.jpg").photo.sha256 == Photo.objects.get(original_name="later.jpg").sha256
    assert api_client.post(f"/api/jobs/{job.id}/retry/").json()["retried"] == 0


@pytest.mark.django_db
def test_a_refused_upload_cannot_be_retried(api_client, media_root):
    job = jobs.upload_job_create(library=first_library(), user=None)
    ingest.job_file_add(job=job, file=SimpleUploadedFile("a.jpg", b"nope"), name="a.jpg", uploaded_by=None)
    jobs.job_seal(job=job)
    body = api_client.post(f"/api/jobs/{job.id}/retry/").json()
    assert body["retried"] == 0 and body["job"]["state"] == "done" and body["job"]["failed"] == 1


@pytest.mark.django_db
@pytest.mark.parametrize("param", ["person", "photo"])
def test_filtering_faces_by_an_unknown_id_lists_none_not_all(api_client, media_root, param):
    FaceFactory(person=PersonFactory())
    response = api_client.get("/api/faces/", {param: 999_999})
    assert response.status_code == 200 and response.json()["count"] == 0
