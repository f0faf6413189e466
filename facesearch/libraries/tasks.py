"""Periodic work of the libraries app (Celery beat)."""

from __future__ import annotations

import logging

from celery import shared_task

from facesearch.libraries.retention import retention_apply

logger = logging.getLogger(__name__)


@shared_task(ignore_result=True)
def retention_run() -> None:
    """Celery beat, daily: expire unassigned faces and audit entries past their retention."""
    expired = retention_apply()
    if expired.faces or expired.audit_entries:
        logger.info("retention removed %d unassigned faces and %d audit entries", expired.faces, expired.audit_entries)
