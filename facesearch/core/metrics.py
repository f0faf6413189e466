"""Prometheus metrics: what an operator watches and sizes by.

Two kinds. Counted where they happen, in the process that does the work: search latency and result counts (every
search, identification and verification passes `facesearch.libraries.audit.audited`), worker batch sizes (the
processing task). Read when scraped, from the database and Redis, so they are right whichever process or host did
the work: photos by status, faces by encoder, failures by reason, queue depth per queue. Request latency by route
comes from django-prometheus' middleware.

Web and worker processes write their samples to PROMETHEUS_MULTIPROC_DIR (prometheus_client's multiprocess mode:
gunicorn and Celery fork), and `/metrics` on the web server adds up every process of its host. A worker on another
host serves its own with FACESEARCH_WORKER_METRICS_PORT. `/metrics` answers only with the bearer token in
FACESEARCH_METRICS_TOKEN, or to a staff session: counts of photos and searches are not public.
"""

from __future__ import annotations

import functools
import hmac
import os
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

from django.conf import settings
from django.db.models import Count
from django.http import HttpRequest, HttpResponse, HttpResponseNotFound
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Histogram,
    generate_latest,
    multiprocess,
    start_http_server,
)
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

SEARCH_KINDS = {"search", "identify", "verify"}
SEARCH_SECONDS = Histogram(
    "facesearch_search_seconds", "Search, identify and verify requests, whole (networks and nearest query)", ["kind"],
    buckets=(0.05, 0.1, 0.2, 0.35, 0.5, 0.75, 1, 1.5, 2.5, 5, 10),
)  # fmt: skip
SEARCH_RESULTS = Histogram(
    "facesearch_search_results", "Results returned per search, identify and verify", ["kind"],
    buckets=(0, 1, 2, 5, 10, 20, 50, 100),
)  # fmt: skip
BATCH_PHOTOS = Histogram(
    "facesearch_worker_batch_photos", "Photos encoded together by one processing task",
    buckets=(1, 2, 4, 8, 16, 32, 64),
)  # fmt: skip
BATCH_SECONDS = Histogram(
    "facesearch_worker_batch_seconds", "Time a processing task took for its batch (decode, detect, encode, store)",
    buckets=(0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120),
)  # fmt: skip
REASON_LENGTH = 80  # a failure reason is grouped by its first words (the photo's name never starts it)


def search_observed(*, kind: str, seconds: float, results: int) -> None:
    """Count one search-like operation (called by `audited` as it records it)."""
    if kind in SEARCH_KINDS:
        SEARCH_SECONDS.labels(kind=kind).observe(seconds)
        SEARCH_RESULTS.labels(kind=kind).observe(results)


class StateCollector(Collector):
    """Gauges read from the database and Redis at scrape time."""

    def collect(self) -> Iterator[GaugeMetricFamily]:
        from facesearch.photos.models import Face, Photo

        photos = GaugeMetricFamily("facesearch_photos", "Photos by processing status", labels=["status"])
        by_status = dict(Photo.objects.order_by().values_list("status").annotate(n=Count("id")))
        for status in Photo.Status.values:
            photos.add_metric([status], by_status.get(status, 0))
        yield photos
        faces = GaugeMetricFamily("facesearch_faces", "Stored faces by encoder", labels=["model_id"])
        for model_id, count in Face.objects.order_by().values_list("model_id").annotate(n=Count("id")):
            faces.add_metric([model_id], count)
        yield faces
        failures = GaugeMetricFamily("facesearch_photo_failures", "Failed photos by reason", labels=["reason"])
        reasons: dict[str, int] = {}
        failed = Photo.objects.filter(status=Photo.Status.FAILED).order_by().values_list("error")
        for error, count in failed.annotate(n=Count("id")):
            reason = (error.split("\n", 1)[0] or "unknown")[:REASON_LENGTH]
            reasons[reason] = reasons.get(reason, 0) + count
        for reason, count in sorted(reasons.items()):
            failures.add_metric([reason], count)
        yield failures
        yield self._queues()

    @staticmethod
    def _queues() -> GaugeMetricFamily:
        from facesearch.celery import app

        depth = GaugeMetricFamily("facesearch_queue_depth", "Tasks waiting in each Celery queue", labels=["queue"])
        names = [queue.name for queue in app.amqp.queues.values()] or [app.conf.task_default_queue]
        with app.connection_for_read() as connection:
            client = connection.default_channel.client
            for name in sorted(set(names)):
                depth.add_metric([name], client.llen(name))
        return depth


def registry(*, state: bool = True) -> CollectorRegistry:
    """Every process's samples of this host (multiprocess mode) or this process's, and with `state` the gauges read
    from the database and Redis now (the web server's `/metrics`; a worker's own port leaves them to it)."""
    found = CollectorRegistry()
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        multiprocess.MultiProcessCollector(found)
    else:
        found.register(_ThisProcess())
    if state:
        found.register(StateCollector())
    return found


class _ThisProcess(Collector):
    """The default registry's samples, when processes keep their own (no multiprocess folder)."""

    def collect(self) -> Iterator:
        yield from REGISTRY.collect()


def metrics_allowed(request: HttpRequest) -> bool:
    token = settings.FACESEARCH_METRICS_TOKEN
    sent = request.headers.get("Authorization", "")
    if token and hmac.compare_digest(sent.encode(), f"Bearer {token}".encode()):
        return True
    return bool(request.user.is_authenticated and request.user.is_staff)


def metrics_view(request: HttpRequest) -> HttpResponse:
    """`/metrics` in Prometheus' text format; a 404 to anyone without the token or a staff session."""
    if not metrics_allowed(request):
        return HttpResponseNotFound()
    return HttpResponse(generate_latest(registry()), content_type=CONTENT_TYPE_LATEST)


def batch_observed(function: Callable[..., None]) -> Callable[..., None]:
    """Count a processing batch: how many photos it was given and how long it took."""

    @functools.wraps(function)
    def observed(*, photo_ids: Sequence[int], **options: object) -> None:
        BATCH_PHOTOS.observe(len(photo_ids))
        with BATCH_SECONDS.time():
            function(photo_ids=photo_ids, **options)

    return observed


def worker_metrics_serve() -> None:
    """Serve this worker host's samples on FACESEARCH_WORKER_METRICS_PORT, when set (a worker on its own host)."""
    if settings.FACESEARCH_WORKER_METRICS_PORT:
        start_http_server(settings.FACESEARCH_WORKER_METRICS_PORT, registry=registry(state=False))


def multiprocess_dir_reset(path: Path) -> None:
    """Start a host's processes on an empty samples folder (stale files of dead processes would add up forever)."""
    path.mkdir(parents=True, exist_ok=True)
    for stale in path.glob("*.db"):
        stale.unlink(missing_ok=True)
