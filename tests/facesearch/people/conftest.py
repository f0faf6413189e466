"""Fixtures of the people tests: an authenticated API client (people logic needs no real faces)."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from tests.factories import TokenFactory, UserFactory


@pytest.fixture
def user(db):
    return UserFactory()


@pytest.fixture
def api_client(user) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {TokenFactory(user=user).key}")
    return client
