"""Only real faces: the quality gate hides false detections at ingest; "Not a face", "Ignore" and "Keep" are a person's
verdicts, undoable, kept across reprocessing, and each takes the face out of what it should leave (search, Unknown
faces, suggestions, automatic naming)."""

from __future__ import annotations

from pathlib import Path

import pytest

from facesearch.grouping.services import faces_group
from facesearch.people.models import Person
from facesearch.photos import processing
from facesearch.photos.models import Face, Photo
from tests.facesearch.conftest import LfwImage, upload
from tests.facesearch.libraries.support import face_store
from tests.factories import PersonFactory, PhotoFactory, first_library

REAL_PHOTOS = Path(__file__).resolve().parents[4] / "shared" / "data" / "real-photos"
PATCHES = "Male_24_2_3_1.jpg"  # a man before a blurred crowd: 1 face and 2 blurred patches YuNet boxes (hand labelled)


def review(client, face_id: int, verdict: str):
    return client.post(f"/api/faces/{face_id}/review/", {"review": verdict}, format="json")


def listed(client, **query) -> list[int]:
    response = client.get("/api/faces/", {"page_size": 100, **query})
    assert response.status_code == 200, response.content
    return [face["id"] for face in response.json()["results"]]


def searched(client, data: bytes) -> list[int]:
    response = client.post("/api/search/", {"file": upload(data)}, format="multipart")
    assert response.status_code == 200, response.content
    return [match["face"]["id"] for match in response.json()["matches"]]


@pytest.fixture
def patches(db, user, media_root: Path) -> Photo:
    """The photo with two blurred patches, processed as ingest processes it (in this process)."""
    if not (REAL_PHOTOS / PATCHES).is_file():
        pytest.skip(f"real photos not found at {REAL_PHOTOS}")
    photo = PhotoFactory(content=(REAL_PHOTOS / PATCHES).read_bytes(), width=1053, height=712, model_id="")
    processing.photos_encode(photo_ids=[photo.id])
    return photo


@pytest.mark.django_db
def test_the_gate_hides_the_blurred_patches_and_shows_the_face(api_client, patches):
    faces = list(Face.objects.filter(photo=patches).order_by("index"))
    assert len(faces) == 3
    man = faces[0]
    assert [f.quality_passed for f in faces] == [True, False, False]
    assert listed(api_client, photo=patches.id, hidden="false") == [man.id]
    assert listed(api_client, awaiting_name="true") == [man.id]  # Unknown faces
    assert len(listed(api_client, unassigned="true")) == 3  # "show hidden": all of them, flagged
    body = api_client.get(f"/api/faces/{faces[2].id}/").json()
    assert body["hidden"] is True and body["quality"]["passed"] is False and body["review"] == ""
    # Searching with the photo itself finds the man's face, never a patch.
    assert searched(api_client, (REAL_PHOTOS / PATCHES).read_bytes()) == [man.id]


@pytest.mark.django_db
def test_not_a_face_is_left_out_everywhere_survives_reprocessing_and_undo_brings_it_back(api_client, patches):
    man, patch = Face.objects.filter(photo=patches).order_by("index")[:2]
    body = review(api_client, man.id, "not_face").json()
    assert body["review"] == "not_face" and body["hidden"] is True
    assert listed(api_client, awaiting_name="true") == []
    assert searched(api_client, (REAL_PHOTOS / PATCHES).read_bytes()) == []

    processing.photos_encode(photo_ids=[patches.id])  # a re-encode: the same rows, updated in place

    assert Face.objects.get(id=man.id).review == "not_face"
    assert listed(api_client, photo=patches.id, hidden="false") == []

    # "Keep" on a face the gate hid shows it; undo puts both back to the gate's judgement.
    assert review(api_client, patch.id, "face").json()["hidden"] is False
    assert listed(api_client, awaiting_name="true") == [patch.id]
    assert review(api_client, patch.id, "").json()["hidden"] is True
    body = review(api_client, man.id, "").json()
    assert body["review"] == "" and body["hidden"] is False
    assert listed(api_client, awaiting_name="true") == [man.id]
    assert searched(api_client, (REAL_PHOTOS / PATCHES).read_bytes()) == [man.id]


@pytest.mark.django_db
def test_not_a_face_on_a_named_face_removes_the_name_and_hides_it(api_client, user, lfw_images: dict[str, LfwImage]):
    person = PersonFactory(name="Colin Powell", library=first_library())
    face = face_store(first_library(), lfw_images["Colin_Powell_0001"], person=person, how=Face.Assignment.MANUAL)
    assert searched(api_client, lfw_images["Colin_Powell_0002"].data) == [face.id]

    body = review(api_client, face.id, "not_face").json()

    assert body["person"] is None and body["hidden"] is True
    assert Person.objects.get(id=person.id).faces.count() == 0
    assert searched(api_client, lfw_images["Colin_Powell_0002"].data) == []


@pytest.mark.django_db
def test_ignore_takes_a_real_face_out_of_unknown_faces_and_suggestions_but_not_out_of_search(
    api_client, user, lfw_images: dict[str, LfwImage]
):
    library = first_library()
    faces = [face_store(library, lfw_images[f"Colin_Powell_000{i}"]) for i in (1, 2, 3)]
    faces_group(face_ids=[f.id for f in faces])
    suggestions = api_client.get("/api/people/suggestions/", {"library": library.id}).json()
    assert [sorted(f["id"] for f in g["faces"]) for g in suggestions["groups"]] == [sorted(f.id for f in faces)]

    assert review(api_client, faces[0].id, "ignored").json()["review"] == "ignored"
    assert review(api_client, faces[1].id, "ignored").json()["hidden"] is False  # a real face: not hidden

    assert listed(api_client, awaiting_name="true") == [faces[2].id]
    assert api_client.get("/api/people/suggestions/", {"library": library.id}).json()["groups"] == []
    assert set(searched(api_client, lfw_images["Colin_Powell_0004"].data)) == {f.id for f in faces}

    # Undo: both await a name again and are suggested with the third.
    review(api_client, faces[0].id, "")
    review(api_client, faces[1].id, "")
    assert sorted(listed(api_client, awaiting_name="true")) == sorted(f.id for f in faces)
    suggestions = api_client.get("/api/people/suggestions/", {"library": library.id}).json()
    assert [sorted(f["id"] for f in g["faces"]) for g in suggestions["groups"]] == [sorted(f.id for f in faces)]


@pytest.mark.django_db
def test_a_named_face_cannot_be_ignored_and_a_bad_verdict_is_a_400(api_client, user, lfw_images):
    person = PersonFactory(name="Colin Powell", library=first_library())
    face = face_store(first_library(), lfw_images["Colin_Powell_0001"], person=person, how=Face.Assignment.MANUAL)
    response = review(api_client, face.id, "ignored")
    assert response.status_code == 409 and "remove the name" in response.json()["message"]
    assert review(api_client, face.id, "maybe").status_code == 400
    assert Face.objects.get(id=face.id).review == "" and Face.objects.get(id=face.id).person_id == person.id


@pytest.mark.django_db
@pytest.mark.parametrize("gate", [True, False])
def test_automatic_naming_passes_over_faces_the_gate_hid(
    api_client, user, media_root: Path, lfw_images: dict[str, LfwImage], monkeypatch, gate: bool
):
    """Colin Powell is enrolled; his second photo is named automatically at ingest, unless the gate hid its face."""
    library = first_library()
    person = PersonFactory(name="Colin Powell", library=library)
    face_store(library, lfw_images["Colin_Powell_0001"], person=person, how=Face.Assignment.ENROLLED)
    monkeypatch.setattr(processing, "_passes_gate", lambda *_: gate)
    photo = PhotoFactory(content=lfw_images["Colin_Powell_0002"].data, width=250, height=250, model_id="")

    processing.photos_encode(photo_ids=[photo.id])

    named = Face.objects.filter(photo=photo, person=person)
    assert named.count() == (1 if gate else 0)
    assert Face.objects.filter(photo=photo, hidden=not gate).exists()
