"""`manage.py reprocess (--all | --failed | --ids ID ... | --encoder NAME) [--wait]`: re-encode stored photos, one job
per library; `--encoder` switches the library to another encoder while search keeps answering (`encoder_switch`)."""

from __future__ import annotations

import time

from django.core.management.base import BaseCommand, CommandError

from facesearch.core.errors import ApplicationError
from facesearch.core.pipeline import encoders_read
from facesearch.photos import encoder_switch, ingest
from facesearch.photos.management.progress import POLL_SECONDS, job_follow, job_summary
from facesearch.photos.models import IngestJob, Photo


class Command(BaseCommand):
    help = (
        "Re-encode stored photos with the serving encoder, as a job the API and the admin show; or, with --encoder, "
        "every photo with another encoder, which serves once all are done (search answers from the old one until "
        "then). Faces keep their people: a new face overlapping an old one inherits its person."
    )

    def add_arguments(self, parser) -> None:
        which = parser.add_mutually_exclusive_group(required=True)
        which.add_argument("--all", action="store_true", help="every photo")
        which.add_argument("--failed", action="store_true", help="photos whose processing failed")
        which.add_argument("--ids", type=int, nargs="+", metavar="ID", help="these photos")
        which.add_argument(
            "--encoder",
            metavar="NAME",
            help=f"every photo with this encoder, then serve it ({', '.join(encoder_switch.switchable_encoders())})",
        )
        parser.add_argument("--wait", action="store_true", help="follow the processing to the end")

    def handle(
        self, *args, all: bool, failed: bool, ids: list[int] | None, encoder: str | None, wait: bool, **options
    ) -> None:
        photos = Photo.objects.all()
        if encoder:
            try:
                jobs = encoder_switch.encoder_switch_start(encoder=encoder)
            except ApplicationError as exc:
                raise CommandError(exc.message) from exc
            if self._follow(jobs, wait=wait) and wait:
                self._switch_follow()
            encoders = encoders_read()
            switching = f"; switching to {encoders.target} (run with --wait to follow)" if encoders.target else ""
            self.stdout.write(f"serving encoder: {encoders.serving}{switching}")
            return
        if failed:
            photos = photos.filter(status=Photo.Status.FAILED)
        elif ids:
            photos = photos.filter(id__in=ids)
            missing = sorted(set(ids) - set(photos.values_list("id", flat=True)))
            if missing:
                raise CommandError(f"no photos with ids {', '.join(map(str, missing))}")
        self._follow(ingest.photos_reprocess(photo_ids=photos.values_list("id", flat=True)), wait=wait)

    def _follow(self, jobs: list[IngestJob], *, wait: bool) -> bool:
        """Each job's summary, after following it to the end with `wait`; False when the waiting was stopped."""
        for job in jobs:
            self.stdout.write(f"job {job.id}: {job.items.count()} photos of library {job.library_id} queued")
        for job in jobs:
            if wait and not job_follow(job=job):
                self.stdout.write("stopped waiting; the workers go on with the jobs")
                wait = False
            job_summary(job=job, out=self.stdout)
        return wait

    def _switch_follow(self) -> None:
        """The jobs are done; the switch ends with the last task (photos stored meanwhile may be queued again)."""
        try:
            while encoders_read().target:
                time.sleep(POLL_SECONDS)
        except KeyboardInterrupt:
            self.stdout.write("stopped waiting; the workers go on with the switch")
