"""Backup and restore, round trip: an installation with real faces, backed up by `manage.py backup` and restored by
`manage.py restore` into a fresh embedded PostgreSQL server and an empty media folder, answers the same searches with
the same faces at the same distances and serves the same photo bytes. A damaged backup and a target that already holds
data are refused before anything is written."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from django.core.management import call_command

from facesearch import stack
from facesearch.libraries.models import Library
from facesearch.people.services import faces_assign
from facesearch.photos.models import Face, Photo
from facesearch.photos.selectors import face_nearest
from facesearch.photos.storage import photo_file_path
from tests.factories import PersonFactory
from tests.servers import ROOT

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]

NEAREST = """
import json, sys, numpy as np
from facesearch.libraries.models import Library
from facesearch.photos.selectors import face_nearest
queries = np.load(sys.argv[1])
ids = list(Library.objects.values_list("id", flat=True))
print(json.dumps([[[f.id, f.person_id, round(f.distance, 6)] for f in face_nearest(
    embedding=q, model_id=sys.argv[2], library_ids=ids, limit=5)] for q in queries]))
"""


def _nearest_here(queries: np.ndarray, model_id: str) -> list:
    ids = list(Library.objects.values_list("id", flat=True))
    return [
        [[f.id, f.person_id, round(f.distance, 6)] for f in face_nearest(embedding=q, model_id=model_id,
                                                                         library_ids=ids, limit=5)]
        for q in queries
    ]  # fmt: skip


def _manage(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, str(ROOT / "manage.py"), *args], env=env, capture_output=True, text=True, timeout=300
    )


@pytest.fixture
def media_root(settings, tmp_path: Path) -> Path:
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


def test_a_backup_restored_into_a_fresh_server_answers_the_same_searches(media_root, gallery, lfw_images, tmp_path):
    person = PersonFactory(name="Colin Powell")
    colin = [face.id for stem, face in gallery.items() if stem.startswith("Colin_Powell")]
    faces_assign(person=person, face_ids=colin, how=Face.Assignment.ENROLLED)
    queries = np.stack([image.face.embedding for stem, image in lfw_images.items() if stem.endswith("_0006")])
    model_id = next(iter(gallery.values())).model_id
    expected = _nearest_here(queries, model_id)
    np.save(tmp_path / "queries.npy", queries)

    backup = tmp_path / "backup"
    call_command("backup", str(backup))
    manifest = json.loads((backup / "manifest.json").read_text())
    assert manifest["counts"]["photos_face"] == Face.objects.count() == len(gallery)
    assert len(manifest["files"]) == Photo.objects.count()

    restored_url = stack.start_postgres(tmp_path / "restored-pg", cleanup_mode="delete")
    env = {
        **os.environ, "DATABASE_URL": restored_url, "MEDIA_ROOT": str(tmp_path / "restored-media"),
        "FACESEARCH_DATA_DIR": str(tmp_path / "restored-data"),
    }  # fmt: skip
    assert _manage("migrate", "--verbosity=0", env=env).returncode == 0  # as `make run` leaves a new installation
    restore = _manage("restore", str(backup), env=env)
    assert restore.returncode == 0, restore.stderr
    assert f"{len(gallery)} faces" in restore.stdout

    answer = _manage("shell", "-c", NEAREST.replace("sys.argv[1]", repr(str(tmp_path / "queries.npy")))
                     .replace("sys.argv[2]", repr(model_id)), env=env)  # fmt: skip
    assert answer.returncode == 0, answer.stderr
    assert json.loads(answer.stdout.strip().splitlines()[-1]) == expected
    assert any(row[0][1] == person.id for row in expected)  # the enrolled person came back with their faces
    for photo in Photo.objects.all():
        restored = tmp_path / "restored-media" / photo.file.name
        assert restored.read_bytes() == photo_file_path(photo.file.name).read_bytes()

    again = _manage("restore", str(backup), env=env)
    assert again.returncode == 1 and "empty installation" in again.stderr

    name = next(iter(manifest["files"]))
    (backup / "files" / name).write_bytes(b"not the photo")
    damaged = _manage("restore", str(backup), env=env)
    assert damaged.returncode == 1 and "damaged" in damaged.stderr and name in damaged.stderr


def test_a_backup_goes_into_a_new_folder(tmp_path, media_root):
    (tmp_path / "old").mkdir()
    (tmp_path / "old" / "something").write_text("kept")
    with pytest.raises(Exception, match="not empty"):
        call_command("backup", str(tmp_path / "old"))
    assert (tmp_path / "old" / "something").read_text() == "kept"
