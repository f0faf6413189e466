"""/healthz: a public up/down probe that a flood cannot turn into a flood of pings, and a detailed report for staff."""

from __future__ import annotations

import threading

import pytest
from django.db import connection
from rest_framework.test import APIClient

from facesearch import stack
from facesearch.celery import app as celery_app
from facesearch.core import health
from tests.factories import TokenFactory, UserFactory


@pytest.fixture(autouse=True)
def no_probe_yet(monkeypatch):
    """Each test starts without a remembered probe answer."""
    monkeypatch.setattr(health, "_last_probe", None)


@pytest.fixture
def pings(monkeypatch) -> list[dict]:
    """Celery pings, answered at once by one pretend worker; each call's arguments are recorded."""
    calls: list[dict] = []

    def ping(**kwargs):
        calls.append(kwargs)
        return [{"worker@host": {"ok": "pong"}}]

    monkeypatch.setattr(celery_app.control, "ping", ping)
    return calls


@pytest.mark.slow  # probes each component, a real worker
@pytest.mark.django_db
def test_detail_reports_database_pgvector_redis_and_worker_to_staff(admin_client, celery_worker):
    response = admin_client.get("/healthz?detail=1")
    assert response.status_code == 200
    body = response.json()
    assert body["ok"] is True and body["failing"] == []
    assert body["components"]["database"]["server_version"].startswith("18")
    assert body["components"]["database"]["pgvector_version"].startswith("0.8")
    assert body["components"]["redis"]["ok"] is True
    assert body["components"]["worker"]["ok"] is True


@pytest.mark.slow  # a real worker
@pytest.mark.django_db
def test_public_probe_says_only_ok_with_a_real_worker(client, celery_worker):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"ok": True}


@pytest.mark.slow  # probes each component for real
@pytest.mark.django_db
def test_detail_is_refused_to_anonymous_and_non_staff_users(client):
    assert client.get("/healthz?detail=1").status_code == 401
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {TokenFactory(user=UserFactory()).key}")
    response = api.get("/healthz?detail=1")
    assert response.status_code == 403
    assert set(response.json()) == {"message", "extra"}
    staff = APIClient()
    staff.credentials(HTTP_AUTHORIZATION=f"Token {TokenFactory(user=UserFactory(is_staff=True)).key}")
    assert "components" in staff.get("/healthz?detail=1").json()


@pytest.mark.django_db
def test_a_flood_of_probes_pings_the_worker_once_per_period(client, pings, monkeypatch):
    for _ in range(20):
        assert client.get("/healthz").json() == {"ok": True}
    assert pings == [{"timeout": health.PROBE_PING_TIMEOUT, "limit": 1}]  # stops at the first worker's answer
    monkeypatch.setattr(health, "PROBE_TTL", 0.0)  # the period is over
    client.get("/healthz")
    assert len(pings) == 2


@pytest.mark.django_db
def test_probes_during_a_slow_ping_answer_with_the_previous_value_at_once(pings, monkeypatch):
    """Guards against every web thread queueing behind one slow ping (a worker that does not answer)."""
    assert health.probe() is True
    monkeypatch.setattr(health, "PROBE_TTL", 0.0)
    pinging, release = threading.Event(), threading.Event()

    def slow_ping(**kwargs):
        pinging.set()
        release.wait(timeout=30)
        return []  # no worker answered

    monkeypatch.setattr(celery_app.control, "ping", slow_ping)

    def refresh() -> None:
        health.probe()
        connection.close()

    refreshing = threading.Thread(target=refresh)
    refreshing.start()
    try:
        assert pinging.wait(timeout=30)
        assert health.probe() is True  # the previous answer, while the other thread still waits for its ping
    finally:
        release.set()
        refreshing.join(timeout=30)
    assert health._last_probe[1] is False  # the refresh that finished recorded what it found


@pytest.mark.slow  # a Redis server of its own, stopped
@pytest.mark.django_db
def test_probe_answers_503_and_detail_names_redis_when_redis_is_stopped(client, admin_client, settings, tmp_path):
    process, url = stack.start_redis(tmp_path / "redis")
    settings.REDIS_URL = url
    try:
        assert admin_client.get("/healthz?detail=1").json()["components"]["redis"]["ok"] is True
    finally:
        process.terminate()
        process.wait(timeout=10)
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json() == {"ok": False}
    detail = admin_client.get("/healthz?detail=1")
    assert detail.status_code == 503
    assert detail.json()["failing"] == ["redis", "worker"]
    assert detail.json()["components"]["database"]["ok"] is True


def test_healthz_rejects_other_methods(client):
    assert client.post("/healthz").status_code == 405
