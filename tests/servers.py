"""pytest plugin (`-p tests.servers`): the real embedded PostgreSQL+pgvector and Redis for the whole test session.

It runs before pytest-django reads the settings, so the settings see these servers exactly as `make run` would.
"""

from __future__ import annotations

import atexit
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

from embeddings.weights import DEFAULT_DIR as DEFAULT_WEIGHTS_DIR
from facesearch import stack

ROOT = Path(__file__).resolve().parents[1]
WEIGHTS_DIR = ROOT / DEFAULT_WEIGHTS_DIR
"""The checkout's encoder weights (`make test` fetches them there): the Django side and the fixtures load these."""


@pytest.hookimpl(wrapper=True)
def pytest_load_initial_conftests(early_config, parser, args):
    base = Path(tempfile.mkdtemp(prefix="facesearch-test-"))
    # Runs at exit after the embedded PostgreSQL's own handler (registered later, run first) has stopped the server.
    atexit.register(shutil.rmtree, base, ignore_errors=True)
    redis_process, redis_url = stack.start_redis(base / "redis")
    os.environ.update(
        {
            "DATABASE_URL": stack.start_postgres(base / "postgres", cleanup_mode="delete"),
            "REDIS_URL": redis_url,
            "FACESEARCH_DATA_DIR": str(base / "data"),
            "FACESEARCH_WEIGHTS_DIR": str(WEIGHTS_DIR),
            "SECRET_KEY": "test-only-secret-key-not-for-production",
        }
    )
    (base / "data" / "static").mkdir(parents=True)  # collectstatic's target, which whitenoise expects
    early_config.stash[_servers_key] = redis_process
    return (yield)


_servers_key = pytest.StashKey[subprocess.Popen]()


def pytest_unconfigure(config):
    redis_process = config.stash[_servers_key]
    redis_process.terminate()
    redis_process.wait(timeout=10)
