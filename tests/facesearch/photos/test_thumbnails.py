"""Thumbnails (`GET /api/photos/{id}/image?size=N`) are decoded from the original once per cached size, kept under
MEDIA_ROOT/thumbs/, and deleted with the photo's file."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from PIL import Image

from facesearch.photos import selectors
from facesearch.photos.storage import photo_file_delete, thumbnail_file_write
from tests.facesearch.photos.support import files_under
from tests.factories import PhotoFactory, jpeg_bytes


def thumbnails(media_root: Path) -> list[str]:
    return [path.name for path in files_under(media_root / "thumbs")]


def size_of(response) -> tuple[int, int]:
    assert response.status_code == 200 and response["Content-Type"] == "image/jpeg"
    return Image.open(io.BytesIO(response.content)).size


@pytest.fixture
def photo(media_root):
    return PhotoFactory(content=jpeg_bytes(800, 600, seed=1), width=800, height=600)


@pytest.mark.django_db
def test_a_thumbnail_is_decoded_once_then_served_from_disk(api_client, photo, media_root, monkeypatch):
    first = api_client.get(f"/api/photos/{photo.id}/image", {"size": 320})
    cached = media_root / "thumbs" / photo.sha256[:2] / photo.sha256[2:4] / f"{photo.sha256}-320.jpg"
    written = cached.stat().st_mtime_ns

    def no_decoding(*args, **kwargs):
        raise AssertionError("the original was decoded again")

    monkeypatch.setattr(selectors, "read_stored", no_decoding)
    again = api_client.get(f"/api/photos/{photo.id}/image", {"size": 320})

    assert size_of(first) == (320, 240) and again.content == first.content == cached.read_bytes()
    assert cached.stat().st_mtime_ns == written
    assert again["ETag"] == f'"{photo.sha256}-320"'


@pytest.mark.django_db
def test_other_sizes_are_scaled_from_the_next_cached_size_and_large_ones_not_kept(api_client, photo, media_root):
    assert size_of(api_client.get(f"/api/photos/{photo.id}/image", {"size": 200})) == (200, 150)
    assert size_of(api_client.get(f"/api/photos/{photo.id}/image", {"size": 240})) == (240, 180)
    assert thumbnails(media_root) == [f"{photo.sha256}-256.jpg"]  # both from the 256 one: one file, not two

    assert size_of(api_client.get(f"/api/photos/{photo.id}/image", {"size": 2000})) == (800, 600)
    assert thumbnails(media_root) == [f"{photo.sha256}-256.jpg"]  # above the largest cached size: rendered each time


@pytest.mark.django_db
def test_a_small_photo_is_cached_once_at_the_first_size_that_holds_it(api_client, media_root):
    small = PhotoFactory(content=jpeg_bytes(100, 75, seed=2), width=100, height=75)
    sizes = [size_of(api_client.get(f"/api/photos/{small.id}/image", {"size": size})) for size in (64, 256, 1024)]
    assert sizes == [(64, 48), (100, 75), (100, 75)]
    assert thumbnails(media_root) == [f"{small.sha256}-128.jpg"]


@pytest.mark.django_db
def test_deleting_the_photos_file_deletes_its_thumbnails_and_no_other(api_client, photo, media_root):
    other = PhotoFactory(content=jpeg_bytes(800, 600, seed=3), width=800, height=600)
    for size in (96, 320, 1024):
        for each in (photo, other):
            assert api_client.get(f"/api/photos/{each.id}/image", {"size": size}).status_code == 200
    assert len(thumbnails(media_root)) == 6

    photo_file_delete(name=photo.file.name)

    assert not any(photo.sha256 in str(path) for path in media_root.rglob("*"))
    assert thumbnails(media_root) == sorted(f"{other.sha256}-{size}.jpg" for size in (128, 320, 1024))
    photo_file_delete(name=other.file.name)
    assert sorted(media_root.rglob("*")) == [media_root / "photos", media_root / "thumbs"]  # no folders under them


@pytest.mark.django_db
def test_a_thumbnail_rendered_while_its_photo_is_deleted_is_not_left_behind(photo, media_root):
    data = selectors.photo_rendered(photo=photo, size=640)  # the request read the file before the delete...
    photo_file_delete(name=photo.file.name)
    thumbnail_file_write(photo_name=photo.file.name, size=640, data=data)  # ...and stores its thumbnail after it

    assert sorted(media_root.rglob("*")) == [media_root / "photos", media_root / "thumbs"]  # empty, and no folders
