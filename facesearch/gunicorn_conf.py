"""gunicorn settings of the web server: the one config of the Procfile, the Docker image and the tests' servers.

Each worker loads and runs both networks before it serves (`post_worker_init`), so no request pays for loading them.
"""

from __future__ import annotations

import os

bind = f"{os.environ.get('BIND_ADDRESS', '127.0.0.1')}:{os.environ.get('PORT', '8000')}"
workers = int(os.environ.get("WEB_CONCURRENCY", "1"))
worker_class = "gthread"
# Searches running or waiting for the networks hold at most FACESEARCH_INFERENCE_CONCURRENCY +
# FACESEARCH_INFERENCE_QUEUE threads (5 by default: facesearch/core/inference.py); the others serve everything else.
threads = 8
timeout = 120
accesslog = "-"


def post_worker_init(worker) -> None:
    from django.conf import settings

    from facesearch.core.pipeline import get_pipeline

    held = settings.FACESEARCH_INFERENCE_CONCURRENCY + settings.FACESEARCH_INFERENCE_QUEUE
    if held >= worker.cfg.threads:
        worker.log.warning(
            "searches may hold all %d threads (FACESEARCH_INFERENCE_CONCURRENCY + FACESEARCH_INFERENCE_QUEUE = %d): "
            "other requests will wait behind them",
            worker.cfg.threads,
            held,
        )
    get_pipeline().warm_up()


def child_exit(server, worker) -> None:
    """A web worker's samples stay counted after it exits; its live gauges (none today) would not (metrics.py)."""
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)
