"""People API: shapes, pagination, search by name, enrol/remove faces, merge, delete, and its error codes."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from facesearch.people.models import Person
from facesearch.photos.models import Face
from tests.factories import FaceFactory, PersonFactory

pytestmark = pytest.mark.django_db


def test_create_returns_201_with_the_person(api_client):
    response = api_client.post("/api/people/", {"name": "Grace Hopper", "notes": "admiral"}, format="json")
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["name"] == "Grace Hopper"
    assert body["notes"] == "admiral"
    assert body["face_count"] == 0
    assert body["cover"] is None
    assert Person.objects.get(id=body["id"]).name == "Grace Hopper"


def test_create_without_a_name_is_400(api_client):
    response = api_client.post("/api/people/", {"notes": "x"}, format="json")
    assert response.status_code == 400
    assert set(response.json()) == {"message", "extra"}


def test_list_has_face_counts_covers_and_pagination(api_client):
    ada, bob = PersonFactory(name="Ada"), PersonFactory(name="Bob")
    faces = [FaceFactory(box_size=s) for s in (10.0, 70.0, 40.0)]
    api_client.post(f"/api/people/{ada.id}/faces/", {"face_ids": [f.id for f in faces]}, format="json")

    response = api_client.get("/api/people/")
    assert response.status_code == 200
    body = response.json()
    assert set(body) >= {"count", "next", "results"}
    assert body["count"] == 2
    by_name = {p["name"]: p for p in body["results"]}
    assert by_name["Ada"]["face_count"] == 3
    assert by_name["Ada"]["cover"]["face_id"] == faces[1].id
    assert by_name["Ada"]["cover"]["crop_url"].endswith(f"/api/faces/{faces[1].id}/crop")
    assert by_name["Bob"] == {**by_name["Bob"], "face_count": 0, "cover": None}
    assert bob.id == by_name["Bob"]["id"]


def test_list_searches_by_name(api_client):
    PersonFactory(name="Colin Powell")
    PersonFactory(name="Tony Blair")
    response = api_client.get("/api/people/", {"search": "powell"})
    assert [p["name"] for p in response.json()["results"]] == ["Colin Powell"]


def test_detail_patch_and_delete(api_client):
    person = PersonFactory(name="Old")
    face = FaceFactory()
    api_client.post(f"/api/people/{person.id}/faces/", {"face_ids": [face.id]}, format="json")

    assert api_client.get(f"/api/people/{person.id}/").json()["name"] == "Old"
    response = api_client.patch(f"/api/people/{person.id}/", {"name": "New"}, format="json")
    assert response.status_code == 200
    assert response.json()["name"] == "New"

    response = api_client.delete(f"/api/people/{person.id}/")
    assert response.status_code == 204
    assert not Person.objects.filter(id=person.id).exists()
    face.refresh_from_db()
    assert face.person_id is None  # the face stays, unassigned


def test_enrol_lists_and_removes_faces(api_client):
    person = PersonFactory()
    faces = [FaceFactory(), FaceFactory()]

    response = api_client.post(f"/api/people/{person.id}/faces/", {"face_ids": [f.id for f in faces]}, format="json")
    assert response.status_code == 200, response.content
    assert response.json()["assigned"] == 2
    assert response.json()["person"]["face_count"] == 2
    assert set(Face.objects.filter(person=person).values_list("assignment", flat=True)) == {"enrolled"}

    listed = api_client.get(f"/api/people/{person.id}/faces/").json()
    assert listed["count"] == 2
    assert {f["id"] for f in listed["results"]} == {f.id for f in faces}
    assert all(f["person"] == {"id": person.id, "name": person.name} for f in listed["results"])

    response = api_client.delete(f"/api/people/{person.id}/faces/{faces[0].id}/")
    assert response.status_code == 204
    assert list(Face.objects.filter(person=person).values_list("id", flat=True)) == [faces[1].id]


def test_removing_a_face_the_person_does_not_have_is_404(api_client):
    person, face = PersonFactory(), FaceFactory()
    assert api_client.delete(f"/api/people/{person.id}/faces/{face.id}/").status_code == 404


def test_enrolling_unknown_faces_is_404_and_changes_nothing(api_client):
    person, face = PersonFactory(), FaceFactory()
    response = api_client.post(f"/api/people/{person.id}/faces/", {"face_ids": [face.id, 987654]}, format="json")
    assert response.status_code == 404
    assert response.json()["extra"] == {"face_ids": [987654]}
    assert Face.objects.get(id=face.id).person_id is None


def test_enrolling_without_face_ids_is_400(api_client):
    person = PersonFactory()
    assert api_client.post(f"/api/people/{person.id}/faces/", {}, format="json").status_code == 400
    assert api_client.post(f"/api/people/{person.id}/faces/", {"face_ids": []}, format="json").status_code == 400


def test_merge_moves_faces_and_deletes_the_other(api_client):
    keep, other = PersonFactory(name="Keep"), PersonFactory(name="Other")
    face = FaceFactory()
    api_client.post(f"/api/people/{other.id}/faces/", {"face_ids": [face.id]}, format="json")

    response = api_client.post(f"/api/people/{keep.id}/merge/", {"other_id": other.id}, format="json")

    assert response.status_code == 200, response.content
    assert response.json()["name"] == "Keep"
    assert response.json()["face_count"] == 1
    assert not Person.objects.filter(id=other.id).exists()


@pytest.mark.parametrize(
    ("method", "path", "data"),
    [
        ("get", "/api/people/424242/", None),
        ("patch", "/api/people/424242/", {"name": "x"}),
        ("delete", "/api/people/424242/", None),
        ("get", "/api/people/424242/faces/", None),
        ("post", "/api/people/424242/faces/", {"face_ids": [1]}),
        ("post", "/api/people/424242/merge/", {"other_id": 1}),
    ],
)
def test_unknown_person_is_404(api_client, method, path, data):
    response = getattr(api_client, method)(path, data, format="json")
    assert response.status_code == 404
    assert set(response.json()) == {"message", "extra"}


def test_merging_with_an_unknown_or_the_same_person(api_client):
    person = PersonFactory()
    assert api_client.post(f"/api/people/{person.id}/merge/", {"other_id": 424242}, format="json").status_code == 404
    assert api_client.post(f"/api/people/{person.id}/merge/", {"other_id": person.id}, format="json").status_code == 400


def test_people_api_needs_authentication(db):
    from rest_framework.test import APIClient

    assert APIClient().get("/api/people/").status_code == 401


def _person_list_reads(queries: list[dict]) -> int:
    """`selectors.person_list` queries among `queries`: the aggregate with face counts and covers."""
    return sum('AS "face_count"' in query["sql"] for query in queries)


def test_a_write_reads_the_annotated_person_once_for_its_answer(api_client):
    """The answer's face count and cover come from one `person_list` read after the change (a merge used to run three);
    writes answered with 204 run none."""
    keep, other, faces = PersonFactory(), PersonFactory(), [FaceFactory(), FaceFactory()]
    writes = [
        ("post", "/api/people/", {"name": "Grace"}, 1),
        ("patch", f"/api/people/{keep.id}/", {"name": "Ada"}, 1),
        ("post", f"/api/people/{other.id}/faces/", {"face_ids": [face.id for face in faces]}, 1),
        ("delete", f"/api/people/{other.id}/faces/{faces[0].id}/", None, 0),
        ("post", f"/api/people/{keep.id}/merge/", {"other_id": other.id}, 1),
        ("delete", f"/api/people/{keep.id}/", None, 0),
    ]
    for method, path, data, reads in writes:
        with CaptureQueriesContext(connection) as captured:
            response = getattr(api_client, method)(path, data, format="json")
        assert response.status_code in (200, 201, 204), (method, path, response.content)
        assert _person_list_reads(captured.captured_queries) == reads, (method, path)


def test_enrolling_more_faces_costs_no_more_queries(api_client, django_assert_num_queries):
    one, five = (PersonFactory(), [FaceFactory().id]), (PersonFactory(), [FaceFactory().id for _ in range(5)])

    def enrol(person: Person, face_ids: list[int]) -> None:
        response = api_client.post(f"/api/people/{person.id}/faces/", {"face_ids": face_ids}, format="json")
        assert response.json()["person"]["face_count"] == len(face_ids)

    with CaptureQueriesContext(connection) as queries:
        enrol(*one)
    with django_assert_num_queries(len(queries)):
        enrol(*five)
