import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("libraries", "0002_existing_data"),
        ("people", "0003_remove_person_people_pers_name_3035d1_idx_and_more"),
    ]

    operations = [
        migrations.AlterField(
            model_name="person",
            name="library",
            field=models.ForeignKey(
                on_delete=django.db.models.deletion.PROTECT, related_name="people", to="libraries.library"
            ),
        ),
    ]
