"""Photos: store an upload (deduplicated by content), queue it, delete it without a trace, repair files and rows.

Files and rows of the same bytes change under one PostgreSQL advisory lock per sha256, so a delete racing a re-upload
never removes the re-uploaded photo's file.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Iterable, Sequence
from pathlib import Path

from django.contrib.auth.models import AbstractBaseUser
from django.core.files import File
from django.db import DatabaseError, connection, transaction
from django.db.transaction import TransactionManagementError

from facesearch.core.images import check_upload_size, image_facts, read_upload
from facesearch.libraries.models import Library
from facesearch.people.services import people_covers_refresh
from facesearch.photos import tasks
from facesearch.photos.jobs import item_add, jobs_finish_if_complete, jobs_lock
from facesearch.photos.models import IngestItem, IngestJob, Photo, photo_upload_to
from facesearch.photos.processing import PENDING_AGAIN, photo_fail
from facesearch.photos.storage import THUMBS_DIR, media_file_delete, media_sha256, photo_file_delete, photo_file_write

logger = logging.getLogger(__name__)

FILE_MISSING = "the stored file is missing (found by manage.py media_check); upload the photo again"


def photo_create(
    *,
    file: File,
    library: Library,
    uploaded_by: AbstractBaseUser | None,
    job: IngestJob | None = None,
    name: str | None = None,
    enqueue: bool = True,
) -> tuple[Photo, bool]:
    """Store an uploaded image in `library` and queue its processing; `(photo, created)`: the same bytes return the
    library's stored photo (another library's copy of them is another photo, sharing the file).

    Bad input raises ApplicationError before anything is written. The file is on disk (fsynced) before the row
    commits, and the task is queued only after the commit. With `job`, the file is recorded as an item named `name`.
    """
    name = name or Path(file.name or "upload").name
    check_upload_size(file)
    sha256 = _sha256(file)
    photo = Photo.objects.filter(library=library, sha256=sha256).first()
    if photo is not None:  # stored bytes were validated when they were stored: no need to decode them again
        if job is not None:
            item_add(job=job, name=name, photo=photo, state=IngestItem.State.SKIPPED, error="already stored")
        if photo.status != Photo.Status.DONE:  # its task may have been lost: the same bytes again queue it again
            photo_requeue(photo_id=photo.id)
            photo.refresh_from_db()
        return photo, False

    facts = image_facts(file, image=read_upload(file))
    file_name = photo_upload_to(Photo(sha256=sha256), f"{sha256}.{facts.extension}")
    wrote = False
    try:
        with transaction.atomic():
            _sha256_lock(sha256)  # a delete of the same bytes removes its file under this lock: never ours
            wrote = photo_file_write(name=file_name, file=file)
            photo, created = Photo.objects.get_or_create(
                library=library,
                sha256=sha256,
                defaults={
                    "file": file_name,
                    "original_name": name[-255:],
                    "size": file.size,
                    "width": facts.width,
                    "height": facts.height,
                    "taken_at": facts.taken_at,
                    "uploaded_by": uploaded_by,
                },
            )
            if job is not None:
                state, error = (
                    (IngestItem.State.PENDING, "") if created else (IngestItem.State.SKIPPED, "already stored")
                )
                item_add(job=job, name=name, photo=photo, state=state, error=error)
            if created and enqueue:
                photo_id = photo.id
                transaction.on_commit(lambda: tasks.photos_enqueue(photo_ids=[photo_id], queue=tasks.INTERACTIVE))
    except BaseException:
        if wrote:
            _photo_file_forget(file_name)  # no row refers to the file we just wrote: do not leave it behind
        raise
    return photo, created


def photo_delete(*, photo: Photo) -> None:
    """Delete the photo, its faces (vectors and crops), its job items and, after the commit, its file."""
    with transaction.atomic():
        locked = Photo.objects.select_for_update().filter(id=photo.id).first()
        if locked is None:
            return
        job_ids = jobs_lock(IngestItem.objects.filter(photo=locked))
        people = set(locked.faces.values_list("person_id", flat=True))
        IngestItem.objects.filter(photo=locked).delete()
        locked.delete()  # faces cascade; a cover_face among them is set to null by the collector...
        people_covers_refresh(people)  # ...and the person gets another of its faces as cover
        jobs_finish_if_complete(job_ids)
        file_name = locked.file.name
        transaction.on_commit(lambda: _photo_file_forget(file_name))


def photos_delete(*, photos: Sequence[Photo]) -> int:
    """Delete several photos, each as `photo_delete` does, in one transaction; returns how many were deleted."""
    with transaction.atomic():
        for photo in photos:
            photo_delete(photo=photo)
    return len(photos)


def photo_requeue(*, photo_id: int) -> None:
    """Queue a photo that is not done again (the same bytes were uploaded again); a failed one is tried afresh."""
    with transaction.atomic():
        Photo.objects.filter(id=photo_id, status=Photo.Status.FAILED).update(**PENDING_AGAIN)
        transaction.on_commit(lambda: tasks.photos_enqueue(photo_ids=[photo_id], queue=tasks.INTERACTIVE))


def _sha256(file: File) -> str:
    digest = hashlib.sha256()
    file.seek(0)
    for chunk in file.chunks():
        digest.update(chunk)
    file.seek(0)
    return digest.hexdigest()


def media_orphans_delete(*, names: Iterable[str]) -> list[str]:
    """Remove orphan files (from `selectors.media_audit`); each is checked again under its bytes' lock first, so a
    file whose upload commits meanwhile is kept. Returns the names removed."""
    removed = []
    for name in names:
        # A photo file is kept while a row names it; a thumbnail while its photo (by sha256) exists.
        thumbnail = name.startswith(THUMBS_DIR)
        referenced = Photo.objects.filter(sha256=media_sha256(name)) if thumbnail else Photo.objects.filter(file=name)
        with transaction.atomic():
            if not Path(name).name.startswith(".upload-"):  # a stale temporary file has no row and no lock
                _sha256_lock(media_sha256(name))
            if not referenced.exists():
                media_file_delete(name=name)  # this file only: a stray copy's photo may still have its thumbnails
                removed.append(name)
    return removed


def photos_file_missing(*, photo_ids: Sequence[int]) -> None:
    """Mark photos whose file is gone as failed, with the reason, so they show up instead of failing on every read."""
    for photo_id in photo_ids:
        photo_fail(photo_id=photo_id, reason=FILE_MISSING)


def _photo_file_forget(file_name: str) -> None:
    """Remove a file no row refers to; kept when the same bytes were stored again meanwhile, or when we cannot tell.

    The check and the removal hold the bytes' lock, which an upload of the same bytes holds from writing the file to
    committing its row: so a delete racing a re-upload never removes the file of the re-uploaded photo.
    """
    try:
        with transaction.atomic():
            _sha256_lock(media_sha256(file_name))
            if not Photo.objects.filter(file=file_name).exists():
                photo_file_delete(name=file_name)
    except (DatabaseError, TransactionManagementError):
        logger.warning("cannot check whether %s is still referenced; keeping it", file_name)


def _sha256_lock(sha256: str) -> None:
    """A transaction-scoped lock on one photo's bytes (PostgreSQL advisory lock), released at commit or rollback."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(%s)", [int(sha256[:15], 16)])
