"""Changes to people and to which faces belong to them; every change of `Face.person` goes through here.

A person's cover face is kept pointing at one of its own faces: it is chosen when a person gets its first face and
re-chosen when the cover face is moved away, unassigned or deleted. A person and their faces are always in one
library; a face of a person marked never-match is not searchable. Each change made by someone is audited.

Corrections stick: removing a face from a person, or rejecting a suggested name, records a `FaceRejection`, and no
automatic path (naming at ingest, suggestions, merge, reprocessing) puts that face with that person again; only a
person's explicit assignment does, and it deletes the rejection.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.db.models import QuerySet

from facesearch.core.errors import ApplicationError
from facesearch.libraries.access import Caller
from facesearch.libraries.audit import audit_record
from facesearch.libraries.models import AuditEntry, Library
from facesearch.people.models import FaceRejection, Person
from facesearch.people.selectors import FaceGroups, cover_candidates, face_groups_suggested
from facesearch.photos.models import CONFIRMED, Face
from facesearch.photos.selectors import face_nearest


def face_groups_show(
    *, caller: Caller, library: Library, limit: int = 20, max_distance: float | None = None
) -> FaceGroups:
    """`face_groups_suggested`, audited: showing who looks like whom is an identity operation like a search."""
    groups = face_groups_suggested(library=library, limit=limit, max_distance=max_distance)
    audit_record(
        caller=caller, kind=AuditEntry.Kind.SUGGESTIONS, library_ids=[library.id], result_count=len(groups.groups),
        detail={"limit": limit, "max_distance": groups.max_distance},
    )  # fmt: skip
    return groups


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


@transaction.atomic
def person_create(
    *, library: Library, name: str, notes: str = "", never_match: bool = False, hidden: bool = False
) -> Person:
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
    person.delete()


@transaction.atomic
def person_merge(*, person: Person, other: Person, caller: Caller | None = None) -> Person:
    """Move every face of `other` to `person` (keeping how each was assigned) and delete `other`; both must be in one
    library.

    A face of `other` that was rejected for `person` ("not them") is left unassigned rather than moved: the merge
    does not overrule that correction. The other's rejections become `person`'s (they are one person now), except
    for faces `person` already has. `person` keeps its name, cover, never-match and hidden marks (it takes the other's
    cover only if it has none); the other's notes are appended.
    """
    if person.pk == other.pk:
        raise ApplicationError("A person cannot be merged with itself.", {"other_id": other.pk})
    if person.library_id != other.library_id:
        raise ApplicationError("Only people of the same library can be merged.", {"other_id": other.pk})
    locked = {p.pk: p for p in Person.objects.select_for_update().filter(pk__in=[person.pk, other.pk]).order_by("pk")}
    if other.pk not in locked or person.pk not in locked:
        raise ApplicationError("Person not found.", {"other_id": other.pk}, status=404)
    person, other = locked[person.pk], locked[other.pk]

    refused = Face.objects.filter(person=other, rejections__person=person)
    left = sorted(refused.values_list("id", flat=True))
    Face.objects.filter(id__in=left).update(person=None, assignment="", assignment_distance=None, searchable=True)
    moved = Face.objects.filter(person=other).update(person=person, searchable=not person.never_match)
    carried = FaceRejection.objects.filter(person=other).exclude(face__person=person)
    FaceRejection.objects.bulk_create(
        [FaceRejection(face_id=face_id, person=person, created_by=by) for face_id, by in
         carried.values_list("face_id", "created_by")],
        ignore_conflicts=True,
    )  # fmt: skip
    audit_record(
        caller=caller, kind=AuditEntry.Kind.MERGE, library_ids=[person.library_id], result_count=moved,
        detail={"person_id": person.pk, "other_id": other.pk, "left_unassigned": left},
    )  # fmt: skip
    if person.cover_face_id is None and other.cover_face_id is not None:
        person.cover_face_id = other.cover_face_id
    if other.notes.strip():
        person.notes = f"{person.notes.rstrip()}\n\n{other.notes.strip()}".strip()
    other.delete()
    person.save(update_fields=["cover_face", "notes", "updated_at"])
    return person_cover_refresh(person=person)


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
) -> int:
    """Assign faces of the person's library to `person` (taking them from whoever had them); returns how many faces
    were assigned.

    `how` records whether a person did it (manual, enrolled) or identification did (automatic, with its `distance`).
    A person's assignment overrides an earlier "not this person" and deletes it; an automatic one never gets here for
    a rejected pair (`faces_assign_automatically` leaves such a face unnamed). Ids unknown in the person's library
    raise a 404 ApplicationError and change nothing.
    """
    if how not in Face.Assignment.values:
        raise ApplicationError(f"Unknown assignment {how!r}.", {"how": how, "choices": Face.Assignment.values})
    faces = _faces_or_404(face_ids, person.library_id)
    previous = set(faces.exclude(person=person).values_list("person_id", flat=True))
    count = faces.update(person=person, assignment=how, assignment_distance=distance, searchable=not person.never_match)
    people_covers_refresh([*previous, person.pk])
    if how != Face.Assignment.AUTOMATIC:
        FaceRejection.objects.filter(person=person, face_id__in=faces.values("id")).delete()
        audit_record(
            caller=caller,
            kind=AuditEntry.Kind.ENROL if how == Face.Assignment.ENROLLED else AuditEntry.Kind.ASSIGN,
            library_ids=[person.library_id],
            result_count=count,
            detail={"person_id": person.pk, "face_ids": sorted(set(face_ids))},
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
    matches = []
    for face in faces:
        # Never-match people included: their new faces must be recognised to be kept out of search.
        nearest = face_nearest(
            embedding=face.embedding, model_id=face.model_id, library_ids=[face.library_id], limit=1,
            max_distance=max_distance, confirmed_only=True, include_unsearchable=True,
        )  # fmt: skip
        if nearest and (face.id, nearest[0].person_id) not in rejected:
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


@transaction.atomic
def faces_unassign(*, face_ids: Iterable[int], library_id: int, caller: Caller | None = None) -> int:
    """Take faces of a library away from their people (e.g. a wrong face); returns how many faces had a person.

    Each removal also records "this face is not that person" (`FaceRejection`), so the face is not named or suggested
    as them again; the UNASSIGN audit entry (face and person ids) is the record of it.
    """
    faces = _faces_or_404(face_ids, library_id).filter(person__isnull=False)
    _rejections_add(pairs=list(faces.values_list("id", "person_id")), caller=caller)
    previous = set(faces.values_list("person_id", flat=True))
    count = faces.update(person=None, assignment="", assignment_distance=None, searchable=True)
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
    unassigned = faces.filter(person=person).update(
        person=None, assignment="", assignment_distance=None, searchable=True
    )
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
