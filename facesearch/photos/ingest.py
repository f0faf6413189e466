"""Ingest as jobs: multi-file uploads, folder imports (resumable), retries of failed items, re-encoding stored photos.

Each file becomes an item of its job (`jobs`) and, when new, a photo (`services.photo_create`); the new photos are
queued together, `tasks.BATCH_SIZE` per task, so the worker batches detection and encoding across them.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterable, Sequence
from pathlib import Path

from django.contrib.auth.models import AbstractBaseUser
from django.core.files import File
from django.db import IntegrityError, transaction
from django.utils import timezone as django_timezone

from facesearch.core.errors import ApplicationError
from facesearch.libraries.models import Library
from facesearch.photos import tasks
from facesearch.photos.jobs import item_add, job_reopen, job_seal, upload_job_create
from facesearch.photos.models import IngestItem, IngestJob, Photo
from facesearch.photos.processing import DB_ERRORS, PENDING_AGAIN
from facesearch.photos.services import photo_create

logger = logging.getLogger(__name__)

IMAGE_EXTENSIONS = frozenset(
    {
        ".jpg",
        ".jpeg",
        ".jpe",
        ".png",
        ".webp",
        ".gif",
        ".bmp",
        ".tif",
        ".tiff",
        ".heic",
        ".heif",
        ".avif",
        ".ppm",
        ".pgm",
    }
)


def photos_upload(
    *, files: Sequence[File], library: Library, uploaded_by: AbstractBaseUser | None, job: IngestJob | None = None
) -> tuple[IngestJob, list[IngestItem]]:
    """Several uploaded files as one upload job into `library`: one item per file, a refused file is a failed item.

    Each file is its own outcome: whatever happens to one (even an unexpected error), the files stored before it keep
    their photos, the job is sealed and the new photos are queued together, BATCH_SIZE per task, so the worker batches
    detection and encoding across them. When every file is refused nothing is kept, the job included, and
    ApplicationError lists the reasons.

    `job`: an upload job an earlier request of the same upload began (a browser sends many files in several requests,
    and they are one upload: one job). It is reopened, gets these files too and is sealed again; files all refused
    are its failed items then, since the job is kept anyway.
    """
    appending = job is not None
    if job is None:
        job = upload_job_create(library=library, user=uploaded_by)
    else:
        job_reopen(job=job)
    items: list[IngestItem] = []
    try:
        for file in files:
            items.append(_upload_file_add(job=job, file=file, uploaded_by=uploaded_by))
    finally:
        refused = (
            not appending and all(item.state == IngestItem.State.FAILED for item in items) and len(items) == len(files)
        )
        if not refused:  # also when the loop was cut short: what was stored is processed
            job_seal(job=job)
            new_photos = [item.photo_id for item in items if item.state == IngestItem.State.PENDING]
            queue = tasks.upload_queue(len(new_photos))
            transaction.on_commit(lambda: tasks.photos_enqueue(photo_ids=new_photos, queue=queue))
    if refused:
        job.delete()
        raise ApplicationError(
            "None of the files could be stored.",
            {"errors": [{"file": item.name, "message": item.error} for item in items]},
        )
    return job, items


def _upload_file_add(*, job: IngestJob, file: File, uploaded_by: AbstractBaseUser | None) -> IngestItem:
    """One file of a multi-file upload; an unexpected failure is this file's failed item, not the request's."""
    name = Path(file.name or "upload").name
    try:
        return job_file_add(job=job, file=file, name=name, uploaded_by=uploaded_by, enqueue=False)
    except DB_ERRORS:
        raise  # the database is gone: nothing more can be recorded, and the finally of the caller still seals
    except Exception:
        logger.exception("storing upload %r of job %s failed", name, job.id)
        return item_add(
            job=job, name=name, photo=None, state=IngestItem.State.FAILED, error="the file could not be stored"
        )


def job_file_add(
    *, job: IngestJob, file: File, name: str, uploaded_by: AbstractBaseUser | None, enqueue: bool = True
) -> IngestItem:
    """Add one file to a job (into its library): a new photo (pending), the same bytes stored already (skipped), or
    refused (failed)."""
    try:
        photo, _ = photo_create(
            file=file, library=job.library, uploaded_by=uploaded_by, job=job, name=name, enqueue=enqueue
        )
    except ApplicationError as exc:
        return item_add(job=job, name=name, photo=None, state=IngestItem.State.FAILED, error=exc.message)
    return IngestItem.objects.filter(job=job, photo=photo).latest("id")


def photos_reprocess(
    *, photo_ids: Iterable[int], user: AbstractBaseUser | None = None, encoder: str | None = None
) -> list[IngestJob]:
    """Re-encode stored photos as reprocess jobs, one per library the photos are in; people stay assigned.
    `encoder`: with that one only (a switch of encoder, `encoder_switch`), else as any photo is processed."""
    with transaction.atomic():
        photos = list(
            Photo.objects.filter(id__in=list(photo_ids))
            .order_by("id")
            .only("id", "original_name", "sha256", "library_id")
        )
        jobs = []
        for library_id in sorted({photo.library_id for photo in photos}):
            job = IngestJob.objects.create(
                library_id=library_id, source=IngestJob.Source.REPROCESS, created_by=user,
                state=IngestJob.State.PENDING, started_at=django_timezone.now(),
            )  # fmt: skip
            IngestItem.objects.bulk_create(
                IngestItem(job=job, name=f"{photo.id} {photo.original_name or photo.sha256[:12]}", photo=photo)
                for photo in photos
                if photo.library_id == library_id
            )
            jobs.append(job)
        Photo.objects.filter(id__in=[photo.id for photo in photos]).update(**PENDING_AGAIN)
        for job in jobs:
            job_seal(job=job)
        ids = [photo.id for photo in photos]
        transaction.on_commit(lambda: tasks.photos_enqueue(photo_ids=ids, queue=tasks.MAINTENANCE, encoder=encoder))
    return jobs


def folder_job_start(*, path: Path, library: Library, user: AbstractBaseUser | None) -> tuple[IngestJob, bool]:
    """The folder's unfinished job into `library` to resume, else a new one; `(job, resumed)`.

    Resuming re-queues the photos of its pending items, in case the previous run stopped between storing a photo
    and queueing it (processing twice is harmless: it is idempotent).
    """
    folder = Path(path).expanduser().resolve()
    if not folder.is_dir():
        raise ApplicationError(f"{folder} is not a folder.", {"path": str(folder)})
    with transaction.atomic():
        job = (
            IngestJob.objects.select_for_update(no_key=True)
            .filter(source=IngestJob.Source.FOLDER, path=str(folder), library=library)
            .exclude(state=IngestJob.State.DONE)
            .order_by("-id")
            .first()
        )
        if job is None:
            job = IngestJob.objects.create(
                library=library, source=IngestJob.Source.FOLDER, path=str(folder), created_by=user,
                state=IngestJob.State.PENDING, started_at=django_timezone.now(),
            )  # fmt: skip
            return job, False
        job.state, job.finished_at = IngestJob.State.PENDING, None
        job.save(update_fields=["state", "finished_at"])
        waiting = list(
            Photo.objects.filter(ingest_items__job=job, ingest_items__state=IngestItem.State.PENDING)
            .distinct()
            .values_list("id", flat=True)
        )
        transaction.on_commit(lambda: tasks.photos_enqueue(photo_ids=waiting))
    return job, True


def folder_scan(*, path: Path, recursive: bool) -> list[str]:
    """Image files of the folder (by extension; hidden files and folders left out), as sorted relative paths."""
    root = Path(path)
    names: list[str] = []
    for folder, subfolders, files in os.walk(root):
        subfolders[:] = sorted(d for d in subfolders if not d.startswith(".")) if recursive else []
        for file_name in files:
            if not file_name.startswith(".") and Path(file_name).suffix.lower() in IMAGE_EXTENSIONS:
                names.append(Path(folder, file_name).relative_to(root).as_posix())
    return sorted(names)


def folder_file_ingest(*, job: IngestJob, name: str, user: AbstractBaseUser | None) -> tuple[IngestItem, bool]:
    """Add the folder file `name` to its job unless the job has it already; `(item, added_now)`. Not queued here."""
    existing = IngestItem.objects.filter(job=job, name=name).first()
    if existing is not None:
        return existing, False
    try:
        with (Path(job.path) / name).open("rb") as fh:
            item = job_file_add(job=job, file=File(fh, name=name), name=name, uploaded_by=user, enqueue=False)
    except OSError as exc:
        item = item_add(
            job=job, name=name, photo=None, state=IngestItem.State.FAILED, error=f"cannot read: {exc.strerror}"
        )
    except IntegrityError:  # another run of the same job added it meanwhile
        item = IngestItem.objects.get(job=job, name=name)
        return item, False
    return item, True


def job_retry(*, job: IngestJob) -> int:
    """Try the job's failed items again; returns how many were retried.

    A failed photo is re-queued; a refused folder file is read again from the folder. A refused upload cannot be
    retried (its bytes were never stored) and stays failed.
    """
    retried_photos: list[int] = []
    retried_files: list[str] = []
    with transaction.atomic():
        IngestJob.objects.select_for_update(no_key=True).filter(id=job.id).values_list("id").first()
        failed = IngestItem.objects.filter(job=job, state=IngestItem.State.FAILED)
        for item in failed.select_for_update(no_key=True):
            if item.photo_id is not None:
                retried_photos.append(item.photo_id)
            elif job.source == IngestJob.Source.FOLDER:
                retried_files.append(item.name)
        failed.filter(photo__isnull=False).update(state=IngestItem.State.PENDING, error="")
        Photo.objects.filter(id__in=retried_photos).update(**PENDING_AGAIN)
        failed.filter(photo__isnull=True, name__in=retried_files).delete()
        if retried_photos or retried_files:
            IngestJob.objects.filter(id=job.id).update(state=IngestJob.State.PENDING, finished_at=None)
    new_photos: list[int] = []
    for name in retried_files:
        item, _ = folder_file_ingest(job=job, name=name, user=job.created_by)
        if item is not None and item.state == IngestItem.State.PENDING:
            new_photos.append(item.photo_id)
    if retried_photos or retried_files:
        job_seal(job=job)
    retried = retried_photos + new_photos
    queue = {IngestJob.Source.UPLOAD: tasks.upload_queue(len(retried)), IngestJob.Source.REPROCESS: tasks.MAINTENANCE}
    tasks.photos_enqueue(photo_ids=retried, queue=queue.get(job.source, tasks.INGEST))
    job.refresh_from_db()
    return len(retried_photos) + len(retried_files)
