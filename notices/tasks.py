"""django-q2 entry points: thin, take ids, safe to run twice."""

from __future__ import annotations

import datetime

from django.conf import settings
from django.utils import timezone
from django_q.tasks import async_task

from .services.batches import batch_generate
from .services.sending import sender_run, sending_sweep


def daily_batch(as_of: str | None = None) -> int:
    """Generate (or find) the batch for today, or for `as_of` (YYYY-MM-DD)."""
    day = datetime.date.fromisoformat(as_of) if as_of else timezone.localdate()
    return batch_generate(as_of=day).pk


def plans_progress(as_of: str) -> dict:
    """Mark installments paid, complete or break plans after an import (idempotent)."""
    from .services.plans import plans_progress as update

    return update(as_of=datetime.date.fromisoformat(as_of))


def queue_plans_progress(as_of: datetime.date) -> None:
    async_task(
        "notices.tasks.plans_progress",
        as_of.isoformat(),
        task_name=f"plans after import {as_of}",
        group="plans",
    )


def send_queued() -> dict:
    """Send what is due; claims make a second copy of this task harmless."""
    return dict(sender_run())


def sweep() -> dict:
    """Reconcile stuck sends, finish batches, re-wake lost wake-ups (every minute)."""
    return dict(sending_sweep())


def wake_sender(reason: str = "") -> None:
    """Queue sender tasks (several workers share the outbox through claims)."""
    for _ in range(max(1, settings.SMS_SENDER_TASKS)):
        async_task("notices.tasks.send_queued", task_name=f"send: {reason}"[:100], group="sending")
