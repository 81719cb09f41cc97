"""The daily batch's query count depends on the number of chunks, never on the number of loans."""

import datetime
import math
from decimal import Decimal

import pytest
from django.contrib.contenttypes.models import ContentType
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from notices.models import ContactPolicy, MessageStatus, NoticeBatch, NotifiedLoan, SmsMessage
from notices.services import batch_cancel, batch_generate
from notices.services import batches as batches_module
from tests.factories import CustomerFactory, LoanFactory

pytestmark = pytest.mark.django_db

DAY = timezone.localdate()
# One day in each default stage (1–3, 4–15, 16–30, 31–60, 61–90, 90+).
STAGE_DAYS = [2, 9, 20, 45, 75, 120]


def add_book(loans: int, *, start: int = 0) -> None:
    """`loans` overdue loans over all stages, mostly two per customer, a few excluded."""
    customer = None
    for i in range(start, start + loans):
        if i % 2 == 0:
            kwargs = {}
            if i % 20 == 6:
                kwargs = {"do_not_contact": True, "do_not_contact_reason": "律师代理"}
            customer = CustomerFactory(**kwargs)
        LoanFactory(
            customer=customer,
            overdue_since=DAY - datetime.timedelta(days=STAGE_DAYS[i % len(STAGE_DAYS)]),
            overdue_amount=Decimal("5.00") if i % 17 == 3 else Decimal("1234.56"),
        )


def generate_counting():
    with CaptureQueriesContext(connection) as queries:
        batch = batch_generate(as_of=DAY)
    return batch, len(queries.captured_queries)


def rows_of(batch) -> int:
    return SmsMessage.objects.filter(batch=batch).count()


@pytest.fixture(autouse=True)
def _warm():
    """What the first run of a process would look up once: not part of any batch's cost."""
    ContactPolicy.current()
    ContentType.objects.get_for_model(NoticeBatch)  # cached by audit_record afterwards


def test_ten_times_the_loans_take_the_same_queries():
    add_book(30)
    small, small_queries = generate_counting()
    assert small.message_count and small.excluded_count
    batch_cancel(batch=small, user=None, reason="test")  # cancelled notices no longer count as sent

    add_book(270, start=30)
    large, large_queries = generate_counting()
    assert large.loan_count + large.excluded_count == 300
    assert large.message_count >= 10 * small.message_count - 10
    assert large_queries == small_queries


def test_each_further_chunk_costs_at_most_three_queries(monkeypatch):
    add_book(300)
    whole, one_chunk_queries = generate_counting()
    rows = rows_of(whole)
    batch_cancel(batch=whole, user=None, reason="test")

    monkeypatch.setattr(batches_module, "CHUNK", 25)
    chunked, chunked_queries = generate_counting()
    # Every chunk holds notices: it writes its messages, reads their ids, writes the loans covered.
    extra_chunks = math.ceil(rows / 25) - 1
    assert rows_of(chunked) == rows and extra_chunks >= 5
    assert 0 < chunked_queries - one_chunk_queries <= 3 * extra_chunks
    # …and what was written is the same, chunk or no chunk.
    assert (
        NotifiedLoan.objects.filter(message__batch=chunked).count() == chunked.loan_count == whole.loan_count
    )
    assert sorted(
        SmsMessage.objects.filter(batch=chunked, status=MessageStatus.PENDING).values_list(
            "customer_id", "body"
        )
    ) == sorted(
        SmsMessage.objects.filter(batch=whole, status=MessageStatus.CANCELLED).values_list(
            "customer_id", "body"
        )
    )
