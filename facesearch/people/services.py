"""Changes to people and to which faces belong to them; every change of `Face.person` goes through here.

A person's cover face is kept pointing at one of its own faces: it is chosen when a person gets its first face and
re-chosen when the cover face is moved away, unassigned or deleted. A person and their faces are always in one
library; a face of a person marked never-match is not searchable. Each change made by someone is audited.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from django.db import transaction
from django.db.models import QuerySet

from facesearch.core.errors import ApplicationError
from facesearch.libraries.access import Caller
from facesearch.libraries.audit import audit_record
from facesearch.libraries.models import AuditEntry, Library
from facesearch.people.models import Person
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
def person_create(*, library: Library, name: str, notes: str = "", never_match: bool = False) -> Person:
    person = Person(library=library, name=name.strip(), notes=notes, never_match=never_match)
    person.full_clean()
    person.save()
    return person


@transaction.atomic
def person_update(*, person: Person, data: dict[str, Any], caller: Caller | None = None) -> Person:
    """Update `name`, `notes`, `never_match` and/or `cover_face_id`; the cover must be one of the person's own faces.

    Marking a person never-match takes their faces out of every search at once (and clearing it puts them back).
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

    `person` keeps its name, cover and never-match mark (it takes the other's cover only if it has none); the other's
    notes are appended.
    """
    if person.pk == other.pk:
        raise ApplicationError("A person cannot be merged with itself.", {"other_id": other.pk})
    if person.library_id != other.library_id:
        raise ApplicationError("Only people of the same library can be merged.", {"other_id": other.pk})
    locked = {p.pk: p for p in Person.objects.select_for_update().filter(pk__in=[person.pk, other.pk]).order_by("pk")}
    if other.pk not in locked or person.pk not in locked:
        raise ApplicationError("Person not found.", {"other_id": other.pk}, status=404)
    person, other = locked[person.pk], locked[other.pk]

    moved = Face.objects.filter(person=other).update(person=person, searchable=not person.never_match)
    audit_record(
        caller=caller, kind=AuditEntry.Kind.MERGE, library_ids=[person.library_id], result_count=moved,
        detail={"person_id": person.pk, "other_id": other.pk},
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
    Ids unknown in the person's library raise a 404 ApplicationError and change nothing.
    """
    if how not in Face.Assignment.values:
        raise ApplicationError(f"Unknown assignment {how!r}.", {"how": how, "choices": Face.Assignment.values})
    faces = _faces_or_404(face_ids, person.library_id)
    previous = set(faces.exclude(person=person).values_list("person_id", flat=True))
    count = faces.update(person=person, assignment=how, assignment_distance=distance, searchable=not person.never_match)
    people_covers_refresh([*previous, person.pk])
    if how != Face.Assignment.AUTOMATIC:
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
    this function compare with confirmed faces only), so one wrong match does not pull in more.
    """
    confirmed = Face.objects.filter(
        model_id__in={face.model_id for face in faces},
        library_id__in={face.library_id for face in faces},
        assignment__in=CONFIRMED,
    )
    if not confirmed.filter(person__isnull=False).exists():
        return 0  # no face to name, or nobody enrolled yet: spare each face an index scan that filters out every row
    matches = []
    for face in faces:
        # Never-match people included: their new faces must be recognised to be kept out of search.
        nearest = face_nearest(
            embedding=face.embedding, model_id=face.model_id, library_ids=[face.library_id], limit=1,
            max_distance=max_distance, confirmed_only=True, include_unsearchable=True,
        )  # fmt: skip
        if nearest:
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
    """Take faces of a library away from their people (e.g. a wrong face); returns how many faces had a person."""
    faces = _faces_or_404(face_ids, library_id).filter(person__isnull=False)
    previous = set(faces.values_list("person_id", flat=True))
    count = faces.update(person=None, assignment="", assignment_distance=None, searchable=True)
    people_covers_refresh(previous)
    audit_record(
        caller=caller, kind=AuditEntry.Kind.UNASSIGN, library_ids=[library_id], result_count=count,
        detail={"face_ids": sorted(set(face_ids)), "person_ids": sorted(previous)},
    )  # fmt: skip
    return count
