"""Retention: unassigned faces and audit entries older than their settings go (daily, or `manage.py purge`); named
faces, newer rows and everything under a 0 setting stay."""

from __future__ import annotations

import io
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.utils import timezone

from facesearch.libraries.models import AuditEntry
from facesearch.libraries.retention import retention_apply
from facesearch.libraries.tasks import retention_run
from facesearch.photos.models import Face
from tests.factories import FaceFactory, PersonFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def aged(user):
    """An old and a new unassigned face, an old named face, an old and a new audit entry (old: 40 days)."""
    old = timezone.now() - timedelta(days=40)
    rows = {
        "old_unassigned": FaceFactory(),
        "new_unassigned": FaceFactory(),
        "old_named": FaceFactory(person=PersonFactory()),
        "old_entry": AuditEntry.objects.create(kind="search", username="someone"),
        "new_entry": AuditEntry.objects.create(kind="search", username="someone"),
    }
    for name in ("old_unassigned", "old_named"):
        Face.objects.filter(id=rows[name].id).update(created_at=old)
    AuditEntry.objects.filter(id=rows["old_entry"].id).update(created_at=old)
    return rows


def test_a_dry_run_counts_what_would_expire_and_deletes_nothing(aged, settings):
    settings.FACESEARCH_RETAIN_UNASSIGNED_DAYS = 30
    settings.FACESEARCH_RETAIN_AUDIT_DAYS = 30
    out = io.StringIO()

    call_command("purge", "--dry-run", stdout=out)

    assert "unassigned faces: would delete 1 created before" in out.getvalue()
    assert "audit entries: would delete 1 created before" in out.getvalue()
    assert Face.objects.count() == 3 and AuditEntry.objects.count() == 2


def test_retention_deletes_only_old_unassigned_faces_and_old_audit_entries(aged, settings):
    settings.FACESEARCH_RETAIN_UNASSIGNED_DAYS = 30
    settings.FACESEARCH_RETAIN_AUDIT_DAYS = 30

    retention_run()

    assert set(Face.objects.values_list("id", flat=True)) == {aged["new_unassigned"].id, aged["old_named"].id}
    assert list(AuditEntry.objects.values_list("id", flat=True)) == [aged["new_entry"].id]
    assert retention_apply().faces == 0  # nothing left to expire


def test_zero_keeps_everything_forever(aged, settings):
    settings.FACESEARCH_RETAIN_UNASSIGNED_DAYS = 0
    settings.FACESEARCH_RETAIN_AUDIT_DAYS = 0
    out = io.StringIO()

    call_command("purge", stdout=out)

    assert "kept forever (FACESEARCH_RETAIN_UNASSIGNED_DAYS=0)" in out.getvalue()
    assert Face.objects.count() == 3 and AuditEntry.objects.count() == 2
