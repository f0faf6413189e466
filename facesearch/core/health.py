"""Component checks behind /healthz: each returns a status dict and never raises.

The public probe (`probe`) answers only up or down, from a value reused for a few seconds; the detailed report
(`health`, for staff) names versions, worker hosts and errors, so it is computed on each request.
"""

from __future__ import annotations

import threading
import time
from typing import Any

import redis
from django.conf import settings
from django.db import connection

from facesearch.celery import app as celery_app

# Seconds a probe's answer is reused: a flood of probes pings the worker once per web process per period, not once
# per probe. Kept per process, not in Django's cache, which lives in the Redis this probe checks.
PROBE_TTL = 5.0
PROBE_PING_TIMEOUT = 1.0  # the ping stops at the first worker's answer; this long only when no worker answers

_last_probe: tuple[float, bool] | None = None  # (time.monotonic() when computed, ok)
_probing = threading.Lock()


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


def worker_status(timeout: float = 2.0, limit: int | None = None) -> dict[str, Any]:
    """Workers answering a ping within `timeout`; with `limit`, the ping stops as soon as that many answered."""
    try:
        replies = celery_app.control.ping(timeout=timeout, limit=limit)
    except Exception as exc:
        return {"ok": False, "error": str(exc).strip()}
    if not replies:
        return {"ok": False, "error": "no Celery worker answered the ping"}
    return {"ok": True, "workers": sorted(name for reply in replies for name in reply)}


def health(*, first_worker: bool = False) -> dict[str, Any]:
    """Every component's status; `ok` only when all are. The worker is not pinged when Redis is down.

    `first_worker` stops the ping at the first worker's answer (the report then names that one only).
    """
    components = {"database": database_status(), "redis": redis_status()}
    components["worker"] = (
        (worker_status(PROBE_PING_TIMEOUT, limit=1) if first_worker else worker_status())
        if components["redis"]["ok"]
        else {"ok": False, "error": "Redis is unavailable"}
    )
    failing = [name for name, status in components.items() if not status["ok"]]
    return {"ok": not failing, "failing": failing, "components": components}


def probe() -> bool:
    """`health()["ok"]`, computed at most once per PROBE_TTL in this process.

    While one thread computes it, the others answer with the previous value instead of waiting for the same ping.
    """
    global _last_probe
    last = _last_probe
    if last is not None and time.monotonic() - last[0] < PROBE_TTL:
        return last[1]
    if not _probing.acquire(blocking=last is None):
        return last[1]
    try:
        last = _last_probe  # another thread may have computed it while this one waited for the lock
        if last is None or time.monotonic() - last[0] >= PROBE_TTL:
            ok = health(first_worker=True)["ok"]
            last = _last_probe = (time.monotonic(), ok)
        return last[1]
    finally:
        _probing.release()
