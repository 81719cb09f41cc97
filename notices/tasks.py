"""django-q2 entry points: thin, take ids, safe to run twice."""

from __future__ import annotations

import datetime

from django.utils import timezone

from .services.batches import batch_generate


def daily_batch(as_of: str | None = None) -> int:
    """Generate (or find) the batch for today, or for `as_of` (YYYY-MM-DD)."""
    day = datetime.date.fromisoformat(as_of) if as_of else timezone.localdate()
    return batch_generate(as_of=day).pk
