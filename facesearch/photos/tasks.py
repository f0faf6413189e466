"""Celery tasks: ids in, one call. Retried only on transient errors (database or broker unavailable).

`acks_late` + `reject_on_worker_lost`: a task whose worker dies mid-way is delivered again, which is safe because
processing a photo is idempotent (its faces are replaced under the photo's row lock), and bounded because each run
counts against the photo's attempts (`processing.photos_claim_and_encode`).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import timedelta

import kombu.exceptions
import redis.exceptions
from celery import shared_task
from django.conf import settings

from facesearch.photos import encoder_switch, processing

logger = logging.getLogger(__name__)

TRANSIENT_ERRORS = (
    *processing.DB_ERRORS,
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


INTERACTIVE, INGEST, MAINTENANCE = "interactive", "ingest", "maintenance"
"""The queues (settings.CELERY_TASK_QUEUES, in the order workers take from them)."""


def upload_queue(photos: int) -> str:
    """A person waits for an upload of up to one batch; a larger one is an import."""
    return INTERACTIVE if photos <= processing.BATCH_SIZE else INGEST


@shared_task(**RETRY)
def photos_process(photo_ids: list[int], uploads_only: bool = False, encoder: str | None = None) -> None:
    """The task: these photos, topped up with others waiting (uploads only, when a person waits for these), detected
    and encoded in one batch (`encoder`: with that one only, for a switch of encoder, which may end with them)."""
    processing.photos_claim_and_encode(photo_ids=photo_ids, uploads_only=uploads_only, encoder=encoder)
    encoder_switch.encoder_switch_finish()


@shared_task(**RETRY)
def encoder_switch_cleanup() -> None:
    """After a switch of encoder, once every process serves the new one: delete the old encoder's faces."""
    encoder_switch.faces_of_old_encoders_delete()


@shared_task(ignore_result=True)
def photos_recover() -> None:
    """Celery beat, every FACESEARCH_RECOVER_INTERVAL: queue again the photos whose task message was lost."""
    photos_enqueue(
        photo_ids=processing.photos_stuck_claim(older_than=timedelta(seconds=settings.FACESEARCH_RECOVER_AFTER))
    )


def photos_enqueue(
    *,
    photo_ids: Sequence[int],
    queue: str = INGEST,
    batch_size: int | None = None,
    encoder: str | None = None,
) -> bool:
    """Queue processing on `queue`, one task per `batch_size` photos (by default BATCH_SIZE where a person waits,
    BULK_BATCH_SIZE for imports and re-encodes); False when the broker could not be reached. Interactive tasks top up
    with uploads only (`processing.photos_claim_and_encode`); `encoder`: a switch's tasks.

    Runs after the photos are committed, so a broker that is down must not fail the request that stored them: the
    photos stay pending and `photos_recover` queues them again later.
    """
    batch_size = batch_size or (processing.BATCH_SIZE if queue == INTERACTIVE else processing.BULK_BATCH_SIZE)
    for start in range(0, len(photo_ids), batch_size):
        try:
            photos_process.apply_async(
                kwargs={
                    "photo_ids": list(photo_ids[start : start + batch_size]),
                    "uploads_only": queue == INTERACTIVE,
                    "encoder": encoder,
                },
                queue=queue,
            )
        except TRANSIENT_ERRORS as exc:
            rest = list(photo_ids[start:])
            logger.warning("cannot queue photos %s (%s); they stay pending until recovery queues them", rest, exc)
            return False
    return True
