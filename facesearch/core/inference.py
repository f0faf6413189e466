"""Face inference in the web process (search, identify, verify), behind one bounded gate per process.

Without it every search ran both networks at once on its own thread: 48 searches in flight took every gunicorn
thread, photo lists waited past 60 s and the process grew to 2.6 GiB. Now at most FACESEARCH_INFERENCE_CONCURRENCY
inferences run at once, at most FACESEARCH_INFERENCE_QUEUE more wait (each for FACESEARCH_INFERENCE_WAIT seconds at
most), and any other search is answered 429 at once, so its thread goes back to lists, pages and thumbnails. Each
gunicorn worker process has its own gate (and its own networks).

TensorFlow's own thread pools keep their default (one thread per core): on this project's 2 cores, limiting them to
one thread changed neither the load test's list and thumbnail latency (0.53 s against 0.61 s, slowest of 16) nor an
inference's time beyond run-to-run noise; the gate is what leaves the web threads their share.
"""

from __future__ import annotations

import functools
import math
import threading
from collections.abc import Iterator
from contextlib import contextmanager

from django.conf import settings

from facesearch.core.errors import ApplicationError


class InferenceGate:
    """`concurrency` running slots and `queue` waiting ones; a request finding both full is refused without waiting."""

    def __init__(self, *, concurrency: int, queue: int, wait: float) -> None:
        self.wait = wait
        self._running = threading.BoundedSemaphore(concurrency)
        self._admitted = threading.BoundedSemaphore(concurrency + queue)

    @contextmanager
    def slot(self) -> Iterator[None]:
        """Hold a running slot for the block; raises a 429 ApplicationError when none can be had in time."""
        if not self._admitted.acquire(blocking=False):
            raise self._busy("Too many face searches are running or waiting; retry later.")
        try:
            if not self._running.acquire(timeout=self.wait):
                raise self._busy("The face search waited too long for the networks; retry later.")
            try:
                yield
            finally:
                self._running.release()
        finally:
            self._admitted.release()

    def _busy(self, message: str) -> ApplicationError:
        # After `wait` seconds every request waiting now has run or been refused: the waiting room has turned over.
        seconds = max(1, math.ceil(self.wait))
        return ApplicationError(message, {"wait": seconds}, status=429, headers={"Retry-After": str(seconds)})


@functools.cache
def get_gate() -> InferenceGate:
    """The gate of this process, sized from settings."""
    return InferenceGate(
        concurrency=settings.FACESEARCH_INFERENCE_CONCURRENCY,
        queue=settings.FACESEARCH_INFERENCE_QUEUE,
        wait=settings.FACESEARCH_INFERENCE_WAIT,
    )
