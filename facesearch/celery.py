"""The Celery app: configuration comes from Django settings (CELERY_* names)."""

import logging
import os

from celery import Celery
from celery.signals import worker_process_init, worker_ready

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "facesearch.settings")

app = Celery("facesearch")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@app.task(name="facesearch.ping")
def ping() -> str:
    """A round trip through the broker and a worker; used by tests."""
    return "pong"


@worker_process_init.connect
def load_models(**_: object) -> None:
    """Load the networks once per worker process, before the first task, not at import."""
    from facesearch.core.pipeline import warm_up_and_log

    warm_up_and_log(logging.getLogger("facesearch.worker"))


@worker_ready.connect
def serve_metrics(**_: object) -> None:
    """A worker on a host of its own serves its samples (facesearch/core/metrics.py)."""
    from facesearch.core.metrics import worker_metrics_serve

    worker_metrics_serve()
