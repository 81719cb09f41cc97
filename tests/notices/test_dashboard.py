import datetime
import re
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from customers.models import LoanEvent, LoanEventKind
from notices.dashboard import delivery_rate, last_days, overdue_by_stage, sending_today
from notices.models import MessageStatus, SmsMessage
from tests.factories import CustomerFactory, LoanFactory

pytestmark = pytest.mark.django_db
_n = iter(range(10**6))


def sms(status, **times):
    customer = CustomerFactory()
    return SmsMessage.objects.create(
        customer=customer,
        phone=customer.mobile,
        body="x",
        status=status,
        idempotency_key=f"d{next(_n)}",
        **times,
    )


def test_todays_sending_and_delivery_rate():
    now = timezone.now()
    sms(MessageStatus.QUEUED)
    sms(MessageStatus.DELIVERED, sent_at=now, delivered_at=now)
    sms(MessageStatus.DELIVERED, sent_at=now, delivered_at=now)
    sms(MessageStatus.FAILED, sent_at=now, failed_at=now)
    sms(MessageStatus.SENT, sent_at=now - datetime.timedelta(days=3))
    tiles = {tile["key"]: tile["value"] for tile in sending_today(now)}
    assert tiles == {"queued": 1, "sending": 0, "sent": 3, "delivered": 2, "failed": 1}
    rate = delivery_rate(now=now)
    assert (rate["total"], rate["delivered"], rate["failed"], rate["waiting"], rate["percent"]) == (
        4,
        2,
        1,
        1,
        50.0,
    )


def test_overdue_book_by_stage_and_the_last_30_days():
    today = timezone.localdate()
    LoanFactory(days=2, overdue_amount="100.00")
    LoanFactory(days=3, overdue_amount="50.50")
    LoanFactory(days=100, overdue_amount="7.00")
    rows = {row["stage"].min_days: (row["count"], row["amount"]) for row in overdue_by_stage(today)}
    assert rows[1] == (2, Decimal("150.50"))
    assert rows[91][0] == 1 and rows[4][0] == 0
    cured = LoanFactory()
    LoanEvent.objects.create(loan=cured, kind=LoanEventKind.CURED, on_date=today - datetime.timedelta(days=1))
    sms(MessageStatus.DELIVERED, sent_at=timezone.now(), delivered_at=timezone.now())
    history = last_days(30, today)
    assert (
        history["cured"][-2] == 1
        and history["sent"][-1] == 1
        and history["delivered"][-1] == 1
        and len(history["dates"]) == 30
    )


def test_every_number_on_the_home_page_is_a_link(supervisor_client):
    LoanFactory(days=2)
    sms(MessageStatus.QUEUED)
    body = supervisor_client.get("/admin/").content.decode()
    for block in (
        "sending-today",
        "chart-stages",
        "chart-history",
        "promise-24h",
        "work-tiles",
        "pending-batches",
    ):
        assert f'id="{block}"' in body
    assert "<svg" in body and 'href="/admin/customers/loan/?stage=1-3"' in body
    for tile in re.findall(r'<a href="([^"]+)"[^>]*><div class="tile-number" data-tile="(\w+)">', body):
        assert supervisor_client.get(tile[0].replace("&amp;", "&")).status_code == 200, tile


def test_home_page_queries_do_not_grow_with_the_data(supervisor_client):
    def count():
        with CaptureQueriesContext(connection) as ctx:
            assert supervisor_client.get("/admin/").status_code == 200
        return len(ctx)

    for _ in range(3):
        LoanFactory(days=2)
        sms(MessageStatus.DELIVERED, sent_at=timezone.now(), delivered_at=timezone.now())
    count()  # first visit: the contact policy row and caches are created
    few = count()
    for _ in range(30):
        LoanFactory(days=20)
        LoanFactory(days=1)  # first overdue day today: at risk
        sms(MessageStatus.FAILED, sent_at=timezone.now(), failed_at=timezone.now())
    assert count() == few
