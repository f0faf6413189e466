"""POST /api/photos/ with real LFW photos: stored, processed by a real worker, bad input refused with nothing stored."""

from __future__ import annotations

import hashlib
import io
import struct
import zlib
from pathlib import Path

import numpy as np
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from PIL import Image

from embeddings.encoders import get_spec
from facesearch.photos.models import Face, IngestItem, IngestJob, Photo
from tests.facesearch.photos.support import files_under, wait_for


def upload(path: Path, name: str | None = None) -> SimpleUploadedFile:
    return SimpleUploadedFile(name or path.name, path.read_bytes(), content_type="image/jpeg")


def photo_when_processed(api_client, photo_id: int, timeout: float = 180) -> dict:
    def processed():
        body = api_client.get(f"/api/photos/{photo_id}/").json()
        return body if body["status"] in ("done", "failed") else None

    return wait_for(processed, timeout=timeout, what=f"photo {photo_id} to be processed")


@pytest.mark.django_db(transaction=True)
def test_uploaded_photos_get_their_faces_with_embeddings_from_the_worker(
    api_client, lfw_photos, celery_worker, settings
):
    powell_1, powell_2, blair = lfw_photos[0], lfw_photos[1], lfw_photos[2]
    created = []
    for path in (powell_1, powell_2, blair):
        response = api_client.post("/api/photos/", {"file": upload(path)}, format="multipart")
        assert response.status_code == 201, response.content
        body = response.json()
        assert body["sha256"] == hashlib.sha256(path.read_bytes()).hexdigest()
        assert (body["width"], body["height"], body["original_name"]) == (250, 250, path.name)
        assert body["status"] in ("pending", "processing", "done")
        created.append(body)

    photos = [photo_when_processed(api_client, body["id"]) for body in created]
    model_id = get_spec(settings.FACESEARCH_ENCODER).model_id
    for photo in photos:
        assert photo["status"] == "done" and photo["error"] == "" and photo["model_id"] == model_id
        assert len(photo["faces"]) >= 1
        face = photo["faces"][0]
        x1, y1, x2, y2 = face["box"]
        assert 0 <= x1 < x2 <= 250 and 0 <= y1 < y2 <= 250 and 80 < x1 + x2 < 420  # LFW faces are centred
        assert face["score"] > 0.9 and face["person"] is None and face["index"] == 0
        assert set(face["quality"]) == {"box_size", "sharpness", "yaw", "pitch", "roll", "passed"}
        assert face["quality"]["passed"] is True and face["hidden"] is False  # an LFW subject passes the gate

    rows = {photo["id"]: list(Face.objects.filter(photo_id=photo["id"]).order_by("index")) for photo in photos}
    assert sum(map(len, rows.values())) == sum(len(photo["faces"]) for photo in photos)
    for face in (face for faces in rows.values() for face in faces):
        vector = np.asarray(face.embedding)
        assert vector.shape == (128,) and abs(np.linalg.norm(vector) - 1) < 1e-4 and face.model_id == model_id
    first = [np.asarray(rows[photo["id"]][0].embedding) for photo in photos]
    same, different = np.linalg.norm(first[0] - first[1]), np.linalg.norm(first[0] - first[2])
    assert same < get_spec(settings.FACESEARCH_ENCODER).threshold < different  # real embeddings, not noise

    crop = api_client.get(photos[0]["faces"][0]["crop_url"])
    assert crop.status_code == 200 and crop["Content-Type"] == "image/jpeg"
    assert Image.open(io.BytesIO(crop.content)).format == "JPEG"
    image = api_client.get(photos[0]["url"])
    assert image.status_code == 200 and b"".join(image.streaming_content) == powell_1.read_bytes()
    thumbnail = api_client.get(photos[0]["url"], {"size": 64})
    assert Image.open(io.BytesIO(thumbnail.content)).size == (64, 64)
    listed = api_client.get("/api/faces/", {"photo": photos[0]["id"]}).json()
    assert [face["id"] for face in listed["results"]] == [face["id"] for face in photos[0]["faces"]]


@pytest.mark.django_db
def test_upload_of_same_bytes_returns_existing_photo(api_client, lfw_photos, media_root):
    first = api_client.post("/api/photos/", {"file": upload(lfw_photos[0])}, format="multipart")
    again = api_client.post("/api/photos/", {"file": upload(lfw_photos[0], "renamed.jpg")}, format="multipart")
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json()["id"] == first.json()["id"] and again.json()["original_name"] == lfw_photos[0].name
    assert Photo.objects.count() == 1
    assert len(files_under(media_root)) == 1


@pytest.mark.django_db(transaction=True)
def test_upload_of_several_files_is_a_job_where_a_bad_file_fails_with_its_reason(api_client, lfw_photos, celery_worker):
    files = [upload(lfw_photos[3]), upload(lfw_photos[4]), SimpleUploadedFile("notes.jpg", b"not an image at all\n")]
    response = api_client.post("/api/photos/", {"files": files}, format="multipart")
    assert response.status_code == 201, response.content
    body = response.json()
    assert [(r["name"], r["created"], r["photo"] is not None) for r in body["results"]] == [
        (lfw_photos[3].name, True, True),
        (lfw_photos[4].name, True, True),
        ("notes.jpg", False, False),
    ]
    assert "not an image" in body["results"][2]["error"]
    job_id = body["job"]["id"]
    assert body["job"]["source"] == "upload" and body["job"]["total"] == 3 and body["job"]["failed"] == 1

    job = wait_for(
        lambda: (data := api_client.get(f"/api/jobs/{job_id}/").json())["state"] == "done" and data,
        timeout=180,
        what="the upload job to finish",
    )
    assert (job["total"], job["done"], job["skipped"], job["failed"], job["pending"], job["progress"]) == (
        3, 2, 0, 1, 0, 1.0
    )  # fmt: skip
    assert [(item["name"], "not an image" in item["error"]) for item in job["failures"]] == [("notes.jpg", True)]
    assert job["finished_at"] is not None

    again = api_client.post("/api/photos/", {"files": [upload(lfw_photos[3])]}, format="multipart")
    assert again.status_code == 200 and again.json()["results"][0]["created"] is False
    assert again.json()["job"]["skipped"] == 1 and again.json()["job"]["state"] == "done"


def _png_bomb() -> bytes:
    """A valid PNG header announcing 100000 x 100000 pixels (and almost no data)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", 100_000, 100_000, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"\x00" * 64))
        + chunk(b"IEND", b"")
    )


BAD_UPLOADS = {
    "text": (lambda path: b"hello, I am a text file\n", "not an image"),
    "truncated_jpeg": (lambda path: path.read_bytes()[: len(path.read_bytes()) // 2], "truncated"),
    "empty": (lambda path: b"", "empty"),
    "over_byte_limit": (lambda path: path.read_bytes(), "byte limit"),
    "pixel_bomb_png": (lambda path: _png_bomb(), "pixel"),
}


@pytest.mark.django_db
@pytest.mark.parametrize("kind", BAD_UPLOADS)
def test_bad_upload_is_refused_with_400_and_nothing_stored(api_client, lfw_photos, media_root, settings, kind):
    content_of, expected = BAD_UPLOADS[kind]
    content = content_of(lfw_photos[0])
    if kind == "over_byte_limit":
        settings.FACESEARCH_MAX_UPLOAD_BYTES = len(content) - 1
    before = (Photo.objects.count(), Face.objects.count(), IngestJob.objects.count(), IngestItem.objects.count())

    response = api_client.post("/api/photos/", {"file": SimpleUploadedFile("x.jpg", content)}, format="multipart")

    assert response.status_code == 400, response.content
    assert expected in response.json()["message"] and response.json()["extra"]["file"] == "x.jpg"
    after = (Photo.objects.count(), Face.objects.count(), IngestJob.objects.count(), IngestItem.objects.count())
    assert after == before
    assert files_under(media_root) == []


@pytest.mark.django_db
def test_several_files_all_bad_are_refused_with_their_reasons_and_no_job(api_client, media_root):
    files = [SimpleUploadedFile("a.jpg", b"text"), SimpleUploadedFile("b.png", b"")]
    response = api_client.post("/api/photos/", {"files": files}, format="multipart")
    assert response.status_code == 400
    assert [error["file"] for error in response.json()["extra"]["errors"]] == ["a.jpg", "b.png"]
    assert (IngestJob.objects.count(), IngestItem.objects.count(), Photo.objects.count()) == (0, 0, 0)
    assert files_under(media_root) == []


@pytest.mark.django_db
@pytest.mark.parametrize(
    "data",
    [{}, {"file": "just a string"}],
    ids=["no_file", "not_a_file"],
)
def test_upload_without_a_file_is_a_400(api_client, data, media_root):
    response = api_client.post("/api/photos/", data, format="multipart")
    assert response.status_code == 400
    assert set(response.json()) == {"message", "extra"}
    assert Photo.objects.count() == 0


@pytest.mark.django_db
def test_upload_with_a_json_body_is_a_400(api_client):
    response = api_client.post("/api/photos/", {"file": "x"}, format="json")
    assert response.status_code == 400 and set(response.json()) == {"message", "extra"}


def _selects_from(table: str, queries: list[dict]) -> int:
    return sum(query["sql"].startswith("SELECT") and f'FROM "{table}"' in query["sql"] for query in queries)


@pytest.mark.django_db
def test_answer_to_several_files_reads_their_photos_faces_and_uploaders_at_once(api_client, lfw_photos, media_root):
    """Storing costs queries per file (the service's); the answer must not: one read of the photos with their faces
    and uploaders, where reading each result's photo would add three queries per file."""
    captured = {}
    for paths in (lfw_photos[:1], lfw_photos[1:5]):
        with CaptureQueriesContext(connection) as queries:
            response = api_client.post("/api/photos/", {"files": [upload(path) for path in paths]}, format="multipart")
        assert response.status_code == 201, response.content
        results = response.json()["results"]
        assert [(result["name"], result["photo"]["original_name"]) for result in results] == [
            (path.name, path.name) for path in paths
        ]
        captured[len(paths)] = queries.captured_queries

    for files, queries in captured.items():
        assert _selects_from("photos_face", queries) == 1, files  # the faces of every photo, prefetched together
    assert _selects_from("auth_user", captured[4]) == _selects_from("auth_user", captured[1])
