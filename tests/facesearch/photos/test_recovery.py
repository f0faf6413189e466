"""Faults with the real worker and a real Redis: the broker killed between a commit and its queueing, a worker killed
mid-batch again and again, the stack restarted with photos whose messages were lost. Every photo ends done or failed
with a reason, and none is stored twice."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
import redis
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from facesearch import stack
from facesearch.celery import app as celery_app
from facesearch.photos import processing, services, tasks
from facesearch.photos.models import Face, Photo
from tests.facesearch.photos.support import child_env, wait_for
from tests.factories import first_library
from tests.live_server import ROOT, start_worker, stop

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


class Broker:
    """A Redis server of the test's own, on a fixed port and data folder, so it can be killed and started again."""

    def __init__(self, data_dir: Path) -> None:
        self.data_dir, self.port = data_dir, stack.free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        self.process = subprocess.Popen(stack.redis_command(self.data_dir, self.port), stdout=subprocess.DEVNULL)
        stack.wait_for_redis(self.url)

    def kill(self) -> None:
        self.process.kill()  # SIGKILL: no shutdown snapshot, only what was already persisted survives
        self.process.wait(timeout=10)


@pytest.fixture
def broker(tmp_path) -> Iterator[Broker]:
    """A dedicated broker, and this process's Celery app publishing to it (its connection pools dropped)."""
    broker = Broker(tmp_path / "redis")
    broker.start()
    previous = celery_app.conf.broker_url
    celery_app.conf.broker_url = broker.url
    celery_app._after_fork()  # Celery's own reset of the cached connection and producer pools
    try:
        yield broker
    finally:
        celery_app.conf.broker_url = previous
        celery_app._after_fork()
        if broker.process.poll() is None:
            broker.kill()


def upload(path: Path, name: str | None = None) -> SimpleUploadedFile:
    return SimpleUploadedFile(name or path.name, path.read_bytes())


def status_of(photo_id: int) -> str:
    return Photo.objects.filter(id=photo_id).values_list("status", flat=True).first()


def finished(photo_ids: list[int]) -> bool:
    return Photo.objects.filter(id__in=photo_ids, status__in=[Photo.Status.DONE, Photo.Status.FAILED]).count() == len(
        photo_ids
    )


def assert_faces_stored_once(photo_ids: list[int]) -> None:
    for photo_id in photo_ids:
        indexes = list(Face.objects.filter(photo_id=photo_id).order_by("index").values_list("index", flat=True))
        assert indexes and indexes == list(range(len(indexes))), (photo_id, indexes)


def test_queued_tasks_survive_a_redis_crash_with_append_only_persistence(broker):
    client = redis.Redis.from_url(broker.url)
    for i in range(3):
        tasks.photos_process.apply_async(kwargs={"photo_ids": [10_000 + i]}, queue="aof-test")
    time.sleep(1.5)  # appendfsync everysec
    broker.kill()
    broker.start()
    assert client.llen("aof-test") == 3


def test_redis_killed_between_commit_and_queue_leaves_the_photo_pending_until_recovery_processes_it(
    broker, lfw_photos, api_client, caplog
):
    worker = start_worker(
        app="facesearch.celery", hostname=f"broker-kill-{os.getpid()}@%h",
        env=child_env(REDIS_URL=broker.url),
    )  # fmt: skip
    try:
        broker.kill()
        response = api_client.post("/api/photos/", {"file": upload(lfw_photos[0])}, format="multipart")
        assert response.status_code == 201, response.content  # stored, even though it could not be queued
        photo_id = response.json()["id"]
        assert status_of(photo_id) == "pending" and "stay pending until recovery" in caplog.text

        broker.start()  # empty: the message never reached it; the worker reconnects by itself
        assert processing.photos_stuck_claim(older_than=timedelta(0)) == [photo_id]
        assert tasks.photos_enqueue(photo_ids=[photo_id])
        wait_for(lambda: status_of(photo_id) == "done", timeout=300, what="the recovered photo to be processed")
    finally:
        stop(worker)
    assert_faces_stored_once([photo_id])


def test_a_photo_that_kills_its_worker_every_time_fails_with_the_reason_and_its_batch_is_processed(lfw_photos):
    good_1, _ = services.photo_create(
        file=upload(lfw_photos[2]), library=first_library(), uploaded_by=None, enqueue=False
    )
    poison, _ = services.photo_create(
        file=upload(lfw_photos[4], "poison.jpg"), library=first_library(), uploaded_by=None, enqueue=False
    )
    good_2, _ = services.photo_create(
        file=upload(lfw_photos[6]), library=first_library(), uploaded_by=None, enqueue=False
    )
    ids = [good_1.id, poison.id, good_2.id]
    queue, hostname = f"poison-{os.getpid()}", f"poison-{os.getpid()}@%h"
    worker = start_worker(app="tests.facesearch.photos.poison_celery", queue=queue, hostname=hostname, env=child_env())
    try:
        tasks.photos_process.apply_async(kwargs={"photo_ids": ids}, queue=queue)
        # Three runs die (each replacement pool process loads the networks first), the fourth gives up on it.
        wait_for(lambda: finished(ids), timeout=600, interval=1, what="every photo of the batch to finish")
    finally:
        stop(worker)
    poison.refresh_from_db()
    assert poison.status == Photo.Status.FAILED and poison.attempts == settings.FACESEARCH_PROCESSING_ATTEMPTS
    assert poison.error == processing.INTERRUPTED.format(attempts=settings.FACESEARCH_PROCESSING_ATTEMPTS)
    assert [status_of(good_1.id), status_of(good_2.id)] == ["done", "done"]
    assert_faces_stored_once([good_1.id, good_2.id])


def test_after_a_restart_with_lost_messages_beat_recovery_processes_every_pending_photo_once(
    broker, lfw_photos, tmp_path
):
    photos = [
        services.photo_create(file=upload(path), library=first_library(), uploaded_by=None, enqueue=False)[0]
        for path in lfw_photos[:4]
    ]
    ids = [photo.id for photo in photos]
    # Pending since before the restart, their messages gone (as after a Redis restart without persistence).
    Photo.objects.filter(id__in=ids).update(status_changed_at=timezone.now() - timedelta(hours=1))
    Photo.objects.filter(id=ids[0]).update(status=Photo.Status.PROCESSING)  # its worker died with the stack
    env = child_env(REDIS_URL=broker.url, FACESEARCH_RECOVER_INTERVAL="1", FACESEARCH_RECOVER_AFTER="600")
    worker = start_worker(app="facesearch.celery", hostname=f"restart-{os.getpid()}@%h", env=env)
    beat = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "facesearch", "beat", "--loglevel", "WARNING",
         "--schedule", str(tmp_path / "beat-schedule")],
        env=env, cwd=ROOT, start_new_session=True,
    )  # fmt: skip
    try:
        wait_for(lambda: finished(ids), timeout=300, interval=0.5, what="recovery to process the pending photos")
    finally:
        stop(beat)
        stop(worker)
    assert [status_of(photo_id) for photo_id in ids] == ["done"] * 4
    assert_faces_stored_once(ids)
