"""People services: assignment bookkeeping, covers, delete and merge as documented."""

from __future__ import annotations

import pytest

from facesearch.core.errors import ApplicationError
from facesearch.people.models import Person
from facesearch.people.services import (
    faces_assign,
    faces_unassign,
    person_create,
    person_delete,
    person_merge,
    person_update,
)
from facesearch.photos.models import Face, Photo
from tests.factories import FaceFactory, PersonFactory, first_library

pytestmark = pytest.mark.django_db


def test_assigning_faces_records_how_and_gives_the_person_a_cover():
    person = person_create(library=first_library(), name="  Ada Lovelace ")
    small, large = FaceFactory(box_size=20.0), FaceFactory(box_size=80.0)

    assert faces_assign(person=person, face_ids=[small.id, large.id], how=Face.Assignment.ENROLLED) == 2

    person.refresh_from_db()
    assert person.name == "Ada Lovelace"
    assert person.cover_face_id == large.id
    assert set(Face.objects.filter(person=person).values_list("assignment", flat=True)) == {"enrolled"}


def test_assigning_faces_of_another_person_moves_them_and_fixes_the_other_cover():
    alice, bob = PersonFactory(), PersonFactory()
    a1, a2 = FaceFactory(box_size=90.0), FaceFactory(box_size=50.0)
    faces_assign(person=alice, face_ids=[a1.id, a2.id])
    alice.refresh_from_db()
    assert alice.cover_face_id == a1.id

    assert faces_assign(person=bob, face_ids=[a1.id]) == 1

    alice.refresh_from_db()
    bob.refresh_from_db()
    assert alice.cover_face_id == a2.id
    assert bob.cover_face_id == a1.id
    assert Face.objects.get(id=a1.id).person_id == bob.id


def test_automatic_assignment_keeps_its_distance():
    person, face = PersonFactory(), FaceFactory()
    faces_assign(person=person, face_ids=[face.id], how=Face.Assignment.AUTOMATIC, distance=0.42)
    face.refresh_from_db()
    assert (face.assignment, face.assignment_distance) == ("automatic", 0.42)


def test_unknown_face_ids_are_a_404_and_change_nothing():
    person, face = PersonFactory(), FaceFactory()
    with pytest.raises(ApplicationError) as error:
        faces_assign(person=person, face_ids=[face.id, 999_999])
    assert error.value.status == 404
    assert error.value.extra == {"face_ids": [999_999]}
    assert Face.objects.get(id=face.id).person_id is None


def test_unknown_assignment_kind_is_refused():
    with pytest.raises(ApplicationError):
        faces_assign(person=PersonFactory(), face_ids=[FaceFactory().id], how="guessed")


def test_unassigning_clears_the_face_and_moves_the_cover_to_a_remaining_face():
    person = PersonFactory()
    cover, other = FaceFactory(box_size=90.0), FaceFactory(box_size=30.0)
    faces_assign(person=person, face_ids=[cover.id, other.id])

    assert faces_unassign(face_ids=[cover.id], library_id=person.library_id) == 1

    cover.refresh_from_db()
    person.refresh_from_db()
    assert (cover.person_id, cover.assignment, cover.assignment_distance) == (None, "", None)
    assert person.cover_face_id == other.id
    assert faces_unassign(face_ids=[other.id], library_id=person.library_id) == 1
    person.refresh_from_db()
    assert person.cover_face_id is None


def test_update_renames_and_sets_a_cover_only_from_the_persons_own_faces():
    person, stranger_face = PersonFactory(name="Old"), FaceFactory()
    own = FaceFactory()
    faces_assign(person=person, face_ids=[own.id])

    person_update(person=person, data={"name": "New", "notes": "met in 2024", "cover_face_id": own.id})
    person.refresh_from_db()
    assert (person.name, person.notes, person.cover_face_id) == ("New", "met in 2024", own.id)

    with pytest.raises(ApplicationError):
        person_update(person=person, data={"cover_face_id": stranger_face.id})


def test_deleting_a_person_keeps_its_faces_and_photos_unassigned():
    person = PersonFactory()
    faces = [FaceFactory(), FaceFactory()]
    faces_assign(person=person, face_ids=[f.id for f in faces], how=Face.Assignment.ENROLLED)
    photos = Photo.objects.count()

    person_delete(person=person)

    assert not Person.objects.filter(id=person.id).exists()
    assert Photo.objects.count() == photos
    assert list(Face.objects.filter(id__in=[f.id for f in faces]).values_list("person", "assignment")) == [
        (None, ""),
        (None, ""),
    ]


def test_merge_moves_faces_keeps_name_and_cover_appends_notes_and_deletes_the_other():
    keep, other = PersonFactory(name="Keep", notes="first"), PersonFactory(name="Other", notes="second")
    keep_face, other_faces = FaceFactory(box_size=10.0), [FaceFactory(box_size=99.0), FaceFactory()]
    faces_assign(person=keep, face_ids=[keep_face.id])
    faces_assign(person=other, face_ids=[f.id for f in other_faces], how=Face.Assignment.ENROLLED)

    merged = person_merge(person=keep, other=other).person

    assert not Person.objects.filter(id=other.id).exists()
    assert (merged.name, merged.cover_face_id) == ("Keep", keep_face.id)
    assert merged.notes == "first\n\nsecond"
    assert set(Face.objects.filter(person=keep).values_list("id", flat=True)) == {
        keep_face.id,
        *(f.id for f in other_faces),
    }
    assert Face.objects.get(id=other_faces[0].id).assignment == "enrolled"  # how each was assigned is kept


def test_merge_takes_the_others_cover_when_the_person_has_none():
    keep, other = PersonFactory(), PersonFactory()
    face = FaceFactory()
    faces_assign(person=other, face_ids=[face.id])
    assert person_merge(person=keep, other=other).person.cover_face_id == face.id


def test_a_person_cannot_be_merged_with_itself():
    person = PersonFactory()
    with pytest.raises(ApplicationError):
        person_merge(person=person, other=person)
