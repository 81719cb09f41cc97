import datetime

import pytest
from django.utils import timezone

from notices.models import ExclusionReason, MessageStatus, NoticeBatch, NotifiedLoan, SmsMessage
from notices.selectors import loans_at_risk, promise_figure
from tests.factories import LoanFactory, notice_stage

pytestmark = pytest.mark.django_db

TODAY = timezone.localdate()
YESTERDAY = TODAY - datetime.timedelta(days=1)


def at(day, hour):
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time(hour)))


def notice(loan, *, sent_at=None, status=MessageStatus.SENT, reason="", as_of=YESTERDAY):
    batch, _ = NoticeBatch.objects.get_or_create(as_of=as_of)
    message = SmsMessage.objects.create(
        batch=batch,
        customer=loan.customer,
        loan=loan,
        phone=loan.customer.mobile,
        body="x",
        status=status,
        exclusion_reason=reason,
        sent_at=sent_at,
        idempotency_key=f"k-{loan.pk}-{status}",
    )
    if status != MessageStatus.EXCLUDED:
        NotifiedLoan.objects.create(
            message=message,
            loan=loan,
            stage=notice_stage(1),
            as_of=as_of,
            days_overdue=1,
            overdue_amount=loan.overdue_amount,
        )
    return message


def fell_overdue_yesterday():
    # Missed the payment the day before yesterday: yesterday was its first overdue day.
    return LoanFactory(overdue_since=YESTERDAY - datetime.timedelta(days=1))


def test_the_share_kept_within_24_hours_of_the_first_overdue_day():
    notice(fell_overdue_yesterday(), sent_at=at(YESTERDAY, 10))  # kept
    notice(fell_overdue_yesterday(), sent_at=at(YESTERDAY, 23))  # kept, just
    notice(fell_overdue_yesterday(), sent_at=at(TODAY, 9))  # 33 hours: missed
    fell_overdue_yesterday()  # never sent: missed
    notice(
        fell_overdue_yesterday(), status=MessageStatus.EXCLUDED, reason=ExclusionReason.DO_NOT_CONTACT
    )  # not counted
    figure = promise_figure(YESTERDAY, YESTERDAY)
    assert (figure.kept, figure.total, figure.percent) == (2, 4, 50.0)


def test_last_seven_days_include_older_first_days_and_no_data_is_no_figure():
    assert promise_figure(YESTERDAY, YESTERDAY).percent is None
    old = LoanFactory(overdue_since=TODAY - datetime.timedelta(days=6))
    notice(old, sent_at=at(TODAY - datetime.timedelta(days=5), 9), as_of=TODAY - datetime.timedelta(days=5))
    assert promise_figure(TODAY - datetime.timedelta(days=7), YESTERDAY).kept == 1
    assert promise_figure(YESTERDAY, YESTERDAY).total == 0


def test_loans_at_risk_are_those_still_inside_their_24_hours_without_a_notice():
    new_today = LoanFactory(overdue_since=YESTERDAY)  # first overdue day: today
    pending = LoanFactory(overdue_since=YESTERDAY)
    notice(pending, status=MessageStatus.PENDING, as_of=TODAY)
    done = LoanFactory(overdue_since=YESTERDAY)
    notice(done, sent_at=at(TODAY, 9), as_of=TODAY)
    rows = {row["loan"].pk: str(row["state"]) for row in loans_at_risk(now=at(TODAY, 10))}
    assert set(rows) == {new_today.pk, pending.pk}
    assert rows[pending.pk] != rows[new_today.pk]
    assert loans_at_risk(now=at(TODAY + datetime.timedelta(days=1), 0)) == []


def test_home_page_shows_the_promise(supervisor_client):
    notice(fell_overdue_yesterday(), sent_at=at(YESTERDAY, 10))
    body = supervisor_client.get("/admin/").content.decode()
    assert 'id="promise-24h"' in body and "100.0%" in body
