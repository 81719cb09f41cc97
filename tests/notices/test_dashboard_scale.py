"""The home page on a large book: settled days are counted once and kept (see
notices.selectors.SETTLED_AFTER_DAYS); yesterday and today are always counted."""

import datetime

import pytest
from django.test import override_settings
from django.utils import timezone

from notices import dashboard, selectors
from notices.models import MessageStatus, SmsMessage
from tests.factories import CustomerFactory, LoanFactory

pytestmark = pytest.mark.django_db

TODAY = timezone.localdate()
_n = iter(range(10**6))


def sent_on(day: datetime.date) -> None:
    at = timezone.make_aware(datetime.datetime.combine(day, datetime.time(10)))
    customer = CustomerFactory()
    SmsMessage.objects.create(
        customer=customer,
        phone=customer.mobile,
        body="x",
        status=MessageStatus.DELIVERED,
        idempotency_key=f"s{next(_n)}",
        sent_at=at,
        delivered_at=at,
    )


@pytest.fixture
def large_book(monkeypatch):
    """As on a bank's book: the figures of settled days are kept (in a cache of the test's own)."""
    monkeypatch.setattr(dashboard, "keeps_settled_days", lambda model: True)
    monkeypatch.setattr(selectors, "keeps_settled_days", lambda model: True)
    with override_settings(CACHES={"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}):
        yield


@pytest.mark.parametrize("kept", [False, True])
def test_the_last_30_days_count_the_same_whether_settled_days_are_kept(request, kept):
    if kept:
        request.getfixturevalue("large_book")
    five_days_ago = TODAY - datetime.timedelta(days=5)
    for day in (five_days_ago, five_days_ago, TODAY - datetime.timedelta(days=1), TODAY):
        sent_on(day)
    history = dashboard.last_days(30, TODAY)
    sent = dict(zip(history["dates"], history["sent"], strict=True))
    assert (sent[five_days_ago], sent[TODAY - datetime.timedelta(days=1)], sent[TODAY]) == (2, 1, 1)
    assert sum(history["delivered"]) == 4 and len(history["dates"]) == 30

    sent_on(five_days_ago)  # a settled day changes afterwards …
    sent_on(TODAY)
    history = dashboard.last_days(30, TODAY)
    sent = dict(zip(history["dates"], history["sent"], strict=True))
    assert sent[TODAY] == 2  # … today is always counted,
    assert sent[five_days_ago] == (2 if kept else 3)  # the settled day only when not kept


def test_the_promise_of_settled_days_is_kept_and_yesterdays_counted(large_book):
    first_day = TODAY - datetime.timedelta(days=4)
    LoanFactory(overdue_since=first_day - datetime.timedelta(days=1))
    LoanFactory(overdue_since=TODAY - datetime.timedelta(days=2))  # first overdue day: yesterday
    week = [TODAY - datetime.timedelta(days=n) for n in range(7, 0, -1)]
    figures = selectors.promise_by_first_day(week)
    assert (figures[first_day].total, figures[TODAY - datetime.timedelta(days=1)].total) == (1, 1)
    LoanFactory(overdue_since=first_day - datetime.timedelta(days=1))
    LoanFactory(overdue_since=TODAY - datetime.timedelta(days=2))
    figures = selectors.promise_by_first_day(week)
    assert figures[first_day].total == 1  # kept as it was
    assert figures[TODAY - datetime.timedelta(days=1)].total == 2  # counted again
    assert selectors.promise_figure(week[0], week[-1]).total == 3
