"""The recurring work, as django-q2 schedules kept in step with settings."""

from __future__ import annotations

import datetime

from django.conf import settings
from django.utils import timezone

DAILY_BATCH = "notices.tasks.daily_batch"
SWEEP = "notices.tasks.sweep"


def next_run_at(hhmm: str, now: datetime.datetime | None = None) -> datetime.datetime:
    """The next occurrence of HH:MM in the project's time zone (Asia/Shanghai)."""
    now = timezone.localtime(now or timezone.now())
    at = datetime.time.fromisoformat(hhmm)
    candidate = now.replace(hour=at.hour, minute=at.minute, second=0, microsecond=0)
    if candidate <= now:
        candidate += datetime.timedelta(days=1)
    return candidate


def schedules_sync(**kwargs) -> None:
    """Create or update the daily batch (BATCH_SCHEDULE_TIME, default 07:30) and the sweep."""
    from django_q.models import Schedule

    Schedule.objects.get_or_create(
        name="sending-sweep",
        defaults={"func": SWEEP, "schedule_type": Schedule.MINUTES, "minutes": 1, "repeats": -1},
    )

    wanted = next_run_at(settings.BATCH_SCHEDULE_TIME)
    schedule = Schedule.objects.filter(name="daily-batch").first()
    if schedule is None:
        Schedule.objects.create(
            name="daily-batch",
            func=DAILY_BATCH,
            schedule_type=Schedule.DAILY,
            next_run=wanted,
            repeats=-1,
        )
        return
    current = timezone.localtime(schedule.next_run) if schedule.next_run else None
    if current is None or (current.hour, current.minute) != (wanted.hour, wanted.minute):
        schedule.next_run = wanted
        schedule.save(update_fields=["next_run"])
