"""Retention: what is kept only for a while. Unassigned faces (vectors and crops of people nobody named) expire after
FACESEARCH_RETAIN_UNASSIGNED_DAYS, audit entries after FACESEARCH_RETAIN_AUDIT_DAYS; 0 keeps them. Applied daily by
Celery beat (`tasks.retention_apply`) and by `manage.py purge` (with `--dry-run` to see what would go).

An expired face's photo stays (its file, its other faces); reprocessing the photo would detect the face again.
Erasure receipts are kept: they hold counts and ids, no biometric data.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from facesearch.libraries.models import AuditEntry
from facesearch.photos.models import Face

BATCH = 1000  # rows deleted per transaction: a long purge never holds locks on many faces at once


@dataclass(frozen=True)
class Expired:
    """What retention removes (or, in a dry run, would remove) and the cut-offs it used (None: kept forever)."""

    faces: int
    audit_entries: int
    faces_before: datetime | None
    audit_before: datetime | None


def _cutoff(days: int, now: datetime) -> datetime | None:
    return now - timedelta(days=days) if days > 0 else None


def expired_faces(*, before: datetime | None) -> QuerySet[Face]:
    if before is None:
        return Face.objects.none()
    return Face.objects.filter(person__isnull=True, created_at__lt=before)


def expired_audit_entries(*, before: datetime | None) -> QuerySet[AuditEntry]:
    if before is None:
        return AuditEntry.objects.none()
    return AuditEntry.objects.filter(created_at__lt=before)


def retention_apply(*, dry_run: bool = False, now: datetime | None = None) -> Expired:
    """Delete the unassigned faces and audit entries older than their retention (none with `dry_run`)."""
    now = now or timezone.now()
    faces_before = _cutoff(settings.FACESEARCH_RETAIN_UNASSIGNED_DAYS, now)
    audit_before = _cutoff(settings.FACESEARCH_RETAIN_AUDIT_DAYS, now)
    faces, entries = expired_faces(before=faces_before), expired_audit_entries(before=audit_before)
    count = (lambda queryset: queryset.count()) if dry_run else _delete_in_batches
    return Expired(
        faces=count(faces), audit_entries=count(entries), faces_before=faces_before, audit_before=audit_before
    )


def _delete_in_batches(queryset: QuerySet) -> int:
    deleted = 0
    while True:
        with transaction.atomic():
            ids = list(queryset.order_by("id").values_list("id", flat=True)[:BATCH])
            if not ids:
                return deleted
            # Re-checked under the delete: a face named meanwhile is no longer expired.
            deleted += queryset.filter(id__in=ids).delete()[1].get(queryset.model._meta.label, 0)
