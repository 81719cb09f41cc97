"""The one way into the outbox: every SMS the bank sends enters here.

Notices (in bulk, from the batch), plan confirmations and reminders, feedback replies and
the demo all compose their text with `compose` (whitelisted placeholders, the signature
leading, parts counted as the links split them) and create their message with
`message_add` (or, for a batch, a bulk write of composed rows). The database is the
outbox; `wake` asks the sender to look at it once the transaction has committed.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from django.conf import settings
from django.db import transaction
from django_q.tasks import async_task

from .backends import get_backend
from .models import MessageStatus, SmsMessage
from .rendering import render, segments, with_signature


@dataclass(frozen=True)
class Composed:
    """A text as it will be sent: signed, its placeholders filled, its parts counted."""

    body: str
    segments: int


def compose(text: str, context: dict[str, str] | None = None) -> Composed:
    """Fill the whitelisted placeholders (when a context is given) and lead with the signature."""
    body = with_signature(render(text, context) if context is not None else text)
    return Composed(body, segments(body))


def message_add(
    *,
    customer,
    purpose: str,
    composed: Composed,
    idempotency_key: str,
    status: str = MessageStatus.QUEUED,
    dedupe_key: str | None = None,
    loan=None,
    template=None,
    template_version=None,
    batch=None,
    plan=None,
    feedback=None,
    user=None,
    overdue_total: Decimal | None = None,
    days_overdue: int = 0,
    loan_count: int = 1,
) -> SmsMessage:
    """Create one message with the customer's mobile and the text frozen as they are now.

    A queued message wakes the sender after the transaction commits; a pending one waits
    for its batch's approval.
    """
    message = SmsMessage.objects.create(
        batch=batch,
        purpose=purpose,
        customer=customer,
        loan=loan,
        template=template,
        template_version=template_version,
        variant=template.variant if template is not None else "",
        phone=customer.mobile,
        body=composed.body,
        segments=composed.segments,
        overdue_total=overdue_total if overdue_total is not None else Decimal("0.00"),
        days_overdue=days_overdue,
        loan_count=loan_count,
        status=status,
        idempotency_key=idempotency_key,
        dedupe_key=dedupe_key,
        plan=plan,
        feedback=feedback,
        created_by=user if getattr(user, "pk", None) else None,
    )
    if status == MessageStatus.QUEUED:
        wake(reason=purpose)
    return message


def wake(*, reason: str) -> None:
    """Ask for sender tasks once the current transaction commits (now, outside one).

    Several workers share the outbox through claims, so a wake-up too many is harmless;
    one lost is found by the every-minute sweep.
    """
    transaction.on_commit(lambda: senders_queue(reason))


def senders_queue(reason: str) -> None:
    """Queue sender tasks now (the sweep, which has no transaction to wait for).

    Not for a carrier link: its process polls the outbox itself."""
    if get_backend().link:
        return
    for _ in range(max(1, settings.SMS_SENDER_TASKS)):
        async_task("notices.tasks.send_queued", task_name=f"send: {reason}"[:100], group="sending")
