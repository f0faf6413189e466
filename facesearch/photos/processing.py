"""Processing photos: claim a batch, read, detect, align and encode it, store each photo's faces idempotently.

What a worker task runs (`tasks.photos_process`). It queues nothing itself: re-queueing is the tasks' and services'
business, so this module sits below both.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Sequence
from datetime import timedelta

import numpy as np
from django.conf import settings
from django.db import InterfaceError, OperationalError, transaction
from django.db.models import F
from django.db.models.functions import Now
from django.utils import timezone as django_timezone

import embeddings
from embeddings import EmbeddingsError
from embeddings.io import Decoded
from embeddings.quality import Gate
from facesearch.core.images import jpeg_encode, read_stored_reduced
from facesearch.core.metrics import batch_observed
from facesearch.core.pipeline import Encoders, encoders_read, get_pipeline, spec_of_model
from facesearch.grouping.services import faces_group
from facesearch.people.models import Person
from facesearch.people.services import (
    assignment_events_carry,
    face_rejections_carry,
    faces_assign_automatically,
    people_covers_refresh,
)
from facesearch.photos.jobs import items_finish
from facesearch.photos.models import Face, IngestItem, IngestJob, Photo, awaiting_name
from facesearch.photos.selectors import nearest_scans_remembered
from facesearch.photos.storage import photo_file_path

logger = logging.getLogger(__name__)

BATCH_SIZE = 8  # photos per interactive task, topped up to it: a person waits for the whole batch
BULK_BATCH_SIZE = 32
"""Photos per task of an import or a re-encode. `benchmarks/ingest.py --n 256 --workers 1 --batch-sizes 8 32
--folder-only`: one worker stored 11.7 photos/s in tasks of 8 and 17.0 in tasks of 32 (the bare pipeline: 17.6 at
batch 8, 21.9 at 32): MTCNN batches same-size photos, and a batch's transaction and queries are shared by more."""
BATCH_PIXELS = 100_000_000
"""Pixels of stored photos decoded at once by a task, at most: 32 phone photos would hold gigabytes, so a task of
large photos encodes and stores them a few at a time (a large JPEG decodes smaller, `embeddings.io.read_reduced`)."""
SAME_FACE_IOU = 0.5  # a re-encoded face whose box overlaps an old one this much is the same face

DB_ERRORS = (OperationalError, InterfaceError)  # transient: the task retries, nothing is recorded

INTERRUPTED = (
    "processing was interrupted {attempts} times (its worker died, e.g. out of memory); retry it to try once more"
)

PENDING_AGAIN = {"status": Photo.Status.PENDING, "error": "", "attempts": 0, "status_changed_at": Now()}


def photos_claim_and_encode(
    *, photo_ids: Sequence[int], uploads_only: bool = False, encoder: str | None = None
) -> None:
    """What a worker task does: process the task's photos that are still to do, topped up to BATCH_SIZE with other
    photos waiting for their own task, in one `encode_batch`.

    Clients that upload one photo per request queue one task per photo, and encoding photos one at a time runs at
    well under half the batched speed (benchmarks/ingest.py). So a task also claims waiting (pending) photos, oldest
    first, skipping rows another worker has locked; their own tasks then find them done and return at once. A photo
    already done is never processed again by a task (re-encoding goes through `photos_reprocess`, which sets it back
    to pending). A claimed photo whose worker dies stays 'processing', and its own task, still queued, processes it.

    A person waits for an interactive task (`uploads_only`): it tops up with uploaded photos only, never with a
    folder import's or a re-encode's, which would make its batch, and the wait, as long as theirs.

    Every run counts against a photo's `attempts`: photos of a run that died are processed one per run, so the photo
    that kills its worker is found, and one started FACESEARCH_PROCESSING_ATTEMPTS times is failed with the reason.

    `encoder`: a switch of encoder's task encodes with that one only (`photos_encode`), and claims no other photos,
    which need the serving encoder's faces too.
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
        photo_fail(photo_id=photo_id, reason=INTERRUPTED.format(attempts=todo.pop(photo_id)))
    if any(todo.values()):  # a run of these photos died before: one photo per run finds the one that kills it
        for photo_id in todo:
            photos_encode(photo_ids=[photo_id], encoder=encoder)
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
        if uploads_only:
            waiting = waiting.exclude(
                ingest_items__job__source__in=[IngestJob.Source.FOLDER, IngestJob.Source.REPROCESS]
            )
        claimed = list(waiting[: max(0, BATCH_SIZE - len(todo))]) if encoder is None else []
        Photo.objects.filter(id__in=claimed).update(status=Photo.Status.PROCESSING, status_changed_at=Now())
    photos_encode(photo_ids=[*todo, *claimed], encoder=encoder)


@batch_observed
def photos_encode(*, photo_ids: Sequence[int], encoder: str | None = None) -> None:
    """Encode several photos in one `encode_batch` call, then store their faces in one transaction (photos of more
    than BATCH_PIXELS together: a few at a time).

        With `encoder` None, the serving encoder, and during a switch of encoder the new one too, so a photo stored
        meanwhile has both encoders' faces (a photo with the serving encoder's faces already, e.g. one of the switch's
        that recovery or another task took up, gets the new one's only); with `encoder`, that one only (the switch's).

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
    encoders = encoders_read()
    for chunk in _pixel_chunks(photos):
        _photos_encode_chunk(chunk, encoders, encoder)


def _pixel_chunks(photos: list[Photo]) -> list[list[Photo]]:
    """The photos in runs of at most BATCH_PIXELS (as stored; one larger photo alone), in order."""
    chunks: list[list[Photo]] = [[]]
    pixels = 0
    for photo in photos:
        size = (photo.width or 0) * (photo.height or 0)
        if chunks[-1] and pixels + size > BATCH_PIXELS:
            chunks.append([])
            pixels = 0
        chunks[-1].append(photo)
        pixels += size
    return chunks


def _photos_encode_chunk(photos: list[Photo], encoders: Encoders, encoder: str | None) -> None:
    readable: list[Photo] = []
    images: list[Decoded] = []
    for photo in photos:
        try:
            images.append(_photo_image(photo))
            readable.append(photo)
        except (EmbeddingsError, OSError) as exc:
            photo_fail(photo_id=photo.id, reason=f"cannot read the stored image: {exc}")
    for name in (encoder,) if encoder else encoders.names:
        chosen = [
            i
            for i, photo in enumerate(readable)  # during a switch, a photo with the serving faces lacks the new only
            if not (name == encoders.serving and encoders.target and photo.model_id == encoders.serving_model_id)
        ]
        _photos_encode_with(get_pipeline(name), [readable[i] for i in chosen], [images[i] for i in chosen])


def _photos_encode_with(pipeline: embeddings.FacePipeline, readable: list[Photo], images: list[Decoded]) -> None:
    results = None
    if len(images) > 1:
        try:
            results = pipeline.encode_batch(images)
        except Exception:  # one bad image must not fail the others: find it by encoding them one by one
            logger.warning("encode_batch failed for photos %s; encoding them one by one", [p.id for p in readable])
    if results is None:
        results = [_encode_one(pipeline, photo, image) for photo, image in zip(readable, images, strict=True)]

    encoded = [(photo, image, faces) for photo, image, faces in zip(readable, images, results, strict=True)]
    drawn = _drawn_boxes(photo_ids=[photo.id for photo, _, faces in encoded if faces is not None])
    _photos_faces_store(
        found={
            photo.id: _with_drawn_faces(pipeline, image, faces, drawn.get(photo.id, []))
            for photo, image, faces in encoded
            if faces is not None  # None: its failure is recorded
        },
        model_id=pipeline.spec.model_id,
        gate=pipeline.detector.gate,
    )


def photos_stuck_claim(*, older_than: timedelta) -> list[int]:
    """The photos pending or processing for longer than `older_than`, dated now so the next look waits a full bound.

    A task message can be lost (Redis restarted before it persisted it, the broker down when the photo committed, a
    message dropped by hand), and then nothing would ever process the photo. Processing twice is harmless (it is
    idempotent), so the bound only has to exceed a normal wait in the queue plus a run.
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
        Photo.objects.filter(id__in=stuck).update(status_changed_at=Now())
    if stuck:
        logger.warning("recovery: %d photo(s) stuck for over %s: %s", len(stuck), older_than, stuck)
    return stuck


def _photo_image(photo: Photo) -> Decoded:
    """The stored photo, a large JPEG decoded at the coarsest scale detection allows (the pipeline decodes finer where
    a face's crop needs it): a 12 MP photo decodes in a quarter of the time. Every encoder shares the one detector."""
    return read_stored_reduced(photo_file_path(photo.file.name), min_side=get_pipeline().detector.max_side)


def _encode_one(pipeline: embeddings.FacePipeline, photo: Photo, image: Decoded) -> list[embeddings.Face] | None:
    """Faces of one image, or None after recording why they could not be had."""
    try:
        return pipeline.encode(image)
    except DB_ERRORS:
        raise
    except Exception as exc:
        logger.exception("encoding photo %s failed", photo.id)
        photo_fail(photo_id=photo.id, reason=f"face encoding failed: {exc}")
        return None


def _drawn_boxes(*, photo_ids: Sequence[int]) -> dict[int, list[tuple[float, ...]]]:
    """Each photo's distinct drawn boxes (of any encoder's rows), in face order: one query for a batch."""
    boxes: dict[int, dict[tuple[float, ...], None]] = defaultdict(dict)
    rows = Face.objects.filter(photo_id__in=photo_ids, source=Face.Source.DRAWN).order_by("photo_id", "index")
    for photo_id, box in rows.values_list("photo_id", "box"):
        boxes[photo_id][tuple(box)] = None
    return {photo_id: list(distinct) for photo_id, distinct in boxes.items()}


def _with_drawn_faces(
    pipeline: embeddings.FacePipeline,
    image: Decoded,
    detected: list[embeddings.Face],
    drawn_boxes: Sequence[tuple[float, ...]],
) -> list[embeddings.Face]:
    """The detected faces, then the photo's drawn faces encoded again from their stored boxes (in the full image's
    pixels, so decoded whole): a re-encode keeps what a person drew. A detection overlapping a drawn box as the same
    face would (SAME_FACE_IOU) is that face: dropped."""
    pixels = image.at(1) if drawn_boxes else None
    drawn = [pipeline.encode_box(pixels, box) for box in drawn_boxes]
    missed = [face for face in detected if all(iou(face.box, d.box) < SAME_FACE_IOU for d in drawn)]
    return [*missed, *drawn]


def _photos_faces_store(*, found: dict[int, list[embeddings.Face]], model_id: str, gate: Gate) -> None:
    """Replace each photo's faces (photo id → faces found), the whole batch in one transaction under the photos' row
    locks and in a few statements for the batch: a transaction and its queries per photo cost ingest half the
    pipeline's speed (benchmarks/ingest.py).

    A new face that overlaps an old one (IoU >= SAME_FACE_IOU) takes its place: same encoder → the row is updated in
    place (its id, person, rejections, review verdict and cover-face role survive); another encoder → a new row
    inherits the person, the verdict (not a face, ignored) and the rejections ("not this person"). Old faces left
    unmatched are deleted. So re-running never duplicates and a re-encode keeps people's assignments and corrections.
    Each face is judged again by the quality gate of the detector that found it (`gate`); faces new to the photo that
    pass it are named automatically when they are that close to an enrolled face they were not rejected for. A photo
    deleted meanwhile is skipped.

    During a switch of encoder (`photos.encoder_switch`) the other encoder's rows stay beside these; faces of an
    encoder that is neither serving nor switched to (the switch ended while they were encoded) are not stored.
    """
    with transaction.atomic():
        photos = list(Photo.objects.select_for_update(no_key=True).filter(id__in=found).order_by("id"))
        encoders = encoders_read(lock=True)
        if not photos or model_id not in encoders.model_ids:
            return
        old_faces: dict[int, list[Face]] = defaultdict(list)
        for old in Face.objects.select_for_update(no_key=True).filter(photo__in=photos).defer("crop", "embedding"):
            old_faces[old.photo_id].append(old)
        beside = encoders.model_ids - {model_id}
        kept: list[tuple[Face, dict]] = []  # old row, its new values
        rows: list[Face] = []
        inherited: list[tuple[Face, Face]] = []  # new row, the other encoder's row it replaces
        obsolete: list[Face] = []
        for photo in photos:
            matches = _match_faces(old_faces[photo.id], found[photo.id])
            for new, face in enumerate(found[photo.id]):
                passed = _passes_gate(face, photo, gate)
                values = face_fields(face, index=new, model_id=model_id) | {"quality_passed": passed}
                old = matches.get(new)
                if old is not None and old.model_id == model_id:
                    kept.append((old, values))
                    continue
                rows.append(
                    Face(photo=photo, library_id=photo.library_id, **values, **(_assignment_of(old) if old else {}))
                )
                if old is not None:
                    inherited.append((rows[-1], old))
            kept_ids = {old.id for old, _ in kept}
            obsolete += [old for old in old_faces[photo.id] if old.id not in kept_ids and old.model_id not in beside]

        if any(old.model_id == model_id for faces in old_faces.values() for old in faces):
            # Free every (photo, model_id, index) slot of this encoder's old rows: the kept ones get their final
            # values next, the others are deleted below, and no new row may collide with either meanwhile.
            Face.objects.filter(photo__in=photos, model_id=model_id).update(index=F("index") + 16384)  # > any index
            for old, values in kept:
                Face.objects.filter(id=old.id).update(**values)
        created = Face.objects.bulk_create(rows)
        replacement = {old.id: row.id for row, old in inherited}
        for old_id, new_id in replacement.items():
            Person.objects.filter(cover_face_id=old_id).update(cover_face_id=new_id)
        face_rejections_carry(replacement=replacement)  # before the old rows (and their rejections) go
        assignment_events_carry(replacement=replacement)  # and their history
        if obsolete:
            Face.objects.filter(id__in=[old.id for old in obsolete]).delete()
            people_covers_refresh({old.person_id for old in obsolete})
        with nearest_scans_remembered():  # each library's candidates counted once for the batch, not per face
            if settings.FACESEARCH_AUTO_ASSIGN and created:  # new faces only: a kept face keeps what a person decided
                waiting = set(
                    Face.objects.filter(awaiting_name(), id__in=[face.id for face in created]).values_list(
                        "id", flat=True
                    )
                )  # not hidden by the quality gate, nor a verdict carried from another encoder's face
                faces_assign_automatically(
                    faces=[face for face in created if face.id in waiting],
                    max_distance=spec_of_model(model_id).auto_assign_distance,
                )
            if created and model_id == encoders.serving_model_id:  # a new encoder's faces are grouped once it serves
                faces_group(face_ids=[face.id for face in created])  # those still unassigned join suggested people

        done = django_timezone.now()
        Photo.objects.filter(id__in=[photo.id for photo in photos]).update(
            status=Photo.Status.DONE, error="", model_id=model_id, processed_at=done, status_changed_at=done
        )
        items_finish(photo_ids=[photo.id for photo in photos], state=IngestItem.State.DONE)


def face_fields(face: embeddings.Face, *, index: int, model_id: str) -> dict:
    """The columns of a Face row holding `face` (detected, or drawn: `photos.drawing`)."""
    return {
        "index": index,
        "source": Face.Source.DETECTED if face.landmarks_source == "detector" else Face.Source.DRAWN,
        "box": [round(float(v), 2) for v in face.box],
        "landmarks": [[round(float(x), 2), round(float(y), 2)] for x, y in np.asarray(face.landmarks)],
        "score": float(face.score),
        "box_size": float(face.quality.box_size),
        "sharpness": float(face.quality.sharpness),
        "yaw": float(face.quality.yaw),
        "pitch": float(face.quality.pitch),
        "roll": float(face.quality.roll),
        "crop": jpeg_encode(face.crop),
        "model_id": model_id,
        "embedding": np.asarray(face.embedding, dtype=np.float32),
    }


def _assignment_of(old: Face) -> dict:
    """A person carried over to another encoder's face (a never-match person's face stays unsearchable), and a
    person's verdict on it (not a face, ignored); a distance measured by the old encoder no longer holds."""
    return {
        "person_id": old.person_id, "assignment": old.assignment, "assignment_distance": None,
        "searchable": old.searchable, "review": old.review,
    }  # fmt: skip


def _passes_gate(face: embeddings.Face, photo: Photo, gate: Gate) -> bool:
    """The detector's quality gate (`embeddings.quality.Gate`) for a detected face; a drawn face passes, and so does a
    face of a photo whose size is not known."""
    if face.landmarks_source != "detector" or not photo.width or not photo.height:
        return True
    return gate.passes(score=face.score, box_size=face.quality.box_size, image_size=(photo.width, photo.height))


def iou(a: Sequence[float], b: Sequence[float]) -> float:
    """Intersection over union of two [x1, y1, x2, y2] boxes: how much two faces are one."""
    width = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    height = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = width * height
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


def _match_faces(old_faces: list[Face], new_faces: list[embeddings.Face]) -> dict[int, Face]:
    """Greedy best-overlap matching of new faces (by index) to old rows; a tie prefers the same encoder."""
    candidates = sorted(
        (
            (iou(old.box, new.box), old.model_id == new.model_id, -old.id, new_index, old)
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


def photo_fail(*, photo_id: int, reason: str) -> None:
    with transaction.atomic():
        photo = Photo.objects.select_for_update(no_key=True).filter(id=photo_id).first()
        if photo is None:
            return
        photo.status, photo.error, photo.processed_at = Photo.Status.FAILED, reason[:2000], django_timezone.now()
        photo.status_changed_at = photo.processed_at
        photo.save(update_fields=["status", "error", "processed_at", "status_changed_at"])
        items_finish(photo_ids=[photo_id], state=IngestItem.State.FAILED, error=photo.error)
