"""Split a person: their faces sub-clustered like the suggestions (real LFW faces: a person holding two LFW people
splits into those two), and the faces offered as someone else moved to a new or existing person in one step."""

from __future__ import annotations

import numpy as np
import pytest

from facesearch.libraries.models import AuditEntry
from facesearch.people.models import AssignmentEvent, Person
from facesearch.people.selectors import person_split_groups
from facesearch.people.services import faces_assign, person_create
from facesearch.photos.models import Face
from tests.facesearch.conftest import lfw_stem
from tests.factories import FaceFactory, PersonFactory, first_library

pytestmark = pytest.mark.django_db

BUSH, POWELL = range(1, 6), range(1, 4)  # five photos of one, three of the other, all named as one person


@pytest.fixture
def mixed(gallery) -> tuple[Person, set[int], set[int]]:
    """A person holding photos 1-5 of George W Bush and 1-3 of Colin Powell: (the person, Bush's ids, Powell's)."""
    person = person_create(library=first_library(), name="Bush (and someone else)")
    bush = {gallery[lfw_stem("George_W_Bush", n)].id for n in BUSH}
    powell = {gallery[lfw_stem("Colin_Powell", n)].id for n in POWELL}
    faces_assign(person=person, face_ids=[*bush, *powell], how=Face.Assignment.ENROLLED)
    return person, bush, powell


def _ids(faces) -> set[int]:
    return {face["id"] if isinstance(face, dict) else face.id for face in faces}


def test_a_person_holding_two_lfw_people_splits_into_those_two(mixed):
    person, bush, powell = mixed

    split = person_split_groups(person=person)

    assert _ids(split.kept) == bush
    assert split.groups and set().union(*(_ids(group.faces) for group in split.groups)) == powell
    assert all(group.distance > split.offer_distance for group in split.groups)


def test_one_lfw_person_is_not_split(gallery):
    person = person_create(library=first_library(), name="Bush")
    faces_assign(person=person, face_ids=[gallery[lfw_stem("George_W_Bush", n)].id for n in BUSH])

    split = person_split_groups(person=person)

    assert len(split.kept) == len(BUSH) and split.groups == []


def test_two_faces_of_one_photo_are_never_kept_together():
    """The same vector twice in one photo (an impossible "same person") is split apart: one is kept, one offered."""
    person = PersonFactory()
    first = FaceFactory(person=person, assignment=Face.Assignment.MANUAL)
    vector = np.asarray(first.embedding, dtype=np.float32)
    second = FaceFactory(photo=first.photo, person=person, assignment=Face.Assignment.MANUAL, embedding=vector)

    split = person_split_groups(person=person)

    assert len(split.kept) == 1 and [_ids(group.faces) for group in split.groups] == [
        {first.id, second.id} - _ids(split.kept)
    ]


def test_the_split_groups_api_is_audited_like_the_suggestions(api_client, mixed):
    person, bush, powell = mixed

    response = api_client.get(f"/api/people/{person.id}/split/")

    assert response.status_code == 200, response.content
    body = response.json()
    assert _ids(body["kept"]) == bush
    assert set().union(*(_ids(group["faces"]) for group in body["groups"])) == powell
    entry = AuditEntry.objects.order_by("-id").first()
    assert (entry.kind, entry.detail) == (AuditEntry.Kind.SUGGESTIONS, {"person_id": person.id, "split": True})


def test_splitting_to_a_new_person_moves_exactly_those_faces_in_one_step(api_client, user, mixed):
    person, bush, powell = mixed

    response = api_client.post(
        f"/api/people/{person.id}/split/", {"face_ids": sorted(powell), "name": "Colin Powell"}, format="json"
    )

    assert response.status_code == 200, response.content
    moved_to = Person.objects.get(id=response.json()["person"]["id"])
    assert (moved_to.name, moved_to.library_id, response.json()["moved"]) == ("Colin Powell", person.library_id, 3)
    assert set(Face.objects.filter(person=moved_to).values_list("id", flat=True)) == powell
    assert set(Face.objects.filter(person=person).values_list("id", flat=True)) == bush
    assert set(Face.objects.filter(id__in=powell).values_list("assignment", flat=True)) == {"manual"}
    events = AssignmentEvent.objects.filter(face_id__in=powell, how=AssignmentEvent.How.SPLIT)
    assert sorted(events.values_list("face_id", "previous_person_id", "person_id", "created_by")) == [
        (face_id, person.id, moved_to.id, user.username) for face_id in sorted(powell)
    ]
    entry = AuditEntry.objects.order_by("-id").first()
    assert (entry.kind, entry.detail) == (
        AuditEntry.Kind.ASSIGN,
        {"person_id": moved_to.id, "face_ids": sorted(powell), "source": "split"},
    )


def test_splitting_to_an_existing_person(api_client, mixed, gallery):
    person, bush, powell = mixed
    other = person_create(library=first_library(), name="Colin Powell")
    faces_assign(person=other, face_ids=[gallery[lfw_stem("Colin_Powell", 4)].id])

    response = api_client.post(
        f"/api/people/{person.id}/split/", {"face_ids": sorted(powell), "person_id": other.id}, format="json"
    )

    assert response.status_code == 200, response.content
    assert response.json()["person"]["face_count"] == 4
    assert set(Face.objects.filter(person=person).values_list("id", flat=True)) == bush


def test_a_split_naming_faces_that_are_not_the_persons_changes_nothing(api_client, mixed, gallery):
    person, bush, powell = mixed
    stranger = gallery[lfw_stem("Tony_Blair", 1)].id

    response = api_client.post(
        f"/api/people/{person.id}/split/", {"face_ids": [*powell, stranger], "name": "Powell"}, format="json"
    )

    assert response.status_code == 404 and response.json()["extra"] == {"face_ids": [stranger]}
    assert set(Face.objects.filter(person=person).values_list("id", flat=True)) == bush | powell
    assert not Person.objects.filter(name="Powell").exists()


@pytest.mark.parametrize(
    "body",
    [{"face_ids": [1]}, {"face_ids": [1], "name": "A", "person_id": 1}, {"face_ids": [], "name": "A"}],
    ids=["neither", "both", "no faces"],
)
def test_a_split_needs_faces_and_either_a_person_or_a_name(api_client, body):
    person = PersonFactory()
    assert api_client.post(f"/api/people/{person.id}/split/", body, format="json").status_code == 400


def test_a_split_to_the_same_person_is_refused(api_client, mixed):
    person, _, powell = mixed
    response = api_client.post(
        f"/api/people/{person.id}/split/", {"face_ids": sorted(powell), "person_id": person.id}, format="json"
    )
    assert response.status_code == 400
