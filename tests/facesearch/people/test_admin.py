"""Person admin: list with counts and covers, merge through an intermediate page."""

from __future__ import annotations

import pytest

from facesearch.people.models import Person
from facesearch.people.services import faces_assign
from facesearch.photos.models import Face
from tests.factories import FaceFactory, PersonFactory

pytestmark = pytest.mark.django_db


def test_changelist_shows_face_counts_and_cover_thumbnails(admin_client):
    person = PersonFactory(name="Ada")
    face = FaceFactory()
    faces_assign(person=person, face_ids=[face.id])

    response = admin_client.get("/admin/people/person/")

    assert response.status_code == 200
    html = response.content.decode()
    assert f"/api/faces/{face.id}/crop" in html
    assert "Ada" in html


def test_merge_action_asks_which_person_to_keep_then_merges(admin_client):
    keep, other = PersonFactory(name="Keep"), PersonFactory(name="Other")
    face = FaceFactory()
    faces_assign(person=other, face_ids=[face.id])
    selection = {"action": "merge_people", "_selected_action": [keep.id, other.id]}

    page = admin_client.post("/admin/people/person/", selection)
    assert page.status_code == 200
    assert "Keep this person" in page.content.decode()
    assert Person.objects.count() == 2

    done = admin_client.post("/admin/people/person/", {**selection, "apply": "1", "keep": keep.id})
    assert done.status_code == 302
    assert list(Person.objects.values_list("name", flat=True)) == ["Keep"]
    assert Face.objects.get(id=face.id).person_id == keep.id


def test_add_and_change_pages_render(admin_client):
    person = PersonFactory(name="Ada")
    assert admin_client.get("/admin/people/person/add/").status_code == 200
    assert admin_client.get(f"/admin/people/person/{person.id}/change/").status_code == 200
    response = admin_client.post(
        "/admin/people/person/add/", {"library": person.library_id, "name": " Grace ", "notes": ""}
    )
    assert response.status_code == 302
    assert Person.objects.filter(name="Grace", library=person.library).exists()


def test_deleting_in_the_admin_keeps_the_faces(admin_client):
    person, face = PersonFactory(), FaceFactory()
    faces_assign(person=person, face_ids=[face.id])
    response = admin_client.post(f"/admin/people/person/{person.id}/delete/", {"post": "yes"})
    assert response.status_code == 302
    face.refresh_from_db()
    assert (face.person_id, face.assignment) == (None, "")
