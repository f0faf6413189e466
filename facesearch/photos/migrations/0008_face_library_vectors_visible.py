"""The exact scan's covering index without hidden faces, rebuilt concurrently: built beside the old one under a
temporary name, then the old one dropped and the new one renamed, so uploads are never blocked and the exact scan
always has an index to read (0005 says why it exists)."""

from django.contrib.postgres.operations import AddIndexConcurrently, RemoveIndexConcurrently
from django.db import migrations, models


class Migration(migrations.Migration):
    atomic = False

    dependencies = [("photos", "0007_face_review")]

    operations = [
        AddIndexConcurrently(
            model_name="face",
            index=models.Index(
                condition=models.Q(("hidden", False), ("searchable", True)),
                fields=["library", "model_id"],
                include=("id", "embedding"),
                name="face_library_vectors_new",
            ),
        ),
        RemoveIndexConcurrently(model_name="face", name="face_library_vectors"),
        migrations.RenameIndex(model_name="face", new_name="face_library_vectors", old_name="face_library_vectors_new"),
    ]
