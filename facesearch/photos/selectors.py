"""Read path of the photos app: photo, face and job listings with their filters, job progress, rendered images."""

from __future__ import annotations

import contextlib
import contextvars
import io
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import django_filters
import numpy as np
from django.db import connection, transaction
from django.db.models import Count, Exists, F, FloatField, OuterRef, Prefetch, Q, QuerySet, Value
from django.db.models.functions import Cast, Coalesce, NullIf
from pgvector.django import L2Distance
from PIL import Image

import embeddings
from facesearch.core.errors import ApplicationError
from facesearch.core.images import jpeg_encode, read_stored
from facesearch.core.pipeline import serving_model_id
from facesearch.libraries.access import Caller, in_libraries
from facesearch.photos.models import CONFIRMED, Face, IngestItem, IngestJob, Photo, awaiting_name
from facesearch.photos.storage import (
    PHOTOS_DIR,
    THUMBS_DIR,
    media_sha256,
    photo_file_path,
    thumbnail_file_name,
    thumbnail_file_write,
)

FACE_LIST_FIELDS_DEFERRED = ("crop", "embedding")  # kilobytes per row that listings never show


class PhotoFilter(django_filters.FilterSet):
    library = django_filters.NumberFilter(field_name="library")
    ordering = django_filters.OrderingFilter(fields=("created_at", "taken_at", "id", "size"))

    class Meta:
        model = Photo
        fields = ("status", "model_id")


def photos_filtered(
    photos: QuerySet[Photo], *, people: Sequence[int] = (), faces: str | None = None
) -> QuerySet[Photo]:
    """Photos showing every one of `people` ("A and B"), and/or by their faces: `unnamed` (a face nobody is named
    for), `none` (processed, no face found). Subqueries, not joins: one row per photo however many faces match."""
    for person_id in dict.fromkeys(people):
        photos = photos.filter(Exists(Face.objects.filter(photo=OuterRef("pk"), person_id=person_id)))
    if faces == "unnamed":  # awaiting a name: not hidden by the quality gate or as not a face, not ignored
        photos = photos.filter(Exists(Face.objects.filter(awaiting_name(), photo=OuterRef("pk"))))
    elif faces == "none":  # no face shown (hidden ones are probably not faces)
        shown = Face.objects.filter(photo=OuterRef("pk"), hidden=False)
        photos = photos.filter(status=Photo.Status.DONE).exclude(Exists(shown))
    return photos


class FaceFilter(django_filters.FilterSet):
    # Number filters, not the Meta default (a choice of existing rows): an unknown id must match no face, where a
    # choice filter drops itself as invalid and the list comes back unfiltered.
    library = django_filters.NumberFilter(field_name="library")
    person = django_filters.NumberFilter(field_name="person")
    photo = django_filters.NumberFilter(field_name="photo")
    unassigned = django_filters.BooleanFilter(field_name="person", lookup_expr="isnull")
    awaiting_name = django_filters.BooleanFilter(method="filter_awaiting_name")
    hidden = django_filters.BooleanFilter(field_name="hidden")
    ordering = django_filters.OrderingFilter(fields=("id", "created_at", "score", "box_size", "photo"))

    class Meta:
        model = Face
        fields = ("person", "photo", "model_id", "assignment", "source", "review")

    def filter_awaiting_name(self, queryset: QuerySet[Face], name: str, value: bool | None) -> QuerySet[Face]:
        if value is None:
            return queryset
        return queryset.filter(awaiting_name()) if value else queryset.exclude(awaiting_name())


class JobFilter(django_filters.FilterSet):
    library = django_filters.NumberFilter(field_name="library")

    class Meta:
        model = IngestJob
        fields = ("state", "source")


def photo_list(*, caller: Caller, filters: dict[str, Any] | None = None) -> QuerySet[Photo]:
    """The caller's photos with their faces (and the faces' people) prefetched; `ordering` sorts, newest first by
    default."""
    faces = (
        Face.objects.filter(model_id=serving_model_id())
        .defer(*FACE_LIST_FIELDS_DEFERRED)
        .select_related("person")
        .order_by("index")
    )
    photos = in_libraries(Photo.objects.all(), caller)
    queryset = photos.select_related("uploaded_by", "library").prefetch_related(Prefetch("faces", queryset=faces))
    filters = filters or {}
    queryset = PhotoFilter(filters, queryset).qs
    queryset = photos_filtered(queryset, people=filters.get("person", ()), faces=filters.get("faces"))
    if filters.get("ordering") in ("taken_at", "-taken_at"):
        column = F("taken_at")
        order = column.asc(nulls_last=True) if filters["ordering"] == "taken_at" else column.desc(nulls_last=True)
        queryset = queryset.order_by(order, "-id")
    elif filters.get("ordering") in ("date", "-date"):  # when taken, else when uploaded: what a timeline groups by
        queryset = queryset.annotate(date=Coalesce("taken_at", "created_at"))
        queryset = queryset.order_by(filters["ordering"], "-id" if filters["ordering"] == "-date" else "id")
    return queryset


def photos_for(*, caller: Caller, photo_ids: Sequence[int], scope: str) -> list[Photo]:
    """Exactly these photos, for an operation needing `scope` on each: a 404 naming the ids the caller cannot read
    (whether they exist elsewhere or not), a 403 when one is readable but `scope` is not the caller's there."""
    ids = sorted(set(photo_ids))
    photos = list(in_libraries(Photo.objects.filter(id__in=ids), caller).order_by("id"))
    missing = sorted(set(ids) - {photo.id for photo in photos})
    if missing:
        raise ApplicationError("Some photos do not exist.", {"photo_ids": missing}, status=404)
    refused = sorted({photo.library_id for photo in photos if not caller.may(scope, photo.library_id)})
    if refused:
        raise ApplicationError(
            f"Your access to this library does not allow this (it needs `{scope}`).",
            {"library": refused[0], "needs": scope},
            status=403,
        )
    return photos


def face_list(*, caller: Caller, filters: dict[str, Any] | None = None) -> QuerySet[Face]:
    """The caller's faces, of the serving encoder unless `model_id` asks for another's (during a switch of encoder,
    each face of a photo is stored twice, once per encoder)."""
    filters = {"model_id": serving_model_id(), **(filters or {})}
    faces = in_libraries(Face.objects.all(), caller).defer(*FACE_LIST_FIELDS_DEFERRED).select_related("person")
    return FaceFilter(filters, faces).qs


def face_crop(*, caller: Caller, face_id: int) -> bytes | None:
    crop = in_libraries(Face.objects.filter(id=face_id), caller).values_list("crop", flat=True).first()
    return bytes(crop) if crop is not None else None


def job_list(*, caller: Caller, filters: dict[str, Any] | None = None) -> QuerySet[IngestJob]:
    """Jobs annotated with their item counts (`total`, `pending`, `done`, `skipped`, `failed`), `finished` (done,
    skipped or failed) and `progress`, the share finished: 0 to 1, and 1 for an empty job.

    The one definition of a job's progress: the API, the admin and the commands all read these annotations.
    """
    counts = {
        state: Count("items", filter=Q(items__state=state)) for state in IngestItem.State.values
    }  # one GROUP BY for all counts
    queryset = (
        in_libraries(IngestJob.objects.all(), caller)
        .select_related("created_by")
        .annotate(total=Count("items"), **counts)
        .annotate(finished=F("done") + F("skipped") + F("failed"))
        .annotate(  # failed items a retry can succeed for: a stored photo, or a folder's file (read again)
            retryable=Count(
                "items",
                filter=Q(items__state=IngestItem.State.FAILED)
                & (Q(items__photo__isnull=False) | Q(source=IngestJob.Source.FOLDER)),
            )
        )
        .annotate(
            progress=Coalesce(Cast("finished", FloatField()) / NullIf("total", 0), 1.0, output_field=FloatField())
        )
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
        return self.job.finished

    @property
    def progress(self) -> float:
        """The share of items finished, 0 to 1 (1 for an empty job), as `job_list` computes it."""
        return self.job.progress


def job_progress(*, caller: Caller, job_id: int, failures_limit: int = 1000) -> JobProgress | None:
    """Counts by item state and the failed items with their reasons (the first `failures_limit`)."""
    job = job_list(caller=caller).filter(id=job_id).first()
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
        return jpeg_encode(_photo_upright(photo), size=size)
    # A photo no larger than a cached size is whole in that one: larger sizes share its file instead of copying it.
    longest = max(photo.width or 0, photo.height or 0) or size
    cached = next(bucket for bucket in THUMBNAIL_SIZES if bucket >= min(size, longest))
    path = photo_file_path(thumbnail_file_name(photo_name=photo.file.name, size=cached))
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        data = jpeg_encode(_photo_upright(photo), size=cached)
        thumbnail_file_write(photo_name=photo.file.name, size=cached, data=data)
    if cached <= size:  # fits already
        return data
    return jpeg_encode(Image.open(io.BytesIO(data)), size=size)


def _photo_upright(photo: Photo) -> np.ndarray:
    return read_stored(photo_file_path(photo.file.name))


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
    photo_files, hashes = set(files[PHOTOS_DIR]), set(Photo.objects.values_list("sha256", flat=True))
    return MediaAudit(
        orphan_files=sorted(photo_files - rows.keys())
        + sorted(name for name in files[THUMBS_DIR] if media_sha256(name) not in hashes),
        missing_files=sorted((photo_id, name) for name, photo_id in rows.items() if name not in photo_files),
    )


# -------------------------------------------------------------------------------------------- nearest neighbours
# The one nearest-neighbour query over face embeddings: search, identification, automatic naming and suggestions use
# it. Plain ORM SQL, `ORDER BY embedding <-> %s LIMIT k` over the faces of the given libraries (searchable ones that
# are not hidden, unless told), answered by the HNSW index `face_embedding_hnsw_l2` (Euclidean distance between
# L2-normalised vectors: the number `embeddings.distance` returns and thresholds are calibrated in) when the candidates
# are many, and by an exact scan of the library's btree index when they are few. `hnsw.ef_search` is set for the
# query's own transaction, and pgvector's iterative index scan keeps filtered queries (libraries, model_id, confirmed
# faces only) from returning fewer than `limit` rows.

EF_SEARCH = 100
"""Size of the HNSW candidate list. `benchmarks/search.py` at 1M faces (see README): recall@10 >= 0.99 from 100 on,
while latency grows with it."""

ITERATIVE_SCAN = "relaxed_order"
"""pgvector >= 0.8: when a filter drops candidates, scan on instead of returning fewer rows (results re-sorted here)."""

EXACT_SCAN_BELOW = 50_000
"""Candidates (faces passing the filters) below which the query scans them exactly instead of walking the HNSW graph.
The graph is built over every library's faces: for a small library the filter drops almost every neighbour the walk
finds, so the walk is long and still misses (a 10,000-face library among 1M faces: recall@10 0.86 in 36-52 ms p50).
The exact scan reads the candidates' vectors from the covering `face_library_vectors` index alone, so it costs about
1 ms per 1,000 candidates and is exact. `benchmarks/search_libraries.py --other-scan` times both scans (README,
"Search in libraries"; 1M faces, 2 cores): exact p99 15-24 ms at 10,000, and as fast as HNSW up to 30,000; at
40,000-50,000 exact p99 is 1.2-1.9 times HNSW's (34-48 against 26-34 ms) for recall 1.0 against 0.84; at 60,000 it is
twice (62 against 33 ms). Hence the cut at 50,000: past it the walk is faster and, at a larger share of the faces,
closer to exact (recall 0.995 for a library of half the faces)."""


def face_nearest_candidates(
    *,
    model_id: str,
    library_ids: Sequence[int],
    confirmed_only: bool = False,
    exclude_face_id: int | None = None,
    include_unsearchable: bool = False,
) -> QuerySet[Face]:
    """The faces a nearest-neighbour query compares with, unordered."""
    faces = Face.objects.filter(library_id__in=list(library_ids), model_id=model_id)
    if not include_unsearchable:
        faces = faces.filter(searchable=True, hidden=False)
    if confirmed_only:
        faces = faces.filter(person__isnull=False, assignment__in=CONFIRMED)
    if exclude_face_id is not None:
        faces = faces.exclude(id=exclude_face_id)
    return faces


def face_nearest_queryset(*, embedding: np.ndarray, limit: int, exact: bool, **candidates: Any) -> QuerySet[Face]:
    """The query `face_nearest` runs, unevaluated (run it inside `_nearest_query`): `face_nearest_plan` explains it and
    `benchmarks/search.py` times its SQL, so what they measure is what ships.

    `exact` orders by the distance plus 0, an expression the HNSW index cannot answer, so PostgreSQL computes every
    candidate's distance and sorts: from `face_library_vectors` alone (an index-only scan) when the candidates are
    searchable faces, else through `face_library_model` or `face_library_confirmed` and the table.

    The `limit` nearest are found on the face table alone, in a subquery, and only they are joined to their photo and
    person: PostgreSQL joins before it sorts, so with the joins in the same query an exact scan looked up the photo of
    every candidate before keeping 10 (EXPLAIN ANALYZE on `benchmarks/search_libraries.py`'s data, 10,000 candidates of
    1M faces: 96 ms, 17 ms with the subquery)."""
    vector = np.asarray(embedding, dtype=np.float32)
    distance = L2Distance("embedding", vector)
    order = distance + Value(0.0) if exact else distance
    nearest = face_nearest_candidates(**candidates).order_by(order).values("id")[:limit]
    # The outer distance is the same plus 0: an expression the HNSW index cannot order by. Ordering by the plain
    # distance, the planner could walk the graph for these 10 rows (stale row counts make it look cheap), and a walk
    # without iterative scan returns only the ids it meets among its first ef_search: rows went missing.
    return (
        Face.objects.filter(id__in=nearest)
        .annotate(distance=distance + Value(0.0))
        .order_by("distance")
        .select_related("photo", "person")
        .defer("crop", "embedding", "photo__error")
    )


def face_nearest(
    *,
    embedding: np.ndarray,
    model_id: str,
    library_ids: Sequence[int],
    limit: int = 10,
    max_distance: float | None = None,
    confirmed_only: bool = False,
    exclude_face_id: int | None = None,
    include_unsearchable: bool = False,
    ef_search: int = EF_SEARCH,
) -> list[Face]:
    """The `limit` faces nearest to `embedding` among faces of the same encoder in `library_ids`, nearest first, each
    with `.distance`.

    Faces of people marked never-match and hidden faces (not a face, or below the quality gate) are left out
    (`include_unsearchable` is for ingest and erasure alone: ingest must recognise a never-match person to keep their
    new faces out too). `confirmed_only` keeps faces a person assigned (manual or enrolled);
    `max_distance` keeps only faces closer than it, by `embeddings.same_person` (the rule verify and identify decide
    by, so a cut at the threshold keeps exactly the "same person" faces). The cut is applied to the k rows the index
    returns, not in SQL: top-k then cut is the same answer, and a SQL `WHERE distance < x` would make the iterative
    scan walk the graph far beyond k whenever few faces are that close.
    """
    query = {
        "library_ids": library_ids, "confirmed_only": confirmed_only, "exclude_face_id": exclude_face_id,
        "include_unsearchable": include_unsearchable,
    }  # fmt: skip
    counted = face_nearest_count(model_id=model_id, **query)
    if not counted:  # e.g. confirmed faces of a library where nobody is enrolled yet: no query to run
        return []
    exact = counted < EXACT_SCAN_BELOW
    with _nearest_query(
        embedding=embedding, model_id=model_id, limit=limit, ef_search=ef_search, exact=exact, **query
    ) as faces:
        rows = sorted(faces, key=lambda face: face.distance)  # relaxed_order may return near-ties slightly out of order
    if max_distance is not None:
        rows = [face for face in rows if embeddings.same_person(face.distance, max_distance)]
    return rows


def face_nearest_plan(
    *,
    embedding: np.ndarray,
    model_id: str,
    library_ids: Sequence[int],
    limit: int = 10,
    confirmed_only: bool = False,
    exclude_face_id: int | None = None,
    ef_search: int = EF_SEARCH,
) -> str:
    """EXPLAIN of exactly the query `face_nearest` runs: tests and operators check which index answers it."""
    query = {"library_ids": library_ids, "confirmed_only": confirmed_only, "exclude_face_id": exclude_face_id}
    with _nearest_query(embedding=embedding, model_id=model_id, limit=limit, ef_search=ef_search, **query) as faces:
        return faces.explain()


@contextlib.contextmanager
def _nearest_query(*, limit: int, ef_search: int, exact: bool | None = None, **query: Any) -> Iterator[QuerySet[Face]]:
    """`face_nearest_queryset`, to evaluate inside the transaction whose settings pick the scan: an exact one when the
    candidates are fewer than EXACT_SCAN_BELOW, else HNSW with `ef_search` (at least `limit`) and iterative scans.

    SET LOCAL lasts until the transaction ends, and inside a caller's transaction (processing, erasure) the HNSW block
    is only a savepoint: the block reads nothing but the query, so it is rolled back, which undoes its settings there
    too. Otherwise the HNSW settings stayed for the rest of the caller's transaction. The exact scan sets nothing, so
    it needs no savepoint: four statements fewer on the path of every library below EXACT_SCAN_BELOW (ingest runs
    several of these queries per face)."""
    if exact is None:
        exact = face_nearest_exact(**{key: value for key, value in query.items() if key != "embedding"})
    if exact:
        yield face_nearest_queryset(limit=limit, exact=True, **query)
        return
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            "SELECT set_config('hnsw.ef_search', %s, true), set_config('hnsw.iterative_scan', %s, true)",
            [str(max(ef_search, limit)), ITERATIVE_SCAN],
        )
        yield face_nearest_queryset(limit=limit, exact=False, **query)
        transaction.set_rollback(True)


_counts: contextvars.ContextVar[dict[tuple, int] | None] = contextvars.ContextVar("nearest_counts", default=None)


@contextlib.contextmanager
def nearest_scans_remembered() -> Iterator[None]:
    """Within the block, `face_nearest_count` counts each set of candidates once. A worker storing a batch asks it
    for the same library before each of a face's nearest-neighbour queries (`benchmarks/ingest_profile.py`: 2 of
    its 10 statements a photo). Inside a batch's store the batch's faces are already in, and what the block does
    (naming, grouping) adds no face, so a count only lags by changes other transactions commit meanwhile: a few faces,
    which move the scan across EXACT_SCAN_BELOW at most, where either scan answers correctly."""
    token = _counts.set({})
    try:
        yield
    finally:
        _counts.reset(token)


def face_nearest_exact(**candidates: Any) -> bool:
    """Whether `face_nearest` scans these candidates exactly: fewer than EXACT_SCAN_BELOW (`face_nearest_count`)."""
    return face_nearest_count(**candidates) < EXACT_SCAN_BELOW


def face_nearest_count(
    *,
    model_id: str,
    library_ids: Sequence[int],
    confirmed_only: bool = False,
    exclude_face_id: int | None = None,
    include_unsearchable: bool = False,
) -> int:
    """How many faces `face_nearest` compares with, up to EXACT_SCAN_BELOW, counted by reading at most that many index
    entries (never a full count of a large library); remembered inside `nearest_scans_remembered`.

    Counted on a btree index alone (an index-only scan): the libraries' faces of the encoder in `face_library_model`,
    or their confirmed searchable faces in the partial `face_library_confirmed`. `searchable` and the excluded face are
    not in `face_library_model`; filtering them would read a heap row per entry (a 500,000-face library: 30 ms for
    the count, 2 ms without), and the count they would subtract can only move a rare case from exact to HNSW."""
    faces = {"model_id": model_id, "library_ids": library_ids}
    if confirmed_only:
        counted = face_nearest_candidates(**faces, confirmed_only=True, include_unsearchable=include_unsearchable)
    else:
        counted = face_nearest_candidates(**faces, include_unsearchable=True)
    remembered = _counts.get()
    key = (model_id, tuple(sorted(library_ids)), confirmed_only, confirmed_only and include_unsearchable)
    if remembered is not None and key in remembered:
        return remembered[key]
    # No ORDER BY (Face.Meta.ordering would sort the slice, or walk an index in photo order to avoid sorting).
    count = counted.order_by().values("id")[:EXACT_SCAN_BELOW].count()
    if remembered is not None:
        remembered[key] = count
    return count
