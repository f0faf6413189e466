"""Fixtures of the Django app tests: a user and its API client, and real LFW faces encoded once per session.

The LFW gallery is made of Face rows holding the real embeddings (what ingest would store), so most read-path tests
do not pay for encoding again; the tests of the full upload path go through the photos services instead.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
from django.conf import settings
from PIL import Image
from rest_framework.test import APIClient

import embeddings
from facesearch.core.pipeline import get_pipeline
from facesearch.photos.models import Face, Photo
from tests.factories import FaceFactory, PhotoFactory, TokenFactory, UserFactory, first_library


@pytest.fixture(autouse=True)
def fast_password_hashing(settings):
    """PBKDF2's deliberate slowness costs seconds per user on a busy 2-core machine; tests need no such protection."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def user(db):
    return UserFactory()


@pytest.fixture
def api_client(user) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {TokenFactory(user=user).key}")
    return client


ENROLLED = (
    "George_W_Bush",
    "Colin_Powell",
    "Tony_Blair",
    "Donald_Rumsfeld",
    "Gerhard_Schroeder",
    "Ariel_Sharon",
    "Hugo_Chavez",
)
GALLERY_PER_PERSON = 5  # images 1..5 of each enrolled person are in the gallery; image 1 is enrolled
QUERY_IMAGE = 6  # image 6 of each is never stored: a query
STRANGERS = (
    "Jacques_Chirac_0001",
    "Junichiro_Koizumi_0001",
    "Jean_Chretien_0001",
    "Serena_Williams_0001",
    "John_Ashcroft_0001",
    "Vladimir_Putin_0001",
    "Laura_Bush_0001",
    "Lleyton_Hewitt_0001",
)


@dataclass(frozen=True)
class LfwImage:
    person: str
    stem: str  # e.g. Colin_Powell_0001
    data: bytes  # the JPEG as stored in LFW
    face: embeddings.Face  # the face nearest the image centre (the image's subject)


def lfw_stem(person: str, number: int) -> str:
    return f"{person}_{number:04d}"


def central_index(boxes: list[list[float]], size: tuple[int, int] = (250, 250)) -> int:
    """Index of the box nearest the centre of an LFW image (for API answers listing every face)."""
    cx, cy = size[0] / 2, size[1] / 2

    def off_centre(box: list[float]) -> float:
        return ((box[0] + box[2]) / 2 - cx) ** 2 + ((box[1] + box[3]) / 2 - cy) ** 2

    return min(range(len(boxes)), key=lambda i: off_centre(boxes[i]))


@pytest.fixture(scope="session")
def lfw_images(lfw_dir: Path) -> dict[str, LfwImage]:
    """Every image the read-path tests use, encoded once by the real pipeline; keyed by stem. One image at a time, as
    a query is: a batch of another size moves YuNet's and O-Net's results in their last digits, and the tests hold the
    API's distances to these within 2e-4."""
    stems = [(p, lfw_stem(p, i)) for p in ENROLLED for i in range(1, QUERY_IMAGE + 1)]
    stems += [(s.rsplit("_", 1)[0], s) for s in STRANGERS]
    datas = [(lfw_dir / "images" / person / f"{stem}.jpg").read_bytes() for person, stem in stems]
    pixels = [embeddings.read(data) for data in datas]
    pipeline = get_pipeline(settings.FACESEARCH_ENCODER)  # no database here: name it
    results = [pipeline.encode(image) for image in pixels]
    images = {}
    for (person, stem), data, image, faces in zip(stems, datas, pixels, results, strict=True):
        assert faces, f"no face found in {stem}"
        images[stem] = LfwImage(
            person=person, stem=stem, data=data, face=embeddings.nearest_to_centre(faces, image.shape)
        )
    return images


@pytest.fixture
def gallery(db, lfw_images: dict[str, LfwImage]) -> dict[str, Face]:
    """Photos 1..5 of each enrolled person and one photo of each stranger, as stored faces; keyed by stem.

    The factories' rows, inserted in two statements: their 86 single-row saves took 0.28 s per test, these 0.10 s."""
    library = first_library()
    stored = {
        stem: image
        for stem, image in lfw_images.items()
        if image.person not in ENROLLED or int(stem.rsplit("_", 1)[1]) <= GALLERY_PER_PERSON
    }
    photos = Photo.objects.bulk_create(
        PhotoFactory.build(library=library, content=image.data, original_name=f"{stem}.jpg", width=250, height=250)
        for stem, image in stored.items()
    )
    faces = Face.objects.bulk_create(
        FaceFactory.build(
            photo=photo,
            index=0,
            box=[float(v) for v in image.face.box],
            score=float(image.face.score),
            embedding=image.face.embedding,
            model_id=image.face.model_id,
        )
        for photo, image in zip(photos, stored.values(), strict=True)
    )
    return dict(zip(stored, faces, strict=True))


def upload(data: bytes, name: str = "query.jpg") -> io.BytesIO:
    file = io.BytesIO(data)
    file.name = name
    return file


@pytest.fixture(scope="session")
def faceless_jpeg() -> bytes:
    """A real image with no face in it: a smooth grey gradient."""
    gradient = np.tile(np.linspace(60, 200, 240, dtype=np.uint8), (240, 1))
    buffer = io.BytesIO()
    Image.fromarray(np.stack([gradient] * 3, axis=-1)).save(buffer, "JPEG")
    return buffer.getvalue()


def media_files(root: Path) -> int:
    return sum(1 for path in Path(root).rglob("*") if path.is_file()) if Path(root).exists() else 0
