"""Search by photo or face, 1:N identification and 1:1 verification, each recorded in the audit log.

Query images are decoded in memory (`read_upload`, fed by `core.uploads.QueryImageUploadHandler`) and never stored:
no file, no row. Encoding runs outside any transaction; every query is audited, a failed one too. Each compares only
within the libraries the caller may search (or the one it names), and never with faces of people marked never-match.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from django.conf import settings
from django.core.files.uploadedfile import UploadedFile

import embeddings
from embeddings import calibration
from facesearch.core.errors import ApplicationError
from facesearch.core.images import read_upload
from facesearch.core.inference import get_gate
from facesearch.core.pipeline import get_pipeline
from facesearch.libraries.access import Caller, library_get, object_get
from facesearch.libraries.audit import Audited, audited
from facesearch.libraries.models import AuditEntry, Scope
from facesearch.people.models import Person
from facesearch.photos.models import Face
from facesearch.photos.selectors import face_nearest, face_nearest_candidates

Box = tuple[float, float, float, float]


@dataclass(frozen=True)
class QueryFace:
    """A face of the query: where it is and how sure the detector is (its embedding never leaves the process)."""

    index: int
    box: Box
    score: float
    embedding: np.ndarray
    model_id: str
    library_id: int | None = None  # a stored face's library; None for a face of a query image


@dataclass(frozen=True)
class SearchResult:
    query_faces: list[QueryFace]
    face_index: int
    matches: list[Face]  # nearest first, each with `.distance`, `.photo` and `.person` loaded
    threshold: float
    max_distance: float
    false_accept_rate: float  # share of different-person pairs closer than max_distance
    operating_points: dict[str, tuple[float, float]]  # strict / normal / loose -> (distance, false-accept rate)


@dataclass(frozen=True)
class Identification:
    box: Box
    score: float
    person: Person | None  # None when the decision is "unknown"
    distance: float | None  # to the nearest confirmed face; None when nobody is enrolled
    threshold: float
    decision: str  # "match" | "unknown"


@dataclass(frozen=True)
class Identifications:
    """The answer for every face of an image, and the operating point it was decided at."""

    faces: list[Identification]
    threshold: float
    fpir: float | None  # the target share of strangers named; None when the caller set max_distance
    gallery_size: int  # confirmed faces compared with (the encoder's, in the libraries searched)
    false_accept_rate: float  # per comparison, at the threshold
    expected_fpir: float  # 1 - (1 - false_accept_rate) ** gallery_size: strangers expected to be named


@dataclass(frozen=True)
class Verification:
    distance: float
    threshold: float
    same: bool
    false_accept_rate: float  # share of different-person pairs closer than the threshold


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


def _stored_face(caller: Caller, face_id: int) -> QueryFace:
    """A stored face the caller may search with, as a query, if it was encoded by the current encoder (its threshold
    is the one we know) and its person has not opted out of matching."""
    faces = Face.objects.only("id", "index", "box", "score", "embedding", "model_id", "library_id", "searchable")
    face = object_get(faces, caller, Scope.SEARCH, noun="face", id=face_id)
    if not face.searchable:
        raise ApplicationError(
            "This face's person is marked never-match: their faces are not searched for.", {"face_id": face_id},
            status=409,
        )  # fmt: skip
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
        library_id=face.library_id,
    )


def _false_accept_rate(distance: float) -> float:
    """The calibrated per-comparison false-accept rate of a threshold (the encoder's curve): what a caller needs to
    reason about a decision."""
    return float(f"{calibration.far_at(get_pipeline().spec.far_curve, distance):.3g}")


def _library_ids(caller: Caller, library: int | None) -> list[int]:
    """The libraries a query compares within: the one named (if the caller may search it), else all they may."""
    if library is not None:
        return [library_get(caller, library, Scope.SEARCH).id]
    return list(caller.library_ids(Scope.SEARCH).values_list("id", flat=True))


# ----------------------------------------------------------------------------------------------------------- search


def _search(
    *,
    record: Audited,
    library_ids: list[int],
    query_faces: list[QueryFace],
    face_index: int,
    limit: int,
    max_distance: float | None,
    exclude_face_id: int | None,
) -> SearchResult:
    record.detail.update({"limit": limit, "face_index": face_index, "query_faces": len(query_faces)})
    if not 0 <= face_index < len(query_faces):
        raise ApplicationError(
            f"face_index must be between 0 and {len(query_faces) - 1}: the image has {len(query_faces)} face(s).",
            {"face_index": face_index, "faces": len(query_faces)},
        )
    query = query_faces[face_index]
    threshold = get_pipeline().threshold
    cut = threshold if max_distance is None else max_distance
    matches = face_nearest(
        embedding=query.embedding,
        model_id=query.model_id,
        library_ids=library_ids,
        limit=limit,
        max_distance=cut,
        exclude_face_id=exclude_face_id,
    )
    record.result_count = len(matches)
    record.best_distance = matches[0].distance if matches else None
    record.detail.update({"max_distance": cut, "face_ids": [face.id for face in matches]})
    return SearchResult(
        query_faces=query_faces, face_index=face_index, matches=matches, threshold=threshold, max_distance=cut,
        false_accept_rate=_false_accept_rate(cut),
        operating_points=calibration.operating_points(get_pipeline().spec.far_curve, threshold),
    )  # fmt: skip


def faces_search_by_photo(
    *,
    caller: Caller,
    file: UploadedFile,
    library: int | None = None,
    limit: int = 10,
    max_distance: float | None = None,
    face_index: int = 0,
) -> SearchResult:
    """Faces like the `face_index`-th face of an uploaded image (the most prominent by default), nearest first, in the
    caller's libraries (or `library`).

    Matches farther than `max_distance` (default: the encoder's calibrated same-person threshold) are left out.
    """
    with audited(caller=caller, kind=AuditEntry.Kind.SEARCH, detail={"source": "upload"}) as record:
        record.library_ids = _library_ids(caller, library)
        return _search(
            record=record,
            library_ids=record.library_ids,
            query_faces=_query_faces(file),
            face_index=face_index,
            limit=limit,
            max_distance=max_distance,
            exclude_face_id=None,
        )


def faces_search_by_face(
    *, caller: Caller, face_id: int, library: int | None = None, limit: int = 10, max_distance: float | None = None
) -> SearchResult:
    """Faces like a stored face (itself excluded), nearest first; `library` and `max_distance` as in
    `faces_search_by_photo`."""
    with audited(caller=caller, kind=AuditEntry.Kind.SEARCH, detail={"source": "face", "face_id": face_id}) as record:
        record.library_ids = _library_ids(caller, library)
        return _search(
            record=record,
            library_ids=record.library_ids,
            query_faces=[_stored_face(caller, face_id)],
            face_index=0,
            limit=limit,
            max_distance=max_distance,
            exclude_face_id=face_id,
        )


# --------------------------------------------------------------------------------------------------------- identify


def identify_threshold(*, gallery_size: int, fpir: float | None = None) -> float:
    """The distance identification decides at for a gallery of this many confirmed faces: the one that names at most
    `fpir` (default FACESEARCH_IDENTIFY_FPIR) of strangers, never looser than the encoder's 1:1 threshold."""
    spec = get_pipeline().spec
    fpir = settings.FACESEARCH_IDENTIFY_FPIR if fpir is None else fpir
    return round(
        min(spec.threshold, calibration.identification_threshold(spec.far_curve, fpir=fpir, gallery_size=gallery_size)),
        4,
    )


def faces_identify(
    *,
    caller: Caller,
    file: UploadedFile,
    library: int | None = None,
    max_distance: float | None = None,
    fpir: float | None = None,
) -> Identifications:
    """Each face of the image → the enrolled person (of the caller's libraries, or `library`) it most likely is, or
    "unknown" beyond the threshold.

    The threshold is calibrated to the gallery (`identify_threshold`): with many people enrolled a stranger has many
    chances to fall near one of them, so the distance that names at most `fpir` of strangers shrinks as the gallery
    grows (`benchmarks/identify.py`: at the 1:1 threshold 63-87% of strangers were named among 311 people; at a 1%
    target, 0.7-0.9% for galleries of 10 to 1,000). `max_distance` overrides it.

    A person is compared by their nearest confirmed face, not by the centroid of their faces: `benchmarks/identify.py`
    on 7,981 real LFW faces measures the same accuracy for one enrolled face per person and at most 1.6 points better
    open-set identification for the centroid with 2 to 5, while nearest needs no per-person state to keep in step and
    is the one indexed query every search uses.
    """
    with audited(caller=caller, kind=AuditEntry.Kind.IDENTIFY) as record:
        record.library_ids = _library_ids(caller, library)
        query_faces = _query_faces(file)
        model_id = query_faces[0].model_id
        gallery_size = face_nearest_candidates(
            model_id=model_id, library_ids=record.library_ids, confirmed_only=True
        ).count()
        if max_distance is None:
            fpir = settings.FACESEARCH_IDENTIFY_FPIR if fpir is None else fpir
            threshold = identify_threshold(gallery_size=gallery_size, fpir=fpir)
        else:
            threshold, fpir = max_distance, None
        answers = []
        for query in query_faces:
            nearest = face_nearest(
                embedding=query.embedding, model_id=query.model_id, library_ids=record.library_ids, limit=1,
                confirmed_only=True,
            )  # fmt: skip
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
        record.result_count = sum(a.decision == "match" for a in answers)
        record.best_distance = min(distances) if distances else None
        far = _false_accept_rate(threshold)
        record.detail = {
            "faces": len(answers), "person_ids": [a.person.id for a in answers if a.person is not None],
            "threshold": threshold, "fpir": fpir, "gallery_size": gallery_size,
        }  # fmt: skip
        return Identifications(
            faces=answers, threshold=threshold, fpir=fpir, gallery_size=gallery_size, false_accept_rate=far,
            expected_fpir=float(f"{calibration.gallery_fpir(far=far, gallery_size=gallery_size):.3g}"),
        )  # fmt: skip


# ----------------------------------------------------------------------------------------------------------- verify


def faces_verify(
    *,
    caller: Caller,
    file_a: UploadedFile | None = None,
    file_b: UploadedFile | None = None,
    face_a: int | None = None,
    face_b: int | None = None,
) -> Verification:
    """Are the most prominent faces of two images (or two stored faces the caller may search, or one of each) the
    same person?"""
    detail = {
        "a": "upload" if face_a is None else {"face_id": face_a},
        "b": "upload" if face_b is None else {"face_id": face_b},
    }
    with audited(caller=caller, kind=AuditEntry.Kind.VERIFY, detail=detail) as record:
        sides = []
        for name, file, face_id in (("a", file_a, face_a), ("b", file_b, face_b)):
            if (file is None) == (face_id is None):
                raise ApplicationError(f"Give exactly one of file_{name} or face_{name}.", {"side": name})
            side = _query_faces(file, max_faces=1)[0] if file is not None else _stored_face(caller, face_id)
            sides.append(side)
            if side.library_id is not None:
                record.library_ids.append(side.library_id)
        a, b = sides
        result = get_pipeline().verify(a.embedding, b.embedding)
        distance, threshold, same = round(result.distance, 4), result.threshold, result.same
        record.result_count, record.best_distance = int(same), distance
        record.detail["same"] = same
        return Verification(
            distance=distance, threshold=threshold, same=same, false_accept_rate=_false_accept_rate(threshold)
        )
