"""The one nearest-neighbour query over face embeddings: every search, identification and verification by face uses it.

It is plain ORM SQL, `ORDER BY embedding <-> %s LIMIT k`, answered by the HNSW index `face_embedding_hnsw_l2`
(Euclidean distance between L2-normalised vectors: the number `embeddings.distance` returns and thresholds are
calibrated in). `hnsw.ef_search` is set for the query's own transaction, and pgvector's iterative index scan keeps
filtered queries (model_id, confirmed faces only) from returning fewer than `limit` rows.
"""

from __future__ import annotations

import contextlib

import numpy as np
from django.db import connection, transaction
from django.db.models import QuerySet
from pgvector.django import L2Distance

import embeddings
from facesearch.photos.models import CONFIRMED, Face

EF_SEARCH = 100
"""Size of the HNSW candidate list. `benchmarks/search.py` at 1M faces (see README): recall@10 >= 0.99 from 100 on,
while latency grows with it."""

ITERATIVE_SCAN = "relaxed_order"
"""pgvector >= 0.8: when a filter drops candidates, scan on instead of returning fewer rows (results re-sorted here)."""


@contextlib.contextmanager
def _hnsw_settings(*, ef_search: int):
    """A transaction whose HNSW scans use `ef_search` and iterative scans; SET LOCAL ends with it (pool-safe)."""
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            "SELECT set_config('hnsw.ef_search', %s, true), set_config('hnsw.iterative_scan', %s, true)",
            [str(ef_search), ITERATIVE_SCAN],
        )
        yield


def face_nearest_queryset(
    *, embedding: np.ndarray, model_id: str, limit: int, confirmed_only: bool, exclude_face_id: int | None
) -> QuerySet[Face]:
    """The query `face_nearest` runs, unevaluated (run it inside `_hnsw_settings`): `face_nearest_plan` explains it and
    `benchmarks/search.py` times its SQL, so what they measure is what ships."""
    faces = Face.objects.filter(model_id=model_id)
    if confirmed_only:
        faces = faces.filter(person__isnull=False, assignment__in=CONFIRMED)
    if exclude_face_id is not None:
        faces = faces.exclude(id=exclude_face_id)
    vector = np.asarray(embedding, dtype=np.float32)
    return (
        faces.annotate(distance=L2Distance("embedding", vector))
        .order_by("distance")
        .select_related("photo", "person")
        .defer("crop", "embedding", "photo__error")[:limit]
    )


def face_nearest(
    *,
    embedding: np.ndarray,
    model_id: str,
    limit: int = 10,
    max_distance: float | None = None,
    confirmed_only: bool = False,
    exclude_face_id: int | None = None,
    ef_search: int = EF_SEARCH,
) -> list[Face]:
    """The `limit` faces nearest to `embedding` among faces of the same encoder, nearest first, each with `.distance`.

    `confirmed_only` keeps faces a person assigned (manual or enrolled); `max_distance` keeps only faces closer than
    it, by `embeddings.same_person` (the rule verify and identify decide by, so a cut at the threshold keeps exactly
    the "same person" faces). The cut is applied to the k rows the index returns, not in SQL: top-k then cut is the
    same answer, and a SQL `WHERE distance < x` would make the iterative scan walk the graph far beyond k whenever few
    faces are that close.
    """
    faces = face_nearest_queryset(
        embedding=embedding,
        model_id=model_id,
        limit=limit,
        confirmed_only=confirmed_only,
        exclude_face_id=exclude_face_id,
    )
    with _hnsw_settings(ef_search=max(ef_search, limit)):
        rows = sorted(faces, key=lambda face: face.distance)  # relaxed_order may return near-ties slightly out of order
    if max_distance is not None:
        rows = [face for face in rows if embeddings.same_person(face.distance, max_distance)]
    return rows


def face_nearest_plan(
    *,
    embedding: np.ndarray,
    model_id: str,
    limit: int = 10,
    confirmed_only: bool = False,
    exclude_face_id: int | None = None,
    ef_search: int = EF_SEARCH,
) -> str:
    """EXPLAIN of exactly the query `face_nearest` runs: tests and operators check that the HNSW index answers it."""
    faces = face_nearest_queryset(
        embedding=embedding,
        model_id=model_id,
        limit=limit,
        confirmed_only=confirmed_only,
        exclude_face_id=exclude_face_id,
    )
    with _hnsw_settings(ef_search=max(ef_search, limit)):
        return faces.explain()
