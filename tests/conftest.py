"""Fixtures shared by every test: real LFW data and the encoders, loaded once per test session."""

from __future__ import annotations

from pathlib import Path

import pytest

from embeddings import FacePipeline
from embeddings.detection import MtcnnDetector
from tests.servers import ROOT, WEIGHTS_DIR

LFW_DIR = ROOT.parent / "shared" / "data" / "lfw"


@pytest.fixture(scope="session")
def lfw_dir() -> Path:
    """LFW deep-funneled images; CI has them, a checkout without ../shared skips the tests that need them."""
    if not (LFW_DIR / "images").is_dir():
        pytest.skip(f"LFW data not found at {LFW_DIR}")
    return LFW_DIR


@pytest.fixture(scope="session")
def weights_dir() -> Path:
    """The encoder weights fetched by `make weights` (run by `make test`)."""
    return WEIGHTS_DIR


@pytest.fixture(scope="session")
def facenet_encoder(weights_dir: Path):
    """The FaceNet encoder, built once per test session (about 5 s and 100 MB)."""
    from embeddings.encoders import load_encoder

    return load_encoder("facenet", weights_dir)


@pytest.fixture(scope="session")
def detector() -> MtcnnDetector:
    """One MTCNN detector for the session (the networks are built once per process, on first detection)."""
    return MtcnnDetector()


@pytest.fixture(scope="session")
def pipeline(weights_dir: Path) -> FacePipeline:
    """The default FacePipeline (facenet) for the session: each network loads once per test run."""
    return FacePipeline(weights_dir=weights_dir)


@pytest.fixture(scope="session")
def celery_worker(django_db_setup, django_db_blocker):
    """A real Celery worker process on the test Redis and the test database (so tests must commit: transaction=True)."""
    import os

    from django.db import connection

    from tests.live_server import start_worker, stop

    database = connection.settings_dict["NAME"]
    env = {**os.environ, "DATABASE_URL": os.environ["DATABASE_URL"].replace("/facesearch?", f"/{database}?", 1)}
    process = start_worker(env=env, hostname=f"test-{os.getpid()}@%h")
    yield process
    stop(process)


@pytest.fixture(scope="session")
def retinaface(weights_dir: Path):
    """One RetinaFace detector for the session (its graph is imported once per process, on first detection)."""
    from embeddings.retinaface import RetinaFaceDetector

    return RetinaFaceDetector(weights_dir)
