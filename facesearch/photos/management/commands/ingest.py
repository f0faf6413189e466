"""`manage.py ingest PATH [--library ID] [--recursive] [--user NAME] [--wait]`: a folder of photos as a resumable
job into one library."""

from __future__ import annotations

import signal
from pathlib import Path

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from facesearch.core.errors import ApplicationError
from facesearch.libraries.models import Library
from facesearch.photos import ingest, jobs, processing, tasks
from facesearch.photos.management.progress import job_follow, job_summary
from facesearch.photos.models import IngestItem


class Command(BaseCommand):
    help = (
        "Store the images of a folder and queue their faces for the workers, as one job. Files whose bytes are "
        "stored already are skipped; a bad file fails with its reason and the job goes on. Ctrl-C stops after the "
        "current file; running the same command again resumes the job."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("path", type=Path, help="folder of images")
        parser.add_argument("--recursive", "-r", action="store_true", help="include sub-folders")
        parser.add_argument(
            "--library", type=int, help="the library's id; default: the user's personal library, or the only library"
        )
        parser.add_argument("--user", help="record the photos as uploaded by this user")
        parser.add_argument("--wait", action="store_true", help="follow the processing to the end")
        parser.add_argument("--batch-size", type=int, default=processing.BULK_BATCH_SIZE, help="photos per worker task")

    def handle(
        self, *args, path: Path, library: int | None, recursive: bool, user: str | None, wait: bool,
        batch_size: int, **options,
    ):  # fmt: skip
        uploader = _user(user)
        try:
            job, resumed = ingest.folder_job_start(path=path, library=_library(library, uploader), user=uploader)
        except ApplicationError as exc:
            raise CommandError(exc.message) from exc
        names = ingest.folder_scan(path=Path(job.path), recursive=recursive)
        self.stdout.write(
            f"{'resuming' if resumed else 'started'} job {job.id}: {len(names)} image files in {job.path}"
        )

        stop = _GracefulStop()
        queued: list[int] = []
        added = 0
        try:
            with stop, tqdm(names, unit="file", desc="adding", disable=None) as bar:
                for name in bar:
                    if stop.requested:
                        break
                    item, added_now = ingest.folder_file_ingest(job=job, name=name, user=uploader)
                    added += added_now
                    if added_now and item.state == IngestItem.State.PENDING:
                        queued.append(item.photo_id)
                    if len(queued) >= batch_size:
                        tasks.photos_enqueue(photo_ids=queued, batch_size=batch_size)
                        queued = []
        except KeyboardInterrupt:
            stop.requested = True
        finally:
            tasks.photos_enqueue(photo_ids=queued, batch_size=batch_size)

        if stop.requested:
            jobs.job_interrupt(job=job)
            job_summary(job=job, out=self.stdout)
            self.stdout.write(f"interrupted after adding {added} files; run the same command again to resume")
            raise SystemExit(130)
        jobs.job_seal(job=job)
        self.stdout.write(f"added {added} files ({len(names) - added} were in the job already)")
        if wait and not job_follow(job=job):
            self.stdout.write("stopped waiting; the workers go on with the job")
        job_summary(job=job, out=self.stdout)


def _user(username: str | None):
    if username is None:
        return None
    try:
        return get_user_model().objects.get(username=username)
    except get_user_model().DoesNotExist as exc:
        raise CommandError(f"no user named {username!r}") from exc


def _library(library_id: int | None, user) -> Library:
    if library_id is not None:
        library = Library.objects.filter(id=library_id).first()
        if library is None:
            raise CommandError(f"no library with id {library_id}")
        return library
    if user is not None and (personal := Library.objects.filter(personal_for=user).first()) is not None:
        return personal
    libraries = list(Library.objects.all()[:2])
    if len(libraries) != 1:
        raise CommandError("say which library receives the photos: --library ID (see the admin or /api/libraries/)")
    return libraries[0]


class _GracefulStop:
    """The first Ctrl-C asks to stop after the current file (nothing half-stored); a second one stops at once."""

    def __init__(self) -> None:
        self.requested = False
        self._previous = None

    def __enter__(self) -> _GracefulStop:
        self._previous = signal.signal(signal.SIGINT, self._handle)
        return self

    def __exit__(self, *exc_info) -> None:
        signal.signal(signal.SIGINT, self._previous)

    def _handle(self, signum, frame) -> None:
        if self.requested:
            raise KeyboardInterrupt
        self.requested = True
        tqdm.write("stopping after the current file (Ctrl-C again to stop at once)")
