"""Reads about stored groups: the suggested people of a library, and what grouping needs to place a face (its
unassigned neighbours, a group's faces, the person a group looks like)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from django.db.models import Count, Exists, OuterRef, Q, QuerySet

import embeddings
from embeddings.grouping import NEIGHBOURS, Neighbour, review_distance
from facesearch.core.pipeline import get_pipeline
from facesearch.grouping.models import FaceGroup, GroupedFace
from facesearch.libraries.models import Library
from facesearch.people.models import FaceRejection, Person
from facesearch.photos.models import Face, awaiting_name
from facesearch.photos.selectors import FACE_LIST_FIELDS_DEFERRED, face_nearest

NAMING_CANDIDATES = 10
"""Nearest confirmed faces looked at to name a group: the nearest may belong to a person the group must not be named
after (hidden, rejected by one of its faces, already in one of its photos), and a person has several faces; 10
reaches the next person in the usual case at the cost of one index scan, and beyond them the group is left unnamed."""

NEIGHBOUR_SCAN = 3 * NEIGHBOURS
"""Faces asked of the index to find NEIGHBOURS unassigned ones: the nearest faces of a new face are often faces of
people already named (the index holds every face), which are no one's neighbours here."""


def unassigned_faces(*, library_id: int, model_id: str) -> QuerySet[Face]:
    """The faces grouping is about, of one library and encoder: those awaiting a name (unassigned, searchable, not
    hidden by the quality gate or as not a face, not ignored: `photos.models.awaiting_name`)."""
    return Face.objects.filter(awaiting_name(), library_id=library_id, model_id=model_id)


def review_from() -> float:
    """Names proposed at this distance or more are flagged for review, not given unasked (embeddings.grouping)."""
    return review_distance(get_pipeline().spec.far_curve)


def face_neighbours(*, face: Face, max_distance: float) -> list[Neighbour]:
    """The new face's nearest unassigned faces within `max_distance` (the HNSW index), with their groups."""
    nearest = face_nearest(
        embedding=np.asarray(face.embedding), model_id=face.model_id, library_ids=[face.library_id],
        limit=NEIGHBOUR_SCAN, max_distance=max_distance, exclude_face_id=face.id,
    )  # fmt: skip
    near = [f for f in nearest if f.person_id is None and f.review != Face.Review.IGNORED][:NEIGHBOURS]
    groups = dict(GroupedFace.objects.filter(face_id__in=[f.id for f in near]).values_list("face_id", "group_id"))
    vectors = dict(Face.objects.filter(id__in=[f.id for f in near]).values_list("id", "embedding"))
    return [Neighbour(f.id, groups.get(f.id), f.photo_id, np.asarray(vectors[f.id])) for f in near]


def group_members(group_id: int) -> tuple[np.ndarray, list[int]]:
    """A group's unassigned faces' vectors and photo ids (faces assigned since have left it)."""
    rows = list(Face.objects.filter(awaiting_name(), grouping__group_id=group_id).values_list("embedding", "photo_id"))
    if not rows:
        return np.zeros((0, 128), np.float32), []
    return np.stack([np.asarray(vector) for vector, _ in rows]), [photo for _, photo in rows]


@dataclass(frozen=True)
class Proposal:
    person: Person | None
    distance: float | None
    review: bool


def group_proposal(*, face_ids: Sequence[int], library_id: int, model_id: str, max_distance: float) -> Proposal:
    """The person these faces look like: the owner of the nearest confirmed face to their mean face within
    `max_distance`, passing over hidden people, people any of the faces was rejected for, and people who already
    have a face in one of their photos (two faces of one photo are two people). Flagged for review in the margin."""
    rows = list(Face.objects.filter(id__in=face_ids).values_list("embedding", "photo_id"))
    if not rows:
        return Proposal(None, None, False)
    mean = np.mean([np.asarray(vector, dtype=np.float64) for vector, _ in rows], axis=0)
    nearest = face_nearest(
        embedding=mean / np.linalg.norm(mean), model_id=model_id, library_ids=[library_id],
        limit=NAMING_CANDIDATES, max_distance=max_distance, confirmed_only=True,
    )  # fmt: skip
    if not nearest:  # the usual case while a library has few people: two queries fewer per new face
        return Proposal(None, None, False)
    refused = set(FaceRejection.objects.filter(face_id__in=face_ids).values_list("person_id", flat=True))
    in_photos = set(
        Face.objects.filter(photo_id__in={photo for _, photo in rows}, person__isnull=False).values_list(
            "person_id", flat=True
        )
    )
    match = next(
        (f for f in nearest if not f.person.hidden and f.person_id not in refused and f.person_id not in in_photos),
        None,
    )
    if match is None:
        return Proposal(None, None, False)
    return Proposal(match.person, round(match.distance, 4), not embeddings.same_person(match.distance, review_from()))


@dataclass(frozen=True)
class SuggestedGroup:
    """Unassigned faces that look like one person, and the enrolled person they look like, if any."""

    id: int
    faces: list[Face]  # newest first
    person: Person | None
    distance: float | None  # from the group's mean face to that person's nearest confirmed face
    review: bool  # the name is near the threshold: look before naming


@dataclass(frozen=True)
class FaceGroups:
    groups: list[SuggestedGroup]  # largest first
    considered: int  # unassigned faces grouping has placed (in a group or, looking like nobody, alone)
    unassigned: int  # all unassigned faces of the current encoder
    max_distance: float  # the average-linkage cut the groups were made at


def face_groups_suggested(*, library: Library, limit: int = 20) -> FaceGroups:
    """Suggested people of one library, as stored: its groups of unassigned faces, largest first, with the person
    each looks like; a lone face is listed when its name is in the review margin (automatic naming left it).

    Read as the faces are now: a face assigned, deleted, hidden, ignored or made unsearchable since is not shown
    (maintenance drops it from its group). The person is proposed afresh for each group shown (`group_proposal`, one
    index scan per group, as cheap as the stored one), so an enrolment, rejection or hiding since shows at once; the
    stored proposal orders the groups and waits for the next change.
    """
    spec = get_pipeline().spec
    unassigned = unassigned_faces(library_id=library.id, model_id=spec.model_id)
    members = awaiting_name("members__face__")
    stored = list(
        FaceGroup.objects.filter(library=library, model_id=spec.model_id)
        .annotate(size=Count("members", filter=members))
        .filter(Q(size__gte=2) | Q(size=1, person__isnull=False))
        .select_related("person")
        .order_by("-size", "review", "id")[:limit]
    )
    faces: dict[int, list[Face]] = {}
    shown = (
        unassigned.filter(grouping__group__in=stored)
        .defer(*FACE_LIST_FIELDS_DEFERRED)
        .select_related("grouping")
        .order_by("-created_at", "-id")
    )
    for face in shown:
        faces.setdefault(face.grouping.group_id, []).append(face)
    groups = []
    for group in stored:
        members_of = faces.get(group.id, [])
        if not members_of:
            continue
        cut = spec.group_distance if len(members_of) >= 2 else spec.auto_assign_distance
        proposal = group_proposal(
            face_ids=[f.id for f in members_of], library_id=library.id, model_id=spec.model_id, max_distance=cut
        )
        if len(members_of) < 2 and not proposal.review:  # a lone face is shown only as a name to review
            continue
        person, distance, review = proposal.person, proposal.distance, proposal.review
        groups.append(SuggestedGroup(id=group.id, faces=members_of, person=person, distance=distance, review=review))
    considered = unassigned.filter(Exists(GroupedFace.objects.filter(face=OuterRef("pk")))).count()
    return FaceGroups(
        groups=groups, considered=considered, unassigned=unassigned.count(), max_distance=spec.group_distance
    )
