"""The three roles as auth groups, and the permissions each one carries.

Migrations call `roles_sync` (with the historical app registry) whenever a new model or
permission appears, so a fresh database and an upgraded one end up with the same groups.
"""

from __future__ import annotations

STAFF = "催收专员"
SUPERVISOR = "主管"
ADMINISTRATOR = "系统管理员"

# Permissions are "app_label.codename". Missing ones (a model not migrated yet) are
# skipped, so the same table serves every migration that re-syncs.
_STAFF_PERMS = [
    "customers.view_customer",
    "customers.change_customer",
    "customers.view_loan",
    "customers.view_loanevent",
    "customers.view_loanbookimport",
    "customers.add_loanbookimport",
    "notices.view_collectionstage",
    "notices.view_smstemplate",
    "notices.add_smstemplate",
    "notices.change_smstemplate",
    "notices.view_smstemplateversion",
    "notices.view_forbiddenexpression",
    "notices.view_noticebatch",
    "notices.add_noticebatch",
    "notices.view_smsmessage",
    "notices.view_messagepart",
    "notices.view_feedback",
    "notices.add_feedback",
    "notices.change_feedback",
    "notices.view_repaymentplan",
    "notices.add_repaymentplan",
    "notices.change_repaymentplan",
    "notices.view_installment",
    "notices.view_inboundmessage",
    "notices.view_keywordrule",
    "notices.view_feedbacksla",
    "notices.view_deliveryreceipt",
]
_SUPERVISOR_PERMS = _STAFF_PERMS + [
    "customers.view_full_personal_data",
    "customers.export_data",
    "customers.confirm_unsafe_snapshot",
    "notices.approve_noticebatch",
    "notices.approve_repaymentplan",
    "notices.change_noticebatch",
    "notices.change_smsmessage",
    "notices.change_collectionstage",
    "core.view_auditevent",
]
_ADMINISTRATOR_PERMS = [
    "auth.view_user",
    "auth.add_user",
    "auth.change_user",
    "auth.view_group",
    "auth.change_group",
    "core.view_auditevent",
    "customers.view_customer",
    "customers.view_loan",
    "customers.view_loanbookimport",
    "notices.view_collectionstage",
    "notices.change_collectionstage",
    "notices.add_collectionstage",
    "notices.view_smstemplate",
    "notices.view_noticebatch",
    "notices.view_smsmessage",
    "notices.view_contactpolicy",
    "notices.change_contactpolicy",
    "notices.view_keywordrule",
    "notices.add_keywordrule",
    "notices.change_keywordrule",
    "notices.delete_keywordrule",
    "notices.view_feedbacksla",
    "notices.change_feedbacksla",
    "notices.view_deliveryreceipt",
    "notices.view_inboundmessage",
    "notices.view_forbiddenexpression",
    "notices.add_forbiddenexpression",
    "notices.change_forbiddenexpression",
    "notices.delete_forbiddenexpression",
    "notices.view_smstemplateversion",
    "django_q.view_schedule",
    "django_q.change_schedule",
    "django_q.view_success",
    "django_q.view_failure",
    "django_q.view_ormq",
    # Sign-in security: unlock a locked-out username, remove a lost authenticator.
    "axes.view_accessattempt",
    "axes.delete_accessattempt",
    "axes.view_accesslog",
    "axes.view_accessfailurelog",
    "otp_totp.view_totpdevice",
    "otp_totp.delete_totpdevice",
]

ROLE_PERMISSIONS: dict[str, list[str]] = {
    STAFF: _STAFF_PERMS,
    SUPERVISOR: _SUPERVISOR_PERMS,
    ADMINISTRATOR: _ADMINISTRATOR_PERMS,
}


def roles_sync(apps, schema_editor=None) -> None:
    """Create the role groups and set their permissions to exactly the table above."""
    from django.contrib.auth.management import create_permissions

    for app_config in apps.get_app_configs():
        app_config.models_module = True
        create_permissions(app_config, apps=apps, verbosity=0)
        app_config.models_module = None

    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for role, perms in ROLE_PERMISSIONS.items():
        group, _ = Group.objects.get_or_create(name=role)
        wanted = []
        for perm in perms:
            app_label, codename = perm.split(".", 1)
            found = Permission.objects.filter(content_type__app_label=app_label, codename=codename).first()
            if found is not None:
                wanted.append(found)
        group.permissions.set(wanted)
