"""Helpers of the write-path tests: polling, files on disk, child processes on this session's database."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from django.conf import settings

ROOT = Path(__file__).resolve().parents[3]


def files_under(root: Path) -> list[Path]:
    return sorted(path for path in Path(root).rglob("*") if path.is_file())


def wait_for(predicate: Callable[[], object], *, timeout: float = 120, interval: float = 0.2, what: str = "it"):
    """Poll until `predicate()` is truthy and return its value; fail the test after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout} s waiting for {what}")
        time.sleep(interval)


def child_env(**extra: str) -> dict[str, str]:
    """The environment of a child process (worker, manage.py) that must use this test session's database."""
    from django.db import connection

    url = os.environ["DATABASE_URL"].replace("/facesearch?", f"/{connection.settings_dict['NAME']}?", 1)
    return {**os.environ, "DATABASE_URL": url, "MEDIA_ROOT": str(settings.MEDIA_ROOT), **extra}


def start_worker(*, app: str, queue: str, hostname: str, env: dict[str, str]) -> subprocess.Popen:
    """A Celery worker (own process group, so it can be killed whole) consuming only `queue`; waits until it answers."""
    from facesearch.celery import app as celery_app

    process = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", app, "worker", "--concurrency", "1", "--loglevel", "WARNING",
         "--queues", queue, "--hostname", hostname, "--without-mingle", "--without-gossip"],
        env=env, cwd=ROOT, start_new_session=True,
    )  # fmt: skip
    name = hostname.replace("%h", os.uname().nodename)
    deadline = time.monotonic() + 120
    while not celery_app.control.ping(destination=[name], timeout=0.5):
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            pytest.fail(f"the Celery worker {name} did not start (exit code {process.poll()})")
    return process
