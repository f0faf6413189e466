"""Read path of the photos app: photo, face and job listings with their filters, job progress, rendered images."""

from __future__ import annotations

import io
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import django_filters
import numpy as np
from django.conf import settings
from django.db.models import Count, F, Prefetch, Q, QuerySet
from PIL import Image

from embeddings import read
from facesearch.photos.models import Face, IngestItem, IngestJob, Photo
from facesearch.photos.storage import PHOTOS_DIR, THUMBS_DIR, photo_file_path, thumbnail_file_name, thumbnail_file_write

FACE_LIST_FIELDS_DEFERRED = ("crop", "embedding")  # kilobytes per row that listings never show


class PhotoFilter(django_filters.FilterSet):
    person = django_filters.NumberFilter(field_name="faces__person", distinct=True)
    ordering = django_filters.OrderingFilter(fields=("created_at", "taken_at", "id", "size"))

    class Meta:
        model = Photo
        fields = ("status", "model_id")


class FaceFilter(django_filters.FilterSet):
    # Number filters, not the Meta default (a choice of existing rows): an unknown id must match no face, where a
    # choice filter drops itself as invalid and the list comes back unfiltered.
    person = django_filters.NumberFilter(field_name="person")
    photo = django_filters.NumberFilter(field_name="photo")
    unassigned = django_filters.BooleanFilter(field_name="person", lookup_expr="isnull")
    ordering = django_filters.OrderingFilter(fields=("id", "created_at", "score", "box_size", "photo"))

    class Meta:
        model = Face
        fields = ("person", "photo", "model_id", "assignment")


class JobFilter(django_filters.FilterSet):
    class Meta:
        model = IngestJob
        fields = ("state", "source")


def photo_list(*, filters: dict[str, Any] | None = None) -> QuerySet[Photo]:
    """Photos with their faces (and the faces' people) prefetched; `ordering` sorts, newest first by default."""
    faces = Face.objects.defer(*FACE_LIST_FIELDS_DEFERRED).select_related("person").order_by("model_id", "index")
    queryset = Photo.objects.select_related("uploaded_by").prefetch_related(Prefetch("faces", queryset=faces))
    queryset = PhotoFilter(filters or {}, queryset).qs
    if (filters or {}).get("ordering") in ("taken_at", "-taken_at"):
        column = F("taken_at")
        order = column.asc(nulls_last=True) if filters["ordering"] == "taken_at" else column.desc(nulls_last=True)
        queryset = queryset.order_by(order, "-id")
    return queryset


def face_list(*, filters: dict[str, Any] | None = None) -> QuerySet[Face]:
    return FaceFilter(filters or {}, Face.objects.defer(*FACE_LIST_FIELDS_DEFERRED).select_related("person")).qs


def face_crop(*, face_id: int) -> bytes | None:
    crop = Face.objects.filter(id=face_id).values_list("crop", flat=True).first()
    return bytes(crop) if crop is not None else None


def job_list(*, filters: dict[str, Any] | None = None) -> QuerySet[IngestJob]:
    """Jobs annotated with their item counts (`total`, `pending`, `done`, `skipped`, `failed`)."""
    counts = {
        state: Count("items", filter=Q(items__state=state)) for state in IngestItem.State.values
    }  # one GROUP BY for all counts
    queryset = (
        IngestJob.objects.select_related("created_by")
        .annotate(total=Count("items"), **counts)
        .order_by("-created_at", "-id")  # Meta.ordering does not apply to GROUP BY queries
    )
    return JobFilter(filters or {}, queryset).qs


@dataclass(frozen=True)
class JobProgress:
    job: IngestJob
    total: int
    pending: int
    done: int
    skipped: int
    failed: int
    failures: list[IngestItem]

    @property
    def finished(self) -> int:
        return self.done + self.skipped + self.failed

    @property
    def progress(self) -> float:
        """The share of items finished, 0 to 1 (1 for an empty job)."""
        return self.finished / self.total if self.total else 1.0


def job_progress(*, job_id: int, failures_limit: int = 1000) -> JobProgress | None:
    """Counts by item state and the failed items with their reasons (the first `failures_limit`)."""
    job = job_list().filter(id=job_id).first()
    if job is None:
        return None
    failures = list(job.items.filter(state=IngestItem.State.FAILED).order_by("id")[:failures_limit])
    return JobProgress(
        job=job, total=job.total, pending=job.pending, done=job.done, skipped=job.skipped, failed=job.failed,
        failures=failures,
    )  # fmt: skip


def job_items(*, job: IngestJob, state: str | None = None) -> QuerySet[IngestItem]:
    items = job.items.select_related("photo").order_by("id")
    return items.filter(state=state) if state else items


# Thumbnails cached on disk (facesearch/photos/storage.py), at most one file per photo and size: the UI asks for 96,
# 256, 320, 640 and 1024. Any other size up to the largest is scaled down from the next cached one (a 50 kB decode, not
# the original's megabytes); larger ones, and whole images of formats browsers cannot show, are rendered every time.
THUMBNAIL_SIZES = (128, 256, 320, 640, 1024)


def photo_rendered(*, photo: Photo, size: int | None = None) -> bytes:
    """The photo upright as JPEG, at most `size` pixels a side: thumbnails, and formats browsers cannot show.

    A thumbnail is decoded from the original once per cached size, then read from MEDIA_ROOT/thumbs/ (deleted with the
    photo's file). A photo smaller than `size` is returned at its own size, as always.
    """
    if not size or size > THUMBNAIL_SIZES[-1]:
        return _jpeg(_photo_upright(photo), size)
    # A photo no larger than a cached size is whole in that one: larger sizes share its file instead of copying it.
    longest = max(photo.width or 0, photo.height or 0) or size
    cached = next(bucket for bucket in THUMBNAIL_SIZES if bucket >= min(size, longest))
    path = photo_file_path(thumbnail_file_name(photo_name=photo.file.name, size=cached))
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        data = _jpeg(_photo_upright(photo), cached)
        thumbnail_file_write(photo_name=photo.file.name, size=cached, data=data)
    if cached <= size:  # fits already
        return data
    return _jpeg(Image.open(io.BytesIO(data)), size)


def _photo_upright(photo: Photo) -> Image.Image:
    pixels = read(
        photo_file_path(photo.file.name),
        max_pixels=settings.FACESEARCH_MAX_PIXELS,
        max_bytes=settings.FACESEARCH_MAX_UPLOAD_BYTES,
    )
    return Image.fromarray(np.asarray(pixels, dtype=np.uint8))


def _jpeg(image: Image.Image, size: int | None) -> bytes:
    if size:
        image.thumbnail((size, size), Image.Resampling.LANCZOS)
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=85)
    return buffer.getvalue()


@dataclass(frozen=True)
class MediaAudit:
    orphan_files: list[str]  # under MEDIA_ROOT, no photo refers to them (photo files and cached thumbnails)
    missing_files: list[tuple[int, str]]  # (photo id, file name): the row is there, its file is not


def media_audit(*, stale_after: float = 3600) -> MediaAudit:
    """Compare the files on disk with the rows: photo files no row names, thumbnails of no photo, rows whose file is
    gone. An upload's temporary file (`.upload-*.part`) counts as an orphan only once older than `stale_after` s."""
    cutoff = time.time() - stale_after
    files = {
        folder: [
            path.relative_to(photo_file_path("")).as_posix()
            for path in photo_file_path(folder).rglob("*")
            if path.is_file() and (not path.name.startswith(".upload-") or path.stat().st_mtime < cutoff)
        ]
        for folder in (PHOTOS_DIR, THUMBS_DIR)
    }
    rows = dict(Photo.objects.values_list("file", "id"))
    hashes = {Path(name).stem for name in rows}
    orphan_thumbs = [name for name in files[THUMBS_DIR] if Path(name).name.partition("-")[0] not in hashes]
    return MediaAudit(
        orphan_files=sorted({*files[PHOTOS_DIR]} - rows.keys()) + sorted(orphan_thumbs),
        missing_files=sorted((photo_id, name) for name, photo_id in rows.items() if name not in {*files[PHOTOS_DIR]}),
    )
