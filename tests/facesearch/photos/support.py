"""Helpers of the write-path tests: polling, files on disk, the environment of child processes on this session's
database."""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from django.conf import settings


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
