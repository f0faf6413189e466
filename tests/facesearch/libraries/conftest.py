"""Fixtures of the library tests: a private MEDIA_ROOT, and two users' libraries holding real LFW faces (`alice`,
`bob`), each with a person, a job, an API key with every scope, and clients for the user and the key."""

from __future__ import annotations

from pathlib import Path

import pytest

from facesearch.people.models import FaceRejection
from tests.facesearch.conftest import LfwImage
from tests.facesearch.libraries.support import Side, side_make


@pytest.fixture
def media_root(settings, tmp_path: Path) -> Path:
    """A private MEDIA_ROOT for tests that run in this process only (a worker process keeps the shared one)."""
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.MEDIA_ROOT.mkdir()
    return settings.MEDIA_ROOT


@pytest.fixture
def alice(db, media_root: Path, lfw_images: dict[str, LfwImage]) -> Side:
    """Alice's personal library: George W Bush enrolled (photos 1, 2) and a third photo of him unnamed, Colin Powell
    enrolled (photo 1), three unnamed photos of Tony Blair (close enough to be suggested as one person); the third
    photo of Bush is recorded as not Powell."""
    side = side_make(
        "alice",
        lfw_images,
        people={"Alice's Bush": ("George_W_Bush_0001", "George_W_Bush_0002"), "Alice's Powell": ("Colin_Powell_0001",)},
        unnamed=("George_W_Bush_0003", "Tony_Blair_0001", "Tony_Blair_0003", "Tony_Blair_0006"),
    )
    FaceRejection.objects.create(face=side.faces["George_W_Bush_0003"], person=side.people["Alice's Powell"])
    return side


@pytest.fixture
def bob(alice: Side, lfw_images: dict[str, LfwImage]) -> Side:
    """Bob's personal library, made after Alice's: George W Bush enrolled (photo 4) and unnamed (photo 5), two unnamed
    photos of Colin Powell (whom only Alice enrolled)."""
    return side_make(
        "bob",
        lfw_images,
        people={"Bob's Bush": ("George_W_Bush_0004",)},
        unnamed=("George_W_Bush_0005", "Colin_Powell_0002", "Colin_Powell_0003"),
    )
