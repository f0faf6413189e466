"""A person's verdict on a detected face: not a face, ignored (a real face nobody wants to name), a face after all
(kept although the quality gate hid it), or undone. The verdict lives on the face row (`Face.review`), so it goes
with the face, and reprocessing keeps it (`processing._photo_faces_store`); `Face.hidden` follows from it.
"""

from __future__ import annotations

from django.db import transaction

from facesearch.core.errors import ApplicationError
from facesearch.grouping.models import FaceGroup, GroupedFace
from facesearch.grouping.services import faces_group
from facesearch.libraries.access import Caller
from facesearch.people.services import faces_unassign
from facesearch.photos.models import Face, awaiting_name

NO_REVIEW = ""  # undo: the quality gate decides again


@transaction.atomic
def face_review(*, caller: Caller, face_id: int, review: str) -> None:
    """Record `review` (a `Face.Review` value, or "" to undo) on a face the caller may manage.

    Not a face: a named face loses its person first (audited, and recorded as not that person). Ignored: only a face
    nobody named (name it or ignore it). A face that no longer awaits a name leaves its suggested group; one that
    awaits a name again (undo) is placed among the suggestions as a new face would be.
    """
    face = Face.objects.select_for_update(no_key=True).defer("crop", "embedding").get(id=face_id)
    if review == Face.Review.IGNORED and face.person_id is not None:
        raise ApplicationError(
            "This face is named: remove the name before ignoring it.", {"face_id": face_id}, status=409
        )
    if review == Face.Review.NOT_FACE and face.person_id is not None:
        faces_unassign(caller=caller, face_ids=[face.id], library_id=face.library_id)
    Face.objects.filter(id=face.id).update(review=review)
    if Face.objects.filter(awaiting_name(), id=face.id).exists():
        faces_group(face_ids=[face.id])
    else:  # its group is repaired by the next maintenance run, as when a face is named
        left = GroupedFace.objects.filter(face_id=face.id)
        FaceGroup.objects.filter(id__in=left.values("group_id")).update(touched=True)
        left.delete()
