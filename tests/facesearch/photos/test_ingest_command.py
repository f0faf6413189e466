"""`manage.py ingest` on real folders: new files stored and processed, bad ones failed with reasons, re-runs skip,
an interrupted run (a real Ctrl-C) is resumed by the next one."""

from __future__ import annotations

import io
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from facesearch.photos.models import Face, IngestItem, IngestJob, Photo
from facesearch.photos.storage import photo_file_path
from tests.facesearch.photos.support import child_env, files_under, wait_for
from tests.factories import LibraryFactory, UserFactory, jpeg_bytes
from tests.live_server import ROOT


def ingest(*args: str) -> str:
    out = io.StringIO()
    call_command("ingest", *args, stdout=out)
    return out.getvalue()


@pytest.fixture
def folder(tmp_path: Path, lfw_photos: list[Path]) -> Path:
    """Four LFW photos (two in a sub-folder), a corrupt JPEG, and a text file that is not an image file at all."""
    root = tmp_path / "album"
    (root / "trip").mkdir(parents=True)
    for path in lfw_photos[:2]:
        shutil.copyfile(path, root / path.name)
    for path in lfw_photos[2:4]:
        shutil.copyfile(path, root / "trip" / path.name)
    (root / "trip" / "broken.jpg").write_bytes(lfw_photos[4].read_bytes()[:2000])
    (root / "notes.txt").write_text("not a photo")
    return root


@pytest.mark.slow  # a folder through a real worker, twice
@pytest.mark.django_db(transaction=True)
def test_ingest_stores_a_folder_records_the_bad_file_and_a_rerun_skips_everything(folder, celery_worker):
    library = LibraryFactory()
    LibraryFactory()  # another library: the photos go to the one named
    output = ingest(str(folder), "--library", str(library.id), "--recursive", "--wait")

    job = IngestJob.objects.get()
    assert (job.source, job.path, job.state) == ("folder", str(folder), IngestJob.State.DONE)
    assert set(Photo.objects.values_list("library", flat=True)) == {job.library_id} == {library.id}
    items = {item.name: item for item in job.items.all()}
    assert sorted(items) == sorted(
        ["Colin_Powell_0001.jpg", "Colin_Powell_0002.jpg", "trip/Tony_Blair_0001.jpg", "trip/Tony_Blair_0002.jpg",
         "trip/broken.jpg"]
    )  # fmt: skip
    assert {name: item.state for name, item in items.items() if item.state != "done"} == {"trip/broken.jpg": "failed"}
    assert "truncated, corrupt" in items["trip/broken.jpg"].error and items["trip/broken.jpg"].photo is None
    assert Photo.objects.filter(status=Photo.Status.DONE).count() == 4 and Face.objects.count() >= 4
    assert "new:      4 (4 processed, 0 waiting" in output and "failed:   1" in output
    assert "trip/broken.jpg: the JPEG image is truncated, corrupt or unsupported" in output

    files = files_under(photo_file_path("photos"))
    rerun = ingest(str(folder), "--library", str(library.id), "--recursive")

    again = IngestJob.objects.exclude(id=job.id).get()  # the first job is done: a new one, that stores nothing new
    assert again.state == IngestJob.State.DONE  # nothing pending: done as soon as every file was added
    assert sorted(again.items.values_list("state", flat=True)) == ["failed"] + ["skipped"] * 4
    assert Photo.objects.count() == 4 and files_under(photo_file_path("photos")) == files
    assert "new:      0" in rerun and "skipped:  4" in rerun and "failed:   1" in rerun


@pytest.mark.django_db
def test_ingest_without_recursive_leaves_sub_folders_alone(folder, media_root):
    library = LibraryFactory()  # the only library: where the photos go when none is named
    ingest(str(folder))
    assert sorted(IngestItem.objects.values_list("name", flat=True)) == [
        "Colin_Powell_0001.jpg",
        "Colin_Powell_0002.jpg",
    ]
    assert IngestJob.objects.get().library == library


@pytest.mark.django_db
def test_ingest_for_a_user_goes_to_their_personal_library_unless_another_is_named(folder, media_root):
    alice, shared = UserFactory(username="alice"), LibraryFactory()
    ingest(str(folder), "--user", "alice")
    ingest(str(folder / "trip"), "--user", "alice", "--library", str(shared.id))
    jobs = IngestJob.objects.order_by("id")
    assert [(job.library, job.created_by) for job in jobs] == [(alice.personal_library, alice), (shared, alice)]


@pytest.mark.django_db
def test_ingest_refuses_a_missing_folder_an_unknown_user_or_library_and_an_unnamed_one_of_several(tmp_path, folder):
    library = LibraryFactory()
    with pytest.raises(CommandError, match="is not a folder"):
        ingest(str(tmp_path / "nowhere"), "--library", str(library.id))
    with pytest.raises(CommandError, match="no user named 'ghost'"):
        ingest(str(folder), "--user", "ghost")
    with pytest.raises(CommandError, match="no library with id 999999"):
        ingest(str(folder), "--library", "999999")
    LibraryFactory()
    with pytest.raises(CommandError, match="say which library receives the photos"):
        ingest(str(folder))
    assert not IngestJob.objects.exists()


@pytest.mark.slow  # a real `manage.py ingest` interrupted mid-way: seconds of subprocess
@pytest.mark.django_db(transaction=True)
def test_ctrl_c_leaves_a_job_that_the_next_run_resumes(tmp_path, media_root):
    folder = tmp_path / "many"
    folder.mkdir()
    for n in range(300):
        (folder / f"img{n:03}.jpg").write_bytes(jpeg_bytes(96, 96, seed=10_000 + n))
    # No worker listens on Redis database 15: the queued tasks stay queued, this test is about the job alone.
    env = child_env(REDIS_URL=child_env()["REDIS_URL"].rsplit("/", 1)[0] + "/15")
    command = [sys.executable, "manage.py", "ingest", str(folder), "--library", str(LibraryFactory().id)]
    process = subprocess.Popen(command, env=env, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    wait_for(lambda: IngestItem.objects.count() >= 20, timeout=120, interval=0.01, what="the first files to be added")
    process.send_signal(signal.SIGINT)
    output, _ = process.communicate(timeout=60)

    assert process.returncode == 130, output
    assert "run the same command again to resume" in output
    job = IngestJob.objects.get()
    assert job.state == IngestJob.State.INTERRUPTED
    added = job.items.count()
    assert 20 <= added < 300
    # Stopped between files: every added file is a stored photo, and every stored file belongs to a photo.
    assert job.items.filter(state=IngestItem.State.PENDING, photo__isnull=False).count() == added
    stored = {Path(photo_file_path(name)) for name in Photo.objects.values_list("file", flat=True)}
    assert set(files_under(photo_file_path("photos"))) == stored and len(stored) == added

    resumed = subprocess.run(command, env=env, cwd=ROOT, capture_output=True, text=True, timeout=300)

    assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    assert f"resuming job {job.id}" in resumed.stdout and f"added {300 - added} files" in resumed.stdout
    assert IngestJob.objects.get().id == job.id
    job.refresh_from_db()
    assert job.state == IngestJob.State.RUNNING  # every file added; the photos wait for a worker
    assert job.items.count() == 300 and Photo.objects.count() == 300
    assert sorted(job.items.values_list("name", flat=True)) == sorted(p.name for p in folder.iterdir())
