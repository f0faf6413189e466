"""The project's Celery app, where reading a photo named `poison*` kills the worker process running it.

That is what the out-of-memory killer does to a batch too large for the machine: no exception, no clean-up, no
acknowledgement, so the broker delivers the task again, and again.
"""

import os
import signal

from celery.signals import worker_process_init

from facesearch.celery import app

__all__ = ["app"]


@worker_process_init.connect
def poison_photo_reads(**_: object) -> None:
    """In each pool process, once Django is set up: reading a `poison*` photo is a SIGKILL of that process."""
    from facesearch.photos import processing

    read = processing._photo_image

    def killing_read(photo):
        if photo.original_name.startswith("poison"):
            os.kill(os.getpid(), signal.SIGKILL)
        return read(photo)

    processing._photo_image = killing_read
