"""Periodic work of the grouping app (Celery beat)."""

from __future__ import annotations

import logging

from celery import shared_task

from facesearch.grouping.services import groups_maintain_all

logger = logging.getLogger(__name__)


@shared_task(ignore_result=True)
def groups_maintain_run() -> None:
    """Celery beat, every FACESEARCH_GROUP_MAINTAIN_INTERVAL seconds: repair the groups of libraries that changed."""
    for library_id, done in groups_maintain_all().items():
        logger.info(
            "grouping library %d: %d faces left, %d placed, %d regrouped, %d groups",
            library_id, done.left, done.placed, done.regrouped, done.groups,
        )  # fmt: skip
