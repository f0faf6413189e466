"""Corrections that stick: a face removed from a person, or rejected for them, is never again named automatically or
suggested as them (real LFW faces), through merges and re-encodes, until someone assigns it to them by hand; and
hidden people, left out of the list and of suggestions but still identifiable."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from facesearch.core.errors import ApplicationError
from facesearch.core.pipeline import get_pipeline
from facesearch.grouping.selectors import FaceGroups, face_groups_suggested, review_from
from facesearch.grouping.services import faces_unplaced_group
from facesearch.libraries.models import AuditEntry, Library
from facesearch.people.models import FaceRejection, Person
from facesearch.people.services import (
    face_rejection_undo,
    faces_assign,
    faces_assign_automatically,
    faces_reject,
    person_create,
    person_merge,
    person_update,
)
from facesearch.photos import processing, services
from facesearch.photos.models import Face, Photo
from tests.facesearch.conftest import ENROLLED, GALLERY_PER_PERSON, central_index, lfw_stem, upload
from tests.facesearch.libraries.support import user_client
from tests.factories import FaceFactory, PersonFactory, UserFactory, first_library

pytestmark = pytest.mark.django_db


def _rejected(person: Person) -> set[int]:
    return set(FaceRejection.objects.filter(person=person).values_list("face_id", flat=True))


def _ids(response) -> list[int]:
    assert response.status_code == 200, response.content
    return [row["id"] for row in response.json()["results"]]


def _last_audit() -> AuditEntry:
    return AuditEntry.objects.order_by("-id").first()


@pytest.fixture
def enrolled(gallery) -> dict[str, Person]:
    """Each ENROLLED person, enrolled with photo 1 of their gallery; photos 2-5 stay unassigned."""
    people = {}
    for name in ENROLLED:
        people[name] = person_create(library=first_library(), name=name.replace("_", " "))
        faces_assign(person=people[name], face_ids=[gallery[lfw_stem(name, 1)].id], how=Face.Assignment.ENROLLED)
    return people


def _powell(gallery, number: int) -> Face:
    return gallery[lfw_stem("Colin_Powell", number)]


# ------------------------------------------------------------------------------------------ recording a rejection


def test_removing_a_face_from_a_person_records_that_it_is_not_them(api_client, user, enrolled, gallery):
    powell, face = enrolled["Colin_Powell"], _powell(gallery, 2)
    faces_assign(person=powell, face_ids=[face.id])

    response = api_client.delete(f"/api/people/{powell.id}/faces/{face.id}/")

    assert response.status_code == 204
    face.refresh_from_db()
    assert face.person_id is None
    rejection = FaceRejection.objects.get(person=powell)
    assert (rejection.face_id, rejection.created_by) == (face.id, user.username)
    entry = _last_audit()
    assert (entry.kind, entry.detail) == (AuditEntry.Kind.UNASSIGN, {"face_ids": [face.id], "person_ids": [powell.id]})
    listed = api_client.get(f"/api/people/{powell.id}/rejections/").json()
    assert [row["id"] for row in listed["results"]] == [face.id] and listed["results"][0]["person"] is None


def test_unassigning_a_face_by_patch_records_a_rejection_only_when_it_had_a_person(api_client, enrolled, gallery):
    powell, named, unnamed = enrolled["Colin_Powell"], _powell(gallery, 2), _powell(gallery, 3)
    faces_assign(person=powell, face_ids=[named.id])

    for face in (named, unnamed):
        response = api_client.patch(f"/api/faces/{face.id}/", {"person": None}, format="json")
        assert response.status_code == 200 and response.json()["person"] is None

    assert list(FaceRejection.objects.values_list("face_id", "person_id")) == [(named.id, powell.id)]


def test_rejecting_an_automatic_name_unassigns_the_face_and_is_audited(api_client, user, enrolled, gallery):
    powell, named, other = enrolled["Colin_Powell"], _powell(gallery, 2), _powell(gallery, 3)
    faces_assign(person=powell, face_ids=[named.id], how=Face.Assignment.AUTOMATIC, distance=0.5)

    response = api_client.post(
        f"/api/people/{powell.id}/rejections/", {"face_ids": [named.id, other.id]}, format="json"
    )
    again = api_client.post(f"/api/people/{powell.id}/rejections/", {"face_ids": [other.id]}, format="json")

    assert response.status_code == 200, response.content
    assert response.json() == {"rejected": 2, "unassigned": 1}
    assert again.json() == {"rejected": 0, "unassigned": 0}  # already recorded: nothing new
    named.refresh_from_db()
    assert (named.person_id, named.assignment, named.assignment_distance) == (None, "", None)
    assert _rejected(powell) == {named.id, other.id}
    entry = AuditEntry.objects.filter(kind=AuditEntry.Kind.REJECT).order_by("id").first()
    assert entry.username == user.username
    assert entry.detail == {"person_id": powell.id, "face_ids": sorted([named.id, other.id]), "unassigned": 1}


def test_rejections_list_newest_first_with_pagination(api_client, enrolled, gallery):
    powell = enrolled["Colin_Powell"]
    faces = [_powell(gallery, n) for n in (2, 3, 4)]
    for face in faces:
        faces_reject(person=powell, face_ids=[face.id])

    first = api_client.get(f"/api/people/{powell.id}/rejections/", {"page_size": 2}).json()

    assert first["count"] == 3 and [row["id"] for row in first["results"]] == [faces[2].id, faces[1].id]
    assert _ids(api_client.get(f"/api/people/{powell.id}/rejections/", {"page_size": 2, "page": 2})) == [faces[0].id]


# --------------------------------------------------------------------------------------------- every path honours it


def test_automatic_naming_leaves_a_face_unnamed_when_it_was_rejected_for_its_nearest_person(enrolled, gallery):
    # Photos 2 and 4 are 0.53 and 0.51 from his photo 1, under the review margin (photo 3, 0.69, is in it).
    powell, rejected, control = enrolled["Colin_Powell"], _powell(gallery, 2), _powell(gallery, 4)
    faces_reject(person=powell, face_ids=[rejected.id])

    named = faces_assign_automatically(faces=[rejected, control], max_distance=get_pipeline().spec.auto_assign_distance)

    rejected.refresh_from_db()
    control.refresh_from_db()
    assert (named, rejected.person_id, control.person_id) == (1, None, powell.id)  # the control proves it would match


def test_a_face_nearer_to_a_face_rejected_for_a_person_than_to_them_is_not_named_after_them(enrolled, gallery):
    """A rejection is evidence about look-alikes: with face r said not to be P, a new face n nearer to r than to P's
    enrolled face stays unnamed, while one nearer to P is still named (real LFW faces; the triple is found in the
    gallery, where r is really P: the rule trusts the correction, as it would for a sibling)."""
    review = review_from()
    triples = []
    for name, person in enrolled.items():
        own = np.asarray(gallery[lfw_stem(name, 1)].embedding)
        others = [gallery[lfw_stem(name, i)] for i in range(2, GALLERY_PER_PERSON + 1)]
        for new in others:
            to_own = np.linalg.norm(np.asarray(new.embedding) - own)
            if to_own >= review:
                continue  # not named anyway (review margin or beyond the cut)
            for rejected in others:
                nearer = np.linalg.norm(np.asarray(new.embedding) - np.asarray(rejected.embedding)) < to_own
                if rejected.id != new.id:
                    triples.append((nearer, person, new, rejected))
    (_, person, new, rejected) = next(t for t in triples if t[0])
    (_, control_person, control, control_rejected) = next(t for t in triples if not t[0] and t[1] != person)
    faces_reject(person=person, face_ids=[rejected.id])
    faces_reject(person=control_person, face_ids=[control_rejected.id])

    faces_assign_automatically(faces=[new, control], max_distance=get_pipeline().spec.auto_assign_distance)

    new.refresh_from_db()
    control.refresh_from_db()
    assert new.person_id is None
    assert control.person_id == control_person.id


@pytest.fixture
def media_root(settings, tmp_path: Path) -> Path:
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.MEDIA_ROOT.mkdir()
    return settings.MEDIA_ROOT


def _ingest(lfw_dir: Path, number: int, *, encode: bool = True) -> Photo:
    data = (lfw_dir / f"images/Colin_Powell/Colin_Powell_{number:04d}.jpg").read_bytes()
    photo, _ = services.photo_create(
        file=SimpleUploadedFile(f"p{number}.jpg", data), library=first_library(), uploaded_by=None, enqueue=False
    )
    if encode:
        processing.photos_encode(photo_ids=[photo.id])
    return photo


@pytest.fixture
def powell(lfw_dir: Path, media_root: Path) -> Person:
    """Colin Powell, enrolled with the face of his first LFW photo, as ingest stored it (no gallery)."""
    person = PersonFactory(name="Colin Powell")
    (face,) = Face.objects.filter(photo=_ingest(lfw_dir, 1))
    faces_assign(person=person, face_ids=[face.id], how=Face.Assignment.ENROLLED)
    return person


def test_reencoding_with_another_encoder_carries_rejections_to_the_new_face(powell, lfw_dir):
    """Without the carried rejection the new face would be named Powell at once (his photo 2 is: test_auto_assign)."""
    photo = _ingest(lfw_dir, 2, encode=False)
    box = [float(v) for v in get_pipeline().encode(processing._photo_image(photo))[0].box]
    old = FaceFactory(photo=photo, index=0, box=box, model_id="older-encoder-v0")
    faces_reject(person=powell, face_ids=[old.id])

    processing.photos_encode(photo_ids=[photo.id])

    (new,) = Face.objects.filter(photo=photo, index=0)
    assert new.id != old.id and new.model_id == get_pipeline().spec.model_id
    assert (new.person_id, _rejected(powell)) == (None, {new.id})
    assert Photo.objects.get(id=photo.id).status == Photo.Status.DONE


def test_reprocessing_with_the_same_encoder_keeps_the_rejection(powell, lfw_dir):
    photo = _ingest(lfw_dir, 2)
    (face,) = Face.objects.filter(photo=photo, person=powell)  # named automatically
    faces_reject(person=powell, face_ids=[face.id])

    processing.photos_encode(photo_ids=[photo.id])

    assert list(Face.objects.filter(photo=photo).values_list("id", "person_id")) == [(face.id, None)]
    assert _rejected(powell) == {face.id}


def _suggested() -> FaceGroups:
    """The stored suggestions, once grouping has placed the gallery's faces (stored here without ingest)."""
    faces_unplaced_group(library=first_library(), limit=1000)
    return face_groups_suggested(library=first_library())


def _group_of(groups, face: Face):
    (group,) = [group for group in groups.groups if face.id in {f.id for f in group.faces}]
    return group


def test_a_group_is_not_named_after_a_person_one_of_its_faces_was_rejected_for(enrolled, gallery):
    powell = enrolled["Colin_Powell"]
    before = _group_of(_suggested(), _powell(gallery, 2))
    assert before.person == powell and len(before.faces) == GALLERY_PER_PERSON - 1

    faces_reject(person=powell, face_ids=[_powell(gallery, 3).id])  # one face of the four

    after = _group_of(_suggested(), _powell(gallery, 2))
    assert [f.id for f in after.faces] == [f.id for f in before.faces]  # still grouped, no longer named
    assert (after.person, after.distance) == (None, None)  # nobody else is that close


def test_a_hidden_person_never_names_a_group_and_unhiding_brings_it_back(api_client, enrolled, gallery):
    powell = enrolled["Colin_Powell"]
    response = api_client.patch(f"/api/people/{powell.id}/", {"hidden": True}, format="json")
    assert response.status_code == 200 and response.json()["hidden"] is True

    groups = api_client.get("/api/people/suggestions/", {"limit": 100}).json()["groups"]
    named = {group["person"]["id"] for group in groups if group["person"]}
    assert powell.id not in named and named  # the others are still suggested

    person_update(person=powell, data={"hidden": False})
    assert _group_of(_suggested(), _powell(gallery, 2)).person == powell


def test_merge_leaves_unassigned_a_face_that_was_rejected_for_the_kept_person(enrolled, gallery):
    powell = enrolled["Colin_Powell"]
    twin = person_create(library=first_library(), name="Powell, again")
    refused, kept, not_twin = _powell(gallery, 2), _powell(gallery, 3), _powell(gallery, 4)
    faces_reject(person=powell, face_ids=[refused.id])
    faces_reject(person=twin, face_ids=[not_twin.id])
    faces_assign(person=twin, face_ids=[refused.id, kept.id])  # by hand: overrides no rejection of *twin*

    person_merge(person=powell, other=twin)

    refused.refresh_from_db()
    kept.refresh_from_db()
    assert (refused.person_id, refused.assignment, kept.person_id) == (None, "", powell.id)
    assert _rejected(powell) == {refused.id, not_twin.id}  # the twin's "not them" holds for the merged person
    entry = _last_audit()
    assert entry.kind == AuditEntry.Kind.MERGE and entry.detail["left_unassigned"] == [refused.id]


def test_an_explicit_assignment_overrides_and_deletes_the_rejection(api_client, enrolled, gallery):
    powell = enrolled["Colin_Powell"]
    by_patch, by_enrol = _powell(gallery, 2), _powell(gallery, 3)
    faces_reject(person=powell, face_ids=[by_patch.id, by_enrol.id])

    assert api_client.patch(f"/api/faces/{by_patch.id}/", {"person": powell.id}, format="json").status_code == 200
    enrol = api_client.post(f"/api/people/{powell.id}/faces/", {"face_ids": [by_enrol.id]}, format="json")

    assert enrol.status_code == 200
    assert _rejected(powell) == set()
    assert set(Face.objects.filter(person=powell).values_list("id", flat=True)) >= {by_patch.id, by_enrol.id}


def test_undo_forgets_the_rejection_so_the_face_may_be_named_again(api_client, enrolled, gallery):
    powell, face = enrolled["Colin_Powell"], _powell(gallery, 2)
    faces_reject(person=powell, face_ids=[face.id])

    response = api_client.delete(f"/api/people/{powell.id}/rejections/{face.id}/")

    assert response.status_code == 204
    assert _rejected(powell) == set() and _ids(api_client.get(f"/api/people/{powell.id}/rejections/")) == []
    entry = _last_audit()
    assert (entry.kind, entry.detail) == (
        AuditEntry.Kind.REJECT, {"person_id": powell.id, "face_ids": [face.id], "undo": True}
    )  # fmt: skip
    assert api_client.delete(f"/api/people/{powell.id}/rejections/{face.id}/").status_code == 404
    named = faces_assign_automatically(faces=[face], max_distance=get_pipeline().spec.auto_assign_distance)
    assert named == 1


def test_undo_of_a_face_never_rejected_is_404_and_audits_nothing(enrolled, gallery):
    with pytest.raises(ApplicationError) as raised:
        face_rejection_undo(person=enrolled["Colin_Powell"], face_id=_powell(gallery, 2).id)
    assert raised.value.status == 404
    assert not AuditEntry.objects.filter(kind=AuditEntry.Kind.REJECT).exists()


# ------------------------------------------------------------------------------------------------- another library


def test_another_librarys_people_and_faces_are_404_and_unchanged(api_client, enrolled, gallery):
    mallory = UserFactory(username="mallory")
    theirs = Library.objects.get(personal_for=mallory)
    their_person = PersonFactory(library=theirs, name="Theirs")
    their_face = FaceFactory(photo__library=theirs)
    faces_reject(person=their_person, face_ids=[their_face.id])
    powell, mine = enrolled["Colin_Powell"], _powell(gallery, 2)
    faces_reject(person=powell, face_ids=[mine.id])
    outsider = user_client(mallory)

    for response in (
        api_client.get(f"/api/people/{their_person.id}/rejections/"),
        api_client.post(f"/api/people/{their_person.id}/rejections/", {"face_ids": [mine.id]}, format="json"),
        api_client.post(f"/api/people/{powell.id}/rejections/", {"face_ids": [their_face.id]}, format="json"),
        api_client.delete(f"/api/people/{their_person.id}/rejections/{their_face.id}/"),
        outsider.get(f"/api/people/{powell.id}/rejections/"),
        outsider.delete(f"/api/people/{powell.id}/rejections/{mine.id}/"),
    ):
        assert response.status_code == 404, response.content
        assert set(response.json()) == {"message", "extra"}
    assert set(FaceRejection.objects.values_list("face_id", "person_id")) == {
        (their_face.id, their_person.id), (mine.id, powell.id)
    }  # fmt: skip


def test_a_rejection_needs_face_ids(api_client, enrolled):
    response = api_client.post(
        f"/api/people/{enrolled['Colin_Powell'].id}/rejections/", {"face_ids": []}, format="json"
    )
    assert response.status_code == 400 and not FaceRejection.objects.exists()


# ---------------------------------------------------------------------------------------------------- hidden people


def test_hidden_people_are_left_out_of_the_list_unless_asked_for(api_client):
    shown, hidden = PersonFactory(name="Ada"), PersonFactory(name="Bob", hidden=True)

    assert _ids(api_client.get("/api/people/")) == [shown.id]
    assert _ids(api_client.get("/api/people/", {"hidden": "true"})) == [hidden.id]
    assert _ids(api_client.get("/api/people/", {"hidden": "all"})) == [shown.id, hidden.id]
    assert api_client.get("/api/people/", {"hidden": "maybe"}).status_code == 400
    detail = api_client.get(f"/api/people/{hidden.id}/")
    assert detail.status_code == 200 and detail.json()["hidden"] is True

    response = api_client.patch(f"/api/people/{hidden.id}/", {"hidden": False}, format="json")
    assert response.json()["hidden"] is False
    assert _ids(api_client.get("/api/people/")) == [shown.id, hidden.id]


def test_a_hidden_person_stays_identifiable_and_searchable(api_client, enrolled, lfw_images, gallery):
    powell = enrolled["Colin_Powell"]
    person_update(person=powell, data={"hidden": True})

    response = api_client.post(
        "/api/identify/", {"file": upload(lfw_images[lfw_stem("Colin_Powell", 6)].data)}, format="multipart"
    )

    assert response.status_code == 200, response.content
    answers = response.json()["faces"]
    answer = answers[central_index([face["box"] for face in answers])]
    assert (answer["decision"], answer["person"]["id"]) == ("match", powell.id)
    faces = _ids(api_client.get("/api/faces/", {"person": powell.id}))
    assert faces == [_powell(gallery, 1).id]
    assert Face.objects.get(id=_powell(gallery, 1).id).searchable
