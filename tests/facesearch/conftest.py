"""Fixtures of the Django app tests: a user and an API client authenticated by that user's token."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from tests.factories import TokenFactory, UserFactory


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
