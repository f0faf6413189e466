"""Faults on the write path, in this process: crafted EXIF dates, a file that breaks a multi-file upload, a broker that
is down at commit, lost task messages, runs that keep dying, a delete racing a re-upload, files and rows that drift."""

from __future__ import annotations

import io
import threading
from datetime import UTC, datetime, timedelta

import kombu.exceptions
import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.db import transaction
from PIL import ExifTags, Image

from facesearch.photos import ingest, processing, services, tasks
from facesearch.photos.models import IngestItem, IngestJob, Photo
from facesearch.photos.storage import photo_file_path, thumbnail_file_name
from tests.factories import PhotoFactory, first_library, jpeg_bytes

# Committed for real: what is queued after a commit (transaction.on_commit) is part of what these tests check.
pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def queued(monkeypatch) -> list[list[int]]:
    """What would be sent to the broker (no worker here): each `photos_enqueue` call's photo ids."""
    calls: list[list[int]] = []
    monkeypatch.setattr(
        tasks.photos_process, "apply_async", lambda kwargs, queue: calls.append(list(kwargs["photo_ids"]))
    )
    return calls


def jpeg_with_exif_date(taken: str, offset: str | None, seed: int) -> bytes:
    exif = Image.Exif()
    sub = exif.get_ifd(ExifTags.IFD.Exif)
    sub[ExifTags.Base.DateTimeOriginal] = taken
    if offset is not None:
        sub[ExifTags.Base.OffsetTimeOriginal] = offset
    buffer = io.BytesIO()
    Image.open(io.BytesIO(jpeg_bytes(seed=seed))).save(buffer, "JPEG", exif=exif)
    return buffer.getvalue()


# ---------------------------------------------------------------------------------------------------- EXIF dates


@pytest.mark.parametrize(
    ("taken", "offset", "expected"),
    [
        ("0001:01:01 00:00:00", "+05:00", None),  # before datetime.min in UTC: stored, then unreadable
        ("9999:12:31 23:59:59", "-05:00", None),  # after datetime.max in UTC
        ("1899:12:31 23:59:59", None, None),
        ("2999:01:01 00:00:00", "+00:00", None),  # in the future
        ("2024:05:01 12:00:00", "+02:00", datetime(2024, 5, 1, 10, 0, tzinfo=UTC)),
        ("2024:05:01 12:00:00", "+99:00", datetime(2024, 5, 1, 12, 0, tzinfo=UTC)),  # bad offset: TIME_ZONE (UTC)
        ("2024:13:45 12:00:00", None, None),
    ],
)
def test_exif_capture_dates_outside_1900_to_tomorrow_are_dropped_and_the_photo_stays_readable(
    api_client, media_root, queued, taken, offset, expected
):
    data = jpeg_with_exif_date(taken, offset, seed=sum(map(ord, taken + (offset or ""))))
    response = api_client.post("/api/photos/", {"file": SimpleUploadedFile("dated.jpg", data)}, format="multipart")
    assert response.status_code == 201, response.content
    photo_id = response.json()["id"]
    assert Photo.objects.get(id=photo_id).taken_at == expected

    assert api_client.get("/api/photos/").status_code == 200
    assert api_client.get(f"/api/photos/{photo_id}/").status_code == 200
    assert api_client.delete(f"/api/photos/{photo_id}/").status_code == 204


# -------------------------------------------------------------------------------------------- multi-file upload


def test_a_file_that_fails_unexpectedly_is_its_own_failed_item_and_the_others_are_stored_and_queued(
    api_client, media_root, queued, monkeypatch
):
    real = services.image_facts

    def breaks_on_second(file, *, image):
        if file.name == "second.jpg":
            raise RuntimeError("a bug in a decoder")
        return real(file, image=image)

    monkeypatch.setattr(services, "image_facts", breaks_on_second)
    files = [
        SimpleUploadedFile(f"{name}.jpg", jpeg_bytes(seed=i)) for i, name in enumerate(("first", "second", "third"))
    ]
    response = api_client.post("/api/photos/", {"files": files}, format="multipart")

    assert response.status_code == 201, response.content
    results = {result["name"]: result for result in response.json()["results"]}
    assert results["second.jpg"]["error"] == "the file could not be stored" and results["second.jpg"]["photo"] is None
    assert results["first.jpg"]["created"] and results["third.jpg"]["created"]
    job = IngestJob.objects.get()
    assert job.state == IngestJob.State.RUNNING  # sealed: its pending items finish it
    stored = sorted(Photo.objects.values_list("id", flat=True))
    assert len(stored) == 2 and sorted(photo_id for call in queued for photo_id in call) == stored
    assert IngestItem.objects.filter(job=job, state=IngestItem.State.FAILED).count() == 1


def test_an_error_that_ends_a_multi_file_upload_still_seals_the_job_and_queues_what_was_stored(
    media_root, queued, monkeypatch, user
):
    real = ingest.job_file_add

    def database_gone_on_second(*, name, **kwargs):
        if name == "second.jpg":
            raise processing.DB_ERRORS[0]("the database went away")
        return real(name=name, **kwargs)

    monkeypatch.setattr(ingest, "job_file_add", database_gone_on_second)
    files = [SimpleUploadedFile(f"{name}.jpg", jpeg_bytes(seed=i)) for i, name in enumerate(("first", "second"))]
    with pytest.raises(processing.DB_ERRORS[0]):
        ingest.photos_upload(files=files, library=user.personal_library, uploaded_by=user)
    first = Photo.objects.get()
    assert queued == [[first.id]]
    assert IngestJob.objects.get().state == IngestJob.State.RUNNING


# ------------------------------------------------------------------------------------------- queueing and recovery


def test_a_broker_down_at_commit_leaves_the_upload_stored_and_pending_for_recovery(
    api_client, media_root, monkeypatch, caplog
):
    def broker_down(**kwargs):
        raise kombu.exceptions.OperationalError("Error 111 connecting to 127.0.0.1:6379. Connection refused.")

    monkeypatch.setattr(tasks.photos_process, "apply_async", broker_down)
    response = api_client.post(
        "/api/photos/", {"file": SimpleUploadedFile("a.jpg", jpeg_bytes(seed=3))}, format="multipart"
    )
    assert response.status_code == 201, response.content
    photo = Photo.objects.get(id=response.json()["id"])
    assert photo.status == Photo.Status.PENDING and photo_file_path(photo.file.name).is_file()
    assert "stay pending until recovery" in caplog.text


def test_recovery_queues_only_photos_stuck_longer_than_the_bound(queued, settings):
    settings.FACESEARCH_RECOVER_AFTER = 15 * 60
    old = datetime.now(UTC) - timedelta(hours=1)
    stuck_pending = PhotoFactory(status=Photo.Status.PENDING, status_changed_at=old)
    stuck_processing = PhotoFactory(status=Photo.Status.PROCESSING, status_changed_at=old)
    PhotoFactory(status=Photo.Status.PENDING)  # just uploaded: its task is in the queue
    PhotoFactory(status=Photo.Status.DONE, status_changed_at=old)
    PhotoFactory(status=Photo.Status.FAILED, status_changed_at=old)

    tasks.photos_recover()  # what Celery beat sends
    assert queued == [[stuck_pending.id, stuck_processing.id]]
    tasks.photos_recover()  # the next round waits a full bound again
    assert queued == [[stuck_pending.id, stuck_processing.id]]


@pytest.mark.parametrize("status", [Photo.Status.PENDING, Photo.Status.PROCESSING, Photo.Status.FAILED])
def test_uploading_the_same_bytes_again_queues_a_photo_that_is_not_done(api_client, media_root, queued, status):
    data = jpeg_bytes(seed=11)
    first = api_client.post("/api/photos/", {"file": SimpleUploadedFile("a.jpg", data)}, format="multipart").json()
    Photo.objects.filter(id=first["id"]).update(status=status, error="x" if status == "failed" else "", attempts=2)
    queued.clear()

    again = api_client.post("/api/photos/", {"file": SimpleUploadedFile("b.jpg", data)}, format="multipart")
    assert again.status_code == 200 and again.json()["id"] == first["id"]
    assert queued == [[first["id"]]]
    photo = Photo.objects.get(id=first["id"])
    if status == Photo.Status.FAILED:  # tried afresh
        assert (photo.status, photo.error, photo.attempts) == (Photo.Status.PENDING, "", 0)
    else:
        assert (photo.status, photo.attempts) == (status, 2)


def test_uploading_the_same_bytes_of_a_done_photo_queues_nothing(api_client, media_root, queued):
    data = jpeg_bytes(seed=12)
    first = api_client.post("/api/photos/", {"file": SimpleUploadedFile("a.jpg", data)}, format="multipart").json()
    Photo.objects.filter(id=first["id"]).update(status=Photo.Status.DONE)
    queued.clear()
    api_client.post("/api/photos/", {"file": SimpleUploadedFile("a.jpg", data)}, format="multipart")
    assert queued == []


# ------------------------------------------------------------------------------------------ runs that keep dying


def test_a_photo_started_max_attempts_times_without_finishing_fails_with_the_reason(db, monkeypatch):
    processed: list[list[int]] = []
    monkeypatch.setattr(processing, "photos_encode", lambda *, photo_ids, encoder: processed.append(list(photo_ids)))
    killer = PhotoFactory(status=Photo.Status.PROCESSING, attempts=settings.FACESEARCH_PROCESSING_ATTEMPTS)
    job = IngestJob.objects.create(
        library=killer.library, source=IngestJob.Source.UPLOAD, state=IngestJob.State.RUNNING
    )
    IngestItem.objects.create(job=job, name="killer.jpg", photo=killer, state=IngestItem.State.PENDING)

    processing.photos_claim_and_encode(photo_ids=[killer.id])

    killer.refresh_from_db()
    assert killer.status == Photo.Status.FAILED and "interrupted 3 times" in killer.error
    assert processed == []
    assert IngestItem.objects.get().state == IngestItem.State.FAILED
    job.refresh_from_db()
    assert job.state == IngestJob.State.DONE


def test_photos_of_a_run_that_died_are_then_processed_one_per_run(db, monkeypatch):
    processed: list[list[int]] = []
    monkeypatch.setattr(processing, "photos_encode", lambda *, photo_ids, encoder: processed.append(list(photo_ids)))
    batch = [PhotoFactory(status=Photo.Status.PROCESSING, attempts=1) for _ in range(3)]
    PhotoFactory(status=Photo.Status.PENDING)  # waiting: not claimed into a run that may die again

    processing.photos_claim_and_encode(photo_ids=[photo.id for photo in batch])
    assert processed == [[photo.id] for photo in batch]


def test_reprocessing_and_retrying_start_the_count_afresh(db, queued):
    photo = PhotoFactory(status=Photo.Status.FAILED, attempts=3, error=processing.INTERRUPTED.format(attempts=3))
    with transaction.atomic():
        (job,) = ingest.photos_reprocess(photo_ids=[photo.id])
    photo.refresh_from_db()
    assert (photo.status, photo.attempts, photo.error) == (Photo.Status.PENDING, 0, "")

    Photo.objects.filter(id=photo.id).update(status=Photo.Status.FAILED, attempts=3)
    IngestItem.objects.filter(job=job).update(state=IngestItem.State.FAILED)
    ingest.job_retry(job=job)
    photo.refresh_from_db()
    assert (photo.status, photo.attempts) == (Photo.Status.PENDING, 0)


# ----------------------------------------------------------------------------------- delete racing a re-upload


@pytest.mark.slow  # threads racing for seconds
def test_a_delete_racing_a_reupload_of_the_same_bytes_never_leaves_a_row_without_its_file(media_root, queued):
    """The old interleaving: the delete commits, the re-upload finds the file still there (not written again), the
    delete's clean-up then removes it, and the re-upload commits a row whose file is gone."""
    data = jpeg_bytes(seed=21)
    photo, _ = services.photo_create(file=SimpleUploadedFile("a.jpg", data), library=first_library(), uploaded_by=None)
    file_name = photo.file.name
    Photo.objects.filter(id=photo.id).delete()  # the delete's transaction committed; its clean-up is next

    written, cleanup_done = threading.Event(), threading.Event()
    real_write = services.photo_file_write

    def write_then_pause(**kwargs):
        wrote = real_write(**kwargs)
        written.set()
        cleanup_done.wait(timeout=3)  # the clean-up runs now, unless it waits for our lock
        return wrote

    def reupload():
        try:
            services.photo_create(file=SimpleUploadedFile("b.jpg", data), library=first_library(), uploaded_by=None)
        finally:
            from django.db import connection

            connection.close()

    def cleanup():
        written.wait(timeout=30)
        try:
            services._photo_file_forget(file_name)
        finally:
            cleanup_done.set()
            from django.db import connection

            connection.close()

    services.photo_file_write = write_then_pause
    try:
        threads = [threading.Thread(target=reupload), threading.Thread(target=cleanup)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
    finally:
        services.photo_file_write = real_write

    again = Photo.objects.get(sha256=photo.sha256)
    assert photo_file_path(again.file.name).is_file()


# ------------------------------------------------------------------------------------------------- media_check


def test_media_check_reports_orphan_files_and_missing_files_then_fixes_them(db, media_root, capsys):
    kept = PhotoFactory(content=jpeg_bytes(seed=31))
    lost = PhotoFactory(content=jpeg_bytes(seed=32))
    photo_file_path(lost.file.name).unlink()
    orphan = photo_file_path("photos/ab/ab/" + "ab" * 32 + ".jpg")
    orphan.parent.mkdir(parents=True, exist_ok=True)
    orphan.write_bytes(jpeg_bytes(seed=33))
    stray = photo_file_path(kept.file.name).with_suffix(".png")  # the kept photo's bytes under a name no row has
    stray.write_bytes(b"stray")
    kept_thumb = photo_file_path(thumbnail_file_name(photo_name=kept.file.name, size=128))
    orphan_thumb = photo_file_path(thumbnail_file_name(photo_name=orphan.name, size=128))
    for thumb in (kept_thumb, orphan_thumb):
        thumb.parent.mkdir(parents=True, exist_ok=True)
        thumb.write_bytes(jpeg_bytes(seed=34))

    with pytest.raises(SystemExit) as exit_info:
        call_command("media_check")
    assert exit_info.value.code == 1
    out = capsys.readouterr().out
    assert f"orphan file: photos/ab/ab/{'ab' * 32}.jpg" in out and f"missing file: photo {lost.id}" in out
    assert f"orphan file: thumbs/ab/ab/{'ab' * 32}-128.jpg" in out and kept.file.name not in out
    assert f"{kept.sha256}-128.jpg" not in out  # the kept photo and its thumbnail are not orphans
    assert orphan.exists() and Photo.objects.get(id=lost.id).status != Photo.Status.FAILED  # only reported

    call_command("media_check", "--delete-orphans", "--fail-missing")
    assert not orphan.exists() and not orphan.parent.exists()
    lost.refresh_from_db()
    assert lost.status == Photo.Status.FAILED and "file is missing" in lost.error
    assert photo_file_path(kept.file.name).is_file() and kept_thumb.is_file() and not orphan_thumb.exists()
    assert not stray.exists()  # reported as an orphan, so removed: a row of the same bytes names another file
