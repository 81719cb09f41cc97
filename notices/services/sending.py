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
from django.db.models import Case, CharField, F, Q, Value, When
from django.utils import timezone
from django.utils.translation import gettext as _

from core.audit import audit_record
from core.exceptions import ServiceError
from customers.models import OPEN_LOAN_STATUSES, Loan

from .. import outbox
from ..backends import get_backend
from ..backends.base import Outcome, Outgoing, RemoteState, Sending, SendResult
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
from ..policy import (
    CAPPED_PURPOSES,
    DATED_PURPOSES,
    CancelCode,
    content_problem,
    in_contact_window,
    send_problem,
)
from ..rendering import active_forbidden_phrases, forbidden_phrases_in

log = logging.getLogger(__name__)


def current_time() -> datetime.datetime:
    """Now (a seam for tests of the contact window)."""
    return timezone.now()


# --- Rate limit across workers --------------------------------------------------------


def rate_acquire(*, key: str, want: int, limit: int) -> int:
    """Take up to `want` send tokens of this second's `limit` (shared by every worker)."""
    second = int(time.time())
    with transaction.atomic():
        row = RateWindow.objects.select_for_update().filter(key=key).first()
        if row is None:  # the gateway's first use: create its row, then lock it
            RateWindow.objects.get_or_create(key=key)
            row = RateWindow.objects.select_for_update().get(key=key)
        if row.window != second:
            row.window, row.used = second, 0
        grant = max(0, min(want, limit - row.used))
        row.used += grant
        row.save(update_fields=["window", "used"])
    return grant


def _sleep_to_next_second() -> None:
    time.sleep(max(0.001, 1.0 - (time.time() % 1.0)))


# --- Pacing ---------------------------------------------------------------------------


class Pace:
    """The rate a sender allows itself: the policy's limit, halved at each "busy" answer
    (HTTP 429, SMPP/CMPP throttling) and won back step by step while the gateway accepts
    — so a busy gateway slows the sender down instead of parking messages for minutes."""

    def __init__(self, limit: int):
        self.limit = max(1, limit)
        self.current = float(self.limit)
        self.backoff = 0.0
        self._changed = time.monotonic()
        self._halved = 0.0

    def set_limit(self, limit: int) -> None:
        self.limit = max(1, limit)
        self.current = min(self.current, self.limit)

    def throttled(self) -> float:
        """A refusal for now: slow down; returns how long to wait before trying again.

        Refusals that come together (a window's worth answered at once) slow it down
        once: the rate halves at most every half second."""
        now = time.monotonic()
        if now - self._halved >= 0.5:
            self.current = max(1.0, self.current / 2)
            self.backoff = min(5.0, max(0.05, self.backoff * 2))
            self._halved = self._changed = now
        return self.backoff or 0.05

    def accepted(self) -> None:
        self.backoff = 0.0
        now = time.monotonic()
        if self.current < self.limit and now - self._changed >= 0.25:
            self.current = min(float(self.limit), self.current + max(1.0, self.limit / 20))
            self._changed = now

    @property
    def per_second(self) -> int:
        return max(1, int(self.current))


# --- Claiming -------------------------------------------------------------------------


def _claimable(now: datetime.datetime):
    return SmsMessage.objects.filter(status=MessageStatus.QUEUED).filter(
        Q(not_before__isnull=True) | Q(not_before__lte=now)
    )


SOON = datetime.timedelta(seconds=10)


def _due_soon(now: datetime.datetime) -> float | None:
    """Seconds until the next queued message falls due, if within SOON (e.g. refused by a
    busy gateway a moment ago); None when nothing is due that soon."""
    nearest = (
        SmsMessage.objects.filter(status=MessageStatus.QUEUED, not_before__gt=now, not_before__lte=now + SOON)
        .order_by("not_before")
        .values_list("not_before", flat=True)
        .first()
    )
    return max(0.01, (nearest - now).total_seconds()) if nearest else None


def claim_messages(*, limit: int, now: datetime.datetime | None = None) -> list[SmsMessage]:
    """Move up to `limit` due messages from queued to sending; only this caller gets them."""
    now = now or current_time()
    if connection.vendor == "postgresql":
        ids = _claim_postgresql(limit, now)
    else:
        with transaction.atomic():  # SQLite: the IMMEDIATE transaction holds the write lock
            candidates = _claimable(now).order_by("not_before")
            if connection.features.has_select_for_update_skip_locked:
                candidates = candidates.select_for_update(skip_locked=True)
            ids = list(candidates.values_list("pk", flat=True)[:limit])
            SmsMessage.objects.filter(pk__in=ids, status=MessageStatus.QUEUED).update(
                status=MessageStatus.SENDING, claimed_at=now, attempts=F("attempts") + 1, updated_at=now
            )
    if not ids:
        return []
    claimed = list(
        SmsMessage.objects.filter(pk__in=ids, status=MessageStatus.SENDING, claimed_at=now).select_related(
            "customer", "batch"
        )
    )
    approved = {m.batch_id for m in claimed if m.batch_id and m.batch.status == BatchStatus.APPROVED}
    if approved:
        NoticeBatch.objects.filter(pk__in=approved, status=BatchStatus.APPROVED).update(
            status=BatchStatus.SENDING
        )
    return claimed


def _claim_postgresql(limit: int, now: datetime.datetime) -> list[int]:
    """Claim in one statement (its own transaction): pick with SKIP LOCKED, mark, return ids.

    The pick runs on the (status, not_before) index in that order, so it stops after
    `limit` rows (a tie-break on id would sort every queued row on every claim: a fresh
    batch's messages all have not_before NULL).
    """
    table = connection.ops.quote_name(SmsMessage._meta.db_table)
    sql = (
        f"WITH picked AS ("  # noqa: S608 (no input in the SQL text)
        f" SELECT id FROM {table} WHERE status = %s AND (not_before IS NULL OR not_before <= %s)"
        f" ORDER BY not_before LIMIT %s FOR UPDATE SKIP LOCKED)"
        f" UPDATE {table} AS m SET status = %s, claimed_at = %s, attempts = m.attempts + 1, updated_at = %s"
        f" FROM picked WHERE m.id = picked.id AND m.status = %s RETURNING m.id"
    )
    queued, sending = MessageStatus.QUEUED.value, MessageStatus.SENDING.value
    with connection.cursor() as cursor:
        cursor.execute(sql, [queued, now, limit, sending, now, now, queued])
        return [row[0] for row in cursor.fetchall()]


# --- The checks just before sending ---------------------------------------------------


def _still_overdue(messages: list[SmsMessage]) -> set[int]:
    """Notices whose covered loans are all still overdue per the latest import."""
    notice_ids = [m.pk for m in messages if m.purpose in (TemplatePurpose.OVERDUE_NOTICE,)]
    if not notice_ids:
        return set()
    covered: dict[int, list[bool]] = {}  # message → for each loan it covers: still open?
    rows = NotifiedLoan.objects.filter(message_id__in=notice_ids).values_list(
        "message_id", "loan__status", "loan__overdue_amount"
    )
    for message_id, status, amount in rows:
        covered.setdefault(message_id, []).append(status in OPEN_LOAN_STATUSES and (amount or 0) > 0)
    # Notices without NotifiedLoan rows: the loan on the message decides.
    uncovered = [
        (m.pk, m.loan_id) for m in messages if m.pk in notice_ids and m.pk not in covered and m.loan_id
    ]
    if uncovered:
        open_loans = set(
            Loan.objects.filter(
                pk__in={loan_id for _pk, loan_id in uncovered},
                status__in=OPEN_LOAN_STATUSES,
                overdue_amount__gt=0,
            ).values_list("pk", flat=True)
        )
        for message_id, loan_id in uncovered:
            covered[message_id] = [loan_id in open_loans]
    return {message_id for message_id, still_open in covered.items() if all(still_open)}


def _sent_today(customer_ids: set[int], now: datetime.datetime) -> Counter:
    # "Sent on today's (local) date", not "sent_at >= midnight": a range on sent_at lets
    # PostgreSQL walk the sent_at index through everything sent today whenever its
    # statistics predate today's sending (they do, all day), which made every chunk's
    # check slower than the last. On the date it has to go by customer (a few rows each).
    return Counter(
        SmsMessage.objects.filter(
            customer_id__in=customer_ids,
            purpose__in=CAPPED_PURPOSES,
            sent_at__date=timezone.localtime(now).date(),
            status__in=(MessageStatus.SENT, MessageStatus.DELIVERED),
        )
        .order_by()
        .values_list("customer_id", flat=True)
    )


def _recheck(
    messages: list[SmsMessage],
    policy: ContactPolicy,
    now: datetime.datetime,
    in_flight: Counter | None = None,
) -> tuple[list, dict, list]:
    """Split claimed messages into those still fine to send, those to cancel (code) and
    those to put back for now.

    `in_flight` counts, per customer, capped messages this worker has handed to the
    gateway but not yet recorded: until their results are written they may or may not
    count against the daily cap, so a capped message that only they would stop is put
    back in the queue (not cancelled) and looked at again once they are recorded.
    """
    in_flight = in_flight or Counter()
    overdue_ok = _still_overdue(messages)
    sent_today = _sent_today({m.customer_id for m in messages}, now)
    today = timezone.localtime(now).date()
    # One look for the forbidden phrases in the chunk's texts together, then each text is
    # checked only for those found (usually none): matching every phrase against every
    # text cost more than the rest of the re-check. A line break between texts keeps them
    # apart (NFKC composes nothing across it), so nothing found alone is missed together.
    phrases = forbidden_phrases_in("\n".join(m.body for m in messages), active_forbidden_phrases())
    ok, cancel, later = [], {}, []
    oldest = today - datetime.timedelta(days=policy.batch_max_age_days + 1)
    for message in messages:
        code = send_problem(message.customer, message.phone, today)
        if code is None:
            code = content_problem(message.body, phrases)
        if (
            code is None
            and message.purpose in DATED_PURPOSES
            and timezone.localtime(message.created_at).date() < oldest
        ):
            code = CancelCode.STALE
        if (
            code is None
            and message.purpose == TemplatePurpose.OVERDUE_NOTICE
            and message.pk not in overdue_ok
        ):
            code = CancelCode.PAID_SINCE
        if code is None and message.purpose in CAPPED_PURPOSES:
            customer_id = message.customer_id
            if sent_today[customer_id] >= policy.daily_cap:
                code = CancelCode.DAILY_CAP
            elif sent_today[customer_id] + in_flight[customer_id] >= policy.daily_cap:
                later.append(message.pk)
                continue
            else:
                sent_today[customer_id] += 1
        if code:
            cancel[message.pk] = code
        else:
            ok.append(message)
    return ok, cancel, later


def claim_checked(
    *,
    limit: int,
    now: datetime.datetime,
    policy: ContactPolicy,
    in_flight: Counter | None = None,
    stats: Counter,
) -> tuple[list[SmsMessage], list[SmsMessage], int]:
    """Claim up to `limit` due messages and look at each again just before it goes:
    cancel what may no longer go (with the reason), give back what must wait.

    Returns (claimed, to send, how many were given back); the sender and the carrier
    links both send through it, so the rules are the same whatever the gateway.
    """
    claimed = claim_messages(limit=limit, now=now)
    if not claimed:
        return [], [], 0
    to_send, cancel, later = _recheck(claimed, policy, now, in_flight)
    if cancel:
        _cancel_claimed(cancel, now)
        stats["cancelled"] += len(cancel)
    if later:
        claims_release(ids=later, now=now)
        stats["deferred"] += len(later)
    return claimed, to_send, len(later)


# --- Recording results ----------------------------------------------------------------


def _backoff(attempts: int) -> datetime.timedelta:
    return datetime.timedelta(seconds=min(30 * 2 ** max(0, attempts - 1), 1800))


# Rows per UPDATE statement when a chunk's results are written (bounds the parameters).
WRITE_SLICE = 250


def _mark_sent(accepted: list[tuple[int, str]], now: datetime.datetime) -> None:
    """sending → sent for the accepted messages, each with its gateway id, in one statement.

    Conditional like every write here: a message a receipt already moved on (delivered,
    failed) keeps its status and only gains the gateway id if it had none.
    """
    for start in range(0, len(accepted), WRITE_SLICE):
        part = accepted[start : start + WRITE_SLICE]
        ids = [pk for pk, _provider_id in part]
        if connection.vendor == "postgresql":
            moved = _mark_sent_postgresql(part, now)
        else:
            moved = SmsMessage.objects.filter(pk__in=ids, status=MessageStatus.SENDING).update(
                status=MessageStatus.SENT,
                provider_message_id=_provider_ids(part),
                sent_at=now,
                error_code="",
                last_error="",
                updated_at=now,
            )
        if moved < len(ids):  # a receipt got here first: keep what it said, add the id
            SmsMessage.objects.filter(pk__in=ids, provider_message_id="").update(
                provider_message_id=_provider_ids(part), sent_at=now
            )


def _provider_ids(part: list[tuple[int, str]]) -> Case:
    return Case(*(When(pk=pk, then=Value(provider_id)) for pk, provider_id in part), output_field=CharField())


def _mark_sent_postgresql(part: list[tuple[int, str]], now: datetime.datetime) -> int:
    """The same UPDATE joined to a VALUES list: far cheaper to build than CASE WHEN × n."""
    table = connection.ops.quote_name(SmsMessage._meta.db_table)
    rows = ", ".join(["(%s, %s)"] * len(part))
    sql = (
        f"UPDATE {table} AS m SET status = %s, provider_message_id = v.provider_id, sent_at = %s, "  # noqa: S608 (no input in the SQL text)
        f"error_code = '', last_error = '', updated_at = %s "
        f"FROM (VALUES {rows}) AS v (id, provider_id) WHERE m.id = v.id AND m.status = %s"
    )
    params = [MessageStatus.SENT.value, now, now]
    for pk, provider_id in part:
        params += [pk, provider_id]
    params.append(MessageStatus.SENDING.value)
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.rowcount


def _record_results(
    part: list[SmsMessage], results: list[SendResult], backend_name: str, now: datetime.datetime
) -> tuple[Counter, list[SmsMessage]]:
    """Write a chunk's send results onto its messages, with their SendAttempt rows.

    One transaction for the chunk, one UPDATE per kind of result (all accepted ones
    together, then one per distinct retry/failure) instead of a statement and a commit
    per message. Returns the new statuses counted, and the messages whose outcome is
    unknown: still `sending`, to be reconciled with the gateway before anything else.
    """
    accepted: list[tuple[int, str]] = []
    changed: dict[tuple, list[int]] = {}  # the same changes for several messages: one UPDATE
    unknown: list[SmsMessage] = []
    counts: Counter = Counter()
    attempts = []
    for message, result in zip(part, results, strict=True):
        if result.outcome == Outcome.ACCEPTED:
            accepted.append((message.pk, result.provider_message_id))
            counts[MessageStatus.SENT] += 1
        else:
            if result.throttled:
                # Refused for now, not failed: back in the queue as soon as the gateway
                # allows, and the refusal does not use up one of its attempts.
                new = MessageStatus.QUEUED
                wait = datetime.timedelta(seconds=min(max(result.retry_after or 1.0, 0.1), 300))
                changes = (("status", new), ("not_before", now + wait), ("attempts", message.attempts - 1))
                counts["throttled"] += 1
                counts["retry_after"] = max(counts["retry_after"], int((result.retry_after or 0) * 1000))
            elif result.outcome == Outcome.RETRY and message.attempts < settings.SMS_MAX_ATTEMPTS:
                new = MessageStatus.QUEUED
                changes = (("status", new), ("not_before", now + _backoff(message.attempts)))
            elif result.outcome in (Outcome.RETRY, Outcome.FAILED):
                new = MessageStatus.FAILED
                changes = (("status", new), ("failed_at", now))
            else:  # unknown: stays "sending" until reconciled with the gateway
                new = MessageStatus.SENDING
                changes = ()
                unknown.append(message)
            changes += (("error_code", result.code), ("last_error", result.detail[:255]))
            changed.setdefault(changes, []).append(message.pk)
            if new != MessageStatus.SENDING and not result.throttled:
                counts[new] += 1
        attempts.append(
            SendAttempt(
                message_id=message.pk,
                outcome=_ATTEMPT_OUTCOME[result.outcome],
                code=result.code,
                detail=result.detail[:255],
                latency_ms=result.latency_ms,
                backend=backend_name,
            )
        )
    with transaction.atomic():
        if accepted:
            _mark_sent(accepted, now)
        for changes, ids in changed.items():
            for start in range(0, len(ids), WRITE_SLICE):
                SmsMessage.objects.filter(
                    pk__in=ids[start : start + WRITE_SLICE], status=MessageStatus.SENDING
                ).update(updated_at=now, **dict(changes))
        SendAttempt.objects.bulk_create(attempts)
    return counts, unknown


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
            status=MessageStatus.EXPIRED if code == CancelCode.STALE else MessageStatus.CANCELLED,
            error_code=code,
            updated_at=now,
            attempts=F("attempts") - 1,
        )


def claims_touch(*, ids: list[int]) -> int:
    """A live link process still holds these claims (the sweep takes only stale ones)."""
    return SmsMessage.objects.filter(pk__in=ids, status=MessageStatus.SENDING).update(
        claimed_at=timezone.now()
    )


def claims_release(*, ids: list[int], now: datetime.datetime) -> None:
    """Give claimed messages back to the queue untried (the claim's attempt is undone)."""
    SmsMessage.objects.filter(pk__in=ids, status=MessageStatus.SENDING).update(
        status=MessageStatus.QUEUED, updated_at=now, attempts=F("attempts") - 1
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
    if backend.link:
        # A link process keeps its claims fresh while it holds them: one this old was
        # left by a process that died after claiming it, before writing what the peer
        # answered. A carrier cannot be asked; it is never sent again. claimed_at stays,
        # as the time it may have been submitted (for matching a late receipt).
        lost = SmsMessage.objects.filter(
            pk__in=[m.pk for m in stale], status=MessageStatus.SENDING, claimed_at__lt=stale_before
        ).update(status=MessageStatus.UNKNOWN, error_code="link_lost", updated_at=now)
        stats[MessageStatus.UNKNOWN] += lost
        stale = []
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
    if wake and not backend.link and in_contact_window(now, policy) and _claimable(now).exists():
        outbox.senders_queue("sweep")
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
    """Send due messages until none is left, the window closes or time is up.

    A two-stage pipeline: while one chunk is on the wire, the previous chunk's results
    are written and the next chunk is claimed and re-checked, so the database work hides
    behind the gateway's latency instead of adding to it. A chunk's rate tokens are taken
    only when the chunk before it is all on the wire and a sending thread is free, so
    they are spent as they are taken, not queued behind a whole chunk. At most two
    chunks are claimed and unrecorded at a time; everything about a single message is as
    before (claimed before the call, its result written conditionally after, an unknown
    outcome reconciled with the gateway before anything else).
    """
    backend = get_backend()
    stats: Counter = Counter()
    if backend.link:  # the link process holds the bind and sends; nothing to do here
        stats["link_process"] += 1
        return stats
    deadline = time.monotonic() + (settings.SMS_SENDER_MAX_SECONDS if max_seconds is None else max_seconds)
    policy = ContactPolicy.current()
    policy_loaded = time.monotonic()
    pace = Pace(policy.rate_limit)
    on_the_wire: _InFlight | None = None
    while time.monotonic() < deadline:
        if time.monotonic() - policy_loaded > 30:
            policy, policy_loaded = ContactPolicy.current(), time.monotonic()
            pace.set_limit(policy.rate_limit)
        now = current_time()
        if not in_contact_window(now, policy):
            stats["outside_window"] += 1
            break
        in_flight = on_the_wire.capped_customers() if on_the_wire else None
        claimed, to_send, deferred = claim_checked(
            limit=min(settings.SMS_SENDER_CHUNK, policy.rate_limit),
            now=now,
            policy=policy,
            in_flight=in_flight,
            stats=stats,
        )
        if not claimed:
            if on_the_wire:  # its results may queue messages again (unknown → never arrived)
                done, on_the_wire = on_the_wire, None
                done.finish(backend, stats, pace)
                continue
            soon = _due_soon(now)
            if soon is not None and time.monotonic() + soon < deadline:
                time.sleep(soon)  # a busy gateway's refusals come back within seconds
                continue
            break
        if deferred and on_the_wire:  # what they wait for: record it before they are claimed again
            done, on_the_wire = on_the_wire, None
            done.finish(backend, stats, pace)
        while to_send:
            if on_the_wire:  # tokens taken now are spent now, not queued behind a whole chunk
                on_the_wire.sending.wait_for_room()
            granted = rate_acquire(key=backend.name, want=len(to_send), limit=pace.per_second)
            if not granted:
                if on_the_wire:  # use the wait: record what is out there, then ask again
                    done, on_the_wire = on_the_wire, None
                    done.finish(backend, stats, pace)
                else:
                    sleep()
                continue
            part, to_send = to_send[:granted], to_send[granted:]
            outgoing = [Outgoing(m.phone, m.body, m.idempotency_key) for m in part]
            done, on_the_wire = on_the_wire, _InFlight(part, backend.send_async(outgoing))
            if done:
                done.finish(backend, stats, pace)
    # On an error this is not reached: a chunk left on the wire stays `sending` and the
    # sweep asks the gateway what became of it, as after a crash.
    if on_the_wire:  # time is up or the window closed
        on_the_wire.finish(backend, stats, pace)
    batches_finish()
    return stats


class _InFlight:
    """A chunk handed to the gateway whose results are not written yet."""

    def __init__(self, part: list[SmsMessage], sending: Sending):
        self.part, self.sending = part, sending

    def capped_customers(self) -> Counter:
        return Counter(m.customer_id for m in self.part if m.purpose in CAPPED_PURPOSES)

    def finish(self, backend, stats: Counter, pace: Pace) -> None:
        """Wait for the results, write them, reconcile the unknown ones; slow down (and
        wait as long as the gateway asked) if it said it was busy."""
        results = self.sending.results()
        done_at = current_time()
        counts, unknown = _record_results(self.part, results, backend.name, done_at)
        throttled, retry_after_ms = counts.pop("throttled", 0), counts.pop("retry_after", 0)
        stats.update(counts)
        if throttled:
            stats["throttled"] += throttled
            time.sleep(min(30.0, max(pace.throttled(), retry_after_ms / 1000)))
        elif counts.get(MessageStatus.SENT):
            pace.accepted()
        for message in unknown:  # after the commit: the status call is a network round trip
            stats[reconcile_message(message, backend=backend, now=done_at)] += 1


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
        outbox.wake(reason="retry")
    message.refresh_from_db()
    return message


def message_settle(*, message: SmsMessage, user, delivered: bool) -> SmsMessage:
    """A supervisor settles a message whose outcome is unknown (the gateway never said,
    and no receipt came): delivered, or not delivered. Audited; never sent again."""
    target = MessageStatus.DELIVERED if delivered else MessageStatus.FAILED
    now = timezone.now()
    with transaction.atomic():
        changes = {"status": target, "updated_at": now}
        if delivered:
            changes["delivered_at"] = now
        else:
            changes.update(failed_at=now, error_code="settled_not_delivered")
        if not SmsMessage.objects.filter(pk=message.pk, status=MessageStatus.UNKNOWN).update(**changes):
            raise ServiceError(
                _("Only a message whose outcome is unknown can be settled."), code="wrong_state"
            )
        audit_record(
            actor=user,
            action="message.settle",
            obj=message,
            from_state=MessageStatus.UNKNOWN,
            to_state=target,
        )
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
