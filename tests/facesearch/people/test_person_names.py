"""One name, one person per library: creating or renaming to a name someone has (ignoring case and spaces) is a 400
that names the existing person, so the picker can offer them instead."""

from __future__ import annotations

import pytest

from facesearch.people.models import Person
from tests.factories import FaceFactory, LibraryFactory, PersonFactory

pytestmark = pytest.mark.django_db


def test_creating_a_person_whose_name_exists_is_refused_and_names_the_existing_one(api_client):
    ada = api_client.post("/api/people/", {"name": "Ada Lovelace"}, format="json").json()
    response = api_client.post("/api/people/", {"name": "  ada LOVELACE "}, format="json")
    assert response.status_code == 400, response.content
    body = response.json()
    assert "already a person called Ada Lovelace" in body["message"]
    assert body["extra"]["person"] == {"id": ada["id"], "name": "Ada Lovelace"}
    assert Person.objects.filter(name__iexact="ada lovelace").count() == 1


def test_a_similar_but_different_name_and_the_same_name_in_another_library_are_allowed(api_client, user):
    api_client.post("/api/people/", {"name": "Ada Lovelace"}, format="json")
    assert api_client.post("/api/people/", {"name": "Ada Lovelace-King"}, format="json").status_code == 201
    elsewhere = PersonFactory(library=LibraryFactory(), name="Grace Hopper")
    assert api_client.post("/api/people/", {"name": "grace hopper"}, format="json").status_code == 201
    assert Person.objects.filter(name__iexact="grace hopper").exclude(id=elsewhere.id).count() == 1


def test_renaming_to_another_persons_name_is_refused_but_recasing_ones_own_is_not(api_client):
    ada, grace = PersonFactory(name="Ada"), PersonFactory(name="Grace")
    response = api_client.patch(f"/api/people/{grace.id}/", {"name": "ADA"}, format="json")
    assert response.status_code == 400 and response.json()["extra"]["person"]["id"] == ada.id
    grace.refresh_from_db()
    assert grace.name == "Grace"
    assert api_client.patch(f"/api/people/{grace.id}/", {"name": "GRACE"}, format="json").json()["name"] == "GRACE"


def test_splitting_faces_off_to_a_new_person_with_a_taken_name_moves_nothing(api_client):
    ada, grace = PersonFactory(name="Ada"), PersonFactory(name="Grace")
    face = FaceFactory(person=ada)
    response = api_client.post(f"/api/people/{ada.id}/split/", {"face_ids": [face.id], "name": "grace"}, format="json")
    assert response.status_code == 400 and response.json()["extra"]["person"]["id"] == grace.id
    face.refresh_from_db()
    assert face.person_id == ada.id and Person.objects.count() == 2
