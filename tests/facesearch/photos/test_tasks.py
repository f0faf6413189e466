"""A task whose worker dies mid-way is delivered again and leaves exactly one set of faces (acks_late, idempotence)."""

from __future__ import annotations

import io
import os
import signal
import subprocess
import time
from pathlib import Path

import pytest
import redis
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from facesearch.celery import app as celery_app
from facesearch.core.pipeline import get_pipeline
from facesearch.photos import processing, services, tasks
from facesearch.photos.models import Face, Photo
from tests.facesearch.photos.support import child_env, wait_for
from tests.factories import first_library
from tests.live_server import start_worker

GATED_APP = "tests.facesearch.photos.gated_celery"
KILL_TEST_APP = "tests.facesearch.photos.kill_test_celery"  # gated too, with a short visibility timeout


def slow_photo(paths: list[Path], seed: int) -> SimpleUploadedFile:
    """A 2000x2000 collage of four LFW photos: several faces, and seconds of detection so that a kill lands mid-task."""
    collage = Image.new("RGB", (2000, 2000), (seed % 256, 128, 128))
    for i, path in enumerate(paths[:4]):
        collage.paste(Image.open(path).resize((1000, 1000)), ((i % 2) * 1000, (i // 2) * 1000))
    buffer = io.BytesIO()
    collage.save(buffer, "JPEG", quality=90)
    return SimpleUploadedFile(f"collage-{seed}.jpg", buffer.getvalue())


def status_of(photo_id: int) -> str:
    return Photo.objects.filter(id=photo_id).values_list("status", flat=True).first()


def assert_one_set_of_faces(photo: Photo) -> None:
    photo.refresh_from_db()
    assert photo.status == Photo.Status.DONE, photo.error
    expected = len(get_pipeline().encode(processing._photo_image(photo)))
    indexes = list(Face.objects.filter(photo=photo).order_by("index").values_list("index", flat=True))
    assert expected >= 4 and indexes == list(range(expected))


def pool_processes(hostname: str) -> list[int]:
    stats = celery_app.control.inspect(destination=[hostname], timeout=2).stats() or {}
    return [pid for info in stats.values() for pid in info["pool"]["processes"]]


def stop_worker(worker: subprocess.Popen) -> None:
    """A warm shutdown: SIGTERM to the main process only, which lets a running task finish (the pool would not)."""
    os.kill(worker.pid, signal.SIGTERM)
    worker.wait(timeout=120)


class Gate:
    """The test's side of `gated_celery`: see when the photo's run has begun, then let the next run through."""

    def __init__(self) -> None:
        self.name = f"gate-{os.getpid()}-{time.monotonic_ns()}"
        self.client = redis.Redis.from_url(os.environ["REDIS_URL"])

    def wait_started(self) -> None:
        wait_for(
            lambda: self.client.exists(f"{self.name}:started"), timeout=180, interval=0.02, what="the run to begin"
        )

    def open(self) -> None:
        self.client.set(f"{self.name}:open", 1)


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_a_pool_process_killed_mid_task_has_its_task_redelivered_without_duplicates(lfw_photos):
    photo, _ = services.photo_create(
        file=slow_photo(lfw_photos[::2], seed=1), library=first_library(), uploaded_by=None, enqueue=False
    )
    queue, hostname = f"pool-kill-{os.getpid()}", f"pool-kill-{os.getpid()}@{os.uname().nodename}"
    gate = Gate()
    env = child_env(FACESEARCH_TEST_GATE=gate.name)
    worker = start_worker(app=GATED_APP, queue=queue, hostname=hostname, env=env)  # production's visibility timeout
    try:
        children = pool_processes(hostname)
        assert len(children) == 1
        tasks.photos_process.apply_async(kwargs={"photo_ids": [photo.id]}, queue=queue)
        gate.wait_started()  # the run has begun and holds the photo

        os.kill(children[0], signal.SIGKILL)  # the OOM killer's way: no cleanup, no acknowledgement
        assert status_of(photo.id) == "processing" and not Face.objects.filter(photo=photo).exists()

        # reject_on_worker_lost: the main process gives the message back; its new pool process runs it again.
        gate.open()
        wait_for(lambda: status_of(photo.id) == "done", timeout=300, what="the redelivered task to finish")
        assert pool_processes(hostname) not in ([], children)
    finally:
        stop_worker(worker)
    assert_one_set_of_faces(photo)


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_a_worker_killed_whole_mid_task_has_its_task_redelivered_to_a_new_worker(lfw_photos):
    photo, _ = services.photo_create(
        file=slow_photo(lfw_photos[1::2], seed=2), library=first_library(), uploaded_by=None, enqueue=False
    )
    gate = Gate()
    env, queue = child_env(FACESEARCH_TEST_GATE=gate.name), f"kill-test-{os.getpid()}"
    first = start_worker(app=KILL_TEST_APP, queue=queue, hostname=f"first-{os.getpid()}@%h", env=env)
    try:
        tasks.photos_process.apply_async(kwargs={"photo_ids": [photo.id]}, queue=queue)
        gate.wait_started()
    finally:
        os.killpg(first.pid, signal.SIGKILL)  # the main process and its pool: the message is left unacknowledged
        first.wait(timeout=30)
    assert status_of(photo.id) == "processing" and not Face.objects.filter(photo=photo).exists()

    gate.open()
    second = start_worker(app=KILL_TEST_APP, queue=queue, hostname=f"second-{os.getpid()}@%h", env=env)
    try:
        wait_for(lambda: status_of(photo.id) == "done", timeout=300, what="the redelivered task to finish")
    finally:
        stop_worker(second)
    assert_one_set_of_faces(photo)
