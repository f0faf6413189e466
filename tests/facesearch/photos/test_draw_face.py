"""POST /api/photos/{id}/faces/: a face the detector missed, drawn by hand on a real LFW photo, is landmarked, encoded
like the detected one, kept by a re-encode, deleted with its photo; bad boxes, overlaps and others' photos refused."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from embeddings import same_person
from facesearch.core.pipeline import get_pipeline
from facesearch.libraries.models import AuditEntry, Membership, Role
from facesearch.photos import processing
from facesearch.photos.ingest import photos_reprocess
from facesearch.photos.models import Face, Photo
from tests.facesearch.conftest import LfwImage
from tests.facesearch.libraries.support import face_store, user_client
from tests.facesearch.photos.support import wait_for
from tests.factories import LibraryFactory, PersonFactory, UserFactory, first_library

POWELL = "images/Colin_Powell/Colin_Powell_0001.jpg"


def central(photo: Photo) -> Face:
    """The photo's subject: LFW centres it."""
    faces = Face.objects.filter(photo=photo)
    return min(faces, key=lambda f: abs(f.box[0] + f.box[2] - 250) + abs(f.box[1] + f.box[3] - 250))


def missed(face: Face) -> dict:
    """What the detector knew of `face`, which is then deleted: the face a person has to draw."""
    known = {"box": face.box, "landmarks": np.array(face.landmarks), "embedding": np.asarray(face.embedding)}
    face.delete()
    return known


def loose(box: list[float], factor: float = 1.15) -> list[float]:
    """The box a person draws around a face: a little larger than the detector's."""
    cx, cy, hw, hh = (box[0] + box[2]) / 2, (box[1] + box[3]) / 2, (box[2] - box[0]) / 2, (box[3] - box[1]) / 2
    return [round(v, 1) for v in (cx - hw * factor, cy - hh * factor, cx + hw * factor, cy + hh * factor)]


def draw(client, photo_id: int, box: list[float], **extra):
    return client.post(f"/api/photos/{photo_id}/faces/", {"box": box, **extra}, format="json")


@pytest.fixture
def powell(db, user, media_root: Path, lfw_images: dict[str, LfwImage]) -> Photo:
    """Colin Powell's first LFW photo, stored with its subject's face as processing stores it (encoded once)."""
    image = lfw_images["Colin_Powell_0001"]
    face = face_store(first_library(), image)
    Face.objects.filter(id=face.id).update(landmarks=image.face.landmarks.tolist())
    return face.photo


@pytest.mark.django_db
def test_a_drawn_face_is_landmarked_and_encoded_like_the_detected_one(api_client, powell):
    known = missed(central(powell))
    box = loose(known["box"])

    response = draw(api_client, powell.id, box)

    assert response.status_code == 201, response.content
    body = response.json()
    assert body["source"] == "drawn" and body["box"] == box and body["photo"] == powell.id
    assert body["score"] >= get_pipeline().landmarker.thresholds[2]  # O-Net saw a face: its landmarks were kept
    errors = np.linalg.norm(np.array(body["landmarks"]) - known["landmarks"], axis=1)
    assert errors.mean() < 3 and errors.max() < 6, errors
    face = Face.objects.get(id=body["id"])
    assert face.source == Face.Source.DRAWN and face.model_id == powell.model_id and face.searchable
    distance = float(np.linalg.norm(np.asarray(face.embedding) - known["embedding"]))
    assert same_person(distance, get_pipeline().threshold), distance
    assert api_client.get(body["crop_url"]).status_code == 200
    listed = api_client.get("/api/faces/", {"photo": powell.id}).json()["results"]
    assert body["id"] in [f["id"] for f in listed]
    drawn = api_client.get("/api/faces/", {"source": "drawn"}).json()["results"]
    assert [f["id"] for f in drawn] == [body["id"]]


@pytest.mark.django_db
def test_drawing_over_a_face_answers_409_naming_it_and_never_duplicates(api_client, powell):
    face = central(powell)
    count = Face.objects.count()

    response = draw(api_client, powell.id, loose(face.box, 1.1))

    assert response.status_code == 409, response.content
    assert response.json()["extra"] == {"photo": powell.id, "face": face.id}
    missed(face)
    first = draw(api_client, powell.id, loose(face.box))
    again = draw(api_client, powell.id, loose(face.box))  # a retry of the same request
    assert first.status_code == 201 and again.status_code == 409
    assert again.json()["extra"]["face"] == first.json()["id"]
    assert Face.objects.count() == count


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("box", "message"),
    [
        ([100, 100, 100, 160], "x1 < x2 and y1 < y2"),
        ([160, 100, 100, 160], "x1 < x2 and y1 < y2"),
        ([-5, 10, 60, 80], "inside the 250x250 photo"),
        ([200, 200, 260, 249], "inside the 250x250 photo"),
        ([5, 5, 15, 60], "at least 20 pixels a side"),
    ],
)
def test_a_bad_box_is_a_400_and_stores_nothing(api_client, powell, box, message):
    count = Face.objects.count()
    response = draw(api_client, powell.id, box)
    assert response.status_code == 400, response.content
    assert message in response.json()["message"]
    assert Face.objects.count() == count


@pytest.mark.django_db
@pytest.mark.parametrize("body", [{"box": [1, 2, 3]}, {"box": "10,10,80,80"}, {}, {"box": [1, 2, 3, "x"]}])
def test_a_malformed_body_is_a_400(api_client, powell, body):
    response = api_client.post(f"/api/photos/{powell.id}/faces/", body, format="json")
    assert response.status_code == 400, response.content


@pytest.mark.django_db
@pytest.mark.parametrize("status", [Photo.Status.PENDING, Photo.Status.PROCESSING, Photo.Status.FAILED])
def test_a_photo_not_processed_is_a_409(api_client, powell, status):
    known = missed(central(powell))
    Photo.objects.filter(id=powell.id).update(status=status)
    response = draw(api_client, powell.id, loose(known["box"]))
    assert response.status_code == 409, response.content
    assert response.json()["extra"] == {"photo": powell.id, "status": status}


@pytest.mark.django_db
def test_another_users_photo_is_a_404_and_a_viewer_gets_403(api_client, powell):
    known = missed(central(powell))
    count = Face.objects.count()
    stranger = user_client(UserFactory(username="mallory"))
    hidden = draw(stranger, powell.id, loose(known["box"]))
    assert hidden.status_code == 404 and hidden.json() == {"message": "No such photo.", "extra": {"id": powell.id}}
    viewer = UserFactory(username="vic")
    Membership.objects.create(library=powell.library, user=viewer, role=Role.VIEWER)
    refused = draw(user_client(viewer), powell.id, loose(known["box"]))
    assert refused.status_code == 403 and refused.json()["extra"]["needs"] == "upload"
    assert Face.objects.count() == count


@pytest.mark.django_db
def test_a_drawn_face_can_be_named_at_once_and_the_naming_is_audited(api_client, powell, user):
    person = PersonFactory(name="Colin Powell", library=powell.library)
    known = missed(central(powell))

    response = draw(api_client, powell.id, loose(known["box"]), person_id=person.id)

    assert response.status_code == 201, response.content
    body = response.json()
    assert body["person"]["id"] == person.id and body["assignment"] == "manual"
    entry = AuditEntry.objects.filter(kind=AuditEntry.Kind.ASSIGN).latest("id")
    assert entry.username == user.username and entry.detail == {"person_id": person.id, "face_ids": [body["id"]]}
    others = PersonFactory(name="Elsewhere", library=LibraryFactory())
    missed(Face.objects.get(id=body["id"]))
    assert draw(api_client, powell.id, loose(known["box"]), person_id=others.id).status_code == 404


@pytest.mark.django_db
def test_a_re_encode_keeps_the_drawn_face_and_a_photo_delete_removes_it(api_client, powell):
    known = missed(central(powell))
    drawn = draw(api_client, powell.id, loose(known["box"])).json()
    embedding = np.asarray(Face.objects.get(id=drawn["id"]).embedding)

    processing.photos_encode(photo_ids=[powell.id])  # as a re-encode does: detection finds the face again

    kept = Face.objects.get(id=drawn["id"])  # updated in place: same row, same box, still drawn, encoded again
    assert kept.source == Face.Source.DRAWN and kept.box == drawn["box"]
    np.testing.assert_allclose(np.asarray(kept.embedding), embedding, atol=1e-4)
    others = Face.objects.filter(photo=powell).exclude(id=kept.id)
    assert not [f.id for f in others if processing.iou(f.box, kept.box) >= 0.5]  # its detection was not added too

    assert api_client.delete(f"/api/photos/{powell.id}/").status_code == 204
    assert not Face.objects.filter(photo_id=powell.id).exists()


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_with_the_worker_a_drawn_face_survives_reprocessing(api_client, lfw_dir, celery_worker):
    uploaded = api_client.post(
        "/api/photos/", {"file": SimpleUploadedFile("p.jpg", (lfw_dir / POWELL).read_bytes())}, format="multipart"
    )
    photo_id = uploaded.json()["id"]
    wait_for(lambda: Photo.objects.get(id=photo_id).status == Photo.Status.DONE, what="the photo to be processed")
    known = missed(central(Photo.objects.get(id=photo_id)))
    drawn = draw(api_client, photo_id, loose(known["box"])).json()
    before = set(Face.objects.filter(photo_id=photo_id).values_list("id", flat=True))

    photos_reprocess(photo_ids=[photo_id])
    wait_for(lambda: Photo.objects.get(id=photo_id).status == Photo.Status.DONE, what="the photo to be re-encoded")

    faces = {face.id: face for face in Face.objects.filter(photo_id=photo_id)}
    assert set(faces) == before and faces[drawn["id"]].source == Face.Source.DRAWN
