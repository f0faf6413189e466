"""/healthz reports each real component and names the one that is down."""

from __future__ import annotations

import pytest

from facesearch import stack


@pytest.mark.django_db
def test_healthz_is_ok_with_database_pgvector_redis_and_worker(client, celery_worker):
    response = client.get("/healthz")
    assert response.status_code == 200
    body = response.json()
    assert body["ok"] is True and body["failing"] == []
    assert body["components"]["database"]["server_version"].startswith("18")
    assert body["components"]["database"]["pgvector_version"].startswith("0.8")
    assert body["components"]["redis"]["ok"] is True
    assert body["components"]["worker"]["ok"] is True


@pytest.mark.django_db
def test_healthz_answers_503_naming_redis_when_redis_is_stopped(client, settings, tmp_path):
    process, url = stack.start_redis(tmp_path / "redis")
    settings.REDIS_URL = url
    try:
        assert client.get("/healthz").json()["components"]["redis"]["ok"] is True
    finally:
        process.terminate()
        process.wait(timeout=10)
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json()["failing"] == ["redis", "worker"]
    assert response.json()["components"]["database"]["ok"] is True


def test_healthz_rejects_other_methods(client):
    assert client.post("/healthz").status_code == 405
