"""The project's Celery app, where a photo's run waits for the test's go-ahead once it has begun.

The worker-kill tests must kill a worker while its task is running, not before and not after. Reading the photo marks
`<gate>:started` in Redis and then waits for `<gate>:open`: the test kills on the mark and opens the gate for the
redelivered run. No sleep, no race. The gate is named by FACESEARCH_TEST_GATE; without it nothing waits.
"""

import os
import time

import redis
from celery.signals import worker_process_init

from facesearch.celery import app

__all__ = ["app"]


@worker_process_init.connect
def gate_photo_reads(**_: object) -> None:
    gate = os.environ.get("FACESEARCH_TEST_GATE")
    if not gate:
        return
    from facesearch.photos import processing

    client = redis.Redis.from_url(os.environ["REDIS_URL"])
    read = processing._photo_image

    def gated_read(photo):
        client.set(f"{gate}:started", photo.id)
        while not client.exists(f"{gate}:open"):
            time.sleep(0.02)
        return read(photo)

    processing._photo_image = gated_read
