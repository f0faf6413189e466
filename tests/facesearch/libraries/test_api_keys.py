"""API keys: each operation needs one scope (403 in the error format without it), a key sees its own library only,
revoked and expired keys are 401, the key is shown once and only its digest is stored, its last use is recorded,
and only an owner makes keys (an editor, a viewer or a key: 403)."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import NamedTuple

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone
from rest_framework.test import APIClient

from facesearch.libraries.authentication import KEY_PREFIX
from facesearch.libraries.models import ApiKey, AuditEntry, Library, Membership, Role, Scope
from facesearch.libraries.services import api_key_create, library_create
from facesearch.photos.models import Face, Photo
from tests.facesearch.libraries.support import ALL_SCOPES, error, key_client, user_client
from tests.factories import (
    FaceFactory,
    IngestItemFactory,
    IngestJobFactory,
    PersonFactory,
    PhotoFactory,
    UserFactory,
    jpeg_bytes,
    unit_vector,
)

pytestmark = pytest.mark.django_db

FACE_JPEG = Path("images/Colin_Powell/Colin_Powell_0001.jpg")


class Call(NamedTuple):
    scope: str
    method: str
    path: str
    body: dict | Callable[[], dict] | None = None  # a function for files: a fresh one per request
    allowed: int = 200  # the status when the key has the scope

    def send(self, client: APIClient):
        if self.method == "get":
            return client.get(self.path)
        body = self.body() if callable(self.body) else self.body
        fmt = "multipart" if callable(self.body) else "json"
        return getattr(client, self.method)(self.path, body, format=fmt)


def image(field: str, data: bytes) -> Callable[[], dict]:
    return lambda: {field: SimpleUploadedFile("image.jpg", data, content_type="image/jpeg")}


@pytest.fixture
def shop(db, media_root, lfw_dir):
    """Olga's library: a person with two faces, a person to delete, one to merge, unnamed faces, a photo without
    faces, a job; and a request for each operation an API key may be given."""
    olga = UserFactory(username="olga")
    library = Library.objects.get(personal_for=olga)
    person = PersonFactory(library=library, name="Kept")
    enrolled = FaceFactory(photo=PhotoFactory(library=library), person=person, assignment=Face.Assignment.ENROLLED)
    named = FaceFactory(photo=PhotoFactory(library=library), person=person, assignment=Face.Assignment.MANUAL)
    deleted, merged = PersonFactory(library=library), PersonFactory(library=library)
    FaceFactory(photo=PhotoFactory(library=library), person=merged, assignment=Face.Assignment.MANUAL)
    unnamed = FaceFactory(photo=PhotoFactory(library=library))
    spare = FaceFactory(photo=PhotoFactory(library=library))
    bare = PhotoFactory(library=library)
    job = IngestJobFactory(library=library, created_by=olga)
    IngestItemFactory(job=job, photo=enrolled.photo)
    face_jpeg = (lfw_dir / FACE_JPEG).read_bytes()

    requests = {  # operation: the request, its scope, and its status when allowed
        "photos_list": Call(Scope.READ, "get", "/api/photos/"),
        "photos_retrieve": Call(Scope.READ, "get", f"/api/photos/{bare.id}/"),
        "photos_image": Call(Scope.READ, "get", f"/api/photos/{bare.id}/image"),
        "faces_list": Call(Scope.READ, "get", "/api/faces/"),
        "faces_retrieve": Call(Scope.READ, "get", f"/api/faces/{unnamed.id}/"),
        "faces_crop": Call(Scope.READ, "get", f"/api/faces/{unnamed.id}/crop"),
        "jobs_list": Call(Scope.READ, "get", "/api/jobs/"),
        "jobs_retrieve": Call(Scope.READ, "get", f"/api/jobs/{job.id}/"),
        "jobs_items": Call(Scope.READ, "get", f"/api/jobs/{job.id}/items/"),
        "people_list": Call(Scope.READ, "get", "/api/people/"),
        "people_retrieve": Call(Scope.READ, "get", f"/api/people/{person.id}/"),
        "people_faces_list": Call(Scope.READ, "get", f"/api/people/{person.id}/faces/"),
        "libraries_list": Call(Scope.READ, "get", "/api/libraries/"),
        "libraries_retrieve": Call(Scope.READ, "get", f"/api/libraries/{library.id}/"),
        "photos_upload": Call(Scope.UPLOAD, "post", "/api/photos/", image("file", jpeg_bytes(seed=7)), 201),
        "jobs_retry": Call(Scope.UPLOAD, "post", f"/api/jobs/{job.id}/retry/"),
        "search": Call(Scope.SEARCH, "post", "/api/search/", {"face_id": unnamed.id}),
        "people_suggestions": Call(Scope.SEARCH, "get", "/api/people/suggestions/"),
        "identify": Call(Scope.SEARCH, "post", "/api/identify/", image("file", face_jpeg)),
        "verify": Call(Scope.SEARCH, "post", "/api/verify/", {"face_a": enrolled.id, "face_b": named.id}),
        "faces_assign": Call(Scope.MANAGE, "patch", f"/api/faces/{unnamed.id}/", {"person": person.id}),
        "people_create": Call(Scope.MANAGE, "post", "/api/people/", {"name": "New"}, 201),
        "people_update": Call(Scope.MANAGE, "patch", f"/api/people/{person.id}/", {"notes": "x"}),
        "people_destroy": Call(Scope.MANAGE, "delete", f"/api/people/{deleted.id}/", None, 204),
        "people_faces_enrol": Call(Scope.MANAGE, "post", f"/api/people/{person.id}/faces/", {"face_ids": [spare.id]}),
        "people_faces_remove": Call(Scope.MANAGE, "delete", f"/api/people/{person.id}/faces/{named.id}/", None, 204),
        "people_merge": Call(Scope.MANAGE, "post", f"/api/people/{person.id}/merge/", {"other_id": merged.id}),
        "photos_destroy": Call(Scope.MANAGE, "delete", f"/api/photos/{bare.id}/", None, 204),
    }
    return olga, library, requests


@pytest.mark.parametrize("scopes", [*([scope] for scope in ALL_SCOPES), ALL_SCOPES], ids=[*ALL_SCOPES, "all"])
def test_each_operation_needs_its_scope(shop, scopes):
    olga, library, requests = shop
    _, key = api_key_create(library=library, name="app", scopes=scopes, created_by=olga)
    client = key_client(key)

    answers, expected, messages = {}, {}, {}
    for operation, call in requests.items():  # reads first, deletions last
        response = call.send(client)
        answers[operation] = response.status_code
        expected[operation] = call.allowed if call.scope in scopes else 403
        if response.status_code == 403:
            messages[operation] = error(response, 403)["message"]

    assert answers == expected
    assert messages == {
        operation: f"This API key does not have the `{call.scope}` scope."
        for operation, call in requests.items()
        if call.scope not in scopes
    }


def test_an_upload_only_key_uploads_and_follows_its_job_but_reads_nothing_else(keyed):
    """A camera's key: the answers of its uploads show the photos and the job, the listings are refused."""
    _, library, _, _ = keyed
    _, key = api_key_create(library=library, name="camera", scopes=[Scope.UPLOAD], created_by=None)
    client = key_client(key)
    files = [SimpleUploadedFile(f"{seed}.jpg", jpeg_bytes(seed=seed)) for seed in (11, 12)]

    response = client.post("/api/photos/", {"files": files}, format="multipart")

    assert response.status_code == 201, response.content
    body = response.json()
    assert [(result["name"], result["photo"]["library"]) for result in body["results"]] == [
        ("11.jpg", library.id), ("12.jpg", library.id)
    ]  # fmt: skip
    assert (body["job"]["library"], body["job"]["total"]) == (library.id, 2)
    for path in ("/api/photos/", "/api/jobs/", f"/api/jobs/{body['job']['id']}/", "/api/libraries/"):
        error(client.get(path), 403)


def test_no_key_has_the_owners_operations(shop):
    olga, library, _ = shop
    row, key = api_key_create(library=library, name="app", scopes=ALL_SCOPES, created_by=olga)
    client = key_client(key)
    base = f"/api/libraries/{library.id}"
    refused = [
        client.post("/api/libraries/", {"name": "By a key"}, format="json"),
        client.patch(f"{base}/", {"name": "Renamed"}, format="json"),
        client.delete(f"{base}/"),
        client.get(f"{base}/members/"),
        client.post(f"{base}/members/", {"username": "olga", "role": Role.VIEWER}, format="json"),
        client.delete(f"{base}/members/{olga.id}/"),
        client.get(f"{base}/keys/"),
        client.post(f"{base}/keys/", {"name": "second", "scopes": ALL_SCOPES}, format="json"),
        client.delete(f"{base}/keys/{row.id}/"),
        client.get("/api/audit/"),
        client.get("/api/erasures/"),
    ]
    assert [response.status_code for response in refused] == [403] * len(refused)
    for response in refused:
        error(response, 403)
    assert list(Library.objects.filter(memberships__user=olga).values_list("name", flat=True)) == [library.name]
    assert ApiKey.objects.filter(library=library).count() == 1 and row.revoked_at is None
    assert Membership.objects.get(library=library).role == Role.OWNER


def test_a_key_sees_its_own_library_only_even_when_its_owner_has_more(media_root):
    olga = UserFactory(username="olga")
    own, other = Library.objects.get(personal_for=olga), library_create(name="Olga's other", owner=olga)
    vector = unit_vector(seed=1)
    near, nearer = (vector + 0.02 * unit_vector(seed=2)), (vector + 0.01 * unit_vector(seed=3))
    query = FaceFactory(photo=PhotoFactory(library=own), embedding=vector)
    kept = FaceFactory(photo=PhotoFactory(library=own), embedding=near / (near**2).sum() ** 0.5)
    hidden = FaceFactory(photo=PhotoFactory(library=other), embedding=nearer / (nearer**2).sum() ** 0.5)
    hidden_person = PersonFactory(library=other)
    _, key = api_key_create(library=own, name="app", scopes=ALL_SCOPES, created_by=olga)
    client = key_client(key)

    assert {row["id"] for row in client.get("/api/photos/").json()["results"]} == {query.photo_id, kept.photo_id}
    assert {row["id"] for row in client.get("/api/faces/").json()["results"]} == {query.id, kept.id}
    assert client.get("/api/people/").json()["results"] == []
    assert [row["id"] for row in client.get("/api/libraries/").json()["results"]] == [own.id]
    assert olga_sees(olga) == sorted([own.id, other.id])
    for path in (f"/api/photos/{hidden.photo_id}/", f"/api/faces/{hidden.id}/", f"/api/people/{hidden_person.id}/",
                 f"/api/libraries/{other.id}/"):  # fmt: skip
        error(client.get(path), 404)
    error(client.get("/api/photos/", {"library": other.id}), 404)

    matches = client.post("/api/search/", {"face_id": query.id}, format="json").json()["matches"]
    assert [match["face"]["id"] for match in matches] == [kept.id]  # the other library's face is nearer
    error(client.post("/api/search/", {"face_id": query.id, "library": other.id}, format="json"), 404)
    error(client.post("/api/verify/", {"face_a": query.id, "face_b": hidden.id}, format="json"), 404)
    error(client.post("/api/people/", {"name": "Elsewhere", "library": other.id}, format="json"), 404)
    upload = client.post("/api/photos/", {"file": SimpleUploadedFile("a.jpg", jpeg_bytes(seed=9))}, format="multipart")
    assert upload.status_code == 201 and upload.json()["library"] == own.id
    elsewhere = {"file": SimpleUploadedFile("b.jpg", jpeg_bytes(seed=10)), "library": other.id}
    error(client.post("/api/photos/", elsewhere, format="multipart"), 404)
    assert Photo.objects.filter(library=other).count() == 1


def olga_sees(user) -> list[int]:
    return sorted(row["id"] for row in user_client(user).get("/api/libraries/").json()["results"])


@pytest.fixture
def keyed(db, media_root):
    """A library with one photo and a working key of every scope."""
    olga = UserFactory(username="olga")
    library = Library.objects.get(personal_for=olga)
    PhotoFactory(library=library)
    row, key = api_key_create(library=library, name="app", scopes=ALL_SCOPES, created_by=olga)
    return olga, library, row, key


def test_the_key_works_in_either_header(keyed):
    _, _, _, key = keyed
    assert key_client(key).get("/api/photos/").status_code == 200
    assert APIClient().get("/api/photos/", HTTP_X_API_KEY=key).status_code == 200


def test_revoked_expired_and_wrong_keys_are_401(keyed):
    olga, library, row, key = keyed
    prefix = key.removeprefix(KEY_PREFIX).partition("_")[0]
    wrong = [f"{KEY_PREFIX}{prefix}_not-the-secret", f"{KEY_PREFIX}000000000000_{key.rpartition('_')[2]}", "fsk_",
             key.removeprefix(KEY_PREFIX), f"{key} extra"]  # fmt: skip
    for value in wrong:
        error(APIClient().get("/api/photos/", HTTP_AUTHORIZATION=f"Api-Key {value}"), 401)
        error(APIClient().get("/api/photos/", HTTP_X_API_KEY=value), 401)

    revoked = user_client(olga).delete(f"/api/libraries/{library.id}/keys/{row.id}/")
    assert revoked.status_code == 200 and revoked.json()["revoked_at"] is not None
    assert error(key_client(key).get("/api/photos/"), 401)["message"] == "Invalid, revoked or expired API key."
    error(APIClient().get("/api/photos/", HTTP_X_API_KEY=key), 401)

    expired_row, expired = api_key_create(library=library, name="short", scopes=ALL_SCOPES, created_by=olga,
                                          expires_at=timezone.now() + timedelta(hours=1))  # fmt: skip
    assert key_client(expired).get("/api/photos/").status_code == 200
    ApiKey.objects.filter(id=expired_row.id).update(expires_at=timezone.now() - timedelta(seconds=1))
    error(key_client(expired).get("/api/photos/"), 401)


def test_the_key_is_shown_once_and_only_its_digest_is_stored(keyed):
    olga, library, first, _ = keyed
    owner = user_client(olga)
    response = owner.post(f"/api/libraries/{library.id}/keys/", {"name": "backup job", "scopes": ["read", "upload"]},
                          format="json")  # fmt: skip
    assert response.status_code == 201, response.content
    created = response.json()
    key = created["key"]
    assert key.startswith(f"{KEY_PREFIX}{created['prefix']}_") and len(key) > 40
    assert (created["name"], created["scopes"], created["created_by"]) == ("backup job", ["read", "upload"], "olga")

    row = ApiKey.objects.get(id=created["id"])
    assert row.digest == hashlib.sha256(key.encode()).hexdigest()
    secret = key.rpartition("_")[2]
    stored = [str(getattr(row, field.attname)) for field in ApiKey._meta.concrete_fields]
    assert not [value for value in stored if secret in value or key in value]

    listed = owner.get(f"/api/libraries/{library.id}/keys/")
    assert [entry["id"] for entry in listed.json()["results"]] == [row.id, first.id]  # newest first
    assert all("key" not in entry for entry in listed.json()["results"]) and secret not in listed.content.decode()
    assert key_client(key).get("/api/photos/").status_code == 200


def test_last_use_is_recorded_at_most_once_a_minute(keyed):
    _, _, row, key = keyed
    assert row.last_used_at is None
    client = key_client(key)

    before = timezone.now()
    client.get("/api/photos/")
    row.refresh_from_db()
    first = row.last_used_at
    assert first is not None and before <= first <= timezone.now()

    client.get("/api/photos/")
    row.refresh_from_db()
    assert row.last_used_at == first  # within the minute: no write per request

    ApiKey.objects.filter(id=row.id).update(last_used_at=first - timedelta(minutes=2))
    client.get("/api/photos/")
    row.refresh_from_db()
    assert row.last_used_at > first

    error(APIClient().get("/api/photos/", HTTP_X_API_KEY=f"{key}x"), 401)  # a failed attempt is no use
    assert ApiKey.objects.get(id=row.id).last_used_at == row.last_used_at


def test_only_an_owner_makes_lists_and_revokes_keys(keyed):
    olga, library, row, key = keyed
    editor, viewer, stranger = UserFactory(username="ed"), UserFactory(username="vi"), UserFactory(username="st")
    Membership.objects.create(library=library, user=editor, role=Role.EDITOR)
    Membership.objects.create(library=library, user=viewer, role=Role.VIEWER)
    base = f"/api/libraries/{library.id}/keys/"
    body = {"name": "mine", "scopes": ["read"]}

    for client, status in ((user_client(editor), 403), (user_client(viewer), 403), (key_client(key), 403),
                           (user_client(stranger), 404)):  # fmt: skip
        error(client.post(base, body, format="json"), status)
        error(client.get(base), status)
        error(client.delete(f"{base}{row.id}/"), status)
    assert list(ApiKey.objects.filter(library=library).values_list("id", "revoked_at")) == [(row.id, None)]

    assert user_client(olga).post(base, body, format="json").status_code == 201
    assert ApiKey.objects.filter(library=library).count() == 2


@pytest.mark.parametrize(
    "body",
    [{"name": "x", "scopes": []}, {"name": "x", "scopes": ["own"]}, {"name": "x", "scopes": ["everything"]},
     {"name": "x", "scopes": ["read"], "expires_at": "2001-01-01T00:00:00Z"}, {"scopes": ["read"]}],
)  # fmt: skip
def test_a_key_needs_a_name_known_scopes_and_a_future_expiry(keyed, body):
    olga, library, _, _ = keyed
    error(user_client(olga).post(f"/api/libraries/{library.id}/keys/", body, format="json"), 400)
    assert ApiKey.objects.filter(library=library).count() == 1


def test_what_a_key_does_is_audited_under_its_name(keyed):
    olga, library, row, key = keyed
    face = FaceFactory(photo=PhotoFactory(library=library))
    assert key_client(key).post("/api/search/", {"face_id": face.id}, format="json").status_code == 200

    entry = AuditEntry.objects.get(kind=AuditEntry.Kind.SEARCH)
    assert (entry.user, entry.username, entry.api_key_id, entry.api_key_name) == (None, "key:app", row.id, "app")
    assert entry.library_ids == [library.id]
    seen = user_client(olga).get("/api/audit/").json()["results"]
    assert [(item["id"], item["username"], item["api_key"]) for item in seen] == [(entry.id, "key:app", "app")]
