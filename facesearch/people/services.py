"""Changes to people and to which faces belong to them; every change of `Face.person` goes through here.

A person's cover face is kept pointing at one of its own faces: it is chosen when a person gets its first face and
re-chosen when the cover face is moved away, unassigned or deleted. A person and their faces are always in one
library; a face of a person marked never-match is not searchable. Each change made by someone is audited.

Every change of a face's person is recorded as an `AssignmentEvent` (who, when, how, the face's state before) by
`_events_record`, called by the service that makes the change: the person page's history, and what a merge's undo
reverts.

Corrections stick: removing a face from a person, or rejecting a suggested name, records a `FaceRejection`, and no
automatic path (naming at ingest, suggestions, merge, reprocessing) puts that face with that person again; only a
person's explicit assignment does, and it deletes the rejection.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

import embeddings
from facesearch.core.errors import ApplicationError
from facesearch.grouping.selectors import FaceGroups, face_groups_suggested, review_from
from facesearch.grouping.services import faces_unplaced_group
from facesearch.libraries.access import Caller
from facesearch.libraries.audit import audit_record
from facesearch.libraries.models import AuditEntry, Library
from facesearch.people.models import AssignmentEvent, FaceRejection, Merge, Person
from facesearch.people.selectors import PersonSplit, cover_candidates, person_split_groups
from facesearch.photos.models import CONFIRMED, Face
from facesearch.photos.selectors import face_nearest

SHOW_PLACES = 200  # faces placed before suggestions are shown; the maintenance task places any more


def face_groups_show(*, caller: Caller, library: Library, limit: int = 20) -> FaceGroups:
    """`face_groups_suggested`, audited: showing who looks like whom is an identity operation like a search. Faces
    unassigned since grouping last saw them (a few, SHOW_PLACES at most) are placed first, so they show at once."""
    faces_unplaced_group(library=library, limit=SHOW_PLACES)
    groups = face_groups_suggested(library=library, limit=limit)
    audit_record(
        caller=caller, kind=AuditEntry.Kind.SUGGESTIONS, library_ids=[library.id], result_count=len(groups.groups),
        detail={"limit": limit, "max_distance": groups.max_distance},
    )  # fmt: skip
    return groups


def person_split_show(*, caller: Caller, person: Person) -> PersonSplit:
    """`person_split_groups`, audited like the suggestions: who among a person's faces looks like someone else."""
    split = person_split_groups(person=person)
    audit_record(
        caller=caller, kind=AuditEntry.Kind.SUGGESTIONS, library_ids=[person.library_id],
        result_count=len(split.groups), detail={"person_id": person.pk, "split": True},
    )  # fmt: skip
    return split


@transaction.atomic
def person_split(
    *, person: Person, face_ids: Iterable[int], to: Person | None = None, name: str = "", caller: Caller | None = None
) -> Person:
    """Move some of a person's faces to another person of the library (`to`), or to a new one called `name`, in one
    transaction; returns that person. The history records them as split (assigned by hand: a person decided). A new
    person keeps a never-match person's mark: a split must not make faces someone opted out with searchable.
    Ids that are not the person's faces: a 404 naming them, nothing changes."""
    ids = sorted(set(face_ids))
    theirs = set(Face.objects.filter(id__in=ids, person=person).values_list("id", flat=True))
    missing = [face_id for face_id in ids if face_id not in theirs]
    if missing:
        raise ApplicationError("Some faces are not this person's.", {"face_ids": missing}, status=404)
    if to is None:
        if not name.strip():
            raise ApplicationError("Name the new person, or choose one.", {"name": name})
        to = person_create(library=person.library, name=name, never_match=person.never_match)
    elif to.pk == person.pk:
        raise ApplicationError("The faces are already this person's.", {"person_id": to.pk})
    elif to.library_id != person.library_id:
        raise ApplicationError("No such person.", {"person_id": to.pk}, status=404)
    faces_assign(person=to, face_ids=ids, how=Face.Assignment.MANUAL, caller=caller, source=AssignmentEvent.How.SPLIT)
    return to


def face_best_for_cover(*, person: Person) -> Face | None:
    """The face that best shows the person: a confirmed one first, then the largest and most confidently detected."""
    return cover_candidates(Face.objects.filter(person=person)).only("id").first()


def person_cover_refresh(*, person: Person) -> Person:
    """Re-choose the cover when it is missing or no longer one of the person's faces; leave a valid choice alone."""
    if person.cover_face_id and Face.objects.filter(id=person.cover_face_id, person=person).exists():
        return person
    face = face_best_for_cover(person=person)
    cover_face_id = face.id if face else None
    if cover_face_id != person.cover_face_id:
        person.cover_face_id = cover_face_id
        person.save(update_fields=["cover_face", "updated_at"])
    return person


def person_name_check(*, library_id: int, name: str, exclude_id: int | None = None) -> None:
    """Refuse a name another person of the library has already (ignoring case and surrounding spaces): two people
    called the same are two pickers' entries nobody can tell apart, so the existing one must be chosen instead."""
    existing = Person.objects.filter(library_id=library_id, name__iexact=name.strip()).exclude(id=exclude_id).first()
    if existing is not None:
        raise ApplicationError(
            f"There is already a person called {existing.name} in this library: choose them instead.",
            {"name": name, "person": {"id": existing.id, "name": existing.name}},
        )


@transaction.atomic
def person_create(
    *, library: Library, name: str, notes: str = "", never_match: bool = False, hidden: bool = False
) -> Person:
    person_name_check(library_id=library.id, name=name)
    person = Person(library=library, name=name.strip(), notes=notes, never_match=never_match, hidden=hidden)
    person.full_clean()
    person.save()
    return person


@transaction.atomic
def person_update(*, person: Person, data: dict[str, Any], caller: Caller | None = None) -> Person:
    """Update `name`, `notes`, `never_match`, `hidden` and/or `cover_face_id`; the cover must be one of the person's
    own faces.

    Marking a person never-match takes their faces out of every search at once (and clearing it puts them back).
    Hiding one only takes them out of the people list and of suggestions: they stay searchable and identifiable.
    """
    fields = []
    if "never_match" in data and data["never_match"] != person.never_match:
        person.never_match = data["never_match"]
        fields.append("never_match")
        Face.objects.filter(person=person).update(searchable=not person.never_match)
        audit_record(
            caller=caller, kind=AuditEntry.Kind.NEVER_MATCH, library_ids=[person.library_id],
            detail={"person_id": person.id, "never_match": person.never_match},
        )  # fmt: skip
    if "hidden" in data:
        person.hidden = data["hidden"]
        fields.append("hidden")
    if "name" in data:
        person_name_check(library_id=person.library_id, name=data["name"], exclude_id=person.pk)
        person.name = data["name"].strip()
        fields.append("name")
    if "notes" in data:
        person.notes = data["notes"]
        fields.append("notes")
    if "cover_face_id" in data:
        cover_face_id = data["cover_face_id"]
        if cover_face_id is not None and not Face.objects.filter(id=cover_face_id, person=person).exists():
            raise ApplicationError(
                "The cover face must be one of this person's faces.", {"cover_face_id": cover_face_id}
            )
        person.cover_face_id = cover_face_id
        fields.append("cover_face")
    if not fields:
        return person
    person.full_clean()
    person.save(update_fields=[*fields, "updated_at"])
    if person.cover_face_id is None:
        person_cover_refresh(person=person)
    return person


@transaction.atomic
def person_delete(*, person: Person, caller: Caller | None = None) -> None:
    """Delete the person but keep its faces (and their photos): they become unassigned, as if never enrolled.
    To remove the faces too, erase the person (`libraries.erasure.person_erase`)."""
    faces = Face.objects.filter(person=person).update(
        person=None, assignment="", assignment_distance=None, searchable=True
    )
    audit_record(
        caller=caller, kind=AuditEntry.Kind.DELETE, library_ids=[person.library_id],
        result_count=faces, detail={"person_id": person.id},
    )  # fmt: skip
    person_merges_forget(person=person)
    person.delete()  # its events and merges go with it


def person_merges_forget(*, person: Person) -> None:
    """Delete the undone merges that still remember `person` (merged in, then given back): they hold its name and
    notes, which must go when the person does."""
    Merge.objects.filter(other_id=person.pk, person__library_id=person.library_id).delete()


@dataclass(frozen=True)
class _State:
    """Whose a face is and how: what an `AssignmentEvent` records before and after a change."""

    face_id: int
    person_id: int | None = None
    assignment: str = ""
    distance: float | None = None

    def moved_to(self, person_id: int) -> _State:
        return _State(self.face_id, person_id, self.assignment, self.distance)


def _states(faces: QuerySet[Face]) -> list[_State]:
    rows = faces.order_by("id").values_list("id", "person_id", "assignment", "assignment_distance")
    return [_State(*row) for row in rows]


def _by(caller: Caller | None) -> str:
    return (caller or Caller(user=None)).name


def _events_record(
    *,
    changes: Iterable[tuple[_State, _State]],
    library_id: int,
    how: str,
    caller: Caller | None,
    merge: Merge | None = None,
) -> None:
    """Record each (before, after) change of a face as an `AssignmentEvent`, in one insert; a face left as it was is
    not a change. Every service that changes `Face.person` calls this with the states it read before changing them."""
    by = _by(caller)
    AssignmentEvent.objects.bulk_create(
        AssignmentEvent(
            library_id=library_id,
            face_id=after.face_id,
            person_id=after.person_id,
            previous_person_id=before.person_id,
            how=how,
            assignment=after.assignment,
            distance=after.distance,
            previous_assignment=before.assignment,
            previous_distance=before.distance,
            merge=merge,
            created_by=by,
        )
        for before, after in changes
        if before != after
    )


@transaction.atomic
def person_merge(*, person: Person, other: Person, caller: Caller | None = None) -> Merge:
    """Move every face of `other` to `person` (keeping how each was assigned) and delete `other`; both must be in one
    library. Returns the `Merge` (its `person` refreshed), which `merge_undo` can revert.

    Some faces of `other` are left unassigned rather than moved: one rejected for `person` ("not them": the merge does
    not overrule that correction), and one in a photo where `person` already has a face (two faces of one photo are
    two people). The other's rejections become `person`'s (they are one person now), except for faces `person`
    already has. `person` keeps its name, cover, never-match and hidden marks (it takes the other's cover only if it
    has none); the other's notes are appended. The other's history becomes `person`'s.
    """
    if person.pk == other.pk:
        raise ApplicationError("A person cannot be merged with itself.", {"other_id": other.pk})
    if person.library_id != other.library_id:
        raise ApplicationError("Only people of the same library can be merged.", {"other_id": other.pk})
    locked = {p.pk: p for p in Person.objects.select_for_update().filter(pk__in=[person.pk, other.pk]).order_by("pk")}
    if other.pk not in locked or person.pk not in locked:
        raise ApplicationError("Person not found.", {"other_id": other.pk}, status=404)
    person, other = locked[person.pk], locked[other.pk]

    theirs = Face.objects.filter(person=other)
    refused = sorted(theirs.filter(rejections__person=person).values_list("id", flat=True))
    same_photo = sorted(
        theirs.exclude(id__in=refused)
        .filter(photo_id__in=Face.objects.filter(person=person).values("photo_id"))
        .values_list("id", flat=True)
    )
    left = {*refused, *same_photo}
    before = _states(theirs)
    other_rejected = sorted(FaceRejection.objects.filter(person=other).values_list("face_id", flat=True))
    carried = sorted(  # the other's "not them" for faces `person` neither has nor has rejected already
        FaceRejection.objects.filter(person=other)
        .exclude(face__person=person)
        .exclude(face_id__in=FaceRejection.objects.filter(person=person).values("face_id"))
        .values_list("face_id", flat=True)
    )
    merge = Merge.objects.create(
        person=person, other_id=other.pk, other_name=other.name, other_notes=other.notes,
        other_never_match=other.never_match, other_hidden=other.hidden, other_cover_face_id=other.cover_face_id,
        other_rejected=other_rejected, carried=carried, left_rejected=refused, left_same_photo=same_photo,
        created_by=_by(caller),
    )  # fmt: skip
    Face.objects.filter(id__in=left).update(person=None, assignment="", assignment_distance=None, searchable=True)
    merge.moved = Face.objects.filter(person=other).update(person=person, searchable=not person.never_match)
    merge.save(update_fields=["moved"])
    FaceRejection.objects.bulk_create(
        [FaceRejection(face_id=face_id, person=person, created_by=by) for face_id, by in
         FaceRejection.objects.filter(person=other, face_id__in=carried).values_list("face_id", "created_by")],
        ignore_conflicts=True,
    )  # fmt: skip
    AssignmentEvent.objects.filter(person=other).update(person=person)  # its history and merges go with its faces
    Merge.objects.filter(person=other).update(person=person)
    _events_record(
        changes=[(state, _State(state.face_id) if state.face_id in left else state.moved_to(person.pk))
                 for state in before],
        library_id=person.library_id, how=AssignmentEvent.How.MERGE, caller=caller, merge=merge,
    )  # fmt: skip
    audit_record(
        caller=caller, kind=AuditEntry.Kind.MERGE, library_ids=[person.library_id], result_count=merge.moved,
        detail={"person_id": person.pk, "other_id": other.pk, "merge_id": merge.pk, "left_unassigned": refused,
                "same_photo": same_photo},
    )  # fmt: skip
    if person.cover_face_id is None and other.cover_face_id is not None and other.cover_face_id not in left:
        person.cover_face_id = other.cover_face_id
    if other.notes.strip():
        person.notes = f"{person.notes.rstrip()}\n\n{other.notes.strip()}".strip()
    other.delete()
    person.save(update_fields=["cover_face", "notes", "updated_at"])
    merge.person = person_cover_refresh(person=person)
    return merge


@transaction.atomic
def merge_undo(*, merge: Merge, caller: Caller | None = None) -> Person:
    """Undo a merge: the other person comes back (under its old id) with exactly the faces it had, their assignments,
    its rejections, name, notes, marks and cover; returns it. The faces the merge left unassigned go back to it too.

    Refused (409, naming the faces) when any of those faces changed since the merge (assigned, removed, rejected,
    split): undoing would overwrite a later decision. A face deleted since is simply gone from both.
    """
    merge = Merge.objects.select_for_update().select_related("person").get(pk=merge.pk)
    person = Person.objects.select_for_update().get(pk=merge.person_id)
    if merge.undone_at is not None:
        raise ApplicationError("This merge was already undone.", {"merge_id": merge.pk}, status=409)
    events = list(merge.events.select_related("face").order_by("id"))
    face_ids = [e.face_id for e in events]
    first, last = (events[0].id, events[-1].id) if events else (0, 0)
    later = AssignmentEvent.objects.filter(face_id__in=face_ids, id__gt=last)  # a face changed and changed back too
    moved_since = {e.face_id for e in events if e.face.person_id != e.person_id}
    changed = set(later.values_list("face_id", flat=True)) | moved_since
    if changed:
        raise ApplicationError(
            "Some faces of this merge changed since; undoing it would overwrite that.",
            {"merge_id": merge.pk, "face_ids": sorted(changed)},
            status=409,
        )
    if Person.objects.filter(pk=merge.other_id).exists():  # ids are never reused; kept as a guard
        raise ApplicationError("The merged person's id is taken.", {"merge_id": merge.pk}, status=409)
    other = Person.objects.create(
        id=merge.other_id, library_id=person.library_id, name=merge.other_name, notes=merge.other_notes,
        never_match=merge.other_never_match, hidden=merge.other_hidden,
    )  # fmt: skip
    before = {state.face_id: state for state in _states(Face.objects.filter(id__in=face_ids))}
    for event in events:
        Face.objects.filter(id=event.face_id).update(
            person=other, assignment=event.previous_assignment, assignment_distance=event.previous_distance,
            searchable=not other.never_match,
        )  # fmt: skip
    AssignmentEvent.objects.filter(person=person, face_id__in=face_ids, id__lt=first).update(person=other)
    merge.events.update(previous_person=other)  # forgotten (set null) when the merge deleted them
    FaceRejection.objects.filter(person=person, face_id__in=merge.carried).delete()
    FaceRejection.objects.bulk_create(
        [FaceRejection(face_id=face_id, person=other, created_by=merge.created_by) for face_id in
         Face.objects.filter(id__in=merge.other_rejected).values_list("id", flat=True)],
        ignore_conflicts=True,
    )  # fmt: skip
    _events_record(
        changes=[(before[e.face_id], _State(e.face_id, other.pk, e.previous_assignment, e.previous_distance))
                 for e in events],
        library_id=person.library_id, how=AssignmentEvent.How.UNMERGE, caller=caller, merge=merge,
    )  # fmt: skip
    if merge.other_notes.strip() and person.notes.endswith(merge.other_notes.strip()):
        person.notes = person.notes.removesuffix(merge.other_notes.strip()).rstrip()
        person.save(update_fields=["notes", "updated_at"])
    if merge.other_cover_face_id and Face.objects.filter(id=merge.other_cover_face_id, person=other).exists():
        other.cover_face_id = merge.other_cover_face_id
        other.save(update_fields=["cover_face", "updated_at"])
    people_covers_refresh([person.pk, other.pk])
    merge.undone_at, merge.undone_by = timezone.now(), _by(caller)
    merge.save(update_fields=["undone_at", "undone_by"])
    audit_record(
        caller=caller, kind=AuditEntry.Kind.MERGE, library_ids=[person.library_id], result_count=len(face_ids),
        detail={"person_id": person.pk, "other_id": other.pk, "merge_id": merge.pk, "undo": True},
    )  # fmt: skip
    return other


def _faces_or_404(face_ids: Iterable[int], library_id: int) -> QuerySet[Face]:
    """The faces, all of this library, or a 404 naming the ids that are not (whether they exist elsewhere or not)."""
    ids = sorted(set(face_ids))
    faces = Face.objects.filter(id__in=ids, library_id=library_id)
    found = set(faces.values_list("id", flat=True))
    missing = [i for i in ids if i not in found]
    if missing:
        raise ApplicationError("Some faces do not exist.", {"face_ids": missing}, status=404)
    return faces


def people_covers_refresh(person_ids: Iterable[int | None]) -> None:
    """`person_cover_refresh` for each of these people (None, an unassigned face's person, is ignored)."""
    for person in Person.objects.filter(pk__in={i for i in person_ids if i is not None}):
        person_cover_refresh(person=person)


@transaction.atomic
def faces_assign(
    *,
    person: Person,
    face_ids: Iterable[int],
    how: str = Face.Assignment.MANUAL,
    distance: float | None = None,
    caller: Caller | None = None,
    source: str | None = None,
) -> int:
    """Assign faces of the person's library to `person` (taking them from whoever had them); returns how many faces
    were assigned.

    `how` records whether a person did it (manual, enrolled) or identification did (automatic, with its `distance`).
    `source` is what the history records when it says more than `how` (a suggestion, a split).
    A person's assignment overrides an earlier "not this person" and deletes it; an automatic one never gets here for
    a rejected pair (`faces_assign_automatically` leaves such a face unnamed). Ids unknown in the person's library
    raise a 404 ApplicationError and change nothing.
    """
    if how not in Face.Assignment.values:
        raise ApplicationError(f"Unknown assignment {how!r}.", {"how": how, "choices": Face.Assignment.values})
    if source is not None and source not in AssignmentEvent.How.values:
        raise ApplicationError(f"Unknown source {source!r}.", {"source": source})
    faces = _faces_or_404(face_ids, person.library_id)
    before = _states(faces)
    count = faces.update(person=person, assignment=how, assignment_distance=distance, searchable=not person.never_match)
    _events_record(
        changes=[(state, _State(state.face_id, person.pk, how, distance)) for state in before],
        library_id=person.library_id, how=source or how, caller=caller,
    )  # fmt: skip
    people_covers_refresh([*(state.person_id for state in before if state.person_id != person.pk), person.pk])
    if how != Face.Assignment.AUTOMATIC:
        FaceRejection.objects.filter(person=person, face_id__in=faces.values("id")).delete()
        audit_record(
            caller=caller,
            kind=AuditEntry.Kind.ENROL if how == Face.Assignment.ENROLLED else AuditEntry.Kind.ASSIGN,
            library_ids=[person.library_id],
            result_count=count,
            detail={"person_id": person.pk, "face_ids": sorted(set(face_ids))} | ({"source": source} if source else {}),
        )
    return count


@transaction.atomic
def faces_assign_automatically(*, faces: Sequence[Face], max_distance: float) -> int:
    """Name new faces after the person of their nearest confirmed face within `max_distance` (assignment automatic,
    with its distance); returns how many were named.

    A person appears once in a photo: when two faces of one photo match the same person, or the photo already has a
    face of them, only the closest new face is named. Automatic faces never become the gallery (identification and
    this function compare with confirmed faces only), so one wrong match does not pull in more. A face rejected for
    its nearest person stays unnamed: naming it after the next-nearest would guess where a person has just said no.
    A face in the review margin just under the cut (`grouping.selectors.review_from`) stays unnamed too: grouping
    proposes the name for review instead. A never-match person's face is named up to the cut, to keep it unsearchable.

    A rejection is also evidence about look-alikes: a new face nearer to a face someone said is not P than to P's own
    nearest face is left unnamed. `benchmarks/lookalikes.py`: after one "not this person" for the nearest face of a
    look-alike, 4.35% of that look-alike's next faces were still named P when a rejection guarded only its own face,
    0.36% with this rule, and every one of P's own faces named before still is.
    """
    confirmed = Face.objects.filter(
        model_id__in={face.model_id for face in faces},
        library_id__in={face.library_id for face in faces},
        assignment__in=CONFIRMED,
    )
    if not confirmed.filter(person__isnull=False).exists():
        return 0  # no face to name, or nobody enrolled yet: spare each face an index scan that filters out every row
    rejected = set(
        FaceRejection.objects.filter(face_id__in=[face.id for face in faces]).values_list("face_id", "person_id")
    )
    review = review_from()
    rejected_faces: dict[int, np.ndarray] = {}
    matches = []
    for face in faces:
        # Never-match people included: their new faces must be recognised to be kept out of search.
        nearest = face_nearest(
            embedding=face.embedding, model_id=face.model_id, library_ids=[face.library_id], limit=1,
            max_distance=max_distance, confirmed_only=True, include_unsearchable=True,
        )  # fmt: skip
        sure = nearest and (nearest[0].person.never_match or embeddings.same_person(nearest[0].distance, review))
        refused = sure and (
            (face.id, nearest[0].person_id) in rejected or _nearer_to_a_rejected_face(face, nearest[0], rejected_faces)
        )
        if sure and not refused:
            matches.append((nearest[0].distance, face, nearest[0].person))
    taken = set(
        Face.objects.filter(photo_id__in={face.photo_id for face in faces}, person__isnull=False)
        .exclude(id__in=[face.id for face in faces])
        .values_list("photo_id", "person_id")
    )
    named = 0
    for distance, face, person in sorted(matches, key=lambda match: match[0]):
        if (face.photo_id, person.id) not in taken:
            taken.add((face.photo_id, person.id))
            named += faces_assign(
                person=person, face_ids=[face.id], how=Face.Assignment.AUTOMATIC, distance=round(distance, 4)
            )
    return named


def _nearer_to_a_rejected_face(face: Face, nearest: Face, cache: dict[int, np.ndarray]) -> bool:
    """Whether `face` is nearer to some face rejected for `nearest`'s person than to `nearest` itself (the person's
    rejected faces are read once per call of `faces_assign_automatically`, in `cache`)."""
    person_id = nearest.person_id
    if person_id not in cache:
        vectors = Face.objects.filter(rejections__person_id=person_id, model_id=face.model_id).values_list(
            "embedding", flat=True
        )
        cache[person_id] = np.array([np.asarray(v, dtype=np.float32) for v in vectors]).reshape(-1, len(face.embedding))
    if not len(cache[person_id]):
        return False
    to_rejected = np.linalg.norm(cache[person_id] - np.asarray(face.embedding, dtype=np.float32), axis=1)
    return bool(to_rejected.min() < nearest.distance)


@transaction.atomic
def faces_unassign(*, face_ids: Iterable[int], library_id: int, caller: Caller | None = None) -> int:
    """Take faces of a library away from their people (e.g. a wrong face); returns how many faces had a person.

    Each removal also records "this face is not that person" (`FaceRejection`), so the face is not named or suggested
    as them again; the UNASSIGN audit entry (face and person ids) is the record of it.
    """
    faces = _faces_or_404(face_ids, library_id).filter(person__isnull=False)
    before = _states(faces)
    _rejections_add(pairs=[(state.face_id, state.person_id) for state in before], caller=caller)
    previous = {state.person_id for state in before}
    count = faces.update(person=None, assignment="", assignment_distance=None, searchable=True)
    _events_record(
        changes=[(state, _State(state.face_id)) for state in before], library_id=library_id,
        how=AssignmentEvent.How.UNASSIGN, caller=caller,
    )  # fmt: skip
    people_covers_refresh(previous)
    audit_record(
        caller=caller, kind=AuditEntry.Kind.UNASSIGN, library_ids=[library_id], result_count=count,
        detail={"face_ids": sorted(set(face_ids)), "person_ids": sorted(previous)},
    )  # fmt: skip
    return count


def _rejections_add(*, pairs: Iterable[tuple[int, int]], caller: Caller | None) -> int:
    """Record (face id, person id) rejections, keeping those already recorded; returns how many are new."""
    pairs = set(pairs)
    if not pairs:
        return 0
    existing = set(
        FaceRejection.objects.filter(
            face_id__in={face_id for face_id, _ in pairs}, person_id__in={person_id for _, person_id in pairs}
        ).values_list("face_id", "person_id")
    )
    by = (caller or Caller(user=None)).name
    new = [FaceRejection(face_id=f, person_id=p, created_by=by) for f, p in sorted(pairs - existing)]
    FaceRejection.objects.bulk_create(new, ignore_conflicts=True)  # a concurrent identical rejection is the same fact
    return len(new)


@dataclass(frozen=True)
class Rejected:
    rejected: int  # rejections newly recorded (a face already rejected for the person is not counted again)
    unassigned: int  # faces that were the person's and are now unassigned


@transaction.atomic
def faces_reject(*, person: Person, face_ids: Iterable[int], caller: Caller | None = None) -> Rejected:
    """ "These faces are not `person`": never name or suggest them as `person` again; those that were the person's
    (e.g. named automatically) become unassigned. Ids unknown in the person's library: a 404, nothing changes."""
    ids = sorted(set(face_ids))
    faces = _faces_or_404(ids, person.library_id)
    rejected = _rejections_add(pairs=[(face_id, person.pk) for face_id in ids], caller=caller)
    before = _states(faces.filter(person=person))
    unassigned = faces.filter(person=person).update(
        person=None, assignment="", assignment_distance=None, searchable=True
    )
    _events_record(
        changes=[(state, _State(state.face_id)) for state in before], library_id=person.library_id,
        how=AssignmentEvent.How.REJECT, caller=caller,
    )  # fmt: skip
    if unassigned:
        person_cover_refresh(person=person)
    audit_record(
        caller=caller, kind=AuditEntry.Kind.REJECT, library_ids=[person.library_id], result_count=len(ids),
        detail={"person_id": person.pk, "face_ids": ids, "unassigned": unassigned},
    )  # fmt: skip
    return Rejected(rejected=rejected, unassigned=unassigned)


@transaction.atomic
def face_rejection_undo(*, person: Person, face_id: int, caller: Caller | None = None) -> None:
    """Forget that the face is not `person`: it may be suggested or named as them again (it is not assigned now)."""
    deleted, _ = FaceRejection.objects.filter(person=person, face_id=face_id).delete()
    if not deleted:
        raise ApplicationError("This face is not rejected for this person.", {"face_id": face_id}, status=404)
    audit_record(
        caller=caller, kind=AuditEntry.Kind.REJECT, library_ids=[person.library_id], result_count=1,
        detail={"person_id": person.pk, "face_ids": [face_id], "undo": True},
    )  # fmt: skip


def face_rejections_carry(*, replacement: dict[int, int]) -> None:
    """Give each new face (old id → new id) the rejections of the face it replaces: when another encoder re-encodes
    a photo, its "not this person" corrections carry over like its person does."""
    old = FaceRejection.objects.filter(face_id__in=list(replacement)).values_list("face_id", "person_id", "created_by")
    FaceRejection.objects.bulk_create(
        [FaceRejection(face_id=replacement[face_id], person_id=person_id, created_by=by) for face_id, person_id, by
         in old],
        ignore_conflicts=True,
    )  # fmt: skip


def assignment_events_carry(*, replacement: dict[int, int]) -> None:
    """Give each new face (old id → new id) the history of the face it replaces: a re-encode by another encoder keeps
    how the face came to be its person's (and a merge's undo still finds it)."""
    for old_id, new_id in replacement.items():
        AssignmentEvent.objects.filter(face_id=old_id).update(face_id=new_id)
