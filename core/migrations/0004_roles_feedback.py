from django.db import migrations

from core.roles import roles_sync


class Migration(migrations.Migration):
    dependencies = [("core", "0003_roles_notices"), ("notices", "0005_feedback_defaults")]

    operations = [migrations.RunPython(roles_sync, migrations.RunPython.noop)]
