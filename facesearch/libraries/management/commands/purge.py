"""`manage.py purge [--dry-run]`: apply the retention settings now (the daily beat task does the same)."""

from __future__ import annotations

from django.core.management.base import BaseCommand

from facesearch.libraries.retention import retention_apply


class Command(BaseCommand):
    help = (
        "Delete unassigned faces older than FACESEARCH_RETAIN_UNASSIGNED_DAYS and audit entries older than "
        "FACESEARCH_RETAIN_AUDIT_DAYS (0 keeps them). --dry-run shows what would go and deletes nothing."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("--dry-run", action="store_true", help="count, do not delete")

    def handle(self, *args, dry_run: bool, **options) -> None:
        expired = retention_apply(dry_run=dry_run)
        verb = "would delete" if dry_run else "deleted"
        for what, count, before, setting in (
            ("unassigned faces", expired.faces, expired.faces_before, "FACESEARCH_RETAIN_UNASSIGNED_DAYS"),
            ("audit entries", expired.audit_entries, expired.audit_before, "FACESEARCH_RETAIN_AUDIT_DAYS"),
        ):
            if before is None:
                self.stdout.write(f"{what}: kept forever ({setting}=0)")
            else:
                self.stdout.write(f"{what}: {verb} {count} created before {before:%Y-%m-%d %H:%M} UTC")
