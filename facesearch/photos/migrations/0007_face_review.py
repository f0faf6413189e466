"""Face review: a person's verdict on a detection (face, not a face, ignored), whether it passed the quality gate, and
the `hidden` flag the database derives from them (0008 rebuilds the exact scan's index without hidden faces)."""

from django.db import migrations, models


def gate_existing_faces(apps, schema_editor) -> None:
    """Faces stored before the gate are judged as ingest judges new ones (drawn faces pass: a person drew them)."""
    from embeddings.quality import MTCNN_GATE  # they were all MTCNN's detections

    Face = apps.get_model("photos", "Face")
    failed = [
        face_id
        for face_id, score, box_size, width, height in Face.objects.filter(
            source="detected", photo__width__isnull=False, photo__height__isnull=False
        )
        .values_list("id", "score", "box_size", "photo__width", "photo__height")
        .iterator(chunk_size=2000)
        if not MTCNN_GATE.passes(score=score, box_size=box_size, image_size=(width, height))
    ]
    for start in range(0, len(failed), 5000):
        Face.objects.filter(id__in=failed[start : start + 5000]).update(quality_passed=False)


class Migration(migrations.Migration):
    dependencies = [
        ("libraries", "0003_audit_kind_reject"),
        ("people", "0006_assignment_history"),
        ("photos", "0006_face_source"),
    ]

    operations = [
        migrations.AddField(
            model_name="face",
            name="review",
            field=models.CharField(
                blank=True,
                choices=[("face", "Face"), ("not_face", "Not Face"), ("ignored", "Ignored")],
                default="",
                help_text="a person's verdict on the detection; kept across reprocessing and re-encoding",
                max_length=16,
            ),
        ),
        migrations.AddField(
            model_name="face",
            name="quality_passed",
            field=models.BooleanField(
                default=True,
                help_text="passed the quality gate (`embeddings.quality.Gate`) when stored; drawn: true",
            ),
        ),
        migrations.AddField(
            model_name="face",
            name="hidden",
            field=models.GeneratedField(
                db_persist=True,
                expression=models.Q(
                    ("person__isnull", True),
                    models.Q(
                        ("review", "not_face"),
                        models.Q(("quality_passed", False), models.Q(("review", "face"), _negated=True)),
                        _connector="OR",
                    ),
                ),
                output_field=models.BooleanField(),
            ),
        ),
        migrations.RunPython(gate_existing_faces, migrations.RunPython.noop),
    ]
