"""Real server processes for the tests: a Celery worker started as production starts it (the one way every test gets
one), a fresh database on the session's embedded PostgreSQL for the HTTP tests (tests/e2e, tests/load), and stopping
a process group they started."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import IO
from urllib.parse import urlsplit, urlunsplit

import psycopg
import pytest
from celery import Celery

ROOT = Path(__file__).resolve().parents[1]
WORKER_START_TIMEOUT = 180  # a worker loads the networks before it answers; several at once on a busy 2-core machine


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


def start_worker(
    *, env: dict[str, str], hostname: str, app: str = "facesearch", queue: str | None = None, log: IO | None = None
) -> subprocess.Popen:
    """A Celery worker of `app` on `env`'s database and Redis, in its own process group (so it can be killed whole),
    consuming `queue` (default: the default queue); returns once it answers a ping on that Redis."""
    command = [sys.executable, "-m", "celery", "-A", app, "worker", "--concurrency", "1", "--loglevel", "WARNING",
               "--hostname", hostname, "--without-mingle", "--without-gossip"]  # fmt: skip
    if queue:
        command += ["--queues", queue]
    process = subprocess.Popen(
        command, env=env, cwd=ROOT, start_new_session=True, stdout=log, stderr=subprocess.STDOUT if log else None
    )
    name = hostname.replace("%h", os.uname().nodename)
    broker = Celery(broker=env["REDIS_URL"], set_as_current=False)  # never the app that `shared_task`s resolve to
    try:
        deadline = time.monotonic() + WORKER_START_TIMEOUT
        while not broker.control.ping(destination=[name], timeout=0.5):
            if process.poll() is not None or time.monotonic() > deadline:
                stop(process)
                pytest.fail(f"the Celery worker {name} did not start (exit code {process.poll()})")
    finally:
        broker.close()
    return process
