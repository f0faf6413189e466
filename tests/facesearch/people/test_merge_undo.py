"""Undoing a merge gives the other person back (same id) with exactly its faces, assignments, rejections, notes and
marks, unless one of those faces changed since; and a merge leaves unassigned a face of the other in a photo where the
kept person already has a face (two faces of one photo are two people)."""

from __future__ import annotations

import pytest

from facesearch.libraries.erasure import person_erase
from facesearch.libraries.models import AuditEntry
from facesearch.people.models import AssignmentEvent, FaceRejection, Merge, Person
from facesearch.people.services import (
    faces_assign,
    faces_assign_automatically,
    faces_reject,
    faces_unassign,
    merge_undo,
    person_create,
    person_delete,
    person_merge,
    person_update,
)
from facesearch.photos.models import Face
from tests.facesearch.conftest import lfw_stem
from tests.factories import FaceFactory, PersonFactory, first_library

pytestmark = pytest.mark.django_db


def _faces(person_id: int) -> list[tuple[int, str, float | None, bool]]:
    return sorted(
        Face.objects.filter(person_id=person_id).values_list("id", "assignment", "assignment_distance", "searchable")
    )


def _last_audit() -> AuditEntry:
    return AuditEntry.objects.order_by("-id").first()


@pytest.fixture
def twins(gallery) -> tuple[Person, Person]:
    """Powell (photos 1-2, enrolled) and "Powell, again" (photo 3 by hand, photo 4 named automatically with its
    distance, never-match, hidden, with notes and a rejection of a Blair photo)."""
    library = first_library()
    again = person_create(library=library, name="Powell, again", notes="from the 2003 folder")
    faces_assign(person=again, face_ids=[gallery[lfw_stem("Colin_Powell", 3)].id])
    assert faces_assign_automatically(faces=[gallery[lfw_stem("Colin_Powell", 4)]], max_distance=2.0) == 1
    faces_reject(person=again, face_ids=[gallery[lfw_stem("Tony_Blair", 1)].id])
    person_update(person=again, data={"never_match": True, "hidden": True})
    powell = person_create(library=library, name="Colin Powell", notes="Secretary of State")
    faces_assign(
        person=powell, face_ids=[gallery[lfw_stem("Colin_Powell", n)].id for n in (1, 2)], how=Face.Assignment.ENROLLED
    )
    return powell, again


def test_undo_gives_the_other_person_back_exactly(api_client, user, twins, gallery):
    powell, again = twins
    before = {"faces": _faces(again.id), "powell": _faces(powell.id), "rejected": [gallery["Tony_Blair_0001"].id]}
    merged = api_client.post(f"/api/people/{powell.id}/merge/", {"other_id": again.id}, format="json").json()
    assert merged["face_count"] == 4 and merged["merge"]["moved"] == 2
    assert Person.objects.get(id=powell.id).notes == "Secretary of State\n\nfrom the 2003 folder"

    response = api_client.post(f"/api/people/{powell.id}/merges/{merged['merge']['id']}/undo/")

    assert response.status_code == 200, response.content
    back = Person.objects.get(id=again.id)
    assert response.json()["id"] == again.id and response.json()["face_count"] == 2
    assert (back.name, back.notes, back.never_match, back.hidden) == (
        "Powell, again",
        "from the 2003 folder",
        True,
        True,
    )
    assert _faces(again.id) == before["faces"]  # the automatic face with its distance, all unsearchable again
    assert _faces(powell.id) == before["powell"]
    assert Person.objects.get(id=powell.id).notes == "Secretary of State"
    assert list(FaceRejection.objects.filter(person=back).values_list("face_id", flat=True)) == before["rejected"]
    assert not FaceRejection.objects.filter(person=powell).exists()
    assert back.cover_face_id in {face_id for face_id, *_ in before["faces"]}
    assert Merge.objects.get(id=merged["merge"]["id"]).undone_by == user.username
    entry = _last_audit()
    assert (entry.kind, entry.detail) == (
        AuditEntry.Kind.MERGE,
        {"person_id": powell.id, "other_id": again.id, "merge_id": merged["merge"]["id"], "undo": True},
    )
    # The history says so: the faces went with the merge and came back, and the twin's own history is its own again.
    history = api_client.get(f"/api/people/{again.id}/history/").json()["results"]
    assert [row["how"] for row in history[:4]] == ["unmerge", "unmerge", "merge", "merge"]
    assert {row["how"] for row in history[4:]} == {"manual", "automatic"}


def test_undo_is_refused_when_a_face_of_the_merge_changed_since(api_client, twins, gallery):
    powell, again = twins
    merge = person_merge(person=powell, other=again)
    changed = gallery[lfw_stem("Colin_Powell", 3)].id
    faces_unassign(face_ids=[changed], library_id=powell.library_id)

    response = api_client.post(f"/api/people/{powell.id}/merges/{merge.id}/undo/")

    assert response.status_code == 409
    assert response.json()["extra"] == {"merge_id": merge.id, "face_ids": [changed]}
    assert not Person.objects.filter(id=again.id).exists() and Merge.objects.get(id=merge.id).undone_at is None


def test_undo_is_refused_when_a_face_was_moved_and_moved_back(api_client, twins, gallery):
    """ "Not changed" is about the history, not just the current person: a face taken away and given back counts."""
    powell, again = twins
    merge = person_merge(person=powell, other=again)
    face = gallery[lfw_stem("Colin_Powell", 4)].id
    faces_assign(person=PersonFactory(library=first_library()), face_ids=[face])
    faces_assign(person=powell, face_ids=[face])

    response = api_client.post(f"/api/people/{powell.id}/merges/{merge.id}/undo/")

    assert response.status_code == 409 and response.json()["extra"]["face_ids"] == [face]


def test_a_merge_is_undone_once(api_client, twins):
    powell, again = twins
    merge = person_merge(person=powell, other=again)
    assert api_client.post(f"/api/people/{powell.id}/merges/{merge.id}/undo/").status_code == 200
    assert api_client.post(f"/api/people/{powell.id}/merges/{merge.id}/undo/").status_code == 409


def test_a_merge_of_another_person_is_not_found(api_client, twins):
    powell, again = twins
    merge = person_merge(person=powell, other=again)
    stranger = PersonFactory(library=first_library())
    assert api_client.post(f"/api/people/{stranger.id}/merges/{merge.id}/undo/").status_code == 404
    assert api_client.post(f"/api/people/{powell.id}/merges/424242/undo/").status_code == 404


def test_a_merge_leaves_unassigned_a_face_in_a_photo_the_person_is_already_in(api_client):
    """Two faces of one photo are two people: the other's face beside the person's own is not moved."""
    keep, other = PersonFactory(name="Keep"), PersonFactory(name="Other")
    mine = FaceFactory(person=keep, assignment=Face.Assignment.MANUAL)
    beside = FaceFactory(photo=mine.photo, person=other, assignment=Face.Assignment.MANUAL)
    elsewhere = FaceFactory(person=other, assignment=Face.Assignment.MANUAL)

    response = api_client.post(f"/api/people/{keep.id}/merge/", {"other_id": other.id}, format="json")

    assert response.status_code == 200, response.content
    merge = response.json()["merge"]
    assert (merge["moved"], merge["same_photo"], merge["left_unassigned"]) == (1, [beside.id], [])
    assert _faces(keep.id) == sorted([(mine.id, "manual", None, True), (elsewhere.id, "manual", None, True)])
    assert Face.objects.get(id=beside.id).person_id is None
    entry = _last_audit()
    assert entry.kind == AuditEntry.Kind.MERGE and entry.detail["same_photo"] == [beside.id]

    # Undone, the other person gets that face back too.
    assert api_client.post(f"/api/people/{keep.id}/merges/{merge['id']}/undo/").status_code == 200
    assert {face_id for face_id, *_ in _faces(other.id)} == {beside.id, elsewhere.id}


@pytest.mark.parametrize("how", ["delete", "erase"])
def test_deleting_the_person_given_back_forgets_the_merge_that_remembers_them(twins, how):
    """An undone merge holds the other person's name and notes: they go when that person goes."""
    powell, again = twins
    merge = person_merge(person=powell, other=again)
    back = merge_undo(merge=merge)
    if how == "delete":
        person_delete(person=back)
    else:
        receipt = person_erase(person=back)
        assert receipt.verified and receipt.verification["found"]["merge_rows"] == 0
    assert not Merge.objects.filter(id=merge.id).exists()
    assert not AssignmentEvent.objects.filter(merge_id=merge.id).exists()
