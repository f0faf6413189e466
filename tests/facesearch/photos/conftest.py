"""Fixtures of the write-path tests: an authenticated API client, a few real LFW photos, a private MEDIA_ROOT."""

from __future__ import annotations

from pathlib import Path

import pytest
from rest_framework.test import APIClient

from tests.factories import TokenFactory, UserFactory

# Four people, two photos each, one of them with a second face (Tony_Blair_0003 is a two-person photo in LFW).
LFW_PHOTOS = (
    "Colin_Powell/Colin_Powell_0001.jpg",
    "Colin_Powell/Colin_Powell_0002.jpg",
    "Tony_Blair/Tony_Blair_0001.jpg",
    "Tony_Blair/Tony_Blair_0002.jpg",
    "Serena_Williams/Serena_Williams_0001.jpg",
    "Serena_Williams/Serena_Williams_0002.jpg",
    "Gerhard_Schroeder/Gerhard_Schroeder_0001.jpg",
    "Gerhard_Schroeder/Gerhard_Schroeder_0002.jpg",
)


@pytest.fixture(autouse=True)
def fast_password_hashing(settings):
    """PBKDF2's deliberate slowness costs seconds per user on a busy 2-core machine; tests need no such protection."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def user(db):
    return UserFactory()


@pytest.fixture
def api_client(user) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {TokenFactory(user=user).key}")
    return client


@pytest.fixture(scope="session")
def lfw_photos(lfw_dir: Path) -> list[Path]:
    return [lfw_dir / "images" / name for name in LFW_PHOTOS]


@pytest.fixture
def media_root(settings, tmp_path: Path) -> Path:
    """A private MEDIA_ROOT for tests that run in this process only (a worker process keeps the shared one)."""
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.MEDIA_ROOT.mkdir()
    return settings.MEDIA_ROOT
