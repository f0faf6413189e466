"""/api/libraries/: a personal library for every new user, creating, renaming and listing libraries (with the
caller's role and the counts), sharing them (members and roles; a library keeps an owner), uploads into a named
library, and `manage.py ingest --library`."""

from __future__ import annotations

import io
import shutil
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command

from facesearch.celery import app as celery_app
from facesearch.libraries.models import Library, Membership, Role
from facesearch.photos.models import IngestJob, Photo
from tests.facesearch.libraries.support import error, user_client
from tests.factories import FaceFactory, PersonFactory, PhotoFactory, UserFactory, jpeg_bytes

pytestmark = pytest.mark.django_db


def libraries(client) -> list[dict]:
    response = client.get("/api/libraries/")
    assert response.status_code == 200, response.content
    return response.json()["results"]


def summary(client) -> list[tuple]:
    return [(row["name"], row["role"], row["personal"]) for row in libraries(client)]


def test_a_new_user_gets_a_personal_library_they_own():
    olga = UserFactory(username="olga")

    library = Library.objects.get(personal_for=olga)
    assert library.name == "olga's library"
    assert list(Membership.objects.filter(library=library).values_list("user", "role")) == [(olga.id, Role.OWNER)]
    (row,) = libraries(user_client(olga))
    assert row == {**row, "id": library.id, "name": "olga's library", "role": "owner", "personal": True,
                   "photo_count": 0, "face_count": 0, "person_count": 0}  # fmt: skip


def test_libraries_are_created_renamed_and_listed_with_role_and_counts(media_root):
    olga, bob = UserFactory(username="olga"), UserFactory(username="bob")
    owner = user_client(olga)

    created = owner.post("/api/libraries/", {"name": "  Holidays "}, format="json")

    assert created.status_code == 201, created.content
    body = created.json()
    assert (body["name"], body["role"], body["personal"], body["photo_count"]) == ("Holidays", "owner", False, 0)
    holidays = Library.objects.get(id=body["id"])
    person = PersonFactory(library=holidays)
    for photo in (PhotoFactory(library=holidays), PhotoFactory(library=holidays)):
        FaceFactory(photo=photo, person=person)
    FaceFactory(photo=holidays.photos.first())
    PhotoFactory(library=Library.objects.get(personal_for=olga))

    renamed = owner.patch(f"/api/libraries/{holidays.id}/", {"name": "summer"}, format="json")
    assert renamed.status_code == 200 and renamed.json()["name"] == "summer"
    rows = {row["name"]: row for row in libraries(owner)}
    assert list(rows) == ["olga's library", "summer"]  # by name
    assert [(row["photo_count"], row["face_count"], row["person_count"]) for row in rows.values()] == [
        (1, 0, 0), (2, 3, 1)
    ]  # fmt: skip
    assert summary(user_client(bob)) == [("bob's library", "owner", True)]  # not shared with him

    error(owner.post("/api/libraries/", {"name": ""}, format="json"), 400)
    error(owner.patch(f"/api/libraries/{holidays.id}/", {"name": " " * 3}, format="json"), 400)
    assert Library.objects.get(id=holidays.id).name == "summer"


def test_an_owner_shares_changes_roles_and_stops_sharing():
    olga, bob = UserFactory(username="olga"), UserFactory(username="bob")
    library = Library.objects.get(personal_for=olga)
    owner, member = user_client(olga), user_client(bob)
    members = f"/api/libraries/{library.id}/members/"

    shared = owner.post(members, {"username": "bob", "role": "viewer"}, format="json")
    assert shared.status_code == 200 and shared.json() == {**shared.json(), "username": "bob", "role": "viewer"}
    assert summary(member) == [("bob's library", "owner", True), ("olga's library", "viewer", False)]
    listed = member.get(members).json()["results"]
    assert [(row["username"], row["role"]) for row in listed] == [("bob", "viewer"), ("olga", "owner")]

    assert owner.post(members, {"username": "bob", "role": "editor"}, format="json").json()["role"] == "editor"
    assert member.get(f"/api/libraries/{library.id}/").json()["role"] == "editor"
    error(member.post(members, {"username": "bob", "role": "owner"}, format="json"), 403)  # an editor is no owner

    assert owner.delete(f"{members}{bob.id}/").status_code == 204
    error(member.get(f"/api/libraries/{library.id}/"), 404)
    assert summary(member) == [("bob's library", "owner", True)]

    error(owner.post(members, {"username": "nobody", "role": "viewer"}, format="json"), 404)
    error(owner.post(members, {"username": "bob", "role": "admin"}, format="json"), 400)
    error(owner.delete(f"{members}{bob.id}/"), 404)  # not a member any more
    assert list(Membership.objects.filter(library=library).values_list("user", "role")) == [(olga.id, "owner")]


def test_the_last_owner_can_neither_step_down_nor_leave():
    olga, bob = UserFactory(username="olga"), UserFactory(username="bob")
    library = Library.objects.get(personal_for=olga)
    owner = user_client(olga)
    members = f"/api/libraries/{library.id}/members/"

    assert (
        "needs an owner"
        in error(owner.post(members, {"username": "olga", "role": "editor"}, format="json"), 400)["message"]
    )
    error(owner.delete(f"{members}{olga.id}/"), 400)
    assert Membership.objects.get(library=library, user=olga).role == Role.OWNER

    owner.post(members, {"username": "bob", "role": "owner"}, format="json")
    assert owner.post(members, {"username": "olga", "role": "viewer"}, format="json").status_code == 200
    error(user_client(bob).delete(f"{members}{bob.id}/"), 400)  # now Bob is the last owner
    assert sorted(Membership.objects.filter(library=library).values_list("user", "role")) == [
        (olga.id, "viewer"), (bob.id, "owner")
    ]  # fmt: skip


def test_a_member_may_leave_but_not_remove_others():
    olga, bob, carl = UserFactory(username="olga"), UserFactory(username="bob"), UserFactory(username="carl")
    library = Library.objects.get(personal_for=olga)
    Membership.objects.create(library=library, user=bob, role=Role.VIEWER)
    Membership.objects.create(library=library, user=carl, role=Role.EDITOR)
    members = f"/api/libraries/{library.id}/members/"

    error(user_client(bob).delete(f"{members}{carl.id}/"), 403)
    error(user_client(carl).delete(f"{members}{bob.id}/"), 403)
    assert user_client(bob).delete(f"{members}{bob.id}/").status_code == 204

    error(user_client(bob).get(f"/api/libraries/{library.id}/"), 404)
    assert sorted(Membership.objects.filter(library=library).values_list("user", flat=True)) == [olga.id, carl.id]


def test_uploads_go_to_the_named_library_and_only_where_the_caller_may_upload(media_root):
    olga, bob, eve = UserFactory(username="olga"), UserFactory(username="bob"), UserFactory(username="eve")
    shared = Library.objects.get(personal_for=olga)
    viewed = Library.objects.get(personal_for=eve)
    Membership.objects.create(library=shared, user=bob, role=Role.EDITOR)
    Membership.objects.create(library=viewed, user=bob, role=Role.VIEWER)
    foreign = Library.objects.create(name="Nobody's")
    client = user_client(bob)

    def upload(seed: int, library: int | None = None):
        data = {"file": SimpleUploadedFile(f"{seed}.jpg", jpeg_bytes(seed=seed))}
        if library is not None:
            data["library"] = library
        return client.post("/api/photos/", data, format="multipart")

    named = upload(1, shared.id)
    assert named.status_code == 201 and named.json()["library"] == shared.id
    unnamed = upload(2)
    assert unnamed.status_code == 201 and unnamed.json()["library"] == Library.objects.get(personal_for=bob).id
    assert "needs `upload`" in error(upload(3, viewed.id), 403)["message"]
    assert error(upload(4, foreign.id), 404)["message"] == error(upload(5, 999_999), 404)["message"]
    assert sorted(Photo.objects.values_list("library", "original_name")) == sorted(
        [(shared.id, "1.jpg"), (Library.objects.get(personal_for=bob).id, "2.jpg")]
    )
    several = {"files": [SimpleUploadedFile("8.jpg", jpeg_bytes(seed=8))], "library": viewed.id}
    error(client.post("/api/photos/", several, format="multipart"), 403)
    assert Photo.objects.count() == 2 and not IngestJob.objects.exists()


def test_ingest_command_stores_a_folder_into_the_library_named(tmp_path: Path, media_root, lfw_dir):
    olga, bob = UserFactory(username="olga"), UserFactory(username="bob")
    trip = Library.objects.create(name="Trip")
    Membership.objects.create(library=trip, user=olga, role=Role.VIEWER)
    folder = tmp_path / "trip"
    folder.mkdir()
    names = ["Colin_Powell_0001.jpg", "Tony_Blair_0001.jpg"]
    for name in names:
        shutil.copyfile(lfw_dir / "images" / name.rsplit("_", 1)[0] / name, folder / name)

    try:
        call_command("ingest", str(folder), "--library", str(trip.id), "--user", "bob", stdout=io.StringIO())
        with pytest.raises(CommandError, match=f"no library with id {trip.id + 1000}"):
            call_command("ingest", str(folder), "--library", str(trip.id + 1000), stdout=io.StringIO())
    finally:
        celery_app.control.purge()  # no worker runs here: drop the queued tasks, so no later test's worker sees them

    job = IngestJob.objects.get()
    assert (job.library, job.created_by) == (trip, bob)
    assert sorted(Photo.objects.values_list("library", "uploaded_by", "original_name")) == [
        (trip.id, bob.id, name) for name in names
    ]
    viewer_sees = user_client(olga).get("/api/photos/", {"library": trip.id}).json()["results"]
    assert sorted(row["original_name"] for row in viewer_sees) == names
    assert user_client(bob).get("/api/photos/").json()["count"] == 0  # he sent them; he is no member
