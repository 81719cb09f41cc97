"""The sender's pipeline: chunk writes, the chunk on the wire, the kept sending threads."""

import random
import time
from collections import Counter

import pytest
from django.utils import timezone

from customers.models import LoanStatus
from notices.backends import locmem, reset_backends
from notices.backends.base import BaseSmsBackend, Outcome, Outgoing, SendResult
from notices.backends.http import HttpBackend, receipt_from_item
from notices.fake_gateway import FakeGateway
from notices.models import MessageStatus, SendAttempt, SmsMessage, TemplatePurpose
from notices.rendering import with_signature
from notices.services import batch_approve, batch_generate
from notices.services.sending import sender_run
from notices.services.webhooks import receipt_apply
from tests.factories import CustomerFactory, LoanFactory, supervisor_user
from tests.notices import scripted_backend

pytestmark = pytest.mark.django_db
SCRIPTED = "tests.notices.scripted_backend.ScriptedBackend"


@pytest.fixture
def scripted(settings):
    settings.SMS_BACKEND = SCRIPTED
    reset_backends()
    scripted_backend.reset()
    return scripted_backend


def queued(customer, key, purpose=TemplatePurpose.EDUCATION, **fields):
    return SmsMessage.objects.create(
        customer=customer,
        purpose=purpose,
        phone=customer.mobile,
        body=with_signature("您好，按时还款可保持良好信用记录。"),
        status=MessageStatus.QUEUED,
        idempotency_key=key,
        **fields,
    )


def test_one_chunk_with_every_kind_of_result_is_written_right(clock, scripted):
    scripted.reset([Outcome.ACCEPTED, Outcome.RETRY, Outcome.FAILED, Outcome.UNKNOWN])
    loans = [LoanFactory(days=10) for _ in range(4)]
    batch_approve(batch=batch_generate(as_of=timezone.localdate()), user=supervisor_user(username="approver"))
    stats = sender_run(max_seconds=5)
    # The threads take the scripted answers in call order: calls[i] got script[i].
    first = dict(zip(scripted.calls[:4], ["accepted", "retry", "failed", "unknown"], strict=True))
    messages = {m.idempotency_key: m for m in SmsMessage.objects.filter(loan__in=loans)}
    by_answer = {answer: messages[key] for key, answer in first.items()}
    assert by_answer["accepted"].status == MessageStatus.SENT and by_answer["accepted"].provider_message_id
    retry = by_answer["retry"]
    assert retry.status == MessageStatus.QUEUED and retry.error_code == "503" and retry.attempts == 1
    assert retry.not_before == clock.now + timezone.timedelta(seconds=30)
    assert by_answer["failed"].status == MessageStatus.FAILED and by_answer["failed"].failed_at == clock.now
    # Unknown: the gateway never got it (status says so), so it went again, once.
    assert by_answer["unknown"].status == MessageStatus.SENT
    assert scripted.calls.count(by_answer["unknown"].idempotency_key) == 2 and len(scripted.calls) == 5
    outcomes = Counter(SendAttempt.objects.values_list("outcome", flat=True))
    assert outcomes == {"accepted": 2, "retry": 1, "failed": 1, "unknown": 1, "reconciled": 1}
    assert stats[MessageStatus.SENT] == 2 and stats[MessageStatus.FAILED] == 1


class ReceiptFirstBackend(BaseSmsBackend):
    """The delivery receipt is applied before the sender gets to write the send's result."""

    name = "receipt-first"

    def send(self, message):
        receipt_apply(
            report=receipt_from_item(
                {"client_ref": message.client_ref, "status": "delivered", "at": "2026-01-02T03:04:05Z"}
            )
        )
        return SendResult(Outcome.ACCEPTED, f"gw-{message.client_ref}", "200")


def test_a_receipt_that_came_first_is_kept_and_the_gateway_id_added(clock, settings):
    settings.SMS_BACKEND = "tests.notices.test_send_pipeline.ReceiptFirstBackend"
    reset_backends()
    early, normal = queued(CustomerFactory(), "e-1"), queued(CustomerFactory(), "e-2")
    SmsMessage.objects.filter(pk=early.pk).update(provider_message_id="")
    sender_run(max_seconds=5)
    for message in (early, normal):
        message.refresh_from_db()
        assert message.status == MessageStatus.DELIVERED and message.delivered_at is not None
        assert message.provider_message_id == f"gw-{message.idempotency_key}"


@pytest.mark.parametrize(("first_answer", "second_goes"), [(Outcome.ACCEPTED, False), (Outcome.FAILED, True)])
def test_a_capped_message_waits_for_the_customers_message_on_the_wire(
    clock, scripted, settings, first_answer, second_goes
):
    """Chunks of one: the second message is re-checked while the first is unrecorded."""
    settings.SMS_SENDER_CHUNK = 1
    scripted.reset([first_answer])
    customer = CustomerFactory()
    first, second = queued(customer, "e-1"), queued(customer, "e-2")
    stats = sender_run(max_seconds=5)
    assert stats["deferred"] >= 1  # put back, not cancelled, until the first was written
    statuses = dict(SmsMessage.objects.values_list("idempotency_key", "status"))
    calls = list(scripted.calls)
    assert calls[0] in (first.idempotency_key, second.idempotency_key)
    other = second.idempotency_key if calls[0] == first.idempotency_key else first.idempotency_key
    if second_goes:
        assert statuses[other] == MessageStatus.SENT and calls == [calls[0], other]
    else:
        assert statuses[other] == MessageStatus.CANCELLED and calls == [calls[0]]
        assert SmsMessage.objects.get(idempotency_key=other).error_code == "daily_cap"


def test_without_notified_loans_the_loan_on_the_notice_decides(clock):
    open_loan, paid = LoanFactory(days=10), LoanFactory(days=10)
    paid.status, paid.overdue_amount = LoanStatus.CURRENT, 0
    paid.save()
    notice = TemplatePurpose.OVERDUE_NOTICE
    goes = queued(open_loan.customer, "n-1", purpose=notice, loan=open_loan)
    also_paid = queued(CustomerFactory(), "n-2", purpose=notice, loan=paid)
    stopped = queued(paid.customer, "n-3", purpose=notice, loan=paid)  # two notices, one loan
    sender_run(max_seconds=5)
    assert [m.client_ref for m in locmem.outbox] == [goes.idempotency_key]
    for message in (also_paid, stopped):
        message.refresh_from_db()
        assert message.status == MessageStatus.CANCELLED and message.error_code == "paid_since"


class Shuffled(BaseSmsBackend):
    """Answers in a random order (each call sleeps a little), with the ref in the id."""

    name = "shuffled"
    concurrency = 4

    def send(self, message):
        time.sleep(random.random() / 100)
        return SendResult(Outcome.ACCEPTED, f"id-{message.client_ref}", "200")


def test_results_come_back_in_order_and_the_threads_are_kept(monkeypatch):
    backend = Shuffled()
    refs = [f"r-{i}" for i in range(12)]
    sending = backend.send_async([Outgoing("+8613800000000", "x", ref) for ref in refs])
    sending.wait_for_room()  # every call started, a thread free: at most 3 still out
    assert sum(not call.done() for call in sending._calls) < backend.concurrency
    assert [r.provider_message_id for r in sending.results()] == [f"id-{ref}" for ref in refs]
    threads = backend._executor()
    assert backend.send_many([Outgoing("+8613800000000", "x", "again")])[0].outcome == Outcome.ACCEPTED
    assert backend._executor() is threads
    monkeypatch.setattr("notices.backends.base.os.getpid", lambda: -1)  # as in a forked worker
    assert backend._executor() is not threads


def test_the_fake_gateway_reports_when_sends_came_and_how_fast():
    gateway = FakeGateway(port=0, token="t0k", secret="s").start()
    try:
        http = HttpBackend(base_url=gateway.url, token="t0k")
        started = time.time()
        for i in range(3):
            assert http.send(Outgoing("+8613812345678", "x", f"t-{i}")).outcome == Outcome.ACCEPTED
        stats = gateway.state.stats()
    finally:
        gateway.stop()
    assert started <= stats["first_send_at"] <= stats["last_send_at"] <= time.time()
    assert stats["peak_per_second"] == 3 and 2 <= stats["peak_per_clock_second"] + 1 <= 4


def test_forbidden_phrases_are_looked_for_in_each_text_not_across_texts(clock, settings):
    from notices.models import ForbiddenExpression

    ForbiddenExpression.objects.get_or_create(phrase="蓝月")
    ForbiddenExpression.objects.get_or_create(phrase="亮民丰")  # only across two texts
    settings.SMS_SENDER_CHUNK = 10
    texts = {"f-1": "蓝 月的夜里请还款。", "f-2": "请尽快还款，月亮", "f-3": "联系我们。"}
    for key, text in texts.items():
        SmsMessage.objects.filter(pk=queued(CustomerFactory(), key).pk).update(body=with_signature(text))
    sender_run(max_seconds=5)
    # f-2 ends in 月亮 and f-3 starts with the signature 【民丰银行】: together, not alone.
    codes = dict(SmsMessage.objects.values_list("idempotency_key", "error_code"))
    assert codes["f-1"] == "forbidden_expression"
    assert sorted(m.client_ref for m in locmem.outbox) == ["f-2", "f-3"]
