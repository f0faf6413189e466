"""Faces drawn by hand: a box a person draws around a face the detector missed becomes a face of the photo, landmarked,
aligned and encoded like a detected one (`FacePipeline.encode_box`) and marked `drawn`.

A re-encode keeps drawn faces (`processing` encodes them again from their boxes), and deleting the photo deletes them
with its other faces.
"""

from __future__ import annotations

from collections.abc import Sequence

from django.conf import settings
from django.db import transaction
from django.db.models import Max

from embeddings import EmbeddingsError
from facesearch.core.errors import ApplicationError
from facesearch.core.images import read_stored
from facesearch.core.inference import get_gate
from facesearch.core.pipeline import get_pipeline
from facesearch.grouping.services import faces_group
from facesearch.libraries.access import Caller
from facesearch.people.models import Person
from facesearch.people.services import faces_assign, faces_assign_automatically
from facesearch.photos.models import Face, Photo
from facesearch.photos.processing import SAME_FACE_IOU, face_fields, iou
from facesearch.photos.storage import photo_file_path


def face_draw(*, caller: Caller, photo: Photo, box: Sequence[float], person: Person | None = None) -> Face:
    """Add the face inside `box` ([x1, y1, x2, y2] in pixels of the upright photo, like every face's box) to a
    processed photo, named after `person` (a manual assignment) when given; returns the new face.

    The networks run in the request, behind the web process's inference gate (429 when it is full), and outside any
    transaction; the row is then written under the photo's lock, after checking again that the photo was not
    re-encoded meanwhile and that no face overlapping the box was added: so retrying never duplicates a face.
    """
    _processed_check(photo)
    box = _box_check(photo, box)
    _overlap_check(photo, box)
    pipeline = get_pipeline()
    try:
        image = read_stored(photo_file_path(photo.file.name))
    except (OSError, EmbeddingsError) as exc:  # deleted meanwhile, or its file lost (`media_check` finds those)
        raise ApplicationError("The photo's file cannot be read.", {"id": photo.id}, status=404) from exc
    with get_gate().slot():
        drawn = pipeline.encode_box(image, box)
    with transaction.atomic():
        locked = Photo.objects.select_for_update(no_key=True).filter(id=photo.id).first()
        if locked is None:
            raise ApplicationError("No such photo.", {"id": photo.id}, status=404)
        _processed_check(locked)
        if locked.model_id != drawn.model_id:
            raise ApplicationError(
                "The photo's faces were re-encoded by another encoder meanwhile; draw the face again.",
                {"photo": locked.id, "model_id": locked.model_id},
                status=409,
            )
        _overlap_check(locked, box)
        last = Face.objects.filter(photo=locked, model_id=drawn.model_id).aggregate(last=Max("index"))["last"]
        face = Face.objects.create(
            photo=locked,
            library_id=locked.library_id,
            **face_fields(drawn, index=0 if last is None else last + 1, model_id=drawn.model_id),
        )
        if person is not None:
            faces_assign(caller=caller, person=person, face_ids=[face.id], how=Face.Assignment.MANUAL)
        else:  # as ingest treats a new face (`processing`): a never-match person's face stays unsearchable
            if settings.FACESEARCH_AUTO_ASSIGN:
                faces_assign_automatically(faces=[face], max_distance=pipeline.spec.auto_assign_distance)
            faces_group(face_ids=[face.id])  # still unnamed: it joins the suggested people
    face.refresh_from_db()
    return face


def _processed_check(photo: Photo) -> None:
    if photo.status != Photo.Status.DONE:
        reason = "its processing failed" if photo.status == Photo.Status.FAILED else "it is not processed yet"
        raise ApplicationError(
            f"A face can be drawn on a processed photo only; {reason}.",
            {"photo": photo.id, "status": photo.status},
            status=409,
        )


def _box_check(photo: Photo, box: Sequence[float]) -> tuple[float, float, float, float]:
    """The box as floats, if it is a box inside the photo at least FACESEARCH_MIN_FACE_SIZE pixels a side."""
    x1, y1, x2, y2 = (float(v) for v in box)
    if not (x1 < x2 and y1 < y2):
        raise ApplicationError("The box must be [x1, y1, x2, y2] with x1 < x2 and y1 < y2.", {"box": list(box)})
    if x1 < 0 or y1 < 0 or x2 > photo.width or y2 > photo.height:
        raise ApplicationError(
            f"The box must lie inside the {photo.width}x{photo.height} photo.",
            {"box": list(box), "width": photo.width, "height": photo.height},
        )
    if min(x2 - x1, y2 - y1) < settings.FACESEARCH_MIN_FACE_SIZE:
        raise ApplicationError(
            f"The box is too small: a face must be at least {settings.FACESEARCH_MIN_FACE_SIZE} pixels a side.",
            {"box": list(box), "min_face_size": settings.FACESEARCH_MIN_FACE_SIZE},
        )
    return x1, y1, x2, y2


def _overlap_check(photo: Photo, box: tuple[float, float, float, float]) -> None:
    """409 naming the face the box overlaps as much as a re-encode would take for the same face (SAME_FACE_IOU)."""
    for face_id, other in Face.objects.filter(photo=photo).order_by("index").values_list("id", "box"):
        if iou(box, other) >= SAME_FACE_IOU:
            message = f"The box covers face {face_id} of this photo already."
            raise ApplicationError(message, {"photo": photo.id, "face": face_id}, status=409)
