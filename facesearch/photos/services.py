"""Write path: store photos, encode their faces, follow ingest jobs, delete without a trace.

Job and item semantics (what the API, the CLI and the admin show):
- An `IngestJob` is *filling* while its files are being added (state pending), *running* once every file is added
  (sealed), *done* when it is sealed and none of its items is pending; *interrupted* when the CLI was stopped while
  filling. A folder job is resumed by the next `ingest` of the same folder until it is done.
- An `IngestItem` is one file of a job: *pending* while its new photo waits for the worker, *done* when the photo was
  processed, *skipped* when the same bytes were already stored (its photo is the existing one), *failed* with the
  reason when the file was refused (nothing stored, no photo) or its processing failed.
- Deleting a photo deletes the items that point at it too (they hold its file name), so nothing of it remains.
"""

from __future__ import annotations

import hashlib
import io
import logging
import os
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import numpy as np
from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.core.files import File
from django.db import DatabaseError, IntegrityError, InterfaceError, OperationalError, connection, transaction
from django.db.models import F
from django.db.models.functions import Now
from django.db.transaction import TransactionManagementError
from django.utils import timezone as django_timezone
from PIL import ExifTags, Image

import embeddings
from embeddings import EmbeddingsError, read
from facesearch.core.errors import ApplicationError
from facesearch.core.images import check_upload_size, read_upload
from facesearch.core.pipeline import get_pipeline
from facesearch.people.models import Person
from facesearch.people.services import faces_assign_automatically, people_covers_refresh
from facesearch.photos import tasks
from facesearch.photos.models import Face, IngestItem, IngestJob, Photo, photo_upload_to
from facesearch.photos.storage import photo_file_delete, photo_file_path, photo_file_write

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
FORMAT_EXTENSIONS = {"JPEG": "jpg", "MPO": "jpg", "PNG": "png", "WEBP": "webp", "GIF": "gif", "BMP": "bmp",
                     "TIFF": "tif", "HEIF": "heic", "AVIF": "avif", "PPM": "ppm"}  # fmt: skip
BATCH_SIZE = 8  # photos per worker task in folder and reprocess jobs (benchmarks/ingest.py measures the choice)
CROP_JPEG_QUALITY = 90
SAME_FACE_IOU = 0.5  # a re-encoded face whose box overlaps an old one this much is the same face
DB_ERRORS = (OperationalError, InterfaceError)  # transient: the task retries, nothing is recorded
INTERRUPTED = (
    "processing was interrupted {attempts} times (its worker died, e.g. out of memory); retry it to try once more"
)
FILE_MISSING = "the stored file is missing (found by manage.py media_check); upload the photo again"
EARLIEST_TAKEN_AT = datetime(1900, 1, 1, tzinfo=UTC)  # before any photo with EXIF, after datetime.min
PENDING_AGAIN = {"status": Photo.Status.PENDING, "error": "", "attempts": 0, "status_changed_at": Now()}


# ---------------------------------------------------------------------------------------------------------- photos


@dataclass(frozen=True)
class _ImageFacts:
    extension: str
    width: int
    height: int
    taken_at: datetime | None


def photo_create(
    *,
    file: File,
    uploaded_by: AbstractBaseUser | None,
    job: IngestJob | None = None,
    name: str | None = None,
    enqueue: bool = True,
) -> tuple[Photo, bool]:
    """Store an uploaded image and queue its processing; `(photo, created)`: the same bytes return the stored photo.

    Bad input raises ApplicationError before anything is written. The file is on disk (fsynced) before the row
    commits, and the task is queued only after the commit. With `job`, the file is recorded as an item named `name`.
    """
    name = name or Path(file.name or "upload").name
    check_upload_size(file)
    sha256 = _sha256(file)
    photo = Photo.objects.filter(sha256=sha256).first()
    if photo is not None:  # stored bytes were validated when they were stored: no need to decode them again
        if job is not None:
            _item_add(job=job, name=name, photo=photo, state=IngestItem.State.SKIPPED, error="already stored")
        if photo.status != Photo.Status.DONE:  # its task may have been lost: the same bytes again queue it again
            photo_requeue(photo_id=photo.id)
            photo.refresh_from_db()
        return photo, False

    facts = _image_facts(file, image=read_upload(file))
    file_name = photo_upload_to(Photo(sha256=sha256), f"{sha256}.{facts.extension}")
    wrote = False
    try:
        with transaction.atomic():
            _sha256_lock(sha256)  # a delete of the same bytes removes its file under this lock: never ours
            wrote = photo_file_write(name=file_name, file=file)
            photo, created = Photo.objects.get_or_create(
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
                _item_add(job=job, name=name, photo=photo, state=state, error=error)
            if created and enqueue:
                photo_id = photo.id
                transaction.on_commit(lambda: photos_enqueue(photo_ids=[photo_id]))
    except BaseException:
        if wrote:
            _photo_file_forget(file_name)  # no row refers to the file we just wrote: do not leave it behind
        raise
    return photo, created


def photos_process_queued(*, photo_ids: Sequence[int]) -> None:
    """What a worker task does: process the task's photos that are still to do, topped up to BATCH_SIZE with other
    photos waiting for their own task, in one `encode_batch`.

    Clients that upload one photo per request queue one task per photo, and encoding photos one at a time runs at
    well under half the batched speed (benchmarks/ingest.py). So a task also claims waiting (pending) photos, oldest
    first, skipping rows another worker has locked; their own tasks then find them done and return at once. A photo
    already done is never processed again by a task (re-encoding goes through `photos_reprocess`, which sets it back
    to pending). A claimed photo whose worker dies stays 'processing', and its own task, still queued, processes it.
    """
    todo = dict(
        Photo.objects.filter(id__in=photo_ids)
        .exclude(status=Photo.Status.DONE)
        .order_by("id")
        .values_list("id", "attempts")
    )
    for photo_id in [
        photo_id for photo_id, attempts in todo.items() if attempts >= settings.FACESEARCH_PROCESSING_ATTEMPTS
    ]:
        _photo_failed(photo_id=photo_id, reason=INTERRUPTED.format(attempts=todo.pop(photo_id)))
    if any(todo.values()):  # a run of these photos died before: one photo per run finds the one that kills it
        for photo_id in todo:
            photos_process(photo_ids=[photo_id])
        return
    if not todo:
        return
    with transaction.atomic():
        waiting = (
            Photo.objects.select_for_update(skip_locked=True)
            .filter(status=Photo.Status.PENDING)
            .exclude(id__in=todo)
            .order_by("id")
            .values_list("id", flat=True)
        )
        claimed = list(waiting[: max(0, BATCH_SIZE - len(todo))])
        Photo.objects.filter(id__in=claimed).update(status=Photo.Status.PROCESSING, status_changed_at=Now())
    photos_process(photo_ids=[*todo, *claimed])


def photos_process(*, photo_ids: Sequence[int]) -> None:
    """Encode several photos in one `encode_batch` call, then store each photo's faces in its own transaction.

    A photo that cannot be read or encoded is marked failed with the reason (not retried); database errors propagate
    so the task retries. A photo deleted meanwhile is skipped.
    """
    photos = list(Photo.objects.filter(id__in=photo_ids).order_by("id"))
    if not photos:
        return
    # Committed before the networks run, so a worker killed mid-run (out of memory) leaves the count behind.
    Photo.objects.filter(id__in=[photo.id for photo in photos]).update(
        status=Photo.Status.PROCESSING, error="", attempts=F("attempts") + 1, status_changed_at=Now()
    )
    pipeline = get_pipeline()
    readable: list[Photo] = []
    images: list[np.ndarray] = []
    for photo in photos:
        try:
            images.append(_photo_image(photo))
            readable.append(photo)
        except (EmbeddingsError, OSError) as exc:
            _photo_failed(photo_id=photo.id, reason=f"cannot read the stored image: {exc}")

    results = None
    if len(images) > 1:
        try:
            results = pipeline.encode_batch(images)
        except Exception:  # one bad image must not fail the others: find it by encoding them one by one
            logger.warning("encode_batch failed for photos %s; encoding them one by one", [p.id for p in readable])
    if results is None:
        results = [_encode_one(pipeline, photo, image) for photo, image in zip(readable, images, strict=True)]

    for photo, faces in zip(readable, results, strict=True):
        if faces is not None:
            _photo_faces_store(photo_id=photo.id, faces=faces, model_id=pipeline.spec.model_id)


def photo_delete(*, photo: Photo) -> None:
    """Delete the photo, its faces (vectors and crops), its job items and, after the commit, its file."""
    with transaction.atomic():
        locked = Photo.objects.select_for_update().filter(id=photo.id).first()
        if locked is None:
            return
        job_ids = _jobs_lock(IngestItem.objects.filter(photo=locked))
        people = set(locked.faces.values_list("person_id", flat=True))
        IngestItem.objects.filter(photo=locked).delete()
        locked.delete()  # faces cascade; a cover_face among them is set to null by the collector...
        people_covers_refresh(people)  # ...and the person gets another of its faces as cover
        _jobs_finish_if_complete(job_ids)
        file_name = locked.file.name
        transaction.on_commit(lambda: _photo_file_forget(file_name))


def photos_reprocess(*, photo_ids: Iterable[int], user: AbstractBaseUser | None = None) -> IngestJob:
    """Re-encode stored photos (e.g. after an encoder change) as a reprocess job; people stay assigned."""
    with transaction.atomic():
        job = IngestJob.objects.create(
            source=IngestJob.Source.REPROCESS, created_by=user, state=IngestJob.State.PENDING,
            started_at=django_timezone.now(),
        )  # fmt: skip
        photos = list(Photo.objects.filter(id__in=list(photo_ids)).order_by("id").only("id", "original_name", "sha256"))
        IngestItem.objects.bulk_create(
            IngestItem(job=job, name=f"{photo.id} {photo.original_name or photo.sha256[:12]}", photo=photo)
            for photo in photos
        )
        Photo.objects.filter(id__in=[photo.id for photo in photos]).update(**PENDING_AGAIN)
        job_seal(job=job)
        ids = [photo.id for photo in photos]
        transaction.on_commit(lambda: photos_enqueue(photo_ids=ids))
    return job


def photos_enqueue(*, photo_ids: Sequence[int], batch_size: int = BATCH_SIZE) -> bool:
    """Queue processing: one batched task per `batch_size` photos (a single photo goes as `photo_process`).

    Runs after the photos are committed, so a broker that is down must not fail the request that stored them: the
    photos stay pending, `photos_recover` queues them again later, and this returns False.
    """
    for start in range(0, len(photo_ids), batch_size):
        chunk = list(photo_ids[start : start + batch_size])
        try:
            if len(chunk) == 1:
                tasks.photo_process.delay(photo_id=chunk[0])
            else:
                tasks.photos_process_batch.delay(photo_ids=chunk)
        except tasks.TRANSIENT_ERRORS as exc:
            rest = list(photo_ids[start:])
            logger.warning("cannot queue photos %s (%s); they stay pending until recovery queues them", rest, exc)
            return False
    return True


def photo_requeue(*, photo_id: int) -> None:
    """Queue a photo that is not done again (the same bytes were uploaded again); a failed one is tried afresh."""
    with transaction.atomic():
        Photo.objects.filter(id=photo_id, status=Photo.Status.FAILED).update(**PENDING_AGAIN)
        transaction.on_commit(lambda: photos_enqueue(photo_ids=[photo_id]))


def photos_recover(*, older_than: timedelta) -> list[int]:
    """Queue again the photos pending or processing for longer than `older_than`; their ids.

    A task message can be lost (Redis restarted before it persisted it, the broker down when the photo committed, a
    message dropped by hand), and then nothing would ever process the photo. Processing twice is harmless (it is
    idempotent), so the bound only has to exceed a normal wait in the queue plus a run. Run by Celery beat.
    """
    with transaction.atomic():
        stuck = list(
            Photo.objects.select_for_update(skip_locked=True)
            .filter(
                status__in=[Photo.Status.PENDING, Photo.Status.PROCESSING],
                status_changed_at__lt=django_timezone.now() - older_than,
            )
            .order_by("id")
            .values_list("id", flat=True)
        )
        Photo.objects.filter(id__in=stuck).update(status_changed_at=Now())  # the next round waits a full bound again
        transaction.on_commit(lambda: photos_enqueue(photo_ids=stuck))
    if stuck:
        logger.warning("recovery: queued %d photo(s) stuck for over %s: %s", len(stuck), older_than, stuck)
    return stuck


def _sha256(file: File) -> str:
    digest = hashlib.sha256()
    file.seek(0)
    for chunk in file.chunks():
        digest.update(chunk)
    file.seek(0)
    return digest.hexdigest()


def _image_facts(file: File, *, image: np.ndarray) -> _ImageFacts:
    """Format (for the file extension) and EXIF capture time; the size is that of the decoded, upright image."""
    height, width = image.shape[:2]
    extension, taken_at = None, None
    file.seek(0)
    try:
        with Image.open(file) as pil:
            extension = FORMAT_EXTENSIONS.get(pil.format or "")
            taken_at = _exif_taken_at(pil.getexif())
    except Exception:  # decodable by the pipeline's reader but not by Pillow alone: keep the name's extension
        logger.debug("Pillow could not open %s", file.name, exc_info=True)
    finally:
        file.seek(0)
    if extension is None:
        suffix = Path(file.name or "").suffix.lower().lstrip(".")
        extension = suffix if suffix.isalnum() and len(suffix) <= 5 else "bin"
    return _ImageFacts(extension=extension, width=width, height=height, taken_at=taken_at)


def _exif_taken_at(exif: Image.Exif) -> datetime | None:
    """EXIF DateTimeOriginal (or DateTimeDigitized), in its OffsetTime zone when given, else in TIME_ZONE.

    Only a plausible moment is kept (EARLIEST_TAKEN_AT to tomorrow, in UTC): a crafted year 1 or 9999 with an offset
    would be stored by PostgreSQL but could not be read back into a Python datetime, breaking every page showing it.
    """
    sub = exif.get_ifd(ExifTags.IFD.Exif)
    for value_tag, offset_tag in (
        (ExifTags.Base.DateTimeOriginal, ExifTags.Base.OffsetTimeOriginal),
        (ExifTags.Base.DateTimeDigitized, ExifTags.Base.OffsetTimeDigitized),
    ):
        value = sub.get(value_tag)
        if not isinstance(value, str):
            continue
        try:
            moment = _exif_moment(value, sub.get(offset_tag)).astimezone(UTC)
        except (ValueError, OverflowError):
            continue
        if EARLIEST_TAKEN_AT <= moment <= django_timezone.now() + timedelta(days=1):
            return moment
    return None


def _exif_moment(value: str, offset: object) -> datetime:
    """An EXIF date and time ("2024:05:01 12:00:00"), aware: in its offset ("+02:00") when valid, else TIME_ZONE."""
    moment = datetime.strptime(value.strip("\x00 ")[:19], "%Y:%m:%d %H:%M:%S")
    match = re.fullmatch(r"([+-])([01]\d|2[0-3]):([0-5]\d)", offset.strip("\x00 ") if isinstance(offset, str) else "")
    if match is None:
        return django_timezone.make_aware(moment)
    sign, hours, minutes = match.groups()
    return moment.replace(
        tzinfo=timezone((-1 if sign == "-" else 1) * timedelta(hours=int(hours), minutes=int(minutes)))
    )


def _photo_image(photo: Photo) -> np.ndarray:
    return read(
        photo_file_path(photo.file.name),
        max_pixels=settings.FACESEARCH_MAX_PIXELS,
        max_bytes=settings.FACESEARCH_MAX_UPLOAD_BYTES,
    )


def _encode_one(pipeline: embeddings.FacePipeline, photo: Photo, image: np.ndarray) -> list[embeddings.Face] | None:
    """Faces of one image, or None after recording why they could not be had."""
    try:
        return pipeline.encode(image)
    except DB_ERRORS:
        raise
    except Exception as exc:
        logger.exception("encoding photo %s failed", photo.id)
        _photo_failed(photo_id=photo.id, reason=f"face encoding failed: {exc}")
        return None


def _photo_faces_store(*, photo_id: int, faces: list[embeddings.Face], model_id: str) -> None:
    """Replace the photo's faces by `faces`, in one transaction under the photo's row lock.

    A new face that overlaps an old one (IoU >= SAME_FACE_IOU) takes its place: same encoder → the row is updated in
    place (its id, person and cover-face role survive); another encoder → a new row inherits the person. Old faces
    left unmatched are deleted. So re-running never duplicates and a re-encode keeps people's assignments. Faces new
    to the photo are named automatically when they are that close to an enrolled face.
    """
    with transaction.atomic():
        photo = Photo.objects.select_for_update(no_key=True).filter(id=photo_id).first()
        if photo is None:
            return  # deleted while it was being encoded
        old_faces = list(Face.objects.select_for_update(no_key=True).filter(photo=photo).defer("crop", "embedding"))
        matches = _match_faces(old_faces, faces)
        kept = {new: old for new, old in matches.items() if old.model_id == model_id}
        inherited = {new: old for new, old in matches.items() if old.model_id != model_id}
        obsolete = [old for old in old_faces if old not in kept.values()]

        # Free the (photo, model_id, index) slots of the rows kept, then write their final values.
        offset = 16384  # above any real face index; PositiveSmallIntegerField holds up to 32767
        Face.objects.filter(id__in=[old.id for old in kept.values()]).update(index=F("index") + offset)
        for new, old in kept.items():
            Face.objects.filter(id=old.id).update(**_face_fields(faces[new], index=new, model_id=model_id))

        created = Face.objects.bulk_create(
            Face(
                photo=photo,
                **_face_fields(faces[new], index=new, model_id=model_id),
                **(_assignment_of(inherited[new]) if new in inherited else {}),
            )
            for new in range(len(faces))
            if new not in kept
        )
        replacement = {inherited[face.index].id: face.id for face in created if face.index in inherited}
        for old_id, new_id in replacement.items():
            Person.objects.filter(cover_face_id=old_id).update(cover_face_id=new_id)
        Face.objects.filter(id__in=[old.id for old in obsolete]).delete()
        people_covers_refresh({old.person_id for old in obsolete})
        if settings.FACESEARCH_AUTO_ASSIGN:  # new faces only: a face kept from before keeps what a person decided
            faces_assign_automatically(
                faces=[face for face in created if face.person_id is None],
                max_distance=get_pipeline().spec.auto_assign_distance,
            )

        photo.status, photo.error = Photo.Status.DONE, ""
        photo.model_id, photo.processed_at = model_id, django_timezone.now()
        photo.status_changed_at = photo.processed_at
        photo.save(update_fields=["status", "error", "model_id", "processed_at", "status_changed_at"])
        _items_finish(photo_id=photo.id, state=IngestItem.State.DONE)


def _face_fields(face: embeddings.Face, *, index: int, model_id: str) -> dict:
    return {
        "index": index,
        "box": [round(float(v), 2) for v in face.box],
        "landmarks": [[round(float(x), 2), round(float(y), 2)] for x, y in np.asarray(face.landmarks)],
        "score": float(face.score),
        "box_size": float(face.quality.box_size),
        "sharpness": float(face.quality.sharpness),
        "yaw": float(face.quality.yaw),
        "pitch": float(face.quality.pitch),
        "roll": float(face.quality.roll),
        "crop": _jpeg(face.crop),
        "model_id": model_id,
        "embedding": np.asarray(face.embedding, dtype=np.float32),
    }


def _assignment_of(old: Face) -> dict:
    """A person carried over to another encoder's face; a distance measured by the old encoder no longer holds."""
    return {"person_id": old.person_id, "assignment": old.assignment, "assignment_distance": None}


def _jpeg(pixels: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(np.asarray(pixels, dtype=np.uint8)).save(buffer, "JPEG", quality=CROP_JPEG_QUALITY)
    return buffer.getvalue()


def _iou(a: Sequence[float], b: Sequence[float]) -> float:
    width = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    height = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = width * height
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


def _match_faces(old_faces: list[Face], new_faces: list[embeddings.Face]) -> dict[int, Face]:
    """Greedy best-overlap matching of new faces (by index) to old rows; a tie prefers the same encoder."""
    candidates = sorted(
        (
            (_iou(old.box, new.box), old.model_id == new.model_id, -old.id, new_index, old)
            for new_index, new in enumerate(new_faces)
            for old in old_faces
        ),
        key=lambda c: c[:4],
        reverse=True,
    )
    matches: dict[int, Face] = {}
    used: set[int] = set()
    for overlap, _, _, new_index, old in candidates:
        if overlap < SAME_FACE_IOU:
            break
        if new_index not in matches and old.id not in used:
            matches[new_index] = old
            used.add(old.id)
    return matches


def _photo_failed(*, photo_id: int, reason: str) -> None:
    with transaction.atomic():
        photo = Photo.objects.select_for_update(no_key=True).filter(id=photo_id).first()
        if photo is None:
            return
        photo.status, photo.error, photo.processed_at = Photo.Status.FAILED, reason[:2000], django_timezone.now()
        photo.status_changed_at = photo.processed_at
        photo.save(update_fields=["status", "error", "processed_at", "status_changed_at"])
        _items_finish(photo_id=photo_id, state=IngestItem.State.FAILED, error=photo.error)


def _photo_file_forget(file_name: str) -> None:
    """Remove a file no row refers to; kept when the same bytes were stored again meanwhile, or when we cannot tell.

    The check and the removal hold the bytes' lock, which an upload of the same bytes holds from writing the file to
    committing its row: so a delete racing a re-upload never removes the file of the re-uploaded photo.
    """
    sha256 = Path(file_name).stem
    try:
        with transaction.atomic():
            _sha256_lock(sha256)
            if not Photo.objects.filter(file=file_name).exists():
                photo_file_delete(name=file_name)
    except (DatabaseError, TransactionManagementError):
        logger.warning("cannot check whether %s is still referenced; keeping it", file_name)


def media_orphans_delete(*, names: Iterable[str]) -> list[str]:
    """Remove orphan files (from `selectors.media_audit`); each is checked again under its bytes' lock first, so a
    file whose upload commits meanwhile is kept. Returns the names removed."""
    removed = []
    for name in names:
        sha256 = Path(name).name.partition(".")[0].partition("-")[0]  # photos/…/<sha256>.jpg, thumbs/…/<sha256>-N.jpg
        with transaction.atomic():
            if not Path(name).name.startswith(".upload-"):  # a stale temporary file has no row and no lock
                _sha256_lock(sha256)
            if not Photo.objects.filter(sha256=sha256).exists():
                photo_file_delete(name=name)
                removed.append(name)
    return removed


def photos_file_missing(*, photo_ids: Sequence[int]) -> None:
    """Mark photos whose file is gone as failed, with the reason, so they show up instead of failing on every read."""
    for photo_id in photo_ids:
        _photo_failed(photo_id=photo_id, reason=FILE_MISSING)


def _sha256_lock(sha256: str) -> None:
    """A transaction-scoped lock on one photo's bytes (PostgreSQL advisory lock), released at commit or rollback."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(%s)", [int(sha256[:15], 16)])


# ------------------------------------------------------------------------------------------------------------ jobs


def _item_add(*, job: IngestJob, name: str, photo: Photo | None, state: str, error: str = "") -> IngestItem:
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


def _items_finish(*, photo_id: int, state: str, error: str = "") -> None:
    """Mark the photo's pending items (of any job) finished, then close the jobs that have nothing left pending."""
    pending = IngestItem.objects.filter(photo_id=photo_id, state=IngestItem.State.PENDING)
    job_ids = _jobs_lock(pending)
    pending.update(state=state, error=error)
    _jobs_finish_if_complete(job_ids)


def _jobs_lock(items) -> list[int]:
    """Lock the jobs of `items` (in id order, so concurrent workers never deadlock) before changing their items.

    Holding the job lock while counting pending items is what lets exactly one worker see the last item finish.
    """
    job_ids = sorted(set(items.values_list("job_id", flat=True)))
    list(IngestJob.objects.select_for_update(no_key=True).filter(id__in=job_ids).order_by("id").values_list("id"))
    return job_ids


def _jobs_finish_if_complete(job_ids: Sequence[int]) -> None:
    IngestJob.objects.filter(id__in=job_ids, state=IngestJob.State.RUNNING).exclude(
        items__state=IngestItem.State.PENDING
    ).update(state=IngestJob.State.DONE, finished_at=django_timezone.now())


def job_seal(*, job: IngestJob) -> None:
    """Every file of the job has been added: it is running, or done already if nothing is pending."""
    with transaction.atomic():
        IngestJob.objects.select_for_update(no_key=True).filter(id=job.id).values_list("id").first()
        IngestJob.objects.filter(id=job.id).update(state=IngestJob.State.RUNNING, finished_at=None)
        _jobs_finish_if_complete([job.id])
    job.refresh_from_db()


def job_interrupt(*, job: IngestJob) -> None:
    """Filling stopped before every file was added (Ctrl-C); the next `ingest` of the same folder resumes it."""
    IngestJob.objects.filter(id=job.id).exclude(state=IngestJob.State.DONE).update(state=IngestJob.State.INTERRUPTED)
    job.refresh_from_db()


def job_file_add(
    *, job: IngestJob, file: File, name: str, uploaded_by: AbstractBaseUser | None, enqueue: bool = True
) -> IngestItem:
    """Add one file to a job: a new photo (pending), the same bytes stored already (skipped), or refused (failed)."""
    try:
        photo, _ = photo_create(file=file, uploaded_by=uploaded_by, job=job, name=name, enqueue=enqueue)
    except ApplicationError as exc:
        return _item_add(job=job, name=name, photo=None, state=IngestItem.State.FAILED, error=exc.message)
    return IngestItem.objects.filter(job=job, photo=photo).latest("id")


def photos_upload(*, files: Sequence[File], uploaded_by: AbstractBaseUser | None) -> tuple[IngestJob, list[IngestItem]]:
    """Several uploaded files as one upload job: one item per file, a refused file is a failed item.

    Each file is its own outcome: whatever happens to one (even an unexpected error), the files stored before it keep
    their photos, the job is sealed and the new photos are queued together, BATCH_SIZE per task, so the worker batches
    detection and encoding across them. When every file is refused nothing is kept, the job included, and
    ApplicationError lists the reasons.
    """
    job = upload_job_create(user=uploaded_by)
    items: list[IngestItem] = []
    try:
        for file in files:
            items.append(_upload_file_add(job=job, file=file, uploaded_by=uploaded_by))
    finally:
        refused = all(item.state == IngestItem.State.FAILED for item in items) and len(items) == len(files)
        if not refused:  # also when the loop was cut short: what was stored is processed
            job_seal(job=job)
            new_photos = [item.photo_id for item in items if item.state == IngestItem.State.PENDING]
            transaction.on_commit(lambda: photos_enqueue(photo_ids=new_photos))
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
        return _item_add(
            job=job, name=name, photo=None, state=IngestItem.State.FAILED, error="the file could not be stored"
        )


def upload_job_create(*, user: AbstractBaseUser | None) -> IngestJob:
    """An upload job being filled (pending); `job_seal` it once every file is added."""
    return IngestJob.objects.create(
        source=IngestJob.Source.UPLOAD, created_by=user, state=IngestJob.State.PENDING, started_at=django_timezone.now()
    )


def folder_job_start(*, path: Path, user: AbstractBaseUser | None) -> tuple[IngestJob, bool]:
    """The folder's unfinished job to resume, else a new one; `(job, resumed)`.

    Resuming re-queues the photos of its pending items, in case the previous run stopped between storing a photo
    and queueing it (processing twice is harmless: it is idempotent).
    """
    folder = Path(path).expanduser().resolve()
    if not folder.is_dir():
        raise ApplicationError(f"{folder} is not a folder.", {"path": str(folder)})
    with transaction.atomic():
        job = (
            IngestJob.objects.select_for_update(no_key=True)
            .filter(source=IngestJob.Source.FOLDER, path=str(folder))
            .exclude(state=IngestJob.State.DONE)
            .order_by("-id")
            .first()
        )
        if job is None:
            job = IngestJob.objects.create(
                source=IngestJob.Source.FOLDER, path=str(folder), created_by=user, state=IngestJob.State.PENDING,
                started_at=django_timezone.now(),
            )  # fmt: skip
            return job, False
        job.state, job.finished_at = IngestJob.State.PENDING, None
        job.save(update_fields=["state", "finished_at"])
        waiting = list(
            Photo.objects.filter(ingest_items__job=job, ingest_items__state=IngestItem.State.PENDING)
            .distinct()
            .values_list("id", flat=True)
        )
        transaction.on_commit(lambda: photos_enqueue(photo_ids=waiting))
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
        item = _item_add(
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
    photos_enqueue(photo_ids=retried_photos + new_photos)
    job.refresh_from_db()
    return len(retried_photos) + len(retried_files)
