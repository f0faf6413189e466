import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("libraries", "0002_existing_data"),
        ("photos", "0003_remove_photo_photos_phot_created_d69ed2_idx_and_more"),
    ]

    operations = [
        migrations.AlterField(
            model_name="photo",
            name="library",
            field=models.ForeignKey(
                on_delete=django.db.models.deletion.PROTECT, related_name="photos", to="libraries.library"
            ),
        ),
        migrations.AlterField(
            model_name="face",
            name="library",
            field=models.ForeignKey(
                help_text="the photo's library, kept on the face so the nearest-neighbour scan filters without a join",
                on_delete=django.db.models.deletion.PROTECT,
                related_name="+",
                to="libraries.library",
            ),
        ),
        migrations.AlterField(
            model_name="ingestjob",
            name="library",
            field=models.ForeignKey(
                on_delete=django.db.models.deletion.PROTECT, related_name="jobs", to="libraries.library"
            ),
        ),
    ]
