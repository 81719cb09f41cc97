"""Every notices changelist costs the same number of queries for 5 rows as for 50."""

import itertools

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from core.audit import audit_record
from notices.models import (
    DeliveryReceipt,
    Feedback,
    InboundMessage,
    Installment,
    PlanLoan,
    RepaymentPlan,
    SmsMessage,
)
from tests.factories import CustomerFactory, LoanFactory

pytestmark = pytest.mark.django_db
_n = itertools.count()


def feedback():
    customer = CustomerFactory()
    Feedback.objects.create(
        customer=customer,
        loan=LoanFactory(customer=customer),
        channel="phone",
        category="other",
        text="x",
        sla_due_at=timezone.now(),
    )


def plan():
    loan = LoanFactory()
    p = RepaymentPlan.objects.create(customer=loan.customer, kind="installments", total_amount=100)
    PlanLoan.objects.create(plan=p, loan=loan, amount=100)
    Installment.objects.create(plan=p, seq=1, due_date=timezone.localdate(), amount=100)


def inbound():
    InboundMessage.objects.create(
        provider_message_id=f"in-{next(_n)}",
        phone="+8613800000000",
        text="x",
        customer=CustomerFactory(),
        payload={},
    )


def receipt():
    customer = CustomerFactory()
    key = f"r-{next(_n)}"
    message = SmsMessage.objects.create(
        customer=customer, phone=customer.mobile, body="x", idempotency_key=key
    )
    DeliveryReceipt.objects.create(
        message=message, client_ref=key, status="delivered", payload={}, fingerprint=key
    )


def audit():
    audit_record(actor=None, action="test", obj=CustomerFactory())


@pytest.mark.parametrize(
    ("url", "make"),
    [
        ("/admin/notices/feedback/", feedback),
        ("/admin/notices/feedback/?work=open", feedback),
        ("/admin/notices/repaymentplan/", plan),
        ("/admin/notices/inboundmessage/", inbound),
        ("/admin/notices/deliveryreceipt/", receipt),
        ("/admin/core/auditevent/", audit),
    ],
)
def test_changelist_queries_do_not_grow_with_rows(admin_client, url, make):
    def count():
        with CaptureQueriesContext(connection) as ctx:
            assert admin_client.get(url).status_code == 200
        return len(ctx)

    for _ in range(5):
        make()
    count()
    few = count()
    for _ in range(45):
        make()
    assert count() == few
