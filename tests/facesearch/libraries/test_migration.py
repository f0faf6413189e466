"""The migration to libraries: rows made before it land in their uploaders' personal libraries, a person whose faces
are in two uploaders' photos is split into one person per library, and rows of nobody go to a library "Shared"."""

from __future__ import annotations

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from facesearch.libraries.models import AuditEntry, Library, Membership, Role
from facesearch.people.models import Person
from facesearch.photos.models import Face, IngestJob, Photo
from tests.factories import unit_vector

BEFORE = [
    ("libraries", "0001_initial"),
    ("photos", "0003_remove_photo_photos_phot_created_d69ed2_idx_and_more"),
    ("people", "0003_remove_person_people_pers_name_3035d1_idx_and_more"),
    ("search", "0001_initial"),
]


def _migrate(targets) -> MigrationExecutor:
    executor = MigrationExecutor(connection)
    executor.migrate(targets or executor.loader.graph.leaf_nodes())
    return executor


def _old_rows(apps) -> dict:
    """Two uploaders' photos with faces, Pat on photos of both, a job, an audit row, and a photo and a person of
    nobody, as the models were before libraries."""
    User, Person = apps.get_model("auth", "User"), apps.get_model("people", "Person")
    Photo, Face, Job = (apps.get_model("photos", name) for name in ("Photo", "Face", "IngestJob"))
    alice, bob = User.objects.create(username="alice"), User.objects.create(username="bob")
    pat, nobody = Person.objects.create(name="Pat", notes="met in 2019"), Person.objects.create(name="Nobody's")
    photos = {}
    for name, uploader in (("a1", alice), ("a2", alice), ("b1", bob), ("orphan", None)):
        photos[name] = Photo.objects.create(file=f"photos/{name}.jpg", sha256=name * 8, size=1, uploaded_by=uploader,
                                            status="done", model_id="facenet-msceleb-v1")  # fmt: skip
    faces = {}
    for name, photo, person in (("a1", "a1", pat), ("a2", "a2", pat), ("b1", "b1", pat), ("b1-other", "b1", None)):
        faces[name] = Face.objects.create(
            photo=photos[photo], index=len([f for f in faces if f.startswith(photo)]), box=[0, 0, 1, 1],
            landmarks=[[0, 0]] * 5, score=0.99, box_size=1, sharpness=1, yaw=0, pitch=0, roll=0, crop=b"",
            model_id="facenet-msceleb-v1", embedding=unit_vector(seed=len(faces)).tolist(), person=person,
            assignment="manual" if person else "",
        )  # fmt: skip
    pat.cover_face = faces["b1"]  # Pat's cover is in Bob's photo: it cannot stay the cover of Alice's Pat
    pat.save()
    job = Job.objects.create(source="upload", created_by=alice)
    apps.get_model("search", "AuditLog").objects.create(user=alice, kind="search", result_count=2)
    ids = {f"photo:{name}": photo.id for name, photo in photos.items()}
    ids |= {f"face:{name}": face.id for name, face in faces.items()}
    return ids | {"alice": alice.id, "bob": bob.id, "pat": pat.id, "nobody": nobody.id, "job": job.id}


@pytest.mark.slow  # migrates the test database back and forth: seconds
@pytest.mark.django_db(transaction=True)
def test_existing_rows_land_in_their_uploaders_libraries():
    try:
        executor = _migrate(BEFORE)
        ids = _old_rows(executor.loader.project_state(BEFORE).apps)
    finally:
        _migrate(None)  # the migration under test; and, whatever happened, the latest state for the tests that follow

    alice, bob = (Library.objects.get(personal_for_id=ids[name]) for name in ("alice", "bob"))
    assert (alice.name, bob.name) == ("alice's library", "bob's library")
    assert sorted(Membership.objects.values_list("library", "user", "role")) == [
        (alice.id, ids["alice"], Role.OWNER), (bob.id, ids["bob"], Role.OWNER)
    ]  # fmt: skip
    shared = Library.objects.get(name="Shared", personal_for=None)
    assert not Membership.objects.filter(library=shared).exists()

    photos = dict(Photo.objects.values_list("id", "library"))
    assert photos == {ids["photo:a1"]: alice.id, ids["photo:a2"]: alice.id, ids["photo:b1"]: bob.id,
                      ids["photo:orphan"]: shared.id}  # fmt: skip
    assert all(face.library_id == photos[face.photo_id] for face in Face.objects.all())
    assert IngestJob.objects.get(id=ids["job"]).library == alice

    # Pat stays in Alice's library, where most of the faces are, and a copy holds the face in Bob's photo.
    pat = Person.objects.get(id=ids["pat"])
    assert (pat.library, pat.cover_face_id) == (alice, None)
    assert sorted(pat.faces.values_list("id", flat=True)) == sorted([ids["face:a1"], ids["face:a2"]])
    copy = Person.objects.get(library=bob)
    assert (copy.name, copy.notes, list(copy.faces.values_list("id", flat=True))) == (
        "Pat", "met in 2019", [ids["face:b1"]]
    )  # fmt: skip
    assert Face.objects.get(id=ids["face:b1-other"]).person is None
    assert Person.objects.get(id=ids["nobody"]).library == shared
    assert all(face.person.library_id == face.library_id for face in Face.objects.exclude(person=None))

    entry = AuditEntry.objects.get()
    assert (entry.user_id, entry.username, entry.kind, entry.result_count) == (ids["alice"], "alice", "search", 2)
