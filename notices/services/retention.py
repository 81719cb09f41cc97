"""Retention: personal data in old messages and feedback does not stay forever.

What goes: finished SMS messages (with their gateway attempts, receipts and notified-loan
rows), delivery receipts, closed feedback and inbound SMS, all older than the cut-off.
What stays: anything still open or in flight, batches and plans (totals, no texts), and
the audit log: it is never touched here (on PostgreSQL a trigger refuses it anyway).
"""

from __future__ import annotations

import datetime

from django.db import transaction
from django.db.models import Q

from core.audit import audit_record

from ..models import OPEN_FEEDBACK, DeliveryReceipt, Feedback, InboundMessage, MessageStatus, SmsMessage

IN_FLIGHT = (MessageStatus.PENDING, MessageStatus.QUEUED, MessageStatus.SENDING)
CHUNK = 2000


def _old_messages(before: datetime.datetime):
    return SmsMessage.objects.filter(created_at__lt=before).exclude(status__in=IN_FLIGHT)


def _old_feedback(before: datetime.datetime):
    return Feedback.objects.filter(created_at__lt=before).exclude(status__in=OPEN_FEEDBACK)


def _delete_in_chunks(queryset) -> int:
    deleted = 0
    while True:
        ids = list(queryset.values_list("pk", flat=True)[:CHUNK])
        if not ids:
            return deleted
        with transaction.atomic():
            queryset.model.objects.filter(pk__in=ids).delete()
        deleted += len(ids)


def data_purge(*, before: datetime.datetime, dry_run: bool = False, user=None) -> dict[str, int]:
    """Delete what is older than `before` (see the module's docstring); returns the counts."""
    messages = _old_messages(before)
    receipts = DeliveryReceipt.objects.filter(
        Q(message__in=messages.values("pk")) | Q(message__isnull=True, received_at__lt=before)
    )
    feedback = _old_feedback(before)
    # An inbound SMS goes with its feedback, or alone when it never became any.
    # A repeat of an item that stays (FEEDBACK_MERGE_MINUTES) stays with it.
    kept_repeats = Feedback.repeats.through.objects.exclude(feedback__in=feedback.values("pk"))
    inbound = (
        InboundMessage.objects.filter(received_at__lt=before)
        .filter(Q(feedback__isnull=True) | Q(feedback__in=feedback.values("pk")))
        .exclude(pk__in=kept_repeats.values("inboundmessage_id"))
    )
    counts = {
        "messages": messages.count(),
        "receipts": receipts.count(),
        "feedback": feedback.count(),
        "inbound": inbound.count(),
    }
    if dry_run:
        return counts
    # Children first: a receipt would otherwise be kept with its message set to NULL,
    # and feedback PROTECTs its inbound SMS.
    _delete_in_chunks(receipts)
    _delete_in_chunks(messages)
    _delete_in_chunks(feedback)
    _delete_in_chunks(
        InboundMessage.objects.filter(received_at__lt=before, feedback__isnull=True).exclude(
            pk__in=kept_repeats.values("inboundmessage_id")
        )
    )
    audit_record(
        actor=user,
        action="data.purge",
        note=f"older than {before.isoformat()}: " + ", ".join(f"{k} {v}" for k, v in counts.items()),
    )
    return counts
