"""The audit log in the admin is read-only, even for a superuser."""

from __future__ import annotations

import pytest

from facesearch.libraries.models import AuditEntry

pytestmark = pytest.mark.django_db


def test_audit_log_can_be_read_but_not_added_changed_or_deleted(admin_client, admin_user):
    log = AuditEntry.objects.create(
        user=admin_user, kind="search", result_count=3, best_distance=0.4, detail={"limit": 3}
    )

    assert admin_client.get("/admin/libraries/auditentry/").status_code == 200
    page = admin_client.get(f"/admin/libraries/auditentry/{log.id}/change/")
    assert page.status_code == 200
    assert b"Save" not in page.content
    assert admin_client.get("/admin/libraries/auditentry/add/").status_code == 403
    assert admin_client.post(f"/admin/libraries/auditentry/{log.id}/change/", {"result_count": 9}).status_code == 403
    assert admin_client.post(f"/admin/libraries/auditentry/{log.id}/delete/", {"post": "yes"}).status_code == 403
    log.refresh_from_db()
    assert log.result_count == 3
