"""`manage.py backup DIR`: the database, the photo files and a manifest of counts and checksums, into a new folder."""

from __future__ import annotations

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from facesearch.core.backup import backup_create, backup_size
from facesearch.core.errors import ApplicationError


class Command(BaseCommand):
    help = "Back up this installation (database, photo files, manifest) into DIR, a new or empty folder."

    def add_arguments(self, parser) -> None:
        parser.add_argument("directory", type=Path)

    def handle(self, *args, directory: Path, **options) -> None:
        try:
            manifest = backup_create(directory=directory)
        except ApplicationError as error:
            raise CommandError(error.message) from error
        faces = manifest.counts.get("photos_face", 0)
        self.stdout.write(
            f"backed up {manifest.counts.get('photos_photo', 0)} photos, {faces} faces, "
            f"{manifest.counts.get('people_person', 0)} people and {len(manifest.files)} photo files "
            f"({backup_size(directory) / 2**20:.1f} MiB) to {directory}"
        )
        for name in manifest.missing_files:
            self.stderr.write(f"missing file (deleted during the backup?): {name}")
