"""Search by photo or face, 1:N identification and 1:1 verification, each recorded in the audit log.

Query images are decoded in memory (`read_upload`, fed by `core.uploads.QueryImageUploadHandler`) and never stored:
no file, no row. Encoding runs outside any transaction; the nearest-neighbour queries and the audit row commit together.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction

import embeddings
from facesearch.core.errors import ApplicationError
from facesearch.core.images import read_upload
from facesearch.core.inference import get_gate
from facesearch.core.pipeline import get_pipeline
from facesearch.people.models import Person
from facesearch.photos.models import Face
from facesearch.photos.selectors import face_nearest
from facesearch.search.models import AuditLog

Box = tuple[float, float, float, float]


@dataclass(frozen=True)
class QueryFace:
    """A face of the query: where it is and how sure the detector is (its embedding never leaves the process)."""

    index: int
    box: Box
    score: float
    embedding: np.ndarray
    model_id: str


@dataclass(frozen=True)
class SearchResult:
    query_faces: list[QueryFace]
    face_index: int
    matches: list[Face]  # nearest first, each with `.distance`, `.photo` and `.person` loaded
    threshold: float
    max_distance: float


@dataclass(frozen=True)
class Identification:
    box: Box
    score: float
    person: Person | None  # None when the decision is "unknown"
    distance: float | None  # to the nearest confirmed face; None when nobody is enrolled
    threshold: float
    decision: str  # "match" | "unknown"


@dataclass(frozen=True)
class Verification:
    distance: float
    threshold: float
    same: bool


# ------------------------------------------------------------------------------------------------------ query faces


def _query_faces(file: UploadedFile, *, max_faces: int | None = None) -> list[QueryFace]:
    """Detect and encode the largest faces of an uploaded query image (at most `max_faces`, by default
    FACESEARCH_MAX_QUERY_FACES), most prominent first; no face is a 422, a busy inference gate a 429.

    The image is decoded inside the gate, so waiting requests hold compressed bytes, not pixels.
    """
    with get_gate().slot():
        image = read_upload(file)
        try:
            faces = get_pipeline().encode(image, max_faces=max_faces or settings.FACESEARCH_MAX_QUERY_FACES)
        except embeddings.NoFaceError:
            faces = []
    if not faces:
        raise ApplicationError("No face was found in the image.", {"file": file.name}, status=422)
    return [
        QueryFace(
            index=i,
            box=tuple(round(float(v), 1) for v in face.box),
            score=round(float(face.score), 4),
            embedding=face.embedding,
            model_id=face.model_id,
        )
        for i, face in enumerate(faces)
    ]


def _stored_face(face_id: int) -> QueryFace:
    """A stored face as a query, if it was encoded by the current encoder (its threshold is the one we know)."""
    face = Face.objects.filter(id=face_id).only("id", "index", "box", "score", "embedding", "model_id").first()
    if face is None:
        raise ApplicationError("Face not found.", {"face_id": face_id}, status=404)
    model_id = get_pipeline().spec.model_id
    if face.model_id != model_id:
        raise ApplicationError(
            "This face was encoded by another encoder; reprocess its photo to search with it.",
            {"face_id": face_id, "face_model_id": face.model_id, "model_id": model_id},
            status=409,
        )
    return QueryFace(
        index=face.index,
        box=tuple(face.box),
        score=face.score,
        embedding=np.asarray(face.embedding, dtype=np.float32),
        model_id=face.model_id,
    )


def _audit(
    *, user: AbstractBaseUser | None, kind: str, result_count: int, best_distance: float | None, detail: dict[str, Any]
) -> AuditLog:
    return AuditLog.objects.create(
        user=user if user is not None and user.is_authenticated else None,
        kind=kind,
        result_count=result_count,
        best_distance=best_distance,
        detail=detail,
    )


# ----------------------------------------------------------------------------------------------------------- search


def _search(
    *,
    user: AbstractBaseUser | None,
    query_faces: list[QueryFace],
    face_index: int,
    limit: int,
    max_distance: float | None,
    exclude_face_id: int | None,
    detail: dict[str, Any],
) -> SearchResult:
    if not 0 <= face_index < len(query_faces):
        raise ApplicationError(
            f"face_index must be between 0 and {len(query_faces) - 1}: the image has {len(query_faces)} face(s).",
            {"face_index": face_index, "faces": len(query_faces)},
        )
    query = query_faces[face_index]
    threshold = get_pipeline().threshold
    cut = threshold if max_distance is None else max_distance
    with transaction.atomic():
        matches = face_nearest(
            embedding=query.embedding,
            model_id=query.model_id,
            limit=limit,
            max_distance=cut,
            exclude_face_id=exclude_face_id,
        )
        _audit(
            user=user,
            kind=AuditLog.Kind.SEARCH,
            result_count=len(matches),
            best_distance=matches[0].distance if matches else None,
            detail={
                **detail,
                "limit": limit,
                "max_distance": cut,
                "face_index": face_index,
                "query_faces": len(query_faces),
                "face_ids": [face.id for face in matches],
            },
        )
    return SearchResult(
        query_faces=query_faces, face_index=face_index, matches=matches, threshold=threshold, max_distance=cut
    )


def faces_search_by_photo(
    *,
    user: AbstractBaseUser | None,
    file: UploadedFile,
    limit: int = 10,
    max_distance: float | None = None,
    face_index: int = 0,
) -> SearchResult:
    """Faces like the `face_index`-th face of an uploaded image (the most prominent by default), nearest first.

    Matches farther than `max_distance` (default: the encoder's calibrated same-person threshold) are left out.
    """
    return _search(
        user=user,
        query_faces=_query_faces(file),
        face_index=face_index,
        limit=limit,
        max_distance=max_distance,
        exclude_face_id=None,
        detail={"source": "upload"},
    )


def faces_search_by_face(
    *, user: AbstractBaseUser | None, face_id: int, limit: int = 10, max_distance: float | None = None
) -> SearchResult:
    """Faces like a stored face (itself excluded), nearest first; `max_distance` as in `faces_search_by_photo`."""
    return _search(
        user=user,
        query_faces=[_stored_face(face_id)],
        face_index=0,
        limit=limit,
        max_distance=max_distance,
        exclude_face_id=face_id,
        detail={"source": "face", "face_id": face_id},
    )


# --------------------------------------------------------------------------------------------------------- identify


def faces_identify(
    *, user: AbstractBaseUser | None, file: UploadedFile, max_distance: float | None = None
) -> list[Identification]:
    """Each face of the image → the enrolled person it most likely is, or "unknown" beyond the threshold.

    A person is compared by their nearest confirmed face, not by the centroid of their faces: `benchmarks/identify.py`
    on 7,981 real LFW faces measures the same accuracy for one enrolled face per person and at most 1.6 points better
    open-set identification for the centroid with 2 to 5, while nearest needs no per-person state to keep in step and
    is the one indexed query every search uses. The threshold defaults to the encoder's calibrated 1:1 distance;
    `max_distance` makes it stricter for large galleries, where a stranger has many chances to fall near someone.
    """
    query_faces = _query_faces(file)
    threshold = get_pipeline().threshold if max_distance is None else max_distance
    answers = []
    with transaction.atomic():
        for query in query_faces:
            nearest = face_nearest(embedding=query.embedding, model_id=query.model_id, limit=1, confirmed_only=True)
            distance = nearest[0].distance if nearest else None
            match = distance is not None and embeddings.same_person(distance, threshold)
            answers.append(
                Identification(
                    box=query.box,
                    score=query.score,
                    person=nearest[0].person if match else None,
                    distance=None if distance is None else round(distance, 4),
                    threshold=threshold,
                    decision="match" if match else "unknown",
                )
            )
        distances = [a.distance for a in answers if a.distance is not None]
        _audit(
            user=user,
            kind=AuditLog.Kind.IDENTIFY,
            result_count=sum(a.decision == "match" for a in answers),
            best_distance=min(distances) if distances else None,
            detail={"faces": len(answers), "person_ids": [a.person.id for a in answers if a.person is not None]},
        )
    return answers


# ----------------------------------------------------------------------------------------------------------- verify


def faces_verify(
    *,
    user: AbstractBaseUser | None,
    file_a: UploadedFile | None = None,
    file_b: UploadedFile | None = None,
    face_a: int | None = None,
    face_b: int | None = None,
) -> Verification:
    """Are the most prominent faces of two images (or two stored faces, or one of each) the same person?"""
    sides = []
    for name, file, face_id in (("a", file_a, face_a), ("b", file_b, face_b)):
        if (file is None) == (face_id is None):
            raise ApplicationError(f"Give exactly one of file_{name} or face_{name}.", {"side": name})
        sides.append(_query_faces(file, max_faces=1)[0] if file is not None else _stored_face(face_id))
    a, b = sides
    result = get_pipeline().verify(a.embedding, b.embedding)
    distance, threshold, same = round(result.distance, 4), result.threshold, result.same
    _audit(
        user=user,
        kind=AuditLog.Kind.VERIFY,
        result_count=int(same),
        best_distance=distance,
        detail={
            "a": "upload" if face_a is None else {"face_id": face_a},
            "b": "upload" if face_b is None else {"face_id": face_b},
            "same": same,
        },
    )
    return Verification(distance=distance, threshold=threshold, same=same)
