"""Erasure, on real LFW faces: erasing a person removes their rows, vectors and crops (and with `photos=true` the photos
only they are in, with files and thumbnails), then a scan verifies it and a receipt says so; a file another library
also holds stays; erasing a library removes everything in it; the audit log outlives the accounts it names.

Erasures that delete files run with committed transactions: a photo's file goes after its deletion commits."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import numpy as np
import pytest
from django.contrib.auth import get_user_model
from django.core.files.uploadedfile import SimpleUploadedFile
from rest_framework.test import APIClient

from facesearch.libraries.access import Caller
from facesearch.libraries.audit import audit_record
from facesearch.libraries.models import ApiKey, AuditEntry, ErasureReceipt, Library, Membership, Role
from facesearch.libraries.services import api_key_create, library_create
from facesearch.people.models import Person
from facesearch.photos import services
from facesearch.photos.models import Face, IngestItem, IngestJob, Photo
from facesearch.photos.storage import photo_file_path, thumbnail_files
from tests.facesearch.conftest import LfwImage
from tests.facesearch.libraries.support import (
    ALL_SCOPES,
    error,
    face_store,
    key_client,
    library_state,
    user_client,
)
from tests.factories import FaceFactory, IngestItemFactory, IngestJobFactory, PersonFactory, UserFactory

TONY = ("Tony_Blair_0001", "Tony_Blair_0002", "Tony_Blair_0003")  # his photos; in the third, Serena is there too
NOTHING_FOUND = {
    "person_rows": 0, "faces_of_person": 0, "face_rows": 0, "photo_rows": 0, "vector_copies": 0, "files_left": 0,
    "thumbnails_left": 0, "files_kept_shared": 0, "event_rows": 0, "merge_rows": 0, "grouped_face_rows": 0,
    "groups_naming_person": 0,
}  # fmt: skip


@dataclass
class Album:
    library: Library
    owner: APIClient
    tony: Person
    faces: dict[str, Face]  # Tony's by stem, and "Serena" (in Tony_Blair_0003's photo), "Colin" (another person)
    bob_copy: Photo  # Bob's photo of the bytes of Tony_Blair_0002

    def photo(self, stem: str) -> Photo:
        return self.faces[stem].photo


@pytest.fixture
def album(media_root, lfw_images: dict[str, LfwImage]) -> Album:
    """Olga's library: Tony Blair named on three photos (the third also shows Serena Williams, unnamed), Colin Powell
    enrolled; each photo's thumbnails cached. Bob stored the same bytes as Tony's second photo, with its face."""
    olga, bob = UserFactory(username="olga"), UserFactory(username="bob")
    library = Library.objects.get(personal_for=olga)
    tony = PersonFactory(library=library, name="Tony")
    faces = {
        stem: face_store(library, lfw_images[stem], person=tony, how=Face.Assignment.MANUAL, uploaded_by=olga)
        for stem in TONY
    }
    serena = lfw_images["Serena_Williams_0001"].face
    faces["Serena"] = FaceFactory(photo=faces["Tony_Blair_0003"].photo, index=1, embedding=serena.embedding)
    faces["Colin"] = face_store(library, lfw_images["Colin_Powell_0001"], person=PersonFactory(library=library),
                                how=Face.Assignment.ENROLLED)  # fmt: skip

    bob_copy = copy_store(Library.objects.get(personal_for=bob), lfw_images["Tony_Blair_0002"], uploaded_by=bob)
    assert bob_copy.file.name == faces["Tony_Blair_0002"].photo.file.name  # one file, two photos

    owner = user_client(olga)
    for face in faces.values():
        assert owner.get(f"/api/photos/{face.photo_id}/image", {"size": 128}).status_code == 200
    assert all(thumbnail_files(photo_name=face.photo.file.name) for face in faces.values())
    return Album(library=library, owner=owner, tony=tony, faces=faces, bob_copy=bob_copy)


def copy_store(library: Library, image: LfwImage, *, uploaded_by=None) -> Photo:
    """Bytes another library stored already, uploaded as upload does it (the two photos share the file), with the
    face processing would find."""
    photo, created = services.photo_create(
        file=SimpleUploadedFile(f"{image.stem}.jpg", image.data), library=library, uploaded_by=uploaded_by,
        enqueue=False,
    )  # fmt: skip
    assert created
    FaceFactory(photo=photo, index=0, embedding=image.face.embedding)
    return photo


def vectors_near(vectors: list[np.ndarray], faces, *, within: float = 1e-3) -> list[int]:
    """Ids of the faces among `faces` whose embedding is within `within` of one of `vectors`."""
    rows = list(faces.values_list("id", "embedding"))
    if not rows:
        return []
    stored = np.stack([np.asarray(vector) for _, vector in rows])
    return sorted(
        rows[i][0] for vector in vectors for i in np.flatnonzero(np.linalg.norm(stored - vector, axis=1) < within)
    )


@pytest.mark.django_db
def test_erasing_a_person_removes_their_faces_vectors_and_crops_and_keeps_the_photos(album):
    erased = {stem: album.faces[stem] for stem in TONY}
    vectors = [np.asarray(face.embedding) for face in erased.values()]
    files = [album.photo(stem).file.name for stem in TONY]

    response = album.owner.delete(f"/api/people/{album.tony.id}/?erase=true")

    assert response.status_code == 200, response.content
    receipt = response.json()
    assert (receipt["subject"], receipt["subject_id"], receipt["library_id"], receipt["requested_by"]) == (
        "person", album.tony.id, album.library.id, "olga"
    )  # fmt: skip
    assert receipt["removed"] == {"people": 1, "faces": 3, "photos": 0}
    assert receipt["verification"]["found"] == NOTHING_FOUND and receipt["verified"] is True

    assert not Person.objects.filter(id=album.tony.id).exists()
    assert not Face.objects.filter(id__in=[face.id for face in erased.values()]).exists()
    assert vectors_near(vectors, Face.objects.exclude(library=album.bob_copy.library)) == []
    for face in erased.values():
        error(album.owner.get(f"/api/faces/{face.id}/crop"), 404)
    # The photos stay, without his faces; Serena's face and Colin are untouched.
    assert Photo.objects.filter(file__in=files, library=album.library).count() == 3
    assert all(photo_file_path(name).exists() for name in files)
    assert list(Face.objects.filter(photo=album.photo("Tony_Blair_0003"))) == [album.faces["Serena"]]
    assert Face.objects.filter(id=album.faces["Colin"].id, person__isnull=False).exists()
    # Bob's copy of the bytes, and of the vector, are Bob's.
    assert vectors_near(vectors, Face.objects.filter(photo=album.bob_copy)) == [album.bob_copy.faces.get().id]

    listed = album.owner.get("/api/erasures/").json()["results"]
    assert [row["id"] for row in listed] == [receipt["id"]]
    assert ErasureReceipt.objects.get(id=receipt["id"]).verified is True


@pytest.mark.django_db(transaction=True)
def test_erasing_a_person_with_photos_removes_the_photos_only_they_are_in_with_files_and_thumbnails(album):
    alone = [album.photo("Tony_Blair_0001"), album.photo("Tony_Blair_0002")]
    vectors = [np.asarray(album.faces[stem].embedding) for stem in TONY]

    response = album.owner.delete(f"/api/people/{album.tony.id}/?erase=true&photos=true")

    assert response.status_code == 200, response.content
    receipt = response.json()
    assert receipt["removed"] == {"people": 1, "faces": 3, "photos": 2}
    assert receipt["verification"]["found"] == {**NOTHING_FOUND, "files_kept_shared": 1}
    assert receipt["verified"] is True

    assert not Photo.objects.filter(id__in=[photo.id for photo in alone]).exists()
    only_his = album.photo("Tony_Blair_0001").file.name
    assert not photo_file_path(only_his).exists() and thumbnail_files(photo_name=only_his) == []
    # The second photo's bytes are also Bob's photo: the file stays, and Bob still sees his photo.
    assert photo_file_path(album.bob_copy.file.name).exists()
    bob = APIClient()
    bob.force_authenticate(album.bob_copy.uploaded_by)
    image = bob.get(f"/api/photos/{album.bob_copy.id}/image")
    assert image.status_code == 200
    assert hashlib.sha256(b"".join(image.streaming_content)).hexdigest() == album.bob_copy.sha256
    # The photo with Serena in it stays, with her face only.
    with_serena = album.photo("Tony_Blair_0003")
    assert Photo.objects.filter(id=with_serena.id).exists() and photo_file_path(with_serena.file.name).exists()
    assert list(Face.objects.filter(photo=with_serena).values_list("id", flat=True)) == [album.faces["Serena"].id]
    assert vectors_near(vectors, Face.objects.filter(library=album.library)) == []


@pytest.mark.django_db
def test_the_receipt_is_not_verified_when_a_copy_of_an_erased_vector_is_left(album):
    vector = album.faces["Tony_Blair_0001"].embedding
    copy = FaceFactory(photo=album.photo("Tony_Blair_0003"), index=2, embedding=vector)

    receipt = album.owner.delete(f"/api/people/{album.tony.id}/?erase=true").json()

    assert receipt["verification"]["found"] == {**NOTHING_FOUND, "vector_copies": 1}
    assert receipt["verified"] is False
    assert Face.objects.filter(id=copy.id).exists()  # unassigned: not his as far as anyone said; the receipt tells


@pytest.mark.django_db(transaction=True)
def test_erasing_a_library_removes_everything_in_it_and_leaves_the_receipt(album, lfw_images):
    olga = album.library.personal_for
    trip = library_create(name="Trip", owner=olga)
    vic = UserFactory(username="vic")
    Membership.objects.create(library=trip, user=vic, role=Role.VIEWER)
    person = PersonFactory(library=trip, name="Hugo")
    faces = [face_store(trip, lfw_images[f"Hugo_Chavez_000{n}"], person=person, how=Face.Assignment.MANUAL)
             for n in (1, 2)]  # fmt: skip
    faces.append(copy_store(trip, lfw_images["Tony_Blair_0001"]).faces.get())  # bytes of Olga's own library too
    job = IngestJobFactory(library=trip, created_by=olga)
    IngestItemFactory(job=job, photo=faces[0].photo)
    _, key = api_key_create(library=trip, name="trip-app", scopes=ALL_SCOPES, created_by=olga)
    for face in faces:
        assert album.owner.get(f"/api/photos/{face.photo_id}/image", {"size": 256}).status_code == 200
    files = [face.photo.file.name for face in faces]
    vectors = [np.asarray(face.embedding) for face in faces]
    others = {library.id: library_state(library.id) for library in Library.objects.exclude(id=trip.id)}
    assert key_client(key).get("/api/photos/").status_code == 200

    error(user_client(vic).delete(f"/api/libraries/{trip.id}/"), 403)
    response = album.owner.delete(f"/api/libraries/{trip.id}/")

    assert response.status_code == 200, response.content
    receipt = response.json()
    assert (receipt["subject"], receipt["subject_id"], receipt["library_name"]) == ("library", trip.id, "Trip")
    assert receipt["removed"] == {"photos": 3, "faces": 3, "people": 1, "jobs": 1, "api_keys": 1, "members": 2}
    assert receipt["verification"]["found"] == {
        "library_rows": 0, "photo_rows": 0, "face_rows": 0, "person_rows": 0, "job_rows": 0, "api_key_rows": 0,
        "member_rows": 0, "files_left": 0, "thumbnails_left": 0, "files_kept_shared": 1, "event_rows": 0,
        "face_group_rows": 0,
    }  # fmt: skip
    assert receipt["verified"] is True

    assert not Library.objects.filter(id=trip.id).exists()
    for model in (Photo, Face, Person, IngestJob, ApiKey, Membership):
        assert not model.objects.filter(library_id=trip.id).exists(), model
    assert not IngestItem.objects.filter(job_id=job.id).exists()
    assert [photo_file_path(name).exists() for name in files] == [False, False, True]  # the third is Olga's too
    assert [bool(thumbnail_files(photo_name=name)) for name in files[:2]] == [False, False]
    assert vectors_near(vectors[:2], Face.objects.all()) == []
    error(key_client(key).get("/api/photos/"), 401)
    assert user_client(vic).get("/api/libraries/").json()["count"] == 1  # his own
    assert {library_id: library_state(library_id) for library_id in others} == others

    stored = ErasureReceipt.objects.get(id=receipt["id"])
    assert (stored.subject, stored.library_id, stored.verified) == ("library", trip.id, True)
    entry = AuditEntry.objects.get(kind=AuditEntry.Kind.ERASURE)
    assert (entry.username, entry.library_ids, entry.result_count) == ("olga", [trip.id], 3)


@pytest.mark.django_db
def test_audit_entries_outlive_the_accounts_and_keys_that_made_them(album):
    vic = UserFactory(username="vic")
    Membership.objects.create(library=album.library, user=vic, role=Role.VIEWER)
    face = album.faces["Tony_Blair_0001"].id
    assert user_client(vic).post("/api/search/", {"face_id": face}, format="json").status_code == 200
    row, key = api_key_create(library=album.library, name="kiosk", scopes=ALL_SCOPES, created_by=None)
    assert key_client(key).post("/api/search/", {"face_id": face}, format="json").status_code == 200
    audit_record(caller=Caller(user=vic), kind=AuditEntry.Kind.ASSIGN, library_ids=[album.library.id])

    get_user_model().objects.filter(id=vic.id).delete()
    row.delete()

    entries = album.owner.get("/api/audit/", {"library": album.library.id}).json()["results"]
    assert [(entry["kind"], entry["username"], entry["api_key"]) for entry in entries] == [
        ("assign", "vic", ""), ("search", "key:kiosk", "kiosk"), ("search", "vic", "")
    ]  # fmt: skip
    assert set(AuditEntry.objects.values_list("user", "api_key")) == {(None, None)}
