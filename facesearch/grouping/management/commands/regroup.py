"""`manage.py regroup LIBRARY_ID [...]`: rebuild libraries' groups of unknown faces from scratch."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from facesearch.grouping.services import library_regroup
from facesearch.libraries.models import Library


class Command(BaseCommand):
    help = (
        "Forget the stored groups of unknown faces of these libraries and group their unassigned faces again, as "
        "ingest and the maintenance task would (e.g. after changing the encoder or restoring a backup)."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("library_ids", nargs="+", type=int, metavar="LIBRARY_ID")

    def handle(self, *args, library_ids: list[int], **options) -> None:
        libraries = {library.id: library for library in Library.objects.filter(id__in=library_ids)}
        missing = [i for i in library_ids if i not in libraries]
        if missing:
            raise CommandError(f"no library with id {', '.join(map(str, missing))}")
        for library_id in library_ids:
            done = library_regroup(library=libraries[library_id])
            self.stdout.write(f"library {library_id}: {done.placed} unassigned faces, {done.groups} groups")
