"""Fixtures shared by every test: real LFW data and the encoders, loaded once per test session."""

from __future__ import annotations

from pathlib import Path

import pytest

from embeddings import FacePipeline
from embeddings.detection import Detector
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
def detector() -> Detector:
    """One MTCNN detector for the session (the networks are built once per process, on first detection)."""
    return Detector()


@pytest.fixture(scope="session")
def pipeline(weights_dir: Path) -> FacePipeline:
    """The default FacePipeline (facenet) for the session: each network loads once per test run."""
    return FacePipeline(weights_dir=weights_dir)


@pytest.fixture(scope="session")
def celery_worker(django_db_setup, django_db_blocker):
    """A real Celery worker process on the test Redis and the test database (so tests must commit: transaction=True)."""
    import os
    import signal
    import subprocess
    import sys
    import time

    from django.db import connection

    from facesearch.celery import app

    database = connection.settings_dict["NAME"]
    url = os.environ["DATABASE_URL"]
    env = {**os.environ, "DATABASE_URL": url.replace("/facesearch?", f"/{database}?", 1)}
    process = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "facesearch", "worker", "--concurrency", "1", "--loglevel", "WARNING",
         "--hostname", f"test-{os.getpid()}@%h"],
        env=env, cwd=ROOT, start_new_session=True,
    )  # fmt: skip
    deadline = time.monotonic() + 120
    while not app.control.ping(timeout=0.5):
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            pytest.fail(f"the Celery worker did not start (exit code {process.poll()})")
    yield process
    os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
