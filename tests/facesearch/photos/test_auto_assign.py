"""Ingest names new faces after an enrolled person when they are that close (real LFW photos, real pipeline)."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from facesearch.core.pipeline import get_pipeline
from facesearch.people.services import faces_assign, faces_unassign
from facesearch.photos import processing, services
from facesearch.photos.models import Face, Photo
from tests.factories import PersonFactory, first_library

pytestmark = pytest.mark.django_db


def ingest(path: Path, data: bytes | None = None) -> Photo:
    photo, _ = services.photo_create(
        file=SimpleUploadedFile(path.name, data or path.read_bytes()),
        library=first_library(),
        uploaded_by=None,
        enqueue=False,
    )
    processing.photos_encode(photo_ids=[photo.id])
    return photo


def faces_of(photo: Photo) -> list[Face]:
    return list(Face.objects.filter(photo=photo).order_by("index"))


@pytest.fixture
def powell(lfw_dir: Path, media_root: Path):
    """Colin Powell, enrolled with the face of his first LFW photo."""
    person = PersonFactory(name="Colin Powell")
    (face,) = faces_of(ingest(lfw_dir / "images/Colin_Powell/Colin_Powell_0001.jpg"))
    faces_assign(person=person, face_ids=[face.id], how=Face.Assignment.ENROLLED)
    return person


def powell_photo(lfw_dir: Path, number: int) -> Path:
    return lfw_dir / f"images/Colin_Powell/Colin_Powell_{number:04d}.jpg"


def test_a_new_photo_of_an_enrolled_person_is_named_automatically_and_a_strangers_is_not(powell, lfw_dir):
    (face,) = faces_of(ingest(powell_photo(lfw_dir, 2)))
    assert (face.person_id, face.assignment) == (powell.id, Face.Assignment.AUTOMATIC)
    assert 0 < face.assignment_distance <= get_pipeline().spec.auto_assign_distance

    (serena,) = faces_of(ingest(lfw_dir / "images/Serena_Williams/Serena_Williams_0001.jpg"))
    assert (serena.person_id, serena.assignment, serena.assignment_distance) == (None, "", None)


def test_automatically_named_faces_never_name_further_faces(powell, lfw_dir):
    (second,) = faces_of(ingest(powell_photo(lfw_dir, 2)))
    assert second.person_id == powell.id
    enrolled = Face.objects.filter(person=powell, assignment=Face.Assignment.ENROLLED).values_list("id", flat=True)
    faces_unassign(face_ids=enrolled, library_id=powell.library_id)

    (third,) = faces_of(ingest(powell_photo(lfw_dir, 3)))  # close to the automatic face, but nobody confirmed it
    assert third.person_id is None


def test_reprocessing_does_not_rename_a_face_that_a_person_unassigned(powell, lfw_dir):
    photo = ingest(powell_photo(lfw_dir, 2))
    (face,) = faces_of(photo)
    faces_unassign(face_ids=[face.id], library_id=powell.library_id)  # "not him"

    processing.photos_encode(photo_ids=[photo.id])

    assert [(f.id, f.person_id) for f in faces_of(photo)] == [(face.id, None)]


def test_a_person_is_named_once_per_photo(powell, lfw_dir):
    """Two copies of one photo of him side by side: both faces match him, only one can be him."""
    half = Image.open(powell_photo(lfw_dir, 2))
    pair = Image.new("RGB", (half.width * 2, half.height))
    pair.paste(half, (0, 0))
    pair.paste(half, (half.width, 0))
    buffer = io.BytesIO()
    pair.save(buffer, "JPEG", quality=95)

    faces = faces_of(ingest(powell_photo(lfw_dir, 2).with_name("pair.jpg"), buffer.getvalue()))

    assert len(faces) >= 2
    assert [face.person_id for face in faces].count(powell.id) == 1


def test_automatic_naming_can_be_turned_off(powell, lfw_dir, settings):
    settings.FACESEARCH_AUTO_ASSIGN = False
    (face,) = faces_of(ingest(powell_photo(lfw_dir, 2)))
    assert face.person_id is None
