"""Helpers of the tests that talk HTTP to real server processes (tests/e2e, tests/load): a fresh database of their
own on the session's embedded PostgreSQL, and stopping a process group they started."""

from __future__ import annotations

import os
import signal
import subprocess
import urllib.error
import urllib.request
from urllib.parse import urlsplit, urlunsplit

import psycopg


def with_path(url: str, path: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path=path))


def fresh_database(url: str, suffix: str) -> str:
    """A fresh, empty database `<database of url><suffix>` on the same server; its URL."""
    fresh_url = with_path(url, f"{urlsplit(url).path}{suffix}")
    drop_database(fresh_url)
    with psycopg.connect(with_path(url, "/postgres"), autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{urlsplit(fresh_url).path.lstrip("/")}"')
    return fresh_url


def drop_database(url: str) -> None:
    with psycopg.connect(with_path(url, "/postgres"), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{urlsplit(url).path.lstrip("/")}" WITH (FORCE)')


def stop(process: subprocess.Popen) -> None:
    """Stop a process started with `start_new_session=True`, and its children (gunicorn's, Celery's workers)."""
    os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()


def serving(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/login/", timeout=2) as response:
            return response.status == 200
    except (urllib.error.URLError, ConnectionError, TimeoutError):
        return False
