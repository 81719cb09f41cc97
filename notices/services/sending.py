"""The outbox: claim, re-check, send, record — and never the same notice twice.

The database is the outbox. A message is claimed by a conditional update (on PostgreSQL
with SELECT … FOR UPDATE SKIP LOCKED) before the gateway is called with its idempotency
key as client_ref; the result is written after. A message whose outcome is unknown is
asked of the gateway before anything is sent again.
"""

from __future__ import annotations

import datetime
import logging
import time
from collections import Counter
from collections.abc import Callable

from django.conf import settings
from django.db import connection, transaction
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from core.audit import audit_record
from core.exceptions import ServiceError
from customers.models import Customer, Loan, LoanStatus

from ..backends import get_backend
from ..backends.base import Outcome, Outgoing, RemoteState, SendResult
from ..models import (
    AttemptOutcome,
    BatchStatus,
    ContactPolicy,
    MessageStatus,
    NoticeBatch,
    NotifiedLoan,
    RateWindow,
    SendAttempt,
    SmsMessage,
    TemplatePurpose,
)
from ..rendering import BRACE, TOKEN, active_forbidden_phrases, forbidden_phrases_in

log = logging.getLogger(__name__)

# Purposes the per-customer daily cap applies to (replies and confirmations answer the
# customer and are never held back by it).
CAPPED_PURPOSES = (TemplatePurpose.OVERDUE_NOTICE, TemplatePurpose.PLAN_REMINDER, TemplatePurpose.EDUCATION)
OPEN_LOAN_STATUSES = (LoanStatus.OVERDUE, LoanStatus.IN_PLAN)


class CancelCode:
    PAID_SINCE = "paid_since"
    NOT_CONTACTABLE = "not_contactable"
    PHONE_CHANGED = "phone_changed"
    DAILY_CAP = "daily_cap"
    CANCELLED_BY_USER = "cancelled_by_user"
    # The final content guard (_content_problem): what would go out is not lawful as is.
    NO_SIGNATURE = "no_signature"
    FORBIDDEN_EXPRESSION = "forbidden_expression"
    PLACEHOLDER_LEFT = "placeholder_left"


def current_time() -> datetime.datetime:
    """Now (a seam for tests of the contact window)."""
    return timezone.now()


# --- The contact window ---------------------------------------------------------------


def in_contact_window(moment: datetime.datetime, policy: ContactPolicy) -> bool:
    local = timezone.localtime(moment).time()
    start, end = policy.window_start, policy.window_end
    if start <= end:
        return start <= local < end
    return local >= start or local < end  # a window across midnight


def next_window_opening(moment: datetime.datetime, policy: ContactPolicy) -> datetime.datetime:
    """When sending may next start (now if the window is open)."""
    if in_contact_window(moment, policy):
        return moment
    local = timezone.localtime(moment)
    opening = local.replace(
        hour=policy.window_start.hour, minute=policy.window_start.minute, second=0, microsecond=0
    )
    if opening <= local:
        opening += datetime.timedelta(days=1)
    return opening


# --- Rate limit across workers --------------------------------------------------------


def rate_acquire(*, key: str, want: int, limit: int) -> int:
    """Take up to `want` send tokens of this second's `limit` (shared by every worker)."""
    RateWindow.objects.get_or_create(key=key)
    second = int(time.time())
    with transaction.atomic():
        row = RateWindow.objects.select_for_update().get(key=key)
        if row.window != second:
            row.window, row.used = second, 0
        grant = max(0, min(want, limit - row.used))
        row.used += grant
        row.save(update_fields=["window", "used"])
    return grant


def _sleep_to_next_second() -> None:
    time.sleep(max(0.001, 1.0 - (time.time() % 1.0)))


# --- Claiming -------------------------------------------------------------------------


def _claimable(now: datetime.datetime):
    return SmsMessage.objects.filter(status=MessageStatus.QUEUED).filter(
        Q(not_before__isnull=True) | Q(not_before__lte=now)
    )


def claim_messages(*, limit: int, now: datetime.datetime | None = None) -> list[SmsMessage]:
    """Move up to `limit` due messages from queued to sending; only this caller gets them."""
    now = now or current_time()
    with transaction.atomic():
        candidates = _claimable(now).order_by("not_before", "pk")
        if connection.features.has_select_for_update_skip_locked:
            ids = list(candidates.select_for_update(skip_locked=True).values_list("pk", flat=True)[:limit])
        else:  # SQLite: the IMMEDIATE transaction already holds the write lock
            ids = list(candidates.values_list("pk", flat=True)[:limit])
        if not ids:
            return []
        SmsMessage.objects.filter(pk__in=ids, status=MessageStatus.QUEUED).update(
            status=MessageStatus.SENDING, claimed_at=now, attempts=F("attempts") + 1, updated_at=now
        )
        claimed = list(
            SmsMessage.objects.filter(
                pk__in=ids, status=MessageStatus.SENDING, claimed_at=now
            ).select_related("customer")
        )
        batch_ids = {m.batch_id for m in claimed if m.batch_id}
        if batch_ids:
            NoticeBatch.objects.filter(pk__in=batch_ids, status=BatchStatus.APPROVED).update(
                status=BatchStatus.SENDING
            )
    return claimed


# --- The checks just before sending ---------------------------------------------------


def _still_overdue(messages: list[SmsMessage]) -> set[int]:
    """Notices whose covered loans are all still overdue per the latest import."""
    notice_ids = [m.pk for m in messages if m.purpose in (TemplatePurpose.OVERDUE_NOTICE,)]
    if not notice_ids:
        return set()
    covered: dict[int, list[int]] = {}
    for message_id, loan_id in NotifiedLoan.objects.filter(message_id__in=notice_ids).values_list(
        "message_id", "loan_id"
    ):
        covered.setdefault(message_id, []).append(loan_id)
    for message in messages:
        if message.pk in notice_ids and message.pk not in covered and message.loan_id:
            covered[message.pk] = [message.loan_id]
    loan_ids = {loan_id for ids in covered.values() for loan_id in ids}
    open_loans = set(
        Loan.objects.filter(pk__in=loan_ids, status__in=OPEN_LOAN_STATUSES, overdue_amount__gt=0).values_list(
            "pk", flat=True
        )
    )
    return {message_id for message_id, ids in covered.items() if all(i in open_loans for i in ids)}


def _sent_today(customer_ids: set[int], now: datetime.datetime) -> Counter:
    start = timezone.localtime(now).replace(hour=0, minute=0, second=0, microsecond=0)
    return Counter(
        SmsMessage.objects.filter(
            customer_id__in=customer_ids,
            purpose__in=CAPPED_PURPOSES,
            sent_at__gte=start,
            status__in=(MessageStatus.SENT, MessageStatus.DELIVERED),
        ).values_list("customer_id", flat=True)
    )


def _contact_problem(customer: Customer, phone: str, today: datetime.date) -> str | None:
    if (
        customer.deceased
        or customer.disputed
        or customer.do_not_contact_on(today)
        or getattr(customer, "sms_stopped", False)
    ):
        return CancelCode.NOT_CONTACTABLE
    if customer.phone_problem or not customer.mobile:
        return CancelCode.NOT_CONTACTABLE
    if customer.mobile != phone:
        return CancelCode.PHONE_CHANGED
    return None


def _content_problem(body: str, phrases: list[str]) -> str | None:
    """The last look at the text itself, whatever made it (notice, reply, plan message):
    the bank's signature leads it, no forbidden expression (today's list), no placeholder."""
    if not body.strip().startswith(settings.SMS_SIGNATURE):
        return CancelCode.NO_SIGNATURE
    if forbidden_phrases_in(body, phrases):
        return CancelCode.FORBIDDEN_EXPRESSION
    if TOKEN.search(body) or BRACE.search(body):
        return CancelCode.PLACEHOLDER_LEFT
    return None


def _recheck(messages: list[SmsMessage], policy: ContactPolicy, now: datetime.datetime) -> tuple[list, dict]:
    """Split claimed messages into those still fine to send and those to cancel (code)."""
    overdue_ok = _still_overdue(messages)
    sent_today = _sent_today({m.customer_id for m in messages}, now)
    today = timezone.localtime(now).date()
    phrases = active_forbidden_phrases()
    ok, cancel = [], {}
    for message in messages:
        code = _contact_problem(message.customer, message.phone, today)
        if code is None:
            code = _content_problem(message.body, phrases)
        if (
            code is None
            and message.purpose == TemplatePurpose.OVERDUE_NOTICE
            and message.pk not in overdue_ok
        ):
            code = CancelCode.PAID_SINCE
        if code is None and message.purpose in CAPPED_PURPOSES:
            if sent_today[message.customer_id] >= policy.daily_cap:
                code = CancelCode.DAILY_CAP
            else:
                sent_today[message.customer_id] += 1
        if code:
            cancel[message.pk] = code
        else:
            ok.append(message)
    return ok, cancel


# --- Recording results ----------------------------------------------------------------


def _backoff(attempts: int) -> datetime.timedelta:
    return datetime.timedelta(seconds=min(30 * 2 ** max(0, attempts - 1), 1800))


def _record(message: SmsMessage, result: SendResult, backend_name: str, now: datetime.datetime) -> str:
    """Write one send result onto its message; returns the message's new status."""
    sending = SmsMessage.objects.filter(pk=message.pk, status=MessageStatus.SENDING)
    if result.outcome == Outcome.ACCEPTED:
        moved = sending.update(
            status=MessageStatus.SENT,
            provider_message_id=result.provider_message_id,
            sent_at=now,
            error_code="",
            last_error="",
            updated_at=now,
        )
        if not moved:  # a receipt got here first (delivered): keep it, add the id
            SmsMessage.objects.filter(pk=message.pk, provider_message_id="").update(
                provider_message_id=result.provider_message_id, sent_at=now
            )
        new = MessageStatus.SENT
    elif result.outcome == Outcome.RETRY and message.attempts < settings.SMS_MAX_ATTEMPTS:
        sending.update(
            status=MessageStatus.QUEUED,
            not_before=now + _backoff(message.attempts),
            error_code=result.code,
            last_error=result.detail,
            updated_at=now,
        )
        new = MessageStatus.QUEUED
    elif result.outcome in (Outcome.RETRY, Outcome.FAILED):
        sending.update(
            status=MessageStatus.FAILED,
            failed_at=now,
            error_code=result.code,
            last_error=result.detail,
            updated_at=now,
        )
        new = MessageStatus.FAILED
    else:  # unknown: stays "sending" until reconciled with the gateway
        sending.update(error_code=result.code, last_error=result.detail, updated_at=now)
        new = MessageStatus.SENDING
    return new


_ATTEMPT_OUTCOME = {
    Outcome.ACCEPTED: AttemptOutcome.ACCEPTED,
    Outcome.RETRY: AttemptOutcome.RETRY,
    Outcome.FAILED: AttemptOutcome.FAILED,
    Outcome.UNKNOWN: AttemptOutcome.UNKNOWN,
}


def _cancel_claimed(cancel: dict[int, str], now: datetime.datetime) -> None:
    for code in set(cancel.values()):
        ids = [pk for pk, c in cancel.items() if c == code]
        SmsMessage.objects.filter(pk__in=ids, status=MessageStatus.SENDING).update(
            status=MessageStatus.CANCELLED, error_code=code, updated_at=now, attempts=F("attempts") - 1
        )


# --- Reconciliation -------------------------------------------------------------------


def reconcile_message(message: SmsMessage, *, backend=None, now: datetime.datetime | None = None) -> str:
    """Ask the gateway what became of a message in `sending`; move it accordingly."""
    backend = backend or get_backend()
    now = now or current_time()
    remote = backend.status(message.idempotency_key)
    sending = SmsMessage.objects.filter(pk=message.pk, status=MessageStatus.SENDING)
    if remote.state in (RemoteState.ACCEPTED, RemoteState.DELIVERED):
        delivered = remote.state == RemoteState.DELIVERED
        sending.update(
            status=MessageStatus.DELIVERED if delivered else MessageStatus.SENT,
            provider_message_id=remote.provider_message_id,
            sent_at=now,
            delivered_at=now if delivered else None,
            error_code="",
            updated_at=now,
        )
        new = MessageStatus.DELIVERED if delivered else MessageStatus.SENT
    elif remote.state == RemoteState.FAILED:
        sending.update(
            status=MessageStatus.FAILED, failed_at=now, error_code=remote.code or "failed", updated_at=now
        )
        new = MessageStatus.FAILED
    elif remote.state == RemoteState.NOT_FOUND:
        # The gateway never received it: sending it now cannot be a duplicate.
        sending.update(status=MessageStatus.QUEUED, not_before=now, updated_at=now)
        new = MessageStatus.QUEUED
    elif message.reconcile_attempts >= settings.SMS_MAX_RECONCILE:
        sending.update(status=MessageStatus.UNKNOWN, error_code="unreconciled", updated_at=now)
        new = MessageStatus.UNKNOWN
    else:
        new = MessageStatus.SENDING  # ask again after the next lease
    SendAttempt.objects.create(
        message=message, outcome=AttemptOutcome.RECONCILED, code=f"{remote.state}", backend=backend.name
    )
    return new


def sending_sweep(*, now: datetime.datetime | None = None, limit: int = 500, wake: bool = True) -> Counter:
    """Reconcile messages stuck in `sending` past their lease, finish batches, wake the sender."""
    now = now or current_time()
    stats = Counter()
    stale_before = now - datetime.timedelta(seconds=settings.SMS_SEND_LEASE_SECONDS)
    backend = get_backend()
    stale = list(
        SmsMessage.objects.filter(status=MessageStatus.SENDING, claimed_at__lt=stale_before).order_by(
            "claimed_at"
        )[:limit]
    )
    for message in stale:
        # Take the reconciliation for ourselves: a second sweep matches nothing here.
        taken = SmsMessage.objects.filter(
            pk=message.pk, status=MessageStatus.SENDING, claimed_at=message.claimed_at
        ).update(claimed_at=now, reconcile_attempts=F("reconcile_attempts") + 1)
        if not taken:
            continue
        message.reconcile_attempts += 1
        stats[reconcile_message(message, backend=backend, now=now)] += 1
    batches_finish()
    policy = ContactPolicy.current()
    if wake and in_contact_window(now, policy) and _claimable(now).exists():
        from ..tasks import wake_sender

        wake_sender(reason="sweep")
        stats["woken"] += 1
    return stats


def batches_finish() -> int:
    """Batches with nothing left to send are done."""
    finished = 0
    for batch in NoticeBatch.objects.filter(status__in=(BatchStatus.APPROVED, BatchStatus.SENDING)):
        busy = SmsMessage.objects.filter(
            batch=batch, status__in=(MessageStatus.PENDING, MessageStatus.QUEUED, MessageStatus.SENDING)
        ).exists()
        if not busy and NoticeBatch.objects.filter(pk=batch.pk, status=batch.status).update(
            status=BatchStatus.DONE
        ):
            finished += 1
    return finished


# --- The sender loop ------------------------------------------------------------------


def sender_run(
    *, max_seconds: float | None = None, sleep: Callable[[], None] = _sleep_to_next_second
) -> Counter:
    """Send due messages until none is left, the window closes or time is up."""
    backend = get_backend()
    deadline = time.monotonic() + (settings.SMS_SENDER_MAX_SECONDS if max_seconds is None else max_seconds)
    stats: Counter = Counter()
    policy = ContactPolicy.current()
    policy_loaded = time.monotonic()
    while time.monotonic() < deadline:
        if time.monotonic() - policy_loaded > 30:
            policy, policy_loaded = ContactPolicy.current(), time.monotonic()
        now = current_time()
        if not in_contact_window(now, policy):
            stats["outside_window"] += 1
            break
        claimed = claim_messages(limit=min(settings.SMS_SENDER_CHUNK, policy.rate_limit), now=now)
        if not claimed:
            break
        to_send, cancel = _recheck(claimed, policy, now)
        if cancel:
            _cancel_claimed(cancel, now)
            stats["cancelled"] += len(cancel)
        while to_send:
            granted = rate_acquire(key=backend.name, want=len(to_send), limit=policy.rate_limit)
            if not granted:
                sleep()
                continue
            part, to_send = to_send[:granted], to_send[granted:]
            results = backend.send_many([Outgoing(m.phone, m.body, m.idempotency_key) for m in part])
            done_at = current_time()
            attempts = []
            for message, result in zip(part, results, strict=True):
                new = _record(message, result, backend.name, done_at)
                if result.outcome == Outcome.UNKNOWN:
                    new = reconcile_message(message, backend=backend, now=done_at)
                stats[new] += 1
                attempts.append(
                    SendAttempt(
                        message_id=message.pk,
                        outcome=_ATTEMPT_OUTCOME[result.outcome],
                        code=result.code,
                        detail=result.detail[:255],
                        latency_ms=result.latency_ms,
                        backend=backend.name,
                    )
                )
            SendAttempt.objects.bulk_create(attempts)
    batches_finish()
    return stats


# --- Staff actions on single messages -------------------------------------------------


def message_retry(*, message: SmsMessage, user) -> SmsMessage:
    """Send a failed message again (a supervisor's decision, audited)."""
    with transaction.atomic():
        moved = SmsMessage.objects.filter(pk=message.pk, status=MessageStatus.FAILED).update(
            status=MessageStatus.QUEUED, not_before=None, attempts=0, error_code="", updated_at=timezone.now()
        )
        if not moved:
            raise ServiceError(_("Only a failed message can be retried."), code="wrong_state")
        audit_record(
            actor=user,
            action="message.retry",
            obj=message,
            from_state=MessageStatus.FAILED,
            to_state=MessageStatus.QUEUED,
        )
        from ..tasks import wake_sender

        transaction.on_commit(lambda: wake_sender(reason="retry"))
    message.refresh_from_db()
    return message


def message_cancel(*, message: SmsMessage, user) -> SmsMessage:
    """Cancel a message that has not been handed to the gateway (audited)."""
    with transaction.atomic():
        before = message.status
        moved = SmsMessage.objects.filter(
            pk=message.pk, status__in=(MessageStatus.PENDING, MessageStatus.QUEUED)
        ).update(
            status=MessageStatus.CANCELLED, error_code=CancelCode.CANCELLED_BY_USER, updated_at=timezone.now()
        )
        if not moved:
            raise ServiceError(_("Only a message not yet sent can be cancelled."), code="wrong_state")
        audit_record(
            actor=user,
            action="message.cancel",
            obj=message,
            from_state=before,
            to_state=MessageStatus.CANCELLED,
        )
    message.refresh_from_db()
    return message
