"""Every answer under /api/ is `{"message", "extra"}` JSON, whatever fails; request limits hold while a body streams in.

Django refuses some requests before a DRF view runs (no route matches, too many fields or files, too large a body)
and answers an unhandled exception itself: these are the cases its HTML pages used to answer. An oversized file is
cut at FACESEARCH_MAX_UPLOAD_BYTES (+1 byte) as it arrives, so no more than that of it is ever written anywhere.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from rest_framework.test import APIClient

from facesearch.core import uploads
from facesearch.people.models import Person
from facesearch.photos import selectors
from facesearch.photos.models import IngestItem, IngestJob, Photo
from tests.factories import PersonFactory, jpeg_bytes

MiB = 1024 * 1024


def files_under(root: Path) -> list[Path]:
    return sorted(path for path in root.rglob("*") if path.is_file())


def assert_error(response, status: int) -> dict:
    assert response.status_code == status, response.content
    assert response["Content-Type"] == "application/json"
    body = response.json()
    assert set(body) == {"message", "extra"} and body["message"], body
    return body


@pytest.fixture
def dirs(settings, tmp_path: Path) -> dict[str, Path]:
    """A private MEDIA_ROOT and upload temp folder, so the tests can see every file a request leaves behind."""
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.FILE_UPLOAD_TEMP_DIR = tmp_path / "uploads"
    settings.FILE_UPLOAD_TEMP_DIR.mkdir()
    return {"media": settings.MEDIA_ROOT, "temp": settings.FILE_UPLOAD_TEMP_DIR}


@pytest.fixture
def kept(monkeypatch) -> list[int]:
    """Bytes each upload handler held for each file when the file was complete (on disk or in memory)."""
    sizes: list[int] = []
    complete = uploads.CappedUploadHandler.file_complete

    def recording(handler, file_size):
        file = complete(handler, file_size)
        path = getattr(file, "temporary_file_path", None)
        sizes.append(os.path.getsize(path()) if path else len(file.file.getvalue()))
        return file

    monkeypatch.setattr(uploads.CappedUploadHandler, "file_complete", recording)
    return sizes


def stored() -> tuple[int, int, int]:
    return Photo.objects.count(), IngestJob.objects.count(), IngestItem.objects.count()


# ------------------------------------------------------------------------------------------ Django's own answers


@pytest.mark.parametrize("path", ["/api/photos/abc/", "/api/faces/1.5/crop", "/api/people/-1/", "/api/nowhere/"])
def test_a_path_matching_no_route_is_a_json_404(api_client, path):
    body = assert_error(api_client.get(path), 404)
    assert body == {"message": "Not found.", "extra": {"path": path}}


def test_the_web_ui_keeps_its_html_404(client):
    response = client.get("/no-such-page/")
    assert response.status_code == 404 and response["Content-Type"].startswith("text/html")


@pytest.mark.django_db
def test_an_unsupported_method_is_a_json_405(api_client):
    body = assert_error(api_client.put("/api/photos/", {}, format="json"), 405)
    assert body["message"] == 'Method "PUT" not allowed.'


@pytest.mark.django_db
def test_an_unhandled_exception_is_a_json_500_without_the_traceback(api_client, monkeypatch):
    def broken(**kwargs):
        raise RuntimeError("internal detail that must not leak")

    monkeypatch.setattr(selectors, "photo_list", broken)
    api_client.raise_request_exception = False  # answer as the server does, instead of raising in the test

    response = api_client.get("/api/photos/")

    assert assert_error(response, 500) == {"message": "Server error.", "extra": {}}
    assert b"internal detail" not in response.content and b"Traceback" not in response.content


# ------------------------------------------------------------------------------------------------- request limits


@pytest.mark.django_db
@pytest.mark.parametrize("content_type", ["application/x-www-form-urlencoded", "multipart/form-data"])
def test_too_many_fields_is_a_json_400_and_changes_nothing(api_client, settings, content_type):
    settings.DATA_UPLOAD_MAX_NUMBER_FIELDS = 10
    person = PersonFactory()
    data = {"face_ids": list(range(1, 20))}
    if content_type == "multipart/form-data":
        response = api_client.post(f"/api/people/{person.id}/faces/", data, format="multipart")
    else:
        body = "&".join(f"face_ids={i}" for i in data["face_ids"])
        response = api_client.post(f"/api/people/{person.id}/faces/", body, content_type=content_type)

    body = assert_error(response, 400)
    assert body == {"message": "Too many fields: at most 10 in one request.", "extra": {"limit": 10}}
    assert person.faces.count() == 0


@pytest.mark.django_db
@pytest.mark.parametrize("path", ["/api/people/", "/api/search/"])
def test_a_body_over_the_data_limit_is_a_json_400_and_changes_nothing(api_client, settings, path):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1024
    response = api_client.post(path, {"name": "x" * 2000, "face_id": 1}, format="json")
    body = assert_error(response, 400)
    assert body == {"message": "The request's data (files aside) is over 1024 bytes.", "extra": {"limit": 1024}}
    assert Person.objects.count() == 0


@pytest.mark.django_db
def test_more_files_than_the_limit_is_a_json_400_and_nothing_is_stored(api_client, settings, dirs):
    settings.DATA_UPLOAD_MAX_NUMBER_FILES = 2
    files = [SimpleUploadedFile(f"{i}.jpg", jpeg_bytes(seed=i), content_type="image/jpeg") for i in range(3)]

    response = api_client.post("/api/photos/", {"files": files}, format="multipart")

    body = assert_error(response, 400)
    assert body == {"message": "Too many files: at most 2 in one request.", "extra": {"limit": 2}}
    assert stored() == (0, 0, 0)
    assert files_under(dirs["media"]) == [] and files_under(dirs["temp"]) == []


@pytest.mark.django_db
def test_an_oversized_file_is_cut_at_the_limit_while_it_streams_and_refused(api_client, settings, dirs, kept):
    settings.FACESEARCH_MAX_UPLOAD_BYTES = MiB
    big = SimpleUploadedFile("big.jpg", jpeg_bytes(seed=1) + bytes(40 * MiB), content_type="image/jpeg")

    response = api_client.post("/api/photos/", {"file": big}, format="multipart")

    body = assert_error(response, 400)
    assert body["message"] == f"The file is larger than the {MiB} byte limit."
    assert body["extra"] == {"file": "big.jpg", "size": big.size, "limit": MiB}
    assert kept == [MiB + 1]  # of 40 MiB sent, one byte over the limit reached the temporary file
    assert stored() == (0, 0, 0)
    assert files_under(dirs["media"]) == [] and files_under(dirs["temp"]) == []


@pytest.mark.django_db
def test_oversized_files_of_a_multi_file_upload_are_failed_items_and_the_others_stored(
    api_client, settings, dirs, kept
):
    settings.FACESEARCH_MAX_UPLOAD_BYTES = MiB
    files = [
        SimpleUploadedFile("big1.jpg", bytes(40 * MiB), content_type="image/jpeg"),
        SimpleUploadedFile("small.jpg", jpeg_bytes(seed=2), content_type="image/jpeg"),
        SimpleUploadedFile("big2.jpg", bytes(40 * MiB), content_type="image/jpeg"),
    ]

    response = api_client.post("/api/photos/", {"files": files}, format="multipart")

    assert response.status_code == 201, response.content
    results = {result["name"]: result for result in response.json()["results"]}
    for name in ("big1.jpg", "big2.jpg"):
        assert results[name]["error"] == f"The file is larger than the {MiB} byte limit."
        assert results[name]["photo"] is None and results[name]["created"] is False
    assert results["small.jpg"]["created"] is True and results["small.jpg"]["error"] is None
    assert kept == [MiB + 1, len(files[1]), MiB + 1]
    assert Photo.objects.count() == 1 and len(files_under(dirs["media"])) == 1
    assert files_under(dirs["temp"]) == []  # each temporary file went with the request


@pytest.mark.django_db
def test_an_oversized_query_image_is_cut_in_memory_and_refused(api_client, settings, dirs, kept):
    settings.FACESEARCH_MAX_UPLOAD_BYTES = MiB
    big = SimpleUploadedFile("query.jpg", bytes(40 * MiB), content_type="image/jpeg")

    response = api_client.post("/api/search/", {"file": big}, format="multipart")

    body = assert_error(response, 400)
    assert body["message"] == f"The file is larger than the {MiB} byte limit."
    assert kept == [MiB + 1]
    assert files_under(dirs["temp"]) == []


def test_a_client_without_credentials_still_gets_json(db):
    body = assert_error(APIClient().get("/api/photos/abc/"), 404)
    assert body["extra"] == {"path": "/api/photos/abc/"}
