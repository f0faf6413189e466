"""The whole read path over photos stored by the write path's own services: upload, enrol, search, identify."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.core.files import File

from facesearch.photos.models import Face, Photo
from facesearch.photos.processing import photos_encode
from facesearch.photos.services import photo_create
from tests.facesearch.conftest import central_index, lfw_stem, upload

pytestmark = pytest.mark.django_db


def _store(lfw_dir: Path, stem: str, user) -> Photo:
    path = lfw_dir / "images" / stem.rsplit("_", 1)[0] / f"{stem}.jpg"
    with path.open("rb") as handle:
        photo, created = photo_create(
            file=File(handle, name=path.name), library=user.personal_library, uploaded_by=user, enqueue=False
        )
    assert created
    photos_encode(photo_ids=[photo.id])
    photo.refresh_from_db()
    assert photo.status == Photo.Status.DONE, photo.error
    return photo


def test_uploaded_photos_are_searched_and_identified(api_client, user, lfw_dir, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    stems = [lfw_stem(person, i) for person in ("Colin_Powell", "Tony_Blair") for i in (1, 2, 3)]
    photos = {stem: _store(lfw_dir, stem, user) for stem in stems}
    powell_face = Face.objects.filter(photo=photos[lfw_stem("Colin_Powell", 1)]).order_by("index").first()
    person = api_client.post("/api/people/", {"name": "Colin Powell"}, format="json").json()
    enrol = api_client.post(f"/api/people/{person['id']}/faces/", {"face_ids": [powell_face.id]}, format="json")
    assert enrol.status_code == 200, enrol.content

    query = (lfw_dir / "images" / "Colin_Powell" / f"{lfw_stem('Colin_Powell', 4)}.jpg").read_bytes()
    search = api_client.post("/api/search/", {"file": upload(query), "limit": 5}, format="multipart").json()
    powell_photos = {photos[lfw_stem("Colin_Powell", i)].id for i in (1, 2, 3)}
    assert {m["photo"]["id"] for m in search["matches"][:3]} == powell_photos
    assert search["matches"][0]["photo"]["url"].endswith(f"/api/photos/{search['matches'][0]['photo']['id']}/image")

    identify = api_client.post("/api/identify/", {"file": upload(query)}, format="multipart").json()["faces"]
    answer = identify[central_index([f["box"] for f in identify])]
    assert answer["decision"] == "match"
    assert answer["person"] == {"id": person["id"], "name": "Colin Powell"}
