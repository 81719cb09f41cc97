from django.db import migrations

from core.roles import roles_sync


class Migration(migrations.Migration):
    dependencies = [("core", "0002_roles"), ("notices", "0002_defaults")]

    operations = [migrations.RunPython(roles_sync, migrations.RunPython.noop)]
