"""The one helper every state-changing service uses to leave an audit trail."""

from __future__ import annotations

from django.contrib.contenttypes.models import ContentType
from django.db import models

from .models import AuditEvent


def audit_record(
    *,
    actor,
    action: str,
    obj: models.Model | None = None,
    from_state: object = "",
    to_state: object = "",
    note: str = "",
) -> AuditEvent:
    """Write one AuditEvent row; call it inside the transaction of the change itself."""
    event = AuditEvent(
        actor=actor if getattr(actor, "pk", None) else None,
        actor_label=actor.get_username() if getattr(actor, "pk", None) else "",
        action=action,
        from_state=str(from_state)[:200],
        to_state=str(to_state)[:200],
        note=note,
    )
    if obj is not None:
        event.content_type = ContentType.objects.get_for_model(obj, for_concrete_model=True)
        event.object_id = str(obj.pk)
        event.object_repr = str(obj)[:200]
    event.save()
    return event
