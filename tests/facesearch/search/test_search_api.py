"""POST /api/search/ on real LFW faces: the same person's photos rank first, nothing of the query is stored."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.core.files.uploadedfile import InMemoryUploadedFile

from embeddings import get_spec
from facesearch.libraries.models import AuditEntry
from facesearch.photos.models import Face, Photo
from facesearch.search import services
from tests.facesearch.conftest import (
    ENROLLED,
    GALLERY_PER_PERSON,
    QUERY_IMAGE,
    lfw_stem,
    media_files,
    upload,
)

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("person", ["George_W_Bush", "Tony_Blair", "Hugo_Chavez"])
def test_search_by_photo_ranks_the_same_persons_photos_first(api_client, gallery, lfw_images, person):
    query = lfw_images[lfw_stem(person, QUERY_IMAGE)]

    response = api_client.post("/api/search/", {"file": upload(query.data), "limit": 10}, format="multipart")

    assert response.status_code == 200, response.content
    body = response.json()
    matches = body["matches"]
    expected = {gallery[lfw_stem(person, i)].id for i in range(1, GALLERY_PER_PERSON + 1)}
    assert {m["face"]["id"] for m in matches[:GALLERY_PER_PERSON]} == expected
    distances = [m["distance"] for m in matches]
    assert distances == sorted(distances)
    assert all(d <= body["threshold"] for d in distances)
    assert body["query_faces"][0].keys() == {"index", "box", "score"}
    first = matches[0]
    assert first["photo"]["id"] == Face.objects.get(id=first["face"]["id"]).photo_id
    assert first["photo"]["thumb_url"].endswith(f"/api/photos/{first['photo']['id']}/image?size=256")
    assert first["face"]["crop_url"].endswith(f"/api/faces/{first['face']['id']}/crop")
    assert first["person"] is None


def test_matches_show_the_person_of_enrolled_faces(api_client, gallery, lfw_images):
    from facesearch.people.services import faces_assign
    from tests.factories import PersonFactory

    powell = PersonFactory(name="Colin Powell")
    faces_assign(person=powell, face_ids=[gallery[lfw_stem("Colin_Powell", 1)].id], how=Face.Assignment.ENROLLED)
    query = lfw_images[lfw_stem("Colin_Powell", QUERY_IMAGE)]

    matches = api_client.post("/api/search/", {"file": upload(query.data)}, format="multipart").json()["matches"]

    enrolled = [m for m in matches if m["face"]["id"] == gallery[lfw_stem("Colin_Powell", 1)].id]
    assert enrolled[0]["person"] == {"id": powell.id, "name": "Colin Powell"}


def test_search_by_face_finds_the_persons_other_faces_and_not_itself(api_client, gallery):
    face = gallery[lfw_stem("Donald_Rumsfeld", 2)]

    response = api_client.post("/api/search/", {"face_id": face.id, "limit": 4}, format="json")

    assert response.status_code == 200, response.content
    ids = [m["face"]["id"] for m in response.json()["matches"]]
    others = {gallery[lfw_stem("Donald_Rumsfeld", i)].id for i in (1, 3, 4, 5)}
    assert face.id not in ids
    assert set(ids) == others


def test_max_distance_and_limit_bound_the_matches(api_client, gallery, lfw_images):
    query = upload(lfw_images[lfw_stem("Ariel_Sharon", QUERY_IMAGE)].data)
    body = api_client.post("/api/search/", {"file": query, "limit": 2, "max_distance": 2.0}, format="multipart").json()
    assert len(body["matches"]) == 2
    assert body["max_distance"] == 2.0
    last_rate = get_spec(settings.FACESEARCH_ENCODER).far_curve[-1][1]
    assert body["false_accept_rate"] == last_rate  # beyond the curve's last point (1.2): its rate, a lower bound

    query = upload(lfw_images[lfw_stem("Ariel_Sharon", QUERY_IMAGE)].data)
    body = api_client.post("/api/search/", {"file": query, "max_distance": 0.0001}, format="multipart").json()
    assert body["matches"] == []
    first_rate = get_spec(settings.FACESEARCH_ENCODER).far_curve[0][1]
    assert body["false_accept_rate"] == first_rate  # below the curve's first point: its rate, an upper bound


def test_a_search_stores_no_image_and_writes_one_audit_row(api_client, gallery, lfw_images, user):
    query = lfw_images[lfw_stem("Gerhard_Schroeder", QUERY_IMAGE)]
    files, photos, faces, audits = media_files(settings.MEDIA_ROOT), Photo.objects.count(), Face.objects.count(), 0
    audits = AuditEntry.objects.count()

    response = api_client.post("/api/search/", {"file": upload(query.data), "limit": 7}, format="multipart")

    assert response.status_code == 200
    assert media_files(settings.MEDIA_ROOT) == files
    assert (Photo.objects.count(), Face.objects.count()) == (photos, faces)
    assert AuditEntry.objects.count() == audits + 1
    log = AuditEntry.objects.latest("id")
    matches = response.json()["matches"]
    assert (log.user, log.kind, log.result_count, log.succeeded) == (user, "search", len(matches), True)
    assert log.library_ids == [user.personal_library.id]  # the libraries the search compared within
    assert log.best_distance == round(matches[0]["distance"], 4)  # the audit keeps 4 places
    assert log.detail["source"] == "upload"
    assert log.detail["limit"] == 7
    assert log.detail["face_ids"] == [m["face"]["id"] for m in matches]
    assert "query.jpg" not in str(log.detail)  # parameters and results only, nothing of the image


def test_query_images_stay_in_memory_even_when_large(api_client, gallery, lfw_images, settings, monkeypatch):
    """Django would spool an upload above FILE_UPLOAD_MAX_MEMORY_SIZE to a temporary file; a query must not."""
    settings.FILE_UPLOAD_MAX_MEMORY_SIZE = 1024
    seen = []
    read_upload = services.read_upload
    monkeypatch.setattr(services, "read_upload", lambda file: seen.append(type(file)) or read_upload(file))
    query = lfw_images[lfw_stem("Tony_Blair", QUERY_IMAGE)].data
    assert len(query) > settings.FILE_UPLOAD_MAX_MEMORY_SIZE

    response = api_client.post("/api/search/", {"file": upload(query)}, format="multipart")

    assert response.status_code == 200
    assert seen == [InMemoryUploadedFile]


def _assert_one_failed_search(status: int) -> None:
    """A refused search is audited as failed, without results, with the status it was answered with."""
    entry = AuditEntry.objects.get()
    assert (entry.kind, entry.succeeded, entry.result_count, entry.best_distance) == ("search", False, 0, None)
    assert entry.detail["error"]["status"] == status


def test_an_image_without_a_face_is_422(api_client, gallery, faceless_jpeg):
    response = api_client.post("/api/search/", {"file": upload(faceless_jpeg)}, format="multipart")
    assert response.status_code == 422
    assert response.json()["message"] == "No face was found in the image."
    _assert_one_failed_search(422)


@pytest.mark.parametrize(
    ("data", "fmt"),
    [
        ({}, "multipart"),
        ({"limit": 5}, "json"),
        ({"file": "not-a-file"}, "multipart"),
        ({"face_id": 1, "file": None}, "json"),
        ({"face_id": 1, "limit": 0}, "json"),
        ({"face_id": 1, "limit": 101}, "json"),
        ({"face_id": 1, "max_distance": -1}, "json"),
    ],
)
def test_invalid_search_requests_are_400(api_client, data, fmt):
    response = api_client.post("/api/search/", data, format=fmt)
    assert response.status_code == 400, response.content
    assert set(response.json()) == {"message", "extra"}


def test_a_file_that_is_not_an_image_is_400_and_stores_nothing(api_client, db):
    files = media_files(settings.MEDIA_ROOT)
    response = api_client.post("/api/search/", {"file": upload(b"%PDF-1.4 not an image", "a.pdf")}, format="multipart")
    assert response.status_code == 400
    assert (Photo.objects.count(), media_files(settings.MEDIA_ROOT)) == (0, files)
    _assert_one_failed_search(400)


def test_face_index_beyond_the_faces_found_is_400(api_client, gallery, lfw_images):
    query = upload(lfw_images[lfw_stem("Colin_Powell", QUERY_IMAGE)].data)
    response = api_client.post("/api/search/", {"file": query, "face_index": 9}, format="multipart")
    assert response.status_code == 400
    assert response.json()["extra"]["face_index"] == 9


def test_unknown_face_id_is_404(api_client, db):
    response = api_client.post("/api/search/", {"face_id": 987654}, format="json")
    assert response.status_code == 404
    assert response.json()["extra"] == {"id": 987654}
    _assert_one_failed_search(404)


def test_search_needs_authentication(db):
    from rest_framework.test import APIClient

    assert APIClient().post("/api/search/", {"face_id": 1}, format="json").status_code == 401


def test_all_enrolled_people_are_in_the_fixture():
    assert len(ENROLLED) >= 7


def test_search_offers_strict_normal_and_loose_with_their_calibrated_rates(api_client, gallery, lfw_images):
    """What the UI offers instead of a distance: normal is the 1:1 threshold; strict and loose are the distances
    where 1 in 10,000 and 1 in 100 different-person pairs are as close (the encoder's LFW curve)."""
    query = lfw_images[lfw_stem(ENROLLED[0], QUERY_IMAGE)]
    body = api_client.post("/api/search/", {"file": upload(query.data)}, format="multipart").json()
    points = body["operating_points"]
    assert list(points) == ["strict", "normal", "loose"]
    assert points["normal"]["max_distance"] == pytest.approx(body["threshold"])
    assert points["strict"]["max_distance"] < points["normal"]["max_distance"] < points["loose"]["max_distance"]
    assert points["strict"]["false_accept_rate"] == pytest.approx(1e-4, rel=0.01)
    assert points["loose"]["false_accept_rate"] == pytest.approx(1e-2, rel=0.01)
