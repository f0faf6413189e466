"""The write-path services on real LFW photos with the real pipeline (loaded once in this process)."""

from __future__ import annotations

import io
import threading
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import numpy as np
import pytest
from django.conf import settings as django_settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from PIL import Image

from facesearch.core.errors import ApplicationError
from facesearch.core.pipeline import get_pipeline
from facesearch.people.services import faces_assign
from facesearch.photos import ingest, jobs, processing, services
from facesearch.photos.models import Face, IngestItem, IngestJob, Photo
from facesearch.photos.storage import photo_file_path
from tests.facesearch.photos.support import files_under
from tests.factories import FaceFactory, LibraryFactory, PersonFactory, UserFactory, first_library


def upload(path: Path, name: str | None = None) -> SimpleUploadedFile:
    return SimpleUploadedFile(name or path.name, path.read_bytes())


def face_rows(photo: Photo) -> list[tuple]:
    return [
        (
            face.id,
            face.index,
            tuple(face.box),
            face.model_id,
            face.person_id,
            np.asarray(face.embedding, dtype=np.float32).tobytes(),
        )
        for face in Face.objects.filter(photo=photo).order_by("index")
    ]


@pytest.fixture(scope="session")
def pipeline():
    return get_pipeline(django_settings.FACESEARCH_ENCODER)  # no database here: name the encoder


@pytest.mark.django_db
def test_photo_create_stores_the_file_at_its_content_address(lfw_photos, media_root):
    user = UserFactory()
    photo, created = services.photo_create(file=upload(lfw_photos[0]), library=user.personal_library, uploaded_by=user)
    assert created and photo.status == Photo.Status.PENDING and photo.uploaded_by == user
    assert photo.file.name == f"photos/{photo.sha256[:2]}/{photo.sha256[2:4]}/{photo.sha256}.jpg"
    assert photo_file_path(photo.file.name).read_bytes() == lfw_photos[0].read_bytes()
    assert (photo.width, photo.height, photo.size) == (250, 250, lfw_photos[0].stat().st_size)
    assert files_under(media_root) == [photo_file_path(photo.file.name)]


@pytest.mark.django_db
def test_photo_create_reads_the_exif_capture_time_with_its_offset(lfw_photos, media_root):
    image = Image.open(lfw_photos[0])
    exif = Image.Exif()
    exif.get_ifd(0x8769).update({0x9003: "2019:07:14 16:05:09", 0x9011: "+02:00"})
    with_offset = io.BytesIO()
    image.save(with_offset, "JPEG", exif=exif)
    exif = Image.Exif()
    exif.get_ifd(0x8769)[0x9003] = "2001:02:03 04:05:06"
    without_offset = io.BytesIO()
    image.rotate(90, expand=True).crop((0, 0, 200, 250)).save(without_offset, "JPEG", exif=exif)

    photo, _ = services.photo_create(
        file=SimpleUploadedFile("a.jpg", with_offset.getvalue()), library=first_library(), uploaded_by=None
    )
    assert photo.taken_at == datetime(2019, 7, 14, 16, 5, 9, tzinfo=timezone(timedelta(hours=2)))
    photo, _ = services.photo_create(
        file=SimpleUploadedFile("b.jpg", without_offset.getvalue()), library=first_library(), uploaded_by=None
    )
    assert photo.taken_at == datetime(2001, 2, 3, 4, 5, 6, tzinfo=UTC)  # TIME_ZONE is UTC
    assert (photo.width, photo.height) == (200, 250)


@pytest.mark.django_db
def test_processing_twice_keeps_the_same_faces(lfw_photos, media_root, pipeline):
    photo, _ = services.photo_create(file=upload(lfw_photos[2]), library=first_library(), uploaded_by=None)
    processing.photos_encode(photo_ids=[photo.id])
    first = face_rows(photo)
    processing.photos_encode(photo_ids=[photo.id])
    second = face_rows(photo)

    assert len(first) >= 1 and second == first  # same ids, boxes, embeddings: no duplicates
    photo.refresh_from_db()
    assert photo.status == Photo.Status.DONE and photo.model_id == pipeline.spec.model_id
    assert Face.objects.filter(photo=photo).count() == len(first)


@pytest.mark.django_db
def test_reprocessing_keeps_faces_assigned_to_their_people(lfw_photos, media_root, pipeline):
    photo, _ = services.photo_create(file=upload(lfw_photos[0]), library=first_library(), uploaded_by=None)
    processing.photos_encode(photo_ids=[photo.id])
    face = Face.objects.get(photo=photo, index=0)
    person = PersonFactory(name="Colin Powell")
    faces_assign(person=person, face_ids=[face.id])

    processing.photos_encode(photo_ids=[photo.id])
    face.refresh_from_db()
    assert (face.person_id, face.assignment) == (person.id, Face.Assignment.MANUAL)
    person.refresh_from_db()
    assert person.cover_face_id == face.id


@pytest.mark.django_db
def test_reencoding_with_another_encoder_replaces_its_faces_and_keeps_their_people(lfw_photos, media_root, pipeline):
    photo, _ = services.photo_create(file=upload(lfw_photos[4]), library=first_library(), uploaded_by=None)
    box = [float(v) for v in pipeline.encode(processing._photo_image(photo))[0].box]
    person = PersonFactory(name="Serena Williams")
    old = FaceFactory(photo=photo, index=0, box=box, model_id="older-encoder-v0", person=person, assignment="manual")
    stray = FaceFactory(photo=photo, index=1, box=[0, 0, 5, 5], model_id="older-encoder-v0")
    person.cover_face = old
    person.save()

    processing.photos_encode(photo_ids=[photo.id])

    faces = list(Face.objects.filter(photo=photo).order_by("index"))
    assert {face.model_id for face in faces} == {pipeline.spec.model_id}
    assert not Face.objects.filter(id__in=[old.id, stray.id]).exists()
    assert (faces[0].person_id, faces[0].assignment, faces[0].assignment_distance) == (person.id, "manual", None)
    person.refresh_from_db()
    assert person.cover_face_id == faces[0].id


@pytest.mark.django_db
def test_reprocessing_replaces_a_stale_face_of_the_same_encoder_whose_slot_a_new_face_takes(
    lfw_photos, media_root, pipeline
):
    """An old face the new detections do not overlap is deleted, and the new face may take its index: the row that
    held that (photo, encoder, index) slot must be out of the way first, or the insert breaks the unique constraint."""
    photo, _ = services.photo_create(file=upload(lfw_photos[4]), library=first_library(), uploaded_by=None)
    stale = FaceFactory(photo=photo, index=0, box=[0, 0, 5, 5], model_id=pipeline.spec.model_id)

    processing.photos_encode(photo_ids=[photo.id])

    photo.refresh_from_db()
    faces = list(Face.objects.filter(photo=photo).order_by("index"))
    assert photo.status == Photo.Status.DONE
    assert faces and faces[0].index == 0 and faces[0].box != stale.box
    assert not Face.objects.filter(id=stale.id).exists()


@pytest.mark.django_db
def test_a_large_jpeg_is_detected_in_a_reduced_decode_and_its_faces_stored_in_the_full_photos_pixels(
    lfw_photos, media_root, pipeline
):
    """A 2,500 px JPEG is decoded at 1/2 for detection (embeddings.io.read_reduced); the stored box and landmarks are
    still in the stored photo's own pixels: ten times the 250 px original's."""
    small = pipeline.encode(lfw_photos[0])[0]
    large = io.BytesIO()
    Image.open(lfw_photos[0]).resize((2500, 2500), Image.Resampling.BICUBIC).save(large, "JPEG", quality=92)
    photo, _ = services.photo_create(
        file=SimpleUploadedFile("large.jpg", large.getvalue()), library=first_library(), uploaded_by=None
    )
    assert processing._photo_image(photo).reduction == 2

    processing.photos_encode(photo_ids=[photo.id])

    face = Face.objects.filter(photo=photo).order_by("index").first()
    assert face is not None
    width = 10 * (small.box[2] - small.box[0])
    # a box's edges move with the scale detected at (YuNet's forehead edge by 0.1 of the width here); landmarks less
    assert np.abs(np.asarray(face.box) - 10 * np.asarray(small.box)).max() < 0.15 * width
    assert np.abs(np.asarray(face.landmarks) - 10 * np.asarray(small.landmarks)).max() < 0.05 * width
    distance = np.linalg.norm(np.asarray(face.embedding) - small.embedding)
    assert distance < 0.5 * pipeline.threshold  # the same face, whatever the decode


@pytest.mark.django_db(transaction=True)
def test_processing_the_same_photo_concurrently_leaves_one_set_of_faces(lfw_photos, media_root, pipeline):
    photo, _ = services.photo_create(file=upload(lfw_photos[2]), library=first_library(), uploaded_by=None)
    barrier = threading.Barrier(2)
    errors: list[BaseException] = []

    def work() -> None:
        try:
            barrier.wait()
            processing.photos_encode(photo_ids=[photo.id])
        except BaseException as exc:  # reported by the assertion below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=work) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=300)

    assert errors == []
    expected = len(pipeline.encode(processing._photo_image(photo)))
    indexes = list(Face.objects.filter(photo=photo).order_by("index").values_list("index", flat=True))
    assert indexes == list(range(expected))
    photo.refresh_from_db()
    assert photo.status == Photo.Status.DONE


@pytest.mark.django_db
def test_a_stored_file_that_cannot_be_read_fails_the_photo_with_the_reason(lfw_photos, media_root):
    job = jobs.upload_job_create(library=first_library(), user=None)
    photo, _ = services.photo_create(
        file=upload(lfw_photos[1]), library=first_library(), uploaded_by=None, job=job, name="x.jpg"
    )
    jobs.job_seal(job=job)
    path = photo_file_path(photo.file.name)
    path.write_bytes(path.read_bytes()[:300])  # the disk corrupted it after upload

    processing.photos_encode(photo_ids=[photo.id])  # records the failure; does not raise (so the task is not retried)

    photo.refresh_from_db()
    assert photo.status == Photo.Status.FAILED and photo.error.startswith("cannot read the stored image: ")
    item = IngestItem.objects.get(job=job)
    assert (item.state, item.error) == (IngestItem.State.FAILED, photo.error)
    job.refresh_from_db()
    assert job.state == IngestJob.State.DONE and Face.objects.filter(photo=photo).count() == 0


@pytest.mark.django_db
def test_processing_a_deleted_photo_does_nothing(lfw_photos, media_root, django_capture_on_commit_callbacks):
    photo, _ = services.photo_create(file=upload(lfw_photos[1]), library=first_library(), uploaded_by=None)
    with django_capture_on_commit_callbacks(execute=True):
        services.photo_delete(photo=photo)
    processing.photos_encode(photo_ids=[photo.id])
    assert not Photo.objects.filter(id=photo.id).exists() and Face.objects.count() == 0


@pytest.mark.django_db
def test_a_job_is_done_when_its_last_pending_item_is_processed(lfw_photos, media_root, pipeline):
    stored, _ = services.photo_create(file=upload(lfw_photos[0]), library=first_library(), uploaded_by=None)
    job = jobs.upload_job_create(library=first_library(), user=None)
    first = ingest.job_file_add(job=job, file=upload(lfw_photos[5]), name="a.jpg", uploaded_by=None)
    second = ingest.job_file_add(job=job, file=upload(lfw_photos[6]), name="a.jpg", uploaded_by=None)
    skipped = ingest.job_file_add(job=job, file=upload(lfw_photos[0]), name="b.jpg", uploaded_by=None)
    refused = ingest.job_file_add(job=job, file=SimpleUploadedFile("c.jpg", b"nope"), name="c.jpg", uploaded_by=None)
    jobs.job_seal(job=job)

    assert [(i.name, i.state) for i in (first, second, skipped, refused)] == [
        ("a.jpg", "pending"), ("a (2).jpg", "pending"), ("b.jpg", "skipped"), ("c.jpg", "failed")
    ]  # fmt: skip
    assert skipped.photo_id == stored.id and refused.photo_id is None and "not an image" in refused.error
    assert job.state == IngestJob.State.RUNNING
    processing.photos_encode(photo_ids=[first.photo_id])
    job.refresh_from_db()
    assert job.state == IngestJob.State.RUNNING and job.finished_at is None
    processing.photos_encode(photo_ids=[second.photo_id])
    job.refresh_from_db()
    assert job.state == IngestJob.State.DONE and job.finished_at is not None


@pytest.mark.django_db
def test_batched_processing_stores_the_same_faces_as_one_by_one(lfw_photos, media_root, pipeline):
    photos = [
        services.photo_create(file=upload(path), library=first_library(), uploaded_by=None)[0]
        for path in lfw_photos[:4]
    ]
    processing.photos_encode(photo_ids=[photo.id for photo in photos])
    batched = {photo.id: face_rows(photo) for photo in photos}
    for photo in photos:
        processing.photos_encode(photo_ids=[photo.id])
    single = {photo.id: face_rows(photo) for photo in photos}

    assert all(batched[photo.id] for photo in photos)
    for photo in photos:
        assert [row[:4] for row in single[photo.id]] == [row[:4] for row in batched[photo.id]]
        for one, many in zip(single[photo.id], batched[photo.id], strict=True):
            distance = np.linalg.norm(np.frombuffer(one[5], np.float32) - np.frombuffer(many[5], np.float32))
            assert distance < 0.02  # a batch of another size moves YuNet's and O-Net's results in their last digits


@pytest.mark.django_db
def test_a_task_takes_other_waiting_photos_up_to_a_batch_and_leaves_done_ones_alone(
    lfw_photos, media_root, pipeline, monkeypatch
):
    monkeypatch.setattr(processing, "BATCH_SIZE", 3)
    photos = [
        services.photo_create(file=upload(path), library=first_library(), uploaded_by=None, enqueue=False)[0]
        for path in lfw_photos[:5]
    ]
    processing.photos_encode(photo_ids=[photos[4].id])
    processed_at = Photo.objects.get(id=photos[4].id).processed_at

    processing.photos_claim_and_encode(photo_ids=[photos[3].id, photos[4].id])  # 4 is done: 3, and the 2 oldest waiting

    status = dict(Photo.objects.filter(id__in=[p.id for p in photos]).values_list("id", "status"))
    assert [status[photo.id] for photo in photos] == ["done", "done", "pending", "done", "done"]
    assert Photo.objects.get(id=photos[4].id).processed_at == processed_at  # a done photo is not encoded again
    assert all(Face.objects.filter(photo=photo).exists() for photo in photos if status[photo.id] == "done")


@pytest.mark.django_db
def test_reprocess_is_a_job_per_library_that_requeues_the_photos(
    lfw_photos, media_root, django_capture_on_commit_callbacks
):
    library, other = first_library(), LibraryFactory()
    photos = [
        services.photo_create(file=upload(path), library=into, uploaded_by=None)[0]
        for path, into in zip(lfw_photos[:3], (library, library, other), strict=True)
    ]
    Photo.objects.filter(id=photos[0].id).update(status=Photo.Status.FAILED, error="boom")
    with django_capture_on_commit_callbacks() as callbacks:
        jobs = ingest.photos_reprocess(photo_ids=[photo.id for photo in photos])
    assert len(callbacks) == 1  # the queueing waits for the commit
    assert [job.library_id for job in jobs] == [library.id, other.id]
    assert {(job.source, job.state) for job in jobs} == {(IngestJob.Source.REPROCESS, IngestJob.State.RUNNING)}
    assert sorted(jobs[0].items.values_list("photo_id", "state")) == sorted((p.id, "pending") for p in photos[:2])
    assert list(jobs[1].items.values_list("photo_id", "state")) == [(photos[2].id, "pending")]
    assert set(Photo.objects.filter(id__in=[p.id for p in photos]).values_list("status", "error")) == {("pending", "")}

    count = IngestJob.objects.count()
    assert ingest.photos_reprocess(photo_ids=[]) == [] and IngestJob.objects.count() == count  # no photos, no job


@pytest.mark.django_db
def test_a_folder_job_refuses_a_path_that_is_not_a_folder(tmp_path):
    with pytest.raises(ApplicationError, match="is not a folder"):
        ingest.folder_job_start(path=tmp_path / "missing", library=first_library(), user=None)


def test_a_task_of_large_photos_decodes_them_a_few_at_a_time():
    """32 photos of 12 MP would hold gigabytes decoded: runs of at most BATCH_PIXELS, in order, one larger alone."""
    twelve_mp = [Photo(id=i, width=4000, height=3000) for i in range(32)]
    chunks = processing._pixel_chunks(twelve_mp)
    per_chunk = processing.BATCH_PIXELS // (4000 * 3000)
    assert [len(chunk) for chunk in chunks] == [per_chunk] * (32 // per_chunk) + [32 % per_chunk] * bool(32 % per_chunk)
    assert [photo.id for chunk in chunks for photo in chunk] == list(range(32))
    assert processing._pixel_chunks([Photo(id=1, width=20_000, height=10_000)]) == [[Photo(id=1)]]
    small = [Photo(id=i, width=250, height=250) for i in range(32)]
    assert len(processing._pixel_chunks(small)) == 1
