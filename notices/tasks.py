"""django-q2 entry points: thin, take ids, safe to run twice."""

from __future__ import annotations

import datetime

from django.utils import timezone

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


def send_queued() -> dict:
    """Send what is due; claims make a second copy of this task harmless."""
    return dict(sender_run())


def sweep() -> dict:
    """Reconcile stuck sends, finish batches, re-wake lost wake-ups (every minute)."""
    return dict(sending_sweep())
