"""Component checks behind /healthz: each returns a status dict and never raises."""

from __future__ import annotations

from typing import Any

import redis
from django.conf import settings
from django.db import connection

from facesearch.celery import app as celery_app


def database_status() -> dict[str, Any]:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SHOW server_version")
            server_version = cursor.fetchone()[0]
            cursor.execute("SELECT extversion FROM pg_extension WHERE extname = 'vector'")
            row = cursor.fetchone()
    except Exception as exc:  # any failure to reach the database is the answer, not an error
        return {"ok": False, "error": str(exc).strip()}
    if row is None:
        return {"ok": False, "server_version": server_version, "error": "pgvector extension is not installed"}
    return {"ok": True, "server_version": server_version, "pgvector_version": row[0]}


def redis_status() -> dict[str, Any]:
    try:
        client = redis.Redis.from_url(settings.REDIS_URL, socket_connect_timeout=2, socket_timeout=2)
        info = client.info("server")
    except Exception as exc:
        return {"ok": False, "error": str(exc).strip()}
    return {"ok": True, "version": info.get("redis_version")}


def worker_status(timeout: float = 2.0) -> dict[str, Any]:
    try:
        replies = celery_app.control.ping(timeout=timeout)
    except Exception as exc:
        return {"ok": False, "error": str(exc).strip()}
    if not replies:
        return {"ok": False, "error": "no Celery worker answered the ping"}
    return {"ok": True, "workers": sorted(name for reply in replies for name in reply)}


def health() -> dict[str, Any]:
    """Every component's status; `ok` only when all are. The worker is not pinged when Redis is down."""
    components = {"database": database_status(), "redis": redis_status()}
    components["worker"] = (
        worker_status() if components["redis"]["ok"] else {"ok": False, "error": "Redis is unavailable"}
    )
    failing = [name for name, status in components.items() if not status["ok"]]
    return {"ok": not failing, "failing": failing, "components": components}
