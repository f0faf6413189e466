"""Deleting a photo leaves no trace: a scan of every table and of MEDIA_ROOT finds nothing of it."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.apps import apps
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection, models

from facesearch.people.services import faces_assign, person_update
from facesearch.photos import ingest, jobs, processing, services
from facesearch.photos.models import Face, IngestItem, IngestJob, Photo
from tests.facesearch.photos.support import files_under
from tests.factories import PersonFactory, PhotoFactory, first_library, jpeg_bytes


def traces_in_database(photo_id: int, face_ids: list[int], needles: list[str]) -> list[str]:
    """Every row of every model that points at the photo or its faces, or whose text mentions its sha256 or name."""
    found = []
    for model in apps.get_models():
        for field in model._meta.get_fields():
            if not getattr(field, "concrete", False):
                continue
            if field.is_relation and field.related_model is Photo:
                hits = model._base_manager.filter(**{field.name: photo_id})
            elif field.is_relation and field.related_model is Face:
                hits = model._base_manager.filter(**{f"{field.name}__in": face_ids})
            elif isinstance(field, models.CharField | models.TextField):
                query = models.Q()
                for needle in needles:
                    query |= models.Q(**{f"{field.name}__contains": needle})
                hits = model._base_manager.filter(query)
            else:
                continue
            found += [f"{model._meta.label}.{field.name} of row {pk}" for pk in hits.values_list("pk", flat=True)]
    return found


def vector_count() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(embedding) FROM photos_face")
        return cursor.fetchone()[0]


@pytest.mark.django_db
def test_deleting_a_photo_leaves_nothing_of_it_in_the_database_or_on_disk(
    api_client, lfw_photos, media_root, django_capture_on_commit_callbacks
):
    keep, _ = services.photo_create(
        file=SimpleUploadedFile("keep.jpg", lfw_photos[0].read_bytes()), library=first_library(), uploaded_by=None
    )
    job = jobs.upload_job_create(library=first_library(), user=None)
    name = "Tony Blair at the summit.jpg"
    ingest.job_file_add(job=job, file=SimpleUploadedFile(name, lfw_photos[2].read_bytes()), name=name, uploaded_by=None)
    jobs.job_seal(job=job)
    photo = Photo.objects.get(original_name=name)
    processing.photos_encode(photo_ids=[keep.id, photo.id])
    face_ids = list(Face.objects.filter(photo=photo).values_list("id", flat=True))
    person = PersonFactory(name="Tony Blair")
    faces_assign(person=person, face_ids=face_ids[:1])
    faces_assign(person=person, face_ids=list(Face.objects.filter(photo=keep).values_list("id", flat=True)))
    person_update(person=person, data={"cover_face_id": face_ids[0]})
    needles = [photo.sha256, name]
    assert face_ids and traces_in_database(photo.id, face_ids, needles)  # the scan does find it while it exists
    path = Path(media_root, photo.file.name)
    files_before, vectors_before = files_under(media_root), vector_count()
    assert path in files_before

    with django_capture_on_commit_callbacks(execute=True):
        response = api_client.delete(f"/api/photos/{photo.id}/")

    assert response.status_code == 204 and response.content == b""
    assert traces_in_database(photo.id, face_ids, needles) == []
    assert vector_count() == vectors_before - len(face_ids)
    assert files_under(media_root) == [p for p in files_before if p != path]
    assert not any(photo.sha256 in str(p) for p in media_root.rglob("*"))  # nor its content-addressed folders
    assert [d for d in media_root.rglob("*") if d.is_dir() and not any(d.iterdir())] == []
    # What is not the photo's stays: the other photo, its faces, the person (with a cover among its faces), the job.
    assert Face.objects.filter(photo=keep).exists() and Path(media_root, keep.file.name).exists()
    person.refresh_from_db()
    assert person.cover_face is not None and person.cover_face.photo_id == keep.id
    job.refresh_from_db()
    assert job.state == IngestJob.State.DONE and job.items.count() == 0
    assert api_client.get(f"/api/photos/{photo.id}/").status_code == 404


@pytest.mark.django_db
def test_deleting_a_pending_photo_finishes_its_job(lfw_photos, media_root, django_capture_on_commit_callbacks):
    job = jobs.upload_job_create(library=first_library(), user=None)
    for path in lfw_photos[:2]:
        ingest.job_file_add(job=job, file=SimpleUploadedFile(path.name, path.read_bytes()), name=path.name,
                              uploaded_by=None, enqueue=False)  # fmt: skip
    jobs.job_seal(job=job)
    first, second = Photo.objects.order_by("id")
    processing.photos_encode(photo_ids=[first.id])
    job.refresh_from_db()
    assert job.state == IngestJob.State.RUNNING

    with django_capture_on_commit_callbacks(execute=True):
        services.photo_delete(photo=second)

    job.refresh_from_db()
    assert job.state == IngestJob.State.DONE
    assert list(job.items.values_list("state", flat=True)) == [IngestItem.State.DONE]
    assert files_under(media_root) == [Path(media_root, first.file.name)]


@pytest.mark.django_db
def test_a_file_is_kept_when_the_same_bytes_are_stored_again_before_the_delete_commits(lfw_photos, media_root):
    photo, _ = services.photo_create(
        file=SimpleUploadedFile("a.jpg", lfw_photos[0].read_bytes()), library=first_library(), uploaded_by=None
    )
    file_name = photo.file.name
    services.photo_delete(photo=photo)  # inside the test's transaction: the file's removal waits for a commit
    again, created = services.photo_create(
        file=SimpleUploadedFile("b.jpg", lfw_photos[0].read_bytes()), library=first_library(), uploaded_by=None
    )
    assert created and again.file.name == file_name
    services._photo_file_forget(file_name)  # what the delete's on_commit runs
    assert Path(media_root, file_name).exists()


@pytest.mark.django_db
def test_deleting_a_photo_also_deletes_the_thumbnails_made_of_it(
    api_client, media_root, django_capture_on_commit_callbacks
):
    photo = PhotoFactory(content=jpeg_bytes(800, 600, seed=1), width=800, height=600)
    keep = PhotoFactory(content=jpeg_bytes(800, 600, seed=2), width=800, height=600)
    for size in (96, 256, 320, 640, 1024, 2000):
        for each in (photo, keep):
            assert api_client.get(f"/api/photos/{each.id}/image", {"size": size}).status_code == 200
    assert sum(photo.sha256 in path.name for path in files_under(media_root / "thumbs")) == 5  # the cached sizes

    with django_capture_on_commit_callbacks(execute=True):
        assert api_client.delete(f"/api/photos/{photo.id}/").status_code == 204

    assert not any(photo.sha256 in str(path) for path in media_root.rglob("*"))
    assert [path.name for path in files_under(media_root)] == [
        f"{keep.sha256}.jpg",
        *sorted(f"{keep.sha256}-{size}.jpg" for size in (128, 256, 320, 640, 1024)),
    ]
    assert [d for d in media_root.rglob("*") if d.is_dir() and not any(d.iterdir())] == []
