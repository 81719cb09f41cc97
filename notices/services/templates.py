from __future__ import annotations

from django.db import transaction
from django.utils.translation import gettext as _

from core.audit import audit_record
from core.exceptions import ServiceError

from ..models import (
    ContactPolicy,
    MessageStatus,
    SmsMessage,
    SmsTemplate,
    SmsTemplateVersion,
)
from ..rendering import template_problems


def template_lint(*, body: str, purpose: str) -> list[str]:
    """The editor's checks for a template body of this purpose (rendering.template_problems)."""
    return template_problems(body, max_parts=ContactPolicy.current().max_parts, purpose=purpose)


def template_version_used(version: SmsTemplateVersion) -> bool:
    return SmsMessage.objects.filter(template_version=version).exclude(status=MessageStatus.EXCLUDED).exists()


def template_save(*, template: SmsTemplate, user, fields: dict | None = None) -> SmsTemplate:
    """Create or change a template; a body edit of a used version starts a new version.

    `template` carries the new values (as a ModelForm leaves them); the lint runs again
    here so no path around the editor can store a forbidden or broken text.
    """
    problems = template_lint(body=template.body, purpose=template.purpose)
    if problems:
        raise ServiceError(" ".join(problems), code="template_invalid")
    with transaction.atomic():
        template.updated_by = user if getattr(user, "pk", None) else None
        if template.pk is None:
            template.version = 1
            template.save()
            SmsTemplateVersion.objects.create(
                template=template, version=1, body=template.body, created_by=template.updated_by
            )
            audit_record(actor=user, action="template.create", obj=template, to_state=f"v1 {template.body}")
            return template
        before = SmsTemplate.objects.select_for_update().get(pk=template.pk)
        current = before.versions.filter(version=before.version).first()
        if template.body != before.body:
            if current is None or template_version_used(current):
                template.version = before.version + 1
                SmsTemplateVersion.objects.create(
                    template=template,
                    version=template.version,
                    body=template.body,
                    created_by=template.updated_by,
                )
            else:
                template.version = before.version
                SmsTemplateVersion.objects.filter(pk=current.pk).update(body=template.body)
        else:
            template.version = before.version
        template.save()
        changes = [
            name
            for name in ("name", "purpose", "stage_id", "variant", "weight", "body", "active")
            if getattr(before, name) != getattr(template, name)
        ]
        if changes:
            audit_record(
                actor=user,
                action="template.change",
                obj=template,
                from_state=f"v{before.version} {before.body}" if "body" in changes else "",
                to_state=f"v{template.version} {template.body}" if "body" in changes else "",
                note=_("Changed: %(fields)s") % {"fields": ", ".join(changes)},
            )
    return template


def template_current_version(template: SmsTemplate) -> SmsTemplateVersion:
    version = template.versions.filter(version=template.version).first()
    if version is None:  # a template made before versions existed
        version = SmsTemplateVersion.objects.create(
            template=template, version=template.version, body=template.body
        )
    return version
