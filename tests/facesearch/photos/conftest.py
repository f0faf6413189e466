"""Fixtures of the write-path tests: a few real LFW photos and a private MEDIA_ROOT."""

from __future__ import annotations

from pathlib import Path

import pytest

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


@pytest.fixture(scope="session")
def lfw_photos(lfw_dir: Path) -> list[Path]:
    return [lfw_dir / "images" / name for name in LFW_PHOTOS]


@pytest.fixture
def media_root(settings, tmp_path: Path) -> Path:
    """A private MEDIA_ROOT for tests that run in this process only (a worker process keeps the shared one)."""
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.MEDIA_ROOT.mkdir()
    return settings.MEDIA_ROOT
