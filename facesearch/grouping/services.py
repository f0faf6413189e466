"""Keeping the groups of unknown faces up to date: new faces placed as they are stored, a periodic local repair,
a rebuild from scratch. The rule is `embeddings.grouping` (average linkage at the encoder's `group_distance`, faces
of one photo never together); this module only reads and writes the rows.

Ingest (several workers) and maintenance change a library's groups concurrently, so each takes the library's
transaction-level advisory lock first: two placements racing could each start a group with the other's face.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from django.db import connection, transaction
from django.db.models import Count, Exists, OuterRef, Q

from embeddings.grouping import NEIGHBOURS, place, regroup
from facesearch.core.pipeline import get_pipeline
from facesearch.grouping.models import FaceGroup, GroupedFace
from facesearch.grouping.selectors import (
    face_neighbours,
    group_members,
    group_proposal,
    unassigned_faces,
)
from facesearch.libraries.models import Library
from facesearch.people.models import FaceRejection
from facesearch.photos.models import Face, awaiting_name
from facesearch.photos.selectors import face_nearest

logger = logging.getLogger(__name__)

LOCK_NAMESPACE = 1_814_000  # first key of pg_advisory_xact_lock(namespace, library id): grouping's, no one else's
MAINTAIN_FACES = 2000  # unplaced faces placed per maintenance run (the rest wait for the next run)
MAINTAIN_GROUPS = 500  # touched groups repaired per run


def _lock(library_id: int) -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(%s, %s)", [LOCK_NAMESPACE, library_id])


@transaction.atomic
def faces_group(*, face_ids: Sequence[int]) -> int:
    """Place new faces that are unassigned (`embeddings.grouping.place`), in id order: each joins the group of its
    nearest unassigned neighbours when its mean distance to that group is within the cut and no face of the group is
    from its photo, or starts a group with neighbours, or stays alone (a face within automatic naming's distance of a
    person then gets a one-face group proposing that person: automatic naming left it to a person, see
    `embeddings.grouping.REVIEW_FAR`). Returns how many of the faces are now in a group."""
    todo = list(Face.objects.filter(awaiting_name(), id__in=face_ids).defer("crop").order_by("id"))
    if not todo:
        return 0
    spec = get_pipeline().spec
    for library_id in sorted({face.library_id for face in todo}):
        _lock(library_id)
    placed = set(GroupedFace.objects.filter(face_id__in=[f.id for f in todo]).values_list("face_id", flat=True))
    for face in todo:
        if face.id in placed:  # a neighbour of a face placed before it in this call, or placed by maintenance
            continue
        neighbours = face_neighbours(face=face, max_distance=spec.group_distance)
        placement = place(np.asarray(face.embedding), face.photo_id, neighbours, group_members, spec.group_distance)
        if placement.group is not None:
            GroupedFace.objects.create(face=face, group_id=placement.group)
            _group_renamed(group_id=placement.group)
        elif placement.faces:
            group = FaceGroup.objects.create(library_id=face.library_id, model_id=face.model_id)
            members = [face.id, *placement.faces]
            GroupedFace.objects.filter(face_id__in=members).delete()
            GroupedFace.objects.bulk_create(GroupedFace(face_id=member, group=group) for member in members)
            placed.update(members)
            _group_renamed(group_id=group.id)
        else:
            review = _review_group(face=face, max_distance=spec.auto_assign_distance)
            GroupedFace.objects.create(face=face, group=review)
        placed.add(face.id)
    return GroupedFace.objects.filter(face_id__in=[f.id for f in todo], group__isnull=False).count()


def _review_group(*, face: Face, max_distance: float) -> FaceGroup | None:
    """A one-face group proposing the person automatic naming would have picked, for review; None if nobody fits."""
    proposal = group_proposal(
        face_ids=[face.id], library_id=face.library_id, model_id=face.model_id, max_distance=max_distance
    )
    if not proposal.review:  # nobody near, or near enough that automatic naming decides
        return None
    return FaceGroup.objects.create(
        library_id=face.library_id, model_id=face.model_id, person=proposal.person,
        distance=proposal.distance, review=proposal.review, touched=False,
    )  # fmt: skip


def _group_renamed(*, group_id: int) -> None:
    """Propose a person for the group's current faces and mark it touched (for the next maintenance run)."""
    group = FaceGroup.objects.get(id=group_id)
    face_ids = list(Face.objects.filter(awaiting_name(), grouping__group=group).values_list("id", flat=True))
    spec = get_pipeline().spec
    cut = spec.group_distance if len(face_ids) >= 2 else spec.auto_assign_distance
    proposal = group_proposal(face_ids=face_ids, library_id=group.library_id, model_id=group.model_id, max_distance=cut)
    group.person, group.distance = proposal.person, proposal.distance
    group.review = proposal.review
    group.touched = True
    group.save(update_fields=["person", "distance", "review", "touched", "updated_at"])


@dataclass(frozen=True)
class Maintained:
    left: int  # faces that left their group (assigned, deleted with their photo's re-encode, never-match, rejected)
    placed: int  # unassigned faces placed that grouping had not seen (e.g. unassigned from a person since)
    regrouped: int  # faces re-clustered around touched groups
    groups: int  # groups of the library after the run


def groups_maintain(*, library: Library) -> Maintained:
    """The periodic repair of one library's groups, in one transaction under its lock:

    1. faces that no longer await a name (assigned, unsearchable, hidden, ignored) or are of another encoder leave
       grouping (awaiting a name again later, they are placed afresh); faces rejected for their group's proposed
       person leave that group;
    2. unassigned faces grouping has not seen are placed (at most MAINTAIN_FACES);
    3. the touched groups (faces joined or left since the last run) and the groups and lone faces near each one's
       mean face are clustered afresh (`embeddings.grouping.regroup`) and renamed; groups too small are dropped.
    """
    spec = get_pipeline().spec
    with transaction.atomic():
        _lock(library.id)
        left = _faces_leave(library=library, model_id=spec.model_id)
        placed = faces_unplaced_group(library=library, limit=MAINTAIN_FACES)
        regrouped = _touched_regroup(library=library, model_id=spec.model_id)
        _groups_prune(library=library)
        groups = FaceGroup.objects.filter(library=library).count()
    return Maintained(left=left, placed=placed, regrouped=regrouped, groups=groups)


@transaction.atomic
def faces_unplaced_group(*, library: Library, limit: int) -> int:
    """Place up to `limit` of the library's unassigned faces that grouping has not seen (unassigned since they were
    stored, e.g. taken from a person, or stored before grouping existed), oldest first; returns how many."""
    _lock(library.id)
    unplaced = list(
        unassigned_faces(library_id=library.id, model_id=get_pipeline().spec.model_id)
        .filter(~Exists(GroupedFace.objects.filter(face=OuterRef("pk"))))
        .order_by("id")
        .values_list("id", flat=True)[:limit]
    )
    faces_group(face_ids=unplaced)
    return len(unplaced)


def _faces_leave(*, library: Library, model_id: str) -> int:
    gone = GroupedFace.objects.filter(face__library=library).filter(
        ~awaiting_name("face__") | ~Q(face__model_id=model_id)
    )
    FaceGroup.objects.filter(id__in=gone.values("group_id")).update(touched=True)
    left = gone.count()
    gone.delete()
    rejected = GroupedFace.objects.filter(face__library=library, group__person__isnull=False).filter(
        Exists(FaceRejection.objects.filter(face=OuterRef("face"), person=OuterRef("group__person")))
    )
    FaceGroup.objects.filter(id__in=rejected.values("group_id")).update(touched=True)
    left += rejected.update(group=None)
    return left


def _touched_regroup(*, library: Library, model_id: str) -> int:
    """Re-cluster the touched groups with what is near them; returns how many faces were clustered."""
    cut = get_pipeline().spec.group_distance
    touched = list(
        FaceGroup.objects.filter(library=library, model_id=model_id, touched=True).order_by("id")[:MAINTAIN_GROUPS]
    )
    face_ids: set[int] = set()
    for group in touched:
        vectors, _ = group_members(group.id)
        if not len(vectors):
            continue
        members = set(
            unassigned_faces(library_id=library.id, model_id=model_id)
            .filter(grouping__group=group)
            .values_list("id", flat=True)
        )
        mean = vectors.mean(axis=0)
        near = face_nearest(
            embedding=mean / np.linalg.norm(mean), model_id=model_id, library_ids=[library.id],
            limit=3 * NEIGHBOURS, max_distance=cut,
        )  # fmt: skip
        face_ids |= members | {f.id for f in near if f.person_id is None}
    if not face_ids:
        FaceGroup.objects.filter(id__in=[g.id for g in touched]).update(touched=False)
        return 0
    # Whole groups: a group is re-clustered with all its faces or not at all.
    grouped_here = GroupedFace.objects.filter(face_id__in=face_ids, group__isnull=False)
    groups = set(grouped_here.values_list("group_id", flat=True))
    face_ids |= set(
        unassigned_faces(library_id=library.id, model_id=model_id)
        .filter(grouping__group_id__in=groups)
        .values_list("id", flat=True)
    )
    rows = list(
        unassigned_faces(library_id=library.id, model_id=model_id)
        .filter(id__in=face_ids)
        .order_by("id")
        .values_list("id", "photo_id", "embedding")
    )
    if not rows:  # every face there was assigned or made unsearchable meanwhile: pruning removes the groups
        FaceGroup.objects.filter(id__in=[g.id for g in touched]).update(touched=False)
        return 0
    ids = [face_id for face_id, _, _ in rows]
    vectors = np.stack([np.asarray(vector) for _, _, vector in rows])
    clusters = regroup(vectors, [photo for _, photo, _ in rows], cut)
    FaceGroup.objects.filter(id__in=groups).delete()  # their members' rows go too; rewritten below
    GroupedFace.objects.filter(face_id__in=ids).delete()
    grouped: dict[int, FaceGroup] = {}
    for members in clusters:
        group = FaceGroup.objects.create(library=library, model_id=model_id)
        grouped.update({ids[i]: group for i in members})
    GroupedFace.objects.bulk_create(GroupedFace(face_id=face_id, group=grouped.get(face_id)) for face_id in ids)
    for group in {g.id: g for g in grouped.values()}.values():
        _group_renamed(group_id=group.id)
    alone = [Face.objects.defer("crop").get(id=face_id) for face_id in ids if face_id not in grouped]
    for face in alone:  # a lone face near an enrolled person keeps (or gets) its review suggestion
        review = _review_group(face=face, max_distance=get_pipeline().spec.auto_assign_distance)
        if review is not None:
            GroupedFace.objects.filter(face=face).update(group=review)
    FaceGroup.objects.filter(id__in=[g.id for g in touched]).update(touched=False)
    FaceGroup.objects.filter(id__in=[g.id for g in grouped.values()]).update(touched=False)
    return len(ids)


def _groups_prune(*, library: Library) -> None:
    """Drop groups with no faces left, and one-face groups that are not a name to review."""
    live = awaiting_name("members__face__")
    sizes = FaceGroup.objects.filter(library=library).annotate(size=Count("members", filter=live))
    empty = sizes.filter(Q(size=0) | Q(size=1, review=False)).values_list("id", flat=True)
    GroupedFace.objects.filter(group_id__in=list(empty)).update(group=None)
    FaceGroup.objects.filter(id__in=list(empty)).delete()


@transaction.atomic
def library_regroup(*, library: Library) -> Maintained:
    """Rebuild a library's groups from scratch: forget them all, place every unassigned face as ingest would (in the
    order they were stored), then run the maintenance repair over every group."""
    _lock(library.id)
    FaceGroup.objects.filter(library=library).delete()
    GroupedFace.objects.filter(face__library=library).delete()
    spec = get_pipeline().spec
    faces = list(unassigned_faces(library_id=library.id, model_id=spec.model_id).values_list("id", flat=True))
    faces_group(face_ids=faces)
    regrouped = 0
    while FaceGroup.objects.filter(library=library, touched=True).exists():
        regrouped += _touched_regroup(library=library, model_id=spec.model_id)
    _groups_prune(library=library)
    groups = FaceGroup.objects.filter(library=library).count()
    return Maintained(left=0, placed=len(faces), regrouped=regrouped, groups=groups)


def groups_maintain_all() -> dict[int, Maintained]:
    """`groups_maintain` for every library with faces grouping has to look at."""
    model_id = get_pipeline().spec.model_id
    libraries = Library.objects.filter(
        Exists(FaceGroup.objects.filter(library=OuterRef("pk"), touched=True))
        | Exists(
            Face.objects.filter(awaiting_name(), library=OuterRef("pk"), model_id=model_id).filter(
                ~Exists(GroupedFace.objects.filter(face=OuterRef("pk")))
            )
        )
        | Exists(GroupedFace.objects.filter(~awaiting_name("face__"), face__library=OuterRef("pk")))
    )
    return {library.id: groups_maintain(library=library) for library in libraries.order_by("id")}
