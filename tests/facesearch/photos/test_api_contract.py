"""The API's contract for clients: token auth (401), 404 for unknown ids, 405, `{"message", "extra"}`, the schema."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from facesearch.photos.models import Photo
from tests.factories import FaceFactory, IngestItemFactory, PersonFactory, PhotoFactory

ENDPOINTS = [
    ("get", "/api/photos/"),
    ("post", "/api/photos/"),
    ("get", "/api/photos/{photo}/"),
    ("delete", "/api/photos/{photo}/"),
    ("get", "/api/photos/{photo}/image"),
    ("get", "/api/faces/"),
    ("get", "/api/faces/{face}/"),
    ("patch", "/api/faces/{face}/"),
    ("get", "/api/faces/{face}/crop"),
    ("get", "/api/jobs/"),
    ("get", "/api/jobs/{job}/"),
    ("get", "/api/jobs/{job}/items/"),
    ("post", "/api/jobs/{job}/retry/"),
]


@pytest.fixture
def rows(db, media_root):
    face = FaceFactory()
    item = IngestItemFactory(photo=face.photo)
    return {"photo": face.photo_id, "face": face.id, "job": item.job_id}


@pytest.mark.parametrize("method,path", ENDPOINTS)
@pytest.mark.parametrize("credentials", [None, "Token wrong-key"], ids=["no_token", "bad_token"])
def test_every_endpoint_answers_401_without_a_valid_token(rows, method, path, credentials):
    client = APIClient()
    if credentials:
        client.credentials(HTTP_AUTHORIZATION=credentials)
    response = getattr(client, method)(path.format(**rows))
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "Token"
    assert set(response.json()) == {"message", "extra"}
    assert Photo.objects.filter(id=rows["photo"]).exists()


@pytest.mark.parametrize("method,path", [(m, p) for m, p in ENDPOINTS if "{" in p])
def test_unknown_ids_are_404_with_a_message(api_client, method, path):
    response = getattr(api_client, method)(path.format(photo=999_999, face=999_999, job=999_999), {}, format="json")
    assert response.status_code == 404
    assert set(response.json()) == {"message", "extra"} and response.json()["message"]


@pytest.mark.parametrize(
    "method,path",
    [("put", "/api/photos/"), ("delete", "/api/photos/"), ("post", "/api/photos/{photo}/"),
     ("put", "/api/photos/{photo}/"), ("post", "/api/faces/"), ("delete", "/api/faces/{face}/"),
     ("post", "/api/photos/{photo}/image"), ("post", "/api/jobs/"), ("get", "/api/jobs/{job}/retry/")],
)  # fmt: skip
def test_wrong_methods_are_405(api_client, rows, method, path):
    response = getattr(api_client, method)(path.format(**rows))
    assert response.status_code == 405
    assert set(response.json()) == {"message", "extra"}


@pytest.mark.parametrize(
    "path,params",
    [("/api/photos/", {"status": "sleeping"}), ("/api/photos/", {"ordering": "sha256"}),
     ("/api/photos/", {"person": "x"}), ("/api/faces/", {"unassigned": "maybe"}), ("/api/jobs/", {"state": "x"}),
     ("/api/photos/{photo}/image", {"size": 100_000}), ("/api/jobs/{job}/items/", {"state": "lost"})],
)  # fmt: skip
def test_invalid_filters_are_400_naming_the_field(api_client, rows, path, params):
    response = api_client.get(path.format(**rows), params)
    assert response.status_code == 400
    assert list(response.json()["extra"]["fields"]) == list(params)


def test_pages_beyond_the_last_are_404(api_client, rows):
    assert api_client.get("/api/photos/", {"page": 99}).status_code == 404


@pytest.mark.django_db
def test_lists_are_paginated_filtered_and_ordered(api_client, media_root):
    done = PhotoFactory.create_batch(3)
    failed = PhotoFactory(status=Photo.Status.FAILED, error="broken")
    person = PersonFactory()
    FaceFactory(photo=done[1], person=person)
    unassigned = FaceFactory(photo=done[2])

    page = api_client.get("/api/photos/", {"page_size": 2}).json()
    assert (page["count"], len(page["results"]), page["previous"]) == (4, 2, None) and page["next"]
    assert [p["id"] for p in page["results"]] == [failed.id, done[2].id]  # newest first
    assert [p["id"] for p in api_client.get("/api/photos/", {"status": "failed"}).json()["results"]] == [failed.id]
    assert [p["id"] for p in api_client.get("/api/photos/", {"person": person.id}).json()["results"]] == [done[1].id]
    oldest = api_client.get("/api/photos/", {"ordering": "created_at", "page_size": 2}).json()["results"]
    assert [p["id"] for p in oldest] == [done[0].id, done[1].id]

    faces = api_client.get("/api/faces/", {"unassigned": "true"}).json()
    assert [f["id"] for f in faces["results"]] == [unassigned.id]
    by_person = api_client.get("/api/faces/", {"person": person.id}).json()["results"]
    assert by_person[0]["person"] == {"id": person.id, "name": person.name}


@pytest.mark.django_db
def test_schema_documents_the_write_path(api_client):
    response = api_client.get("/api/schema/", {"format": "json"})
    assert response.status_code == 200
    schema = response.json()
    paths = schema["paths"]
    for path in ("/api/photos/", "/api/photos/{photo_id}/", "/api/photos/{photo_id}/image", "/api/faces/",
                 "/api/faces/{face_id}/", "/api/faces/{face_id}/crop", "/api/jobs/", "/api/jobs/{job_id}/",
                 "/api/jobs/{job_id}/items/", "/api/jobs/{job_id}/retry/"):  # fmt: skip
        assert path in paths, path
    upload = paths["/api/photos/"]["post"]
    request = upload["requestBody"]["content"]["multipart/form-data"]["schema"]["$ref"].rsplit("/", 1)[-1]
    assert set(schema["components"]["schemas"][request]["properties"]) == {"file", "files", "library", "job"}
    assert {"200", "201", "400", "401"} <= set(upload["responses"])
    photo = schema["components"]["schemas"]["Photo"]["properties"]
    assert {"id", "library", "sha256", "status", "error", "url", "width", "height", "created_at", "faces"} <= set(photo)
    assert {"id", "library", "box", "score", "person", "quality", "crop_url"} <= set(
        schema["components"]["schemas"]["Face"]["properties"]
    )
    assert {"library", "total", "done", "failed", "skipped", "state", "failures"} <= set(
        schema["components"]["schemas"]["JobDetail"]["properties"]
    )
    parameters = {p["name"] for p in paths["/api/photos/"]["get"]["parameters"]}
    assert {"library", "status", "person", "ordering", "page"} <= parameters
    assert "image/jpeg" in paths["/api/faces/{face_id}/crop"]["get"]["responses"]["200"]["content"]
    assert api_client.get("/api/docs/").status_code == 200
