"""Ingest jobs and their items: the state machine the API, the CLI and the admin show.

- An `IngestJob` is *filling* while its files are being added (state pending), *running* once every file is added
  (sealed), *done* when it is sealed and none of its items is pending; *interrupted* when the CLI was stopped while
  filling. A folder job is resumed by the next `ingest` of the same folder until it is done.
- An `IngestItem` is one file of a job: *pending* while its new photo waits for the worker, *done* when the photo was
  processed, *skipped* when the same bytes were already stored (its photo is the existing one), *failed* with the
  reason when the file was refused (nothing stored, no photo) or its processing failed.
- Deleting a photo deletes the items that point at it too (they hold its file name), so nothing of it remains.

This module only moves states; it queues nothing, so processing and ingest can both use it.
"""

from __future__ import annotations

import os
from collections.abc import Sequence

from django.contrib.auth.models import AbstractBaseUser
from django.db import IntegrityError, transaction
from django.utils import timezone as django_timezone

from facesearch.libraries.models import Library
from facesearch.photos.models import IngestItem, IngestJob, Photo


def item_add(*, job: IngestJob, name: str, photo: Photo | None, state: str, error: str = "") -> IngestItem:
    """Record one file of a job; an upload job may receive two files of the same name, so those get numbered."""
    candidate, number = name, 1
    while True:
        try:
            with transaction.atomic():
                return IngestItem.objects.create(job=job, name=candidate, photo=photo, state=state, error=error[:2000])
        except IntegrityError:
            if job.source != IngestJob.Source.UPLOAD:
                raise
            number += 1
            stem, suffix = os.path.splitext(name)
            candidate = f"{stem} ({number}){suffix}"


def items_finish(*, photo_ids: Sequence[int], state: str, error: str = "") -> None:
    """Mark the photos' pending items (of any job) finished, then close the jobs that have nothing left pending."""
    pending = IngestItem.objects.filter(photo_id__in=photo_ids, state=IngestItem.State.PENDING)
    job_ids = jobs_lock(pending)
    pending.update(state=state, error=error)
    jobs_finish_if_complete(job_ids)


def jobs_lock(items) -> list[int]:
    """Lock the jobs of `items` (in id order, so concurrent workers never deadlock) before changing their items.

    Holding the job lock while counting pending items is what lets exactly one worker see the last item finish.
    """
    job_ids = sorted(set(items.values_list("job_id", flat=True)))
    list(IngestJob.objects.select_for_update(no_key=True).filter(id__in=job_ids).order_by("id").values_list("id"))
    return job_ids


def jobs_finish_if_complete(job_ids: Sequence[int]) -> None:
    IngestJob.objects.filter(id__in=job_ids, state=IngestJob.State.RUNNING).exclude(
        items__state=IngestItem.State.PENDING
    ).update(state=IngestJob.State.DONE, finished_at=django_timezone.now())


def job_seal(*, job: IngestJob) -> None:
    """Every file of the job has been added: it is running, or done already if nothing is pending."""
    with transaction.atomic():
        IngestJob.objects.select_for_update(no_key=True).filter(id=job.id).values_list("id").first()
        IngestJob.objects.filter(id=job.id).update(state=IngestJob.State.RUNNING, finished_at=None)
        jobs_finish_if_complete([job.id])
    job.refresh_from_db()


def job_reopen(*, job: IngestJob) -> None:
    """More files of the same upload arrive in a later request: the job is filling again until `job_seal`, so it is
    not shown done between two requests' worth of files."""
    with transaction.atomic():
        IngestJob.objects.select_for_update(no_key=True).filter(id=job.id).values_list("id").first()
        IngestJob.objects.filter(id=job.id).update(state=IngestJob.State.PENDING, finished_at=None)
    job.refresh_from_db()


def job_interrupt(*, job: IngestJob) -> None:
    """Filling stopped before every file was added (Ctrl-C); the next `ingest` of the same folder resumes it."""
    IngestJob.objects.filter(id=job.id).exclude(state=IngestJob.State.DONE).update(state=IngestJob.State.INTERRUPTED)
    job.refresh_from_db()


def upload_job_create(*, library: Library, user: AbstractBaseUser | None) -> IngestJob:
    """An upload job into `library` being filled (pending); `job_seal` it once every file is added."""
    return IngestJob.objects.create(
        library=library, source=IngestJob.Source.UPLOAD, created_by=user, state=IngestJob.State.PENDING,
        started_at=django_timezone.now(),
    )  # fmt: skip
