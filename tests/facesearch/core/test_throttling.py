"""API rate limits: per user and per scope, counted in the shared Redis cache, refused as `{"message", "extra"}` 429s.

DRF reads the rates into `SimpleRateThrottle.THROTTLE_RATES` once, at import, so the tests patch that attribute (the
`settings` fixture would not reach it); the counters live in Redis for the whole test session, so each test starts
from an empty cache.
"""

from __future__ import annotations

import runpy
from pathlib import Path

import pytest
import redis
from django.conf import settings
from django.core.cache import cache
from rest_framework.test import APIClient
from rest_framework.throttling import SimpleRateThrottle

import facesearch
from facesearch.libraries.models import Role
from tests.factories import FaceFactory, MembershipFactory, TokenFactory, UserFactory, first_library


def rates(monkeypatch, **overrides: str) -> None:
    """The settings' rates, with `overrides` (e.g. search="3/min"), for this test."""
    monkeypatch.setattr(SimpleRateThrottle, "THROTTLE_RATES", {**SimpleRateThrottle.THROTTLE_RATES, **overrides})


@pytest.fixture(autouse=True)
def empty_cache():
    cache.clear()
    yield
    cache.clear()


def client_of(user) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {TokenFactory(user=user).key}")
    return client


@pytest.mark.django_db
def test_a_user_over_the_search_rate_gets_429_with_retry_after_while_another_user_is_not(api_client, monkeypatch):
    rates(monkeypatch, search="3/min")
    a, b = FaceFactory(), FaceFactory()
    search = {"face_id": a.id}

    answers = [api_client.post("/api/search/", search, format="json").status_code for _ in range(2)]
    answers.append(api_client.post("/api/verify/", {"face_a": a.id, "face_b": b.id}, format="json").status_code)
    refused = api_client.post("/api/search/", search, format="json")
    refused_verify = api_client.post("/api/verify/", {"face_a": a.id, "face_b": b.id}, format="json")

    assert answers == [200, 200, 200]  # search and verify share the `search` budget: the third request spent it
    assert refused.status_code == 429 and refused_verify.status_code == 429
    body = refused.json()
    assert set(body) == {"message", "extra"} and body["message"].startswith("Request was throttled.")
    assert isinstance(body["extra"]["wait"], int) and 0 < body["extra"]["wait"] <= 60
    assert refused["Retry-After"] == str(body["extra"]["wait"])
    other = MembershipFactory(library=first_library(), role=Role.VIEWER).user  # may search the same faces
    assert client_of(other).post("/api/search/", search, format="json").status_code == 200
    assert api_client.get("/api/photos/").status_code == 200  # other endpoints are not part of the search budget


@pytest.mark.django_db
def test_listing_photos_does_not_spend_the_upload_rate(api_client, monkeypatch):
    rates(monkeypatch, upload="2/min")

    listings = [api_client.get("/api/photos/").status_code for _ in range(5)]
    uploads = [api_client.post("/api/photos/", {}, format="multipart").status_code for _ in range(3)]

    assert listings == [200] * 5
    assert uploads == [400, 400, 429]  # refused uploads count too: the rate bounds requests, not stored photos
    assert api_client.get("/api/photos/").status_code == 200  # and listing still works once uploads are refused


@pytest.mark.django_db
def test_every_endpoint_counts_against_the_general_user_rate(api_client, monkeypatch):
    rates(monkeypatch, user="3/min")
    face = FaceFactory()

    answers = [
        api_client.get("/api/photos/").status_code,
        api_client.get(f"/api/faces/{face.id}/").status_code,
        api_client.post("/api/search/", {"face_id": face.id}, format="json").status_code,
        api_client.get("/api/jobs/").status_code,
    ]

    assert answers == [200, 200, 200, 429]
    assert client_of(UserFactory()).get("/api/jobs/").status_code == 200


@pytest.mark.django_db
def test_throttle_counters_live_in_redis_on_a_database_of_their_own(api_client, user, monkeypatch):
    rates(monkeypatch)
    assert api_client.get("/api/photos/").status_code == 200

    key = f"facesearch:1:throttle_user_{user.id}"
    assert redis.Redis.from_url(settings.CACHES["default"]["LOCATION"]).exists(key)
    assert not redis.Redis.from_url(settings.REDIS_URL).exists(key)  # Celery's database: cache.clear() flushes one


def settings_module(monkeypatch, tmp_path: Path, **env: str) -> dict:
    """The settings module run afresh with this environment (and a data directory without services.env)."""
    for name in ("REDIS_URL", "FACESEARCH_CACHE_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("FACESEARCH_DATA_DIR", str(tmp_path))
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return runpy.run_path(str(Path(facesearch.__file__).with_name("settings.py")))


def test_the_cache_is_redis_on_the_database_after_celerys(monkeypatch, tmp_path):
    module = settings_module(monkeypatch, tmp_path, REDIS_URL="redis://:secret@redis:6379/3")
    assert module["CACHES"]["default"]["BACKEND"] == "django.core.cache.backends.redis.RedisCache"
    assert module["CACHES"]["default"]["LOCATION"] == "redis://:secret@redis:6379/4"
    assert settings_module(monkeypatch, tmp_path, REDIS_URL="redis://redis:6379")["FACESEARCH_CACHE_URL"] == (
        "redis://redis:6379/1"
    )
    chosen = settings_module(monkeypatch, tmp_path, REDIS_URL="redis://a/0", FACESEARCH_CACHE_URL="redis://b/7")
    assert chosen["CACHES"]["default"]["LOCATION"] == "redis://b/7"


def test_settings_load_without_redis_url_with_a_cache_per_process(monkeypatch, tmp_path):
    module = settings_module(monkeypatch, tmp_path)
    assert module["CACHES"]["default"]["BACKEND"] == "django.core.cache.backends.locmem.LocMemCache"
