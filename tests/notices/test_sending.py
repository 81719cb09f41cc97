import datetime
from collections import Counter
from decimal import Decimal

import pytest
from django.utils import timezone

from core.models import AuditEvent
from customers.models import LoanStatus
from notices.backends import locmem, reset_backends
from notices.backends.base import Outcome, RemoteState
from notices.models import BatchStatus, MessageStatus, NoticeBatch, SendAttempt, SmsMessage
from notices.services import batch_approve, batch_generate
from notices.services.sending import (
    message_cancel,
    message_retry,
    rate_acquire,
    sender_run,
    sending_sweep,
)
from tests.factories import CustomerFactory, LoanFactory, supervisor_user
from tests.notices import scripted_backend

pytestmark = pytest.mark.django_db
SCRIPTED = "tests.notices.scripted_backend.ScriptedBackend"


def approved_batch(n=3, **loan_kwargs):
    loans = [LoanFactory(days=10, **loan_kwargs) for _ in range(n)]
    batch = batch_generate(as_of=timezone.localdate())
    batch_approve(batch=batch, user=supervisor_user(username="approver"))
    return batch, loans


def statuses(batch=None):
    query = SmsMessage.objects.exclude(status=MessageStatus.EXCLUDED)
    if batch is not None:
        query = query.filter(batch=batch)
    return Counter(query.values_list("status", flat=True))


@pytest.fixture
def scripted(settings):
    settings.SMS_BACKEND = SCRIPTED
    reset_backends()
    scripted_backend.reset()
    return scripted_backend


def test_approval_commits_then_wakes_the_sender(clock, django_capture_on_commit_callbacks):
    LoanFactory(days=10)
    batch = batch_generate(as_of=timezone.localdate())
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        batch_approve(batch=batch, user=supervisor_user(username="approver"))
    assert callbacks, "the sender is woken only after the approval commits"
    assert statuses(batch) == {MessageStatus.SENT: 1}
    [sent] = locmem.outbox
    message = SmsMessage.objects.get(batch=batch, status=MessageStatus.SENT)
    assert (sent.to, sent.text, sent.client_ref) == (message.phone, message.body, message.idempotency_key)
    assert message.provider_message_id and message.sent_at == clock.now
    assert NoticeBatch.objects.get(pk=batch.pk).status == BatchStatus.DONE


def test_each_message_goes_out_once_however_often_the_sender_runs(clock):
    batch, _loans = approved_batch(5)
    sender_run(max_seconds=5)
    sender_run(max_seconds=5)
    sending_sweep(now=clock.now)
    assert len(locmem.outbox) == 5
    assert len({m.client_ref for m in locmem.outbox}) == 5
    assert statuses(batch) == {MessageStatus.SENT: 5}
    assert SendAttempt.objects.filter(outcome="accepted").count() == 5


@pytest.mark.parametrize(
    ("hour", "minute", "second", "sends"),
    [(7, 59, 59, False), (8, 0, 0, True), (21, 59, 59, True), (22, 0, 0, False), (3, 0, 0, False)],
)
def test_contact_window_edges(clock, hour, minute, second, sends):
    batch, _ = approved_batch(1)
    clock.set(hour, minute, second)
    sender_run(max_seconds=2)
    assert (len(locmem.outbox) == 1) is sends
    expected = MessageStatus.SENT if sends else MessageStatus.QUEUED
    assert statuses(batch) == {expected: 1}


@pytest.mark.parametrize(("hour", "minute"), [(0, 0), (3, 17), (23, 59)])
def test_an_all_day_window_sends_at_any_hour(clock, settings, hour, minute):
    """SMS_CONTACT_WINDOW=00:00-24:00 (stored as 00:00–00:00): open around the clock."""
    from config.environment import time_range
    from notices.models import ContactPolicy

    policy = ContactPolicy.current()
    policy.window_start, policy.window_end = time_range("00:00-24:00")
    policy.save()
    batch, _ = approved_batch(1)
    clock.set(hour, minute)
    sender_run(max_seconds=2)
    assert statuses(batch) == {MessageStatus.SENT: 1}


def test_outside_the_window_messages_wait_and_then_go(clock):
    batch, _ = approved_batch(2)
    clock.set(22, 0)
    sender_run(max_seconds=2)
    assert statuses(batch) == {MessageStatus.QUEUED: 2} and locmem.outbox == []
    clock.set(8, 0, day=timezone.localdate() + datetime.timedelta(days=1))
    sender_run(max_seconds=2)
    assert statuses(batch) == {MessageStatus.SENT: 2}


def test_a_loan_paid_since_is_cancelled_not_sent(clock):
    batch, loans = approved_batch(2)
    paid = loans[0]
    paid.status, paid.overdue_amount, paid.overdue_since = LoanStatus.CURRENT, Decimal("0"), None
    paid.save()
    sender_run(max_seconds=2)
    cancelled = SmsMessage.objects.get(batch=batch, loan=paid)
    assert cancelled.status == MessageStatus.CANCELLED and cancelled.error_code == "paid_since"
    assert len(locmem.outbox) == 1


def test_a_customer_no_longer_contactable_is_not_sent(clock):
    batch, loans = approved_batch(3)
    dnc, changed, fine = (loan.customer for loan in loans)
    dnc.do_not_contact, dnc.do_not_contact_reason = True, "本人要求"
    dnc.save()
    changed.mobile = "+8613700000000"
    changed.save()
    sender_run(max_seconds=2)
    codes = dict(SmsMessage.objects.filter(batch=batch).values_list("customer_id", "error_code"))
    assert codes[dnc.pk] == "not_contactable" and codes[changed.pk] == "phone_changed"
    assert [m.to for m in locmem.outbox] == [fine.mobile]


def test_daily_cap_holds_at_send_time(clock):
    batch, loans = approved_batch(1)
    customer = loans[0].customer
    SmsMessage.objects.create(
        customer=customer,
        purpose="overdue_notice",
        phone=customer.mobile,
        body="x",
        status=MessageStatus.SENT,
        sent_at=clock.now - datetime.timedelta(hours=1),
        idempotency_key="earlier-today",
    )
    sender_run(max_seconds=2)
    assert SmsMessage.objects.get(batch=batch, status=MessageStatus.CANCELLED).error_code == "daily_cap"
    assert locmem.outbox == []


def test_transient_failures_retry_with_back_off_then_fail(clock, scripted, settings):
    settings.SMS_MAX_ATTEMPTS = 3
    scripted.reset([Outcome.RETRY] * 3)
    batch, _ = approved_batch(1)
    sender_run(max_seconds=2)
    message = SmsMessage.objects.get(batch=batch, status=MessageStatus.QUEUED)
    assert message.attempts == 1 and message.not_before == clock.now + datetime.timedelta(seconds=30)
    sender_run(max_seconds=2)
    assert len(scripted.calls) == 1  # not due yet
    for minutes in (1, 3):
        clock.set(10, minutes)
        sender_run(max_seconds=2)
    message.refresh_from_db()
    assert message.status == MessageStatus.FAILED and message.error_code == "503" and message.attempts == 3
    assert len(scripted.calls) == 3


def test_permanent_failure_keeps_the_gateway_code(clock, scripted):
    scripted.reset([Outcome.FAILED])
    batch, _ = approved_batch(1)
    sender_run(max_seconds=2)
    message = SmsMessage.objects.get(batch=batch, status=MessageStatus.FAILED)
    assert message.error_code == "400" and message.failed_at == clock.now


def test_timeout_after_the_gateway_accepted_is_reconciled_not_resent(clock, scripted):
    scripted.reset([Outcome.UNKNOWN])
    batch, _ = approved_batch(1)
    message = SmsMessage.objects.get(batch=batch, status=MessageStatus.QUEUED)
    scripted.remote[message.idempotency_key] = RemoteState.ACCEPTED  # it did arrive
    sender_run(max_seconds=2)
    message.refresh_from_db()
    assert message.status == MessageStatus.SENT
    assert scripted.calls == [message.idempotency_key]
    assert SendAttempt.objects.filter(message=message, outcome="reconciled").exists()


def test_timeout_before_the_gateway_got_it_is_sent_again_once(clock, scripted):
    scripted.reset([Outcome.UNKNOWN])
    batch, _ = approved_batch(1)
    sender_run(max_seconds=2)  # unknown → status says not found → queued again
    sender_run(max_seconds=2)
    message = SmsMessage.objects.get(batch=batch)
    assert message.status == MessageStatus.SENT and len(scripted.calls) == 2


def test_a_message_stuck_in_sending_is_reconciled_by_the_sweep(clock, scripted, settings):
    batch, _ = approved_batch(2)
    stuck, lost = SmsMessage.objects.filter(batch=batch).exclude(status=MessageStatus.EXCLUDED)
    long_ago = clock.now - datetime.timedelta(seconds=settings.SMS_SEND_LEASE_SECONDS + 5)
    SmsMessage.objects.filter(pk__in=[stuck.pk, lost.pk]).update(
        status=MessageStatus.SENDING, claimed_at=long_ago
    )
    scripted.remote[stuck.idempotency_key] = RemoteState.DELIVERED  # the crash came after the call
    stats = sending_sweep(now=clock.now)
    assert SmsMessage.objects.get(pk=stuck.pk).status == MessageStatus.DELIVERED
    # The gateway never had the other one: requeued, and the sweep's wake-up sent it once.
    assert stats["woken"] == 1
    assert SmsMessage.objects.get(pk=lost.pk).status == MessageStatus.SENT
    assert scripted.calls == [lost.idempotency_key]


def test_two_sweeps_reconcile_a_message_once(clock, scripted, settings):
    batch, _ = approved_batch(1)
    message = SmsMessage.objects.get(batch=batch)
    old = clock.now - datetime.timedelta(seconds=settings.SMS_SEND_LEASE_SECONDS + 5)
    SmsMessage.objects.filter(pk=message.pk).update(status=MessageStatus.SENDING, claimed_at=old)
    sending_sweep(now=clock.now)
    sending_sweep(now=clock.now)
    assert SendAttempt.objects.filter(message=message, outcome="reconciled").count() == 1
    assert scripted.calls.count(message.idempotency_key) <= 1


def test_an_unreachable_gateway_leaves_the_message_for_review_after_some_tries(clock, scripted, settings):
    settings.SMS_MAX_RECONCILE = 2
    batch, _ = approved_batch(1)
    message = SmsMessage.objects.get(batch=batch)
    scripted.remote[message.idempotency_key] = RemoteState.UNKNOWN
    for minute in range(3):
        old = clock.now - datetime.timedelta(seconds=settings.SMS_SEND_LEASE_SECONDS + 5)
        SmsMessage.objects.filter(pk=message.pk, status=MessageStatus.SENDING).update(claimed_at=old)
        SmsMessage.objects.filter(pk=message.pk, status=MessageStatus.QUEUED).update(
            status=MessageStatus.SENDING, claimed_at=old
        )
        sending_sweep(now=clock.set(10, minute + 1))
    assert SmsMessage.objects.get(pk=message.pk).status == MessageStatus.UNKNOWN
    assert scripted.calls == []


def test_rate_limit_is_shared_within_a_second(monkeypatch):
    monkeypatch.setattr("time.time", lambda: 1_800_000_000.25)  # all calls in the same second
    granted = [rate_acquire(key="t", want=30, limit=50) for _ in range(3)]
    assert granted == [30, 20, 0]
    monkeypatch.setattr("time.time", lambda: 1_800_000_001.0)  # the next second starts afresh
    assert rate_acquire(key="t", want=30, limit=50) == 30


def test_supervisor_retries_a_failed_message_and_cancels_an_unsent_one(clock, scripted):
    from core.exceptions import ServiceError

    scripted.reset([Outcome.FAILED, Outcome.ACCEPTED])
    approved_batch(2)
    sender_run(max_seconds=1)
    failed = SmsMessage.objects.get(status=MessageStatus.FAILED)
    sent = SmsMessage.objects.get(status=MessageStatus.SENT)
    user = supervisor_user(username="boss")
    message_retry(message=failed, user=user)  # the wake-up waits for a commit that a test never makes
    assert SmsMessage.objects.get(pk=failed.pk).status == MessageStatus.QUEUED
    assert AuditEvent.objects.filter(action="message.retry", object_id=str(failed.pk)).exists()
    message_cancel(message=failed, user=user)
    assert SmsMessage.objects.get(pk=failed.pk).status == MessageStatus.CANCELLED
    assert AuditEvent.objects.filter(action="message.cancel", object_id=str(failed.pk)).exists()
    with pytest.raises(ServiceError):
        message_cancel(message=sent, user=user)
    with pytest.raises(ServiceError):
        message_retry(message=sent, user=user)


def test_customer_with_wrong_phone_reported_is_not_sent(clock):
    customer = CustomerFactory()
    batch, _ = approved_batch(1, customer=customer)
    customer.phone_problem = "wrong_number"
    customer.save()
    sender_run(max_seconds=1)
    assert locmem.outbox == []


def test_a_notice_days_old_expires_instead_of_quoting_stale_amounts(clock):
    batch, _ = approved_batch(2)
    old, fresh = SmsMessage.objects.filter(batch=batch).order_by("pk")
    SmsMessage.objects.filter(pk=old.pk).update(created_at=clock.now - datetime.timedelta(days=3))
    sender_run(max_seconds=2)
    old.refresh_from_db()
    assert old.status == MessageStatus.EXPIRED and old.error_code == "stale"
    assert [m.client_ref for m in locmem.outbox] == [fresh.idempotency_key]


def test_a_busy_gateway_slows_the_sender_down_instead_of_parking_messages(scripted, monkeypatch):
    """5% of sends answered 429 (one with Retry-After): all go out in the same run, within
    seconds, none resent after being accepted, and the refusals use up no attempts."""
    import time as real_time

    from notices.backends.base import SendResult

    start, opened = (
        real_time.monotonic(),
        timezone.make_aware(datetime.datetime.combine(timezone.localdate(), datetime.time(10, 0))),
    )
    monkeypatch.setattr(
        "notices.services.sending.current_time",
        lambda: opened + datetime.timedelta(seconds=real_time.monotonic() - start),
    )
    batch, _ = approved_batch(40)
    busy = SendResult(Outcome.RETRY, code="429", detail="busy")
    scripted.reset(
        [Outcome.ACCEPTED] * 5
        + [busy]
        + [Outcome.ACCEPTED] * 10
        + [SendResult(Outcome.RETRY, code="429", retry_after=0.3)]
        + [Outcome.ACCEPTED] * 20
    )
    stats = sender_run(max_seconds=20)
    assert statuses(batch) == {MessageStatus.SENT: 40}
    assert stats["throttled"] == 2
    assert Counter(scripted.calls).most_common(1)[0][1] <= 2  # refused once, then accepted once
    assert set(
        SmsMessage.objects.filter(batch=batch)
        .exclude(status=MessageStatus.EXCLUDED)
        .values_list("attempts", flat=True)
    ) == {1}
    assert real_time.monotonic() - start < 15
