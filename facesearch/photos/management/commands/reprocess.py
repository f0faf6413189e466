"""`manage.py reprocess (--all | --failed | --ids ID ...) [--wait]`: re-encode stored photos, one job per library."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from facesearch.photos import ingest
from facesearch.photos.management.progress import job_follow, job_summary
from facesearch.photos.models import Photo


class Command(BaseCommand):
    help = (
        "Re-encode stored photos with the configured encoder (e.g. after changing it), as a job the API and the admin "
        "show. Faces keep their people: a new face overlapping an old one inherits its person."
    )

    def add_arguments(self, parser) -> None:
        which = parser.add_mutually_exclusive_group(required=True)
        which.add_argument("--all", action="store_true", help="every photo")
        which.add_argument("--failed", action="store_true", help="photos whose processing failed")
        which.add_argument("--ids", type=int, nargs="+", metavar="ID", help="these photos")
        parser.add_argument("--wait", action="store_true", help="follow the processing to the end")

    def handle(self, *args, all: bool, failed: bool, ids: list[int] | None, wait: bool, **options) -> None:
        photos = Photo.objects.all()
        if failed:
            photos = photos.filter(status=Photo.Status.FAILED)
        elif ids:
            photos = photos.filter(id__in=ids)
            missing = sorted(set(ids) - set(photos.values_list("id", flat=True)))
            if missing:
                raise CommandError(f"no photos with ids {', '.join(map(str, missing))}")
        jobs = ingest.photos_reprocess(photo_ids=photos.values_list("id", flat=True))
        for job in jobs:
            self.stdout.write(f"job {job.id}: {job.items.count()} photos of library {job.library_id} queued")
        for job in jobs:
            if wait and not job_follow(job=job):
                self.stdout.write("stopped waiting; the workers go on with the jobs")
                wait = False
            job_summary(job=job, out=self.stdout)
