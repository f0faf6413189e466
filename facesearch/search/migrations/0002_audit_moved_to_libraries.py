from django.db import migrations


class Migration(migrations.Migration):
    """The audit log now lives in `libraries` (AuditEntry), which copied its rows in libraries 0002."""

    dependencies = [("libraries", "0002_existing_data"), ("search", "0001_initial")]

    operations = [migrations.DeleteModel(name="AuditLog")]
