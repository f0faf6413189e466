"""Worker queues: what a person waits for goes to `interactive`, imports to `ingest`, upkeep to `maintenance`; a worker
busy with an import takes an interactive upload next, not after the import."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from facesearch.celery import app
from facesearch.photos import ingest, processing, tasks
from facesearch.photos.models import Photo
from tests.facesearch.photos.support import wait_for
from tests.factories import first_library, jpeg_bytes

pytestmark = pytest.mark.django_db(transaction=True)  # what is queued after a commit is what these tests check


@pytest.fixture
def sent(monkeypatch) -> list[tuple[str, list[int], bool]]:
    """What would be sent to the broker (no worker here): (queue, photo ids, uploads only) per task."""
    calls: list[tuple[str, list[int], bool]] = []

    def apply_async(kwargs: dict, queue: str) -> None:
        calls.append((queue, list(kwargs["photo_ids"]), kwargs["uploads_only"]))

    monkeypatch.setattr(tasks.photos_process, "apply_async", apply_async)
    return calls


def _files(count: int, first_seed: int = 0) -> list[SimpleUploadedFile]:
    return [SimpleUploadedFile(f"p{i}.jpg", jpeg_bytes(seed=first_seed + i)) for i in range(count)]


def test_uploads_a_person_waits_for_are_interactive_and_a_large_one_is_an_import(api_client, media_root, sent):
    assert api_client.post("/api/photos/", {"file": _files(1)[0]}, format="multipart").status_code == 201
    small = api_client.post("/api/photos/", {"files": _files(3, 10)}, format="multipart")
    many = processing.BULK_BATCH_SIZE + 1
    large = api_client.post("/api/photos/", {"files": _files(many, 20)}, format="multipart")
    assert small.status_code == large.status_code == 201, (small.content, large.content)

    assert [(queue, len(ids), only) for queue, ids, only in sent] == [
        ("interactive", 1, True),
        ("interactive", 3, True),
        ("ingest", processing.BULK_BATCH_SIZE, False),  # an import: in the larger batches that encode faster
        ("ingest", 1, False),
    ]


def test_a_folder_import_is_ingest_and_a_re_encode_is_maintenance(tmp_path: Path, lfw_photos, media_root, sent):
    folder = tmp_path / "album"
    folder.mkdir()
    for path in lfw_photos[:2]:
        shutil.copyfile(path, folder / path.name)
    job, _ = ingest.folder_job_start(path=folder, library=first_library(), user=None)
    ids = [ingest.folder_file_ingest(job=job, name=name, user=None)[0].photo_id for name in ingest.folder_scan(
        path=folder, recursive=False)]  # fmt: skip
    tasks.photos_enqueue(photo_ids=ids)
    ingest.photos_reprocess(photo_ids=ids)

    assert [(queue, sorted(photo_ids)) for queue, photo_ids, _ in sent] == [
        ("ingest", sorted(ids)),
        ("maintenance", sorted(ids)),
    ]


def test_upkeep_tasks_are_routed_to_maintenance():
    route = app.amqp.router.route
    for name in (
        "facesearch.photos.tasks.photos_recover",
        "facesearch.libraries.tasks.retention_run",
        "facesearch.grouping.tasks.groups_maintain_run",
    ):
        assert route({}, name)["queue"].name == "maintenance", name
    assert route({}, "facesearch.photos.tasks.photos_process")["queue"].name == "ingest"
    assert [queue.name for queue in app.conf.task_queues] == ["interactive", "ingest", "maintenance"]


IMPORT_BATCHES = 12


@pytest.mark.slow
def test_a_worker_busy_with_an_import_takes_an_interactive_upload_next(
    api_client, lfw_dir, lfw_photos, tmp_path: Path, celery_worker
):
    """96 photos of a folder import are queued (12 batches: the pipeline does an LFW photo in about 15 ms, so fewer
    would be done before the upload arrives); once the worker is on the first batch, one photo is uploaded. It is done
    while most of the import still waits, and its batch held none of the import's photos."""
    folder = tmp_path / "album"
    folder.mkdir()
    for path in sorted(lfw_dir.glob("images/A*/*.jpg"))[: IMPORT_BATCHES * processing.BATCH_SIZE]:
        shutil.copyfile(path, folder / path.name)
    job, _ = ingest.folder_job_start(path=folder, library=first_library(), user=None)
    ids = [ingest.folder_file_ingest(job=job, name=name, user=None)[0].photo_id
           for name in ingest.folder_scan(path=folder, recursive=False)]  # fmt: skip
    assert len(ids) == IMPORT_BATCHES * processing.BATCH_SIZE
    # Tasks of BATCH_SIZE, not an import's BULK_BATCH_SIZE: the same rule (a worker takes the interactive task when
    # it finishes the task it is on), with many tasks from few photos.
    tasks.photos_enqueue(photo_ids=ids, batch_size=processing.BATCH_SIZE)
    imported = Photo.objects.filter(id__in=ids)
    wait_for(lambda: imported.exclude(status=Photo.Status.PENDING).exists(), what="the import to start")

    upload = SimpleUploadedFile(lfw_photos[0].name, lfw_photos[0].read_bytes(), content_type="image/jpeg")
    photo_id = api_client.post("/api/photos/", {"file": upload}, format="multipart").json()["id"]
    wait_for(lambda: Photo.objects.get(id=photo_id).status == Photo.Status.DONE, what="the upload", timeout=300)

    waiting = imported.filter(status=Photo.Status.PENDING).count()
    assert waiting >= processing.BATCH_SIZE, f"only {waiting} import photos still waited: the upload waited for them"
    rest = imported.exclude(status=Photo.Status.DONE)
    wait_for(lambda: not rest.exists(), what="the rest of the import", timeout=600)
