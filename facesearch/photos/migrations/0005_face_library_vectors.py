"""The covering index of the exact nearest-neighbour scan, built concurrently: at a million faces it takes minutes,
and a plain CREATE INDEX would block uploads for all of them.

An index-only scan reads the table for every row on a page not yet marked all-visible, which VACUUM does; by default
autovacuum comes after inserts of 20% of the table (200,000 new faces at a million), so a library just ingested would
be scanned through the table until then. At 2% it comes after 20,000; inserts alone leave nothing for it to clean in
the HNSW index (PostgreSQL skips index vacuuming when there are next to no dead rows)."""

from django.contrib.postgres.operations import AddIndexConcurrently
from django.db import migrations, models


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("libraries", "0003_audit_kind_reject"),
        ("people", "0005_face_rejection_person_hidden"),
        ("photos", "0004_library_required"),
    ]

    operations = [
        AddIndexConcurrently(
            model_name="face",
            index=models.Index(
                condition=models.Q(("searchable", True)),
                fields=["library", "model_id"],
                include=("id", "embedding"),
                name="face_library_vectors",
            ),
        ),
        migrations.RunSQL(
            "ALTER TABLE photos_face SET (autovacuum_vacuum_insert_scale_factor = 0.02)",
            "ALTER TABLE photos_face RESET (autovacuum_vacuum_insert_scale_factor)",
        ),
    ]
