"""`manage.py restore DIR`: a backup made by `manage.py backup`, into an empty installation."""

from __future__ import annotations

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from facesearch.core.backup import backup_restore
from facesearch.core.errors import ApplicationError


class Command(BaseCommand):
    help = (
        "Restore the backup in DIR into this installation, which must hold no data yet (a migrated schema is fine). "
        "Every checksum is verified before anything is written."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("directory", type=Path)

    def handle(self, *args, directory: Path, **options) -> None:
        try:
            restored = backup_restore(directory=directory)
        except ApplicationError as error:
            detail = f" {error.extra}" if error.extra else ""
            raise CommandError(f"{error.message}{detail}") from error
        counts = restored.manifest.counts
        self.stdout.write(
            f"restored {counts.get('photos_photo', 0)} photos, {counts.get('photos_face', 0)} faces, "
            f"{counts.get('people_person', 0)} people and {restored.files} photo files from {directory} "
            f"(backed up {restored.manifest.created_at})"
        )
        if restored.manifest.missing_files:
            self.stderr.write(f"{len(restored.manifest.missing_files)} photo(s) had no file and are marked failed")
        if restored.encoder_differs:
            self.stderr.write(
                f"its faces were encoded by {restored.manifest.encoder!r}; this installation runs another encoder: "
                "run `manage.py reprocess` to re-encode them"
            )
