"""Celery tasks: ids in, one service call. Retried only on transient errors (database or broker unavailable).

`acks_late` + `reject_on_worker_lost`: a task whose worker dies mid-way is delivered again, which is safe because
processing a photo is idempotent (its faces are replaced under the photo's row lock).
"""

from __future__ import annotations

from datetime import timedelta

import kombu.exceptions
import redis.exceptions
from celery import shared_task
from django.conf import settings
from django.db import InterfaceError, OperationalError

from facesearch.photos import services

TRANSIENT_ERRORS = (
    OperationalError,
    InterfaceError,
    redis.exceptions.ConnectionError,
    redis.exceptions.TimeoutError,
    kombu.exceptions.OperationalError,
)
RETRY = {
    "acks_late": True,
    "reject_on_worker_lost": True,
    "autoretry_for": TRANSIENT_ERRORS,
    "retry_backoff": 2,  # seconds, doubled at each retry (with jitter) up to retry_backoff_max
    "retry_backoff_max": 300,
    "retry_jitter": True,
    "max_retries": 8,
    "ignore_result": True,
}


@shared_task(**RETRY)
def photo_process(photo_id: int) -> None:
    """One uploaded photo, encoded together with other photos waiting for their task."""
    services.photos_process_queued(photo_ids=[photo_id])


@shared_task(**RETRY)
def photos_process_batch(photo_ids: list[int]) -> None:
    """Several photos through one `encode_batch` call (folder, reprocess and multi-file upload jobs)."""
    services.photos_process_queued(photo_ids=photo_ids)


@shared_task(ignore_result=True)
def photos_recover() -> None:
    """Celery beat, every FACESEARCH_RECOVER_INTERVAL: queue again the photos whose task message was lost."""
    services.photos_recover(older_than=timedelta(seconds=settings.FACESEARCH_RECOVER_AFTER))
