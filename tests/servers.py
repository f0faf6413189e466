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

import psycopg
import pytest

from embeddings.weights import DEFAULT_DIR as DEFAULT_WEIGHTS_DIR
from facesearch import stack

ROOT = Path(__file__).resolve().parents[1]
WEIGHTS_DIR = ROOT / DEFAULT_WEIGHTS_DIR
"""The checkout's encoder weights (`make test` fetches them there): the Django side and the fixtures load these."""


MEMORY_FS = Path("/dev/shm")
"""The session's files go to memory where there is room: the servers' data, uploads and tmp_path are written and
fsynced as for real, but an fsync costs microseconds there instead of milliseconds (more on a disk other jobs share:
the gallery's 43 photo files alone cost 0.13 s per test on the 2-core machine's disk). A session killed with SIGKILL
leaves its folder there (facesearch-test-*), as it did in /tmp."""
MEMORY_FS_NEEDED = 2 * 1024**3  # headroom: the session folders left in /tmp by killed runs held under 200 MB


def _session_root() -> Path:
    """Where the session's folder goes: /dev/shm if it has room (a default Docker one has 64 MB), else the temp dir."""
    try:
        if os.access(MEMORY_FS, os.W_OK) and shutil.disk_usage(MEMORY_FS).free >= MEMORY_FS_NEEDED:
            return MEMORY_FS
    except OSError:
        pass
    return Path(tempfile.gettempdir())


@pytest.hookimpl(wrapper=True)
def pytest_load_initial_conftests(early_config, parser, args):
    base = Path(tempfile.mkdtemp(prefix="facesearch-test-", dir=_session_root()))
    # Runs at exit after the embedded PostgreSQL's own handler (registered later, run first) has stopped the server.
    atexit.register(shutil.rmtree, base, ignore_errors=True)
    redis_process, redis_url = stack.start_redis(base / "redis")
    database_url = stack.start_postgres(base / "postgres", cleanup_mode="delete")
    _without_durability(database_url)
    os.environ.update(
        {
            "DATABASE_URL": database_url,
            "REDIS_URL": redis_url,
            "FACESEARCH_DATA_DIR": str(base / "data"),
            "FACESEARCH_WEIGHTS_DIR": str(WEIGHTS_DIR),
            "SECRET_KEY": "test-only-secret-key-not-for-production",
        }
    )
    (base / "data" / "static").mkdir(parents=True)  # collectstatic's target, which whitenoise expects
    early_config.stash[_servers_key] = redis_process
    early_config.stash[_base_key] = base
    return (yield)


@pytest.hookimpl(tryfirst=True)
def pytest_configure(config):
    """tmp_path in memory too, with the session's folder (before pytest's tmpdir plugin reads the option).

    It goes with the session at exit, unlike pytest's own kept runs: pass --basetemp to keep a failed test's files."""
    base = config.stash[_base_key]
    if config.option.basetemp is None and base.is_relative_to(MEMORY_FS):
        config.option.basetemp = str(base / "pytest")


def _without_durability(database_url: str) -> None:
    """No flush to disk at each commit: it protects committed rows from an OS crash only, which no test makes. Where
    the folder is on disk, a commit and a TRUNCATE of 40 tables (a transactional test's flush) took 0.2 s, 0.05 s
    without it."""
    with psycopg.connect(database_url, autocommit=True) as conn:
        for setting in ("fsync", "synchronous_commit", "full_page_writes"):
            conn.execute(f"ALTER SYSTEM SET {setting} = off")
        conn.execute("SELECT pg_reload_conf()")


_servers_key = pytest.StashKey[subprocess.Popen]()
_base_key = pytest.StashKey[Path]()


def pytest_unconfigure(config):
    redis_process = config.stash[_servers_key]
    redis_process.terminate()
    redis_process.wait(timeout=10)
