import datetime

import pytest
from django.utils import timezone

from notices.backends import locmem, reset_backends


@pytest.fixture(autouse=True)
def _clean_outbox():
    locmem.clear()
    reset_backends()
    yield
    locmem.clear()
    reset_backends()


class Clock:
    """Sets what the sender believes the time is (Asia/Shanghai wall clock)."""

    def __init__(self, monkeypatch):
        self.monkeypatch = monkeypatch
        self.set(10, 0)

    def set(self, hour: int, minute: int, second: int = 0, day: datetime.date | None = None):
        day = day or timezone.localdate()
        self.now = timezone.make_aware(datetime.datetime.combine(day, datetime.time(hour, minute, second)))
        self.monkeypatch.setattr("notices.services.sending.current_time", lambda: self.now)
        return self.now


@pytest.fixture
def clock(monkeypatch):
    return Clock(monkeypatch)
