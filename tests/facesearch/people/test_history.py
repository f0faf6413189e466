"""Provenance: every change of a face's person is recorded (how, by whom, from whom, with identification's distance)
and listed on the person's history, newest first; the history goes with the face, photo or person it is about."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from facesearch.core.pipeline import get_pipeline
from facesearch.libraries.access import Caller
from facesearch.libraries.erasure import library_erase, person_erase
from facesearch.people.models import AssignmentEvent
from facesearch.people.services import faces_assign, faces_assign_automatically, person_create, person_delete
from facesearch.photos import processing, services
from facesearch.photos.models import Face
from facesearch.photos.services import photo_delete
from tests.facesearch.conftest import lfw_stem
from tests.factories import FaceFactory, PersonFactory, first_library

pytestmark = pytest.mark.django_db


def _history(api_client, person_id: int, **params) -> list[dict]:
    response = api_client.get(f"/api/people/{person_id}/history/", params)
    assert response.status_code == 200, response.content
    return response.json()["results"]


def _row(row: dict) -> tuple:
    return (
        row["how"],
        row["face_id"],
        row["person"] and row["person"]["id"],
        row["previous_person"] and row["previous_person"]["id"],
        row["assignment"],
        row["by"],
    )


def test_every_way_a_face_changes_person_is_in_the_history_newest_first(api_client, user, gallery):
    library = first_library()
    powell = person_create(library=library, name="Colin Powell")
    blair = person_create(library=library, name="Tony Blair")
    face = {n: gallery[lfw_stem("Colin_Powell", n)].id for n in range(1, 6)}
    me = user.username

    api_client.post(f"/api/people/{powell.id}/faces/", {"face_ids": [face[1]]}, format="json")  # enrolled
    api_client.patch(f"/api/faces/{face[2]}/", {"person": powell.id}, format="json")  # manual
    api_client.post(f"/api/people/{powell.id}/faces/", {"face_ids": [face[3]], "suggested": True}, format="json")
    assert faces_assign_automatically(faces=[gallery[lfw_stem("Colin_Powell", 4)]], max_distance=2.0) == 1
    distance = Face.objects.get(id=face[4]).assignment_distance
    api_client.patch(f"/api/faces/{face[5]}/", {"person": blair.id}, format="json")  # a wrong name by hand...
    api_client.patch(f"/api/faces/{face[5]}/", {"person": powell.id}, format="json")  # ...corrected
    api_client.delete(f"/api/people/{powell.id}/faces/{face[2]}/")  # removed
    api_client.post(f"/api/people/{powell.id}/rejections/", {"face_ids": [face[4]]}, format="json")  # not them

    history = _history(api_client, powell.id)

    assert [_row(row) for row in history] == [
        ("reject", face[4], None, powell.id, "", me),
        ("unassign", face[2], None, powell.id, "", me),
        ("manual", face[5], powell.id, blair.id, "manual", me),
        ("automatic", face[4], powell.id, None, "automatic", ""),  # the system: nobody's name
        ("suggestion", face[3], powell.id, None, "enrolled", me),
        ("manual", face[2], powell.id, None, "manual", me),
        ("enrolled", face[1], powell.id, None, "enrolled", me),
    ]
    automatic = history[3]
    assert automatic["distance"] == distance and 0 < distance < 2.0
    assert automatic["crop_url"].endswith(f"/api/faces/{face[4]}/crop")
    assert [_row(row)[:4] for row in _history(api_client, blair.id)] == [
        ("manual", face[5], powell.id, blair.id),
        ("manual", face[5], blair.id, None),
    ]


def test_the_history_is_paginated_like_the_faces(api_client):
    person = PersonFactory()
    faces = [FaceFactory() for _ in range(3)]
    for face in faces:
        faces_assign(person=person, face_ids=[face.id])

    response = api_client.get(f"/api/people/{person.id}/history/", {"page_size": 2})

    assert response.status_code == 200
    body = response.json()
    assert body["count"] == 3 and body["next"]
    assert [row["face_id"] for row in body["results"]] == [faces[2].id, faces[1].id]


def test_assigning_a_face_as_it_already_is_records_nothing():
    person, face = PersonFactory(), FaceFactory()
    faces_assign(person=person, face_ids=[face.id])
    faces_assign(person=person, face_ids=[face.id])
    assert AssignmentEvent.objects.filter(face=face).count() == 1


def test_an_applications_changes_are_recorded_under_its_key_name():
    person, face = PersonFactory(), FaceFactory()
    caller = Caller(user=None)
    faces_assign(person=person, face_ids=[face.id], caller=caller)
    assert AssignmentEvent.objects.get(face=face).created_by == caller.name == ""


def test_a_deleted_face_photo_or_person_takes_its_history_with_it():
    library = first_library()
    keep, gone = person_create(library=library, name="Keep"), person_create(library=library, name="Gone")
    by_face, by_photo, by_person = FaceFactory(), FaceFactory(), FaceFactory()
    faces_assign(person=keep, face_ids=[by_face.id, by_photo.id])
    faces_assign(person=gone, face_ids=[by_person.id])
    faces_assign(person=keep, face_ids=[by_person.id])  # taken from Gone: an event naming Gone as before

    by_face.delete()
    photo_delete(photo=by_photo.photo)
    person_delete(person=gone)

    assert not AssignmentEvent.objects.filter(face_id__in=[by_face.id, by_photo.id]).exists()
    assert not AssignmentEvent.objects.filter(person_id=gone.id).exists()
    assert list(AssignmentEvent.objects.filter(face=by_person).values_list("person_id", "previous_person_id")) == [
        (keep.id, None)  # who it was taken from is forgotten with them
    ]


def test_erasure_removes_the_history_and_its_scan_checks_it(gallery):
    library = first_library()
    powell, other = person_create(library=library, name="Colin Powell"), person_create(library=library, name="Other")
    faces = [gallery[lfw_stem("Colin_Powell", n)].id for n in (1, 2)]
    faces_assign(person=other, face_ids=faces)
    faces_assign(person=powell, face_ids=faces)

    receipt = person_erase(person=powell)

    assert receipt.verified, receipt.verification
    assert (receipt.verification["found"]["event_rows"], receipt.verification["found"]["merge_rows"]) == (0, 0)
    assert not AssignmentEvent.objects.filter(face_id__in=faces).exists()


def test_erasing_a_library_removes_its_history():
    library = first_library()
    person, face = person_create(library=library, name="Someone"), FaceFactory()
    faces_assign(person=person, face_ids=[face.id])

    receipt = library_erase(library=library)

    assert receipt.verification["found"]["event_rows"] == 0  # the scan checks the history too
    assert not AssignmentEvent.objects.filter(library_id=library.id).exists()


def test_reencoding_with_another_encoder_carries_the_history_to_the_new_face(lfw_dir, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    data = (lfw_dir / "images/Colin_Powell/Colin_Powell_0001.jpg").read_bytes()
    photo, _ = services.photo_create(
        file=SimpleUploadedFile("p1.jpg", data), library=first_library(), uploaded_by=None, enqueue=False
    )
    box = [float(v) for v in get_pipeline().encode(processing._photo_image(photo))[0].box]
    old = FaceFactory(photo=photo, index=0, box=box, model_id="older-encoder-v0")
    person = person_create(library=first_library(), name="Colin Powell")
    faces_assign(person=person, face_ids=[old.id], how=Face.Assignment.ENROLLED)

    processing.photos_encode(photo_ids=[photo.id])

    (new,) = Face.objects.filter(photo=photo, index=0)
    assert new.id != old.id and new.person_id == person.id
    assert list(AssignmentEvent.objects.filter(person=person).values_list("face_id", "how")) == [(new.id, "enrolled")]
