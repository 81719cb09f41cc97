from django.db import migrations

from core.roles import roles_sync


class Migration(migrations.Migration):
    dependencies = [("core", "0005_audit_append_only_and_sign_in_roles"), ("notices", "0009_carrier_links")]

    operations = [migrations.RunPython(roles_sync, migrations.RunPython.noop)]
