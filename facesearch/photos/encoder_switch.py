"""Switching the library's encoder while search keeps answering (`manage.py reprocess --encoder NAME`, the admin).

1. `encoder_switch_start` records the new encoder as the target and queues a reprocess job (maintenance queue) that
   encodes every photo with it. Its faces are stored beside the serving encoder's (`processing._photo_faces_store`
   keeps both while a switch is under way); a new face inherits the person, verdict and rejections of the old face
   its box overlaps. Photos stored meanwhile are encoded with both (`processing.photos_encode`). Search,
   identification and naming go on reading the serving encoder's vectors with its cuts (`core.pipeline.get_pipeline`).
2. `encoder_switch_finish`, after each task: once no photo waits and every processed photo has the new encoder's
   faces, it carries the corrections people made on the old faces meanwhile to the new ones and flips the serving
   encoder, in one transaction that stores of faces cannot straddle (they share-lock the row it updates).
3. `faces_of_old_encoders_delete`, CLEANUP_DELAY later (every process has read the new serving encoder by then):
   the old vectors go, and the library's groups are rebuilt with the new encoder's cuts.
A photo whose re-encode failed keeps no face after the switch: its job shows it failed, with Retry.
"""

from __future__ import annotations

import logging

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone as django_timezone

from embeddings.encoders import ENCODERS, EncoderSpec, get_spec
from facesearch.core.errors import ApplicationError
from facesearch.core.models import EncoderState
from facesearch.core.pipeline import SERVING_CACHE_SECONDS, encoders_read, serving_encoder_forget
from facesearch.grouping.services import library_regroup
from facesearch.libraries.models import Library
from facesearch.people.models import Person
from facesearch.people.services import assignment_events_carry, face_rejections_carry, people_covers_refresh
from facesearch.photos import ingest, tasks
from facesearch.photos.models import EMBEDDING_DIM, Face, IngestJob, Photo
from facesearch.photos.processing import SAME_FACE_IOU, iou

logger = logging.getLogger(__name__)

CLEANUP_DELAY = 3 * SERVING_CACHE_SECONDS
"""Seconds between the flip and deleting the old vectors: a process may search with the old encoder for up to
SERVING_CACHE_SECONDS after the flip, plus the time its search takes."""

DELETE_CHUNK = 2000  # old faces deleted per transaction: a large library's cleanup does not hold one huge lock set


def switchable_encoders() -> list[str]:
    """The encoders the face table can hold (128-D)."""
    return [name for name in ENCODERS if get_spec(name).dim == EMBEDDING_DIM]


def encoder_switchable_check(encoder: str) -> EncoderSpec:
    """The spec of `encoder`, or ApplicationError when it is unknown or its vectors do not fit the face table."""
    try:
        spec = get_spec(encoder)
    except ValueError as exc:
        raise ApplicationError(str(exc), {"encoder": encoder}) from exc
    if spec.dim != EMBEDDING_DIM:
        raise ApplicationError(
            f"{encoder} gives {spec.dim}-D vectors; the face table stores {EMBEDDING_DIM}-D: choose one of "
            f"{', '.join(switchable_encoders())}.",
            {"encoder": encoder},
        )
    return spec


@transaction.atomic
def encoder_switch_start(*, encoder: str, user: AbstractBaseUser | None = None) -> list[IngestJob]:
    """Re-encode every photo with `encoder`, then make it the serving encoder; the reprocess jobs, one per library.

    `encoder` already serving: a plain reprocess. A switch under way, or an encoder the face table cannot hold:
    ApplicationError, nothing changes.
    """
    encoder_switchable_check(encoder)
    EncoderState.objects.get_or_create(id=EncoderState.SINGLETON, defaults={"serving": encoders_read().serving})
    state = EncoderState.objects.select_for_update().get(id=EncoderState.SINGLETON)
    if state.target:
        raise ApplicationError(
            f"A switch from {state.serving} to {state.target} is under way; start another once it has ended "
            f"(`manage.py reprocess --encoder {state.target} --wait` follows it).",
            {"serving": state.serving, "target": state.target},
            status=409,
        )
    photo_ids = Photo.objects.order_by("id").values_list("id", flat=True)
    if encoder == state.serving:
        return ingest.photos_reprocess(photo_ids=photo_ids, user=user)
    state.target, state.started_at = encoder, django_timezone.now()
    state.save(update_fields=["target", "started_at"])
    logger.info("switching the encoder from %s to %s", state.serving, encoder)
    jobs = ingest.photos_reprocess(photo_ids=photo_ids, user=user, encoder=encoder)
    if not jobs:  # no photo: nothing to wait for
        encoder_switch_finish()
    return jobs


def encoder_switch_finish() -> bool:
    """Flip the serving encoder to the switch's target if every photo has its faces; True when it flipped.

    Cheap when it cannot flip yet (one look at the row, one at the queue of photos): every processing task calls it.
    A processed photo still without the target's faces (stored by a process that had not seen the switch start) is
    queued again with the target, and the flip waits for it.
    """
    with transaction.atomic():
        state = EncoderState.objects.select_for_update().filter(~Q(target=""), id=EncoderState.SINGLETON).first()
        if state is None:
            return False
        if Photo.objects.filter(status__in=[Photo.Status.PENDING, Photo.Status.PROCESSING]).exists():
            return False
        old, new = get_spec(state.serving).model_id, get_spec(state.target).model_id
        lacking = list(
            Photo.objects.filter(status=Photo.Status.DONE)
            .exclude(model_id=new)
            .exclude(Exists(Face.objects.filter(photo=OuterRef("pk"), model_id=new)))
            .values_list("id", flat=True)
        )
        if lacking:
            ingest.photos_reprocess(photo_ids=lacking, encoder=state.target)
            return False
        carried = faces_corrections_carry(old_model_id=old, new_model_id=new)
        state.serving, state.target, state.switched_at = state.target, "", django_timezone.now()
        state.save(update_fields=["serving", "target", "switched_at"])
        transaction.on_commit(serving_encoder_forget)
        transaction.on_commit(
            lambda: tasks.encoder_switch_cleanup.apply_async(queue=tasks.MAINTENANCE, countdown=CLEANUP_DELAY)
        )
    logger.info("serving encoder now %s (%d faces took corrections made during the switch)", state.serving, carried)
    return True


def faces_corrections_carry(*, old_model_id: str, new_model_id: str) -> int:
    """Give each new encoder's face what people decided on the old face its box overlaps during the switch (search
    and the pages served the old faces): person and how, verdict, rejections, history, cover role. A name the new
    encoder gave automatically to a face still nobody's on the old side is kept. Returns how many faces changed."""
    photos = Photo.objects.filter(
        Exists(Face.objects.filter(photo=OuterRef("pk"), model_id=old_model_id)),
        Exists(Face.objects.filter(photo=OuterRef("pk"), model_id=new_model_id)),
    ).values_list("id", flat=True)
    fields = ("id", "photo_id", "box", "model_id", "person_id", "assignment", "searchable", "review")
    changed = 0
    replacement: dict[int, int] = {}
    for photo_id in photos.iterator(chunk_size=500):
        faces = list(Face.objects.filter(photo_id=photo_id).only(*fields).order_by("id"))
        old_faces = [face for face in faces if face.model_id == old_model_id]
        for new in (face for face in faces if face.model_id == new_model_id):
            old = max(old_faces, key=lambda face: iou(face.box, new.box), default=None)
            if old is None or iou(old.box, new.box) < SAME_FACE_IOU:
                continue
            replacement[old.id] = new.id
            theirs = (old.person_id, old.assignment, old.searchable, old.review)
            if theirs == (new.person_id, new.assignment, new.searchable, new.review):
                continue
            if old.person_id is None and new.assignment == Face.Assignment.AUTOMATIC and not old.review:
                continue
            Face.objects.filter(id=new.id).update(  # a distance measured by the old encoder no longer holds
                person_id=old.person_id, assignment=old.assignment, searchable=old.searchable, review=old.review,
                assignment_distance=None,
            )  # fmt: skip
            changed += 1
    for old_id, new_id in replacement.items():
        Person.objects.filter(cover_face_id=old_id).update(cover_face_id=new_id)
    face_rejections_carry(replacement=replacement)
    assignment_events_carry(replacement=replacement)
    return changed


def faces_of_old_encoders_delete() -> int:
    """Delete the faces of every encoder neither serving nor switched to, and rebuild the groups of the libraries
    that had some; returns how many faces were deleted."""
    keep = encoders_read().model_ids
    stale = Face.objects.exclude(model_id__in=keep)
    libraries = sorted(set(stale.order_by().values_list("library_id", flat=True).distinct()))
    deleted = 0
    while ids := list(stale.order_by("id").values_list("id", flat=True)[:DELETE_CHUNK]):
        with transaction.atomic():
            people = set(Face.objects.filter(id__in=ids, person__isnull=False).values_list("person_id", flat=True))
            deleted += Face.objects.filter(id__in=ids).delete()[1].get(Face._meta.label, 0)
            people_covers_refresh(people)
    for library in Library.objects.filter(id__in=libraries).order_by("id"):
        library_regroup(library=library)
    if deleted:
        logger.info("deleted %d faces of encoders no longer serving (%s kept)", deleted, ", ".join(sorted(keep)))
    return deleted
