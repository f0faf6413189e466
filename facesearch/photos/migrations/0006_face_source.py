"""How each face was found: detected, or drawn by a person. Every existing face was detected; PostgreSQL adds a
column with a constant default without rewriting the table, so this is quick at any size."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("photos", "0005_face_library_vectors"),
    ]

    operations = [
        migrations.AddField(
            model_name="face",
            name="source",
            field=models.CharField(
                choices=[("detected", "Detected"), ("drawn", "Drawn")],
                default="detected",
                help_text="how the face was found",
                max_length=16,
            ),
        ),
        migrations.AlterField(
            model_name="face",
            name="score",
            field=models.FloatField(
                help_text="detection confidence; for a drawn face O-Net's, 0 when it saw no face there"
            ),
        ),
    ]
