"""`manage.py media_check [--delete-orphans] [--fail-missing]`: files without a photo, photos without a file."""

from __future__ import annotations

from django.core.management.base import BaseCommand

from facesearch.photos import selectors, services


class Command(BaseCommand):
    help = (
        "Compare MEDIA_ROOT with the database: list photo files no row refers to (e.g. left by a crash between "
        "writing a file and committing its row) and photos whose file is gone. Exits 1 when it finds either and "
        "was not asked to fix it."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("--delete-orphans", action="store_true", help="remove the files no photo refers to")
        parser.add_argument(
            "--fail-missing", action="store_true", help="mark photos whose file is gone as failed, with the reason"
        )

    def handle(self, *args, delete_orphans: bool, fail_missing: bool, **options) -> None:
        audit = selectors.media_audit()
        for name in audit.orphan_files:
            self.stdout.write(f"orphan file: {name}")
        for photo_id, name in audit.missing_files:
            self.stdout.write(f"missing file: photo {photo_id} ({name})")
        if delete_orphans and audit.orphan_files:
            removed = services.media_orphans_delete(names=audit.orphan_files)
            self.stdout.write(f"removed {len(removed)} orphan file(s)")
        if fail_missing and audit.missing_files:
            services.photos_file_missing(photo_ids=[photo_id for photo_id, _ in audit.missing_files])
            self.stdout.write(f"marked {len(audit.missing_files)} photo(s) failed")
        self.stdout.write(
            f"{len(audit.orphan_files)} orphan file(s), {len(audit.missing_files)} photo(s) with a missing file"
        )
        unresolved = (audit.orphan_files and not delete_orphans) or (audit.missing_files and not fail_missing)
        if unresolved:
            raise SystemExit(1)
