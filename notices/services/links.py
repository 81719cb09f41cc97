"""What the link process writes: bind leases, submit results per part, receipts that
name a part, and customers' long messages reassembled from their parts.

The link process (`notices/links/runner.py`) calls these from its database thread; each
is one short transaction, safe to repeat, and right when several link processes on
several hosts do the same at once.
"""

from __future__ import annotations

import datetime
import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass

from django.db import IntegrityError, transaction
from django.db.models import Case, DateTimeField, F, Q, Value, When
from django.db.models.functions import Coalesce
from django.utils import timezone

from ..backends.inbound import InboundReport
from ..links.base import InboundPartEvent, LinkHealth, ReceiptEvent, SubmitResult, SubmitStatus
from ..links.parts import Part, split_text
from ..models import (
    HANDED_TO_GATEWAY,
    AttemptOutcome,
    DeliveryReceipt,
    InboundPart,
    LinkSlot,
    MessagePart,
    MessageStatus,
    PartStatus,
    SendAttempt,
    SmsMessage,
)

# --- Leases: never more binds than the setting allows, across all hosts ---------------


def link_slot_acquire(*, link: str, slots: int, holder: str, lease_seconds: int) -> LinkSlot | None:
    """Take a free slot (or one whose holder stopped renewing): the bind may be opened."""
    now = timezone.now()
    for number in range(slots):
        LinkSlot.objects.get_or_create(link=link, slot=number)
    free = Q(holder="") | Q(lease_until__lt=now) | Q(lease_until__isnull=True)
    for slot in LinkSlot.objects.filter(link=link, slot__lt=slots).filter(free).order_by("slot"):
        taken = (
            LinkSlot.objects.filter(pk=slot.pk)
            .filter(free)
            .update(
                holder=holder,
                lease_until=now + datetime.timedelta(seconds=lease_seconds),
                connected_since=None,
                in_flight=0,
                rate=0,
            )
        )
        if taken:
            slot.refresh_from_db()
            return slot
    return None


def link_slot_renew(
    *, slot: LinkSlot, holder: str, lease_seconds: int, health: LinkHealth, rate: float
) -> bool:
    """Extend the lease and record the connection's health; False: the lease was lost."""
    now = timezone.now()
    return bool(
        LinkSlot.objects.filter(pk=slot.pk, holder=holder).update(
            lease_until=now + datetime.timedelta(seconds=lease_seconds),
            connected_since=health.connected_since,
            window=health.window,
            in_flight=health.in_flight,
            submitted=health.submitted,
            throttled=health.throttled,
            rate=rate,
            last_error=health.last_error[:255],
            last_error_at=health.last_error_at,
            updated_at=now,
        )
    )


def link_slot_release(*, slot: LinkSlot, holder: str) -> None:
    LinkSlot.objects.filter(pk=slot.pk, holder=holder).update(
        holder="", lease_until=None, connected_since=None, in_flight=0, rate=0
    )


# --- Submit results -------------------------------------------------------------------


@dataclass
class Submitted:
    """A message as the link left it: each part with the peer's answer."""

    message: SmsMessage
    parts: Sequence[tuple[Part, SubmitResult]]
    submitted_at: datetime.datetime

    @property
    def status(self) -> str:
        statuses = {result.status for _part, result in self.parts}
        if SubmitStatus.UNKNOWN in statuses:
            return MessageStatus.UNKNOWN
        if SubmitStatus.FAILED in statuses or SubmitStatus.THROTTLED in statuses:
            return MessageStatus.FAILED
        return MessageStatus.SENT

    @property
    def deciding(self) -> SubmitResult:
        """The answer that decided the message's status (the first accepted one if all were)."""
        order = {
            SubmitStatus.UNKNOWN: 0,
            SubmitStatus.FAILED: 1,
            SubmitStatus.THROTTLED: 2,
            SubmitStatus.ACCEPTED: 3,
        }
        return min((result for _p, result in self.parts), key=lambda r: order[r.status])


_ATTEMPT = {
    MessageStatus.SENT: AttemptOutcome.ACCEPTED,
    MessageStatus.FAILED: AttemptOutcome.FAILED,
    MessageStatus.UNKNOWN: AttemptOutcome.UNKNOWN,
}


def link_results_record(
    *, link: str, submitted: Sequence[Submitted], now: datetime.datetime | None = None
) -> int:
    """Write what the peer answered: parts with their ids, each message sent / failed /
    unknown (a part whose answer never came is never submitted again), one SendAttempt
    each; then apply receipts that arrived before their part was written. Returns how
    many receipts that applied."""
    now = now or timezone.now()
    parts, attempts, by_status = [], [], {}
    for item in submitted:
        status = item.status
        deciding = item.deciding
        by_status.setdefault((status, deciding.code if status != MessageStatus.SENT else ""), []).append(item)
        for part, result in item.parts:
            if result.status in (SubmitStatus.ACCEPTED, SubmitStatus.UNKNOWN):
                parts.append(
                    MessagePart(
                        message_id=item.message.pk,
                        seq=part.seq,
                        total=part.total,
                        link=link,
                        provider_id=result.provider_id if result.status == SubmitStatus.ACCEPTED else "",
                        submitted_at=item.submitted_at,
                    )
                )
        attempts.append(
            SendAttempt(
                message_id=item.message.pk,
                outcome=_ATTEMPT[status],
                code=deciding.code[:50],
                detail=deciding.detail[:255],
                backend=link,
            )
        )
    with transaction.atomic():
        for (status, code), items in by_status.items():
            ids = [item.message.pk for item in items]
            changes = {"status": status, "updated_at": now, "error_code": code[:50]}
            if status == MessageStatus.SENT:
                changes["sent_at"] = now
                changes["last_error"] = ""
            elif status == MessageStatus.FAILED:
                changes["failed_at"] = now
                changes["last_error"] = items[0].deciding.detail[:255]
            else:
                changes["last_error"] = items[0].deciding.detail[:255]
            # `unknown` too: a sweep that thought the process gone may have got there first;
            # what the peer answered is the truth. Written again (a retried flush), it
            # changes nothing.
            SmsMessage.objects.filter(
                pk__in=ids, status__in=(MessageStatus.SENDING, MessageStatus.UNKNOWN)
            ).update(**changes)
            if status == MessageStatus.SENT:
                for item in items:  # the first part's id, shown on the message page
                    first = item.parts[0][1].provider_id
                    SmsMessage.objects.filter(pk=item.message.pk, provider_message_id="").update(
                        provider_message_id=first[:100]
                    )
        MessagePart.objects.bulk_create(parts, ignore_conflicts=True)  # a retried flush
        SendAttempt.objects.bulk_create(attempts)
    return _receipts_reapply(link, [p.provider_id for p in parts if p.provider_id])


# --- Receipts -------------------------------------------------------------------------


def _fingerprint(link: str, event: ReceiptEvent) -> str:
    key = [link, event.provider_id, event.stat, event.err, str(event.done_at or ""), event.recipient]
    return hashlib.sha256(json.dumps(key).encode()).hexdigest()


def link_receipt_apply(*, link: str, event: ReceiptEvent) -> DeliveryReceipt | None:
    """Store one receipt for a part (a repeat is ignored) and move its message forward."""
    return link_receipts_apply(link=link, events=[event])[0]


def link_receipts_apply(*, link: str, events: Sequence[ReceiptEvent]) -> list[DeliveryReceipt | None]:
    """Store receipts for parts (a repeat is ignored) and move their messages forward.

    The part is found by the peer's id for it. A receipt for a part whose submit was never
    answered (its message `unknown`) is matched by the handset, the submit time and the
    start of the text where the peer gives them — only when exactly one such part fits.
    A receipt whose part is not written yet waits and is applied when it is. A batch
    costs a handful of statements, whatever its size. Returns, per event, its stored
    receipt, or None for a repeat.
    """
    keyed = [(event, _fingerprint(link, event)) for event in events]
    first: dict[str, ReceiptEvent] = {}
    for event, fingerprint in keyed:
        first.setdefault(fingerprint, event)
    with transaction.atomic():
        known = set(
            DeliveryReceipt.objects.filter(fingerprint__in=first).values_list("fingerprint", flat=True)
        )
        fresh = {fp: event for fp, event in first.items() if fp not in known}
        DeliveryReceipt.objects.bulk_create(
            [
                DeliveryReceipt(
                    provider_message_id=event.provider_id[:100],
                    status=event.stat[:20],
                    error_code=event.err[:50],
                    reported_at=event.done_at,
                    payload={
                        "link": link,
                        **event.raw,
                        "recipient": event.recipient,
                        "receipt_text": event.text,
                    },
                    fingerprint=fp,
                )
                for fp, event in fresh.items()
            ],
            ignore_conflicts=True,  # another process stored the same one a moment ago
        )
    stored = {r.fingerprint: r for r in DeliveryReceipt.objects.filter(fingerprint__in=fresh)}
    _receipts_apply(link, [(stored[fp], event) for fp, event in fresh.items() if fp in stored])
    returned, given = [], set()
    for _event, fingerprint in keyed:
        receipt = stored.get(fingerprint) if fingerprint in fresh and fingerprint not in given else None
        given.add(fingerprint)
        returned.append(receipt)
    return returned


def _event_of(receipt: DeliveryReceipt) -> ReceiptEvent:
    payload = receipt.payload or {}
    return ReceiptEvent(
        provider_id=receipt.provider_message_id,
        stat=receipt.status,
        err=receipt.error_code,
        done_at=receipt.reported_at,
        recipient=str(payload.get("recipient", "")),
        text=str(payload.get("receipt_text", "")),
    )


def _receipts_apply(link: str, pairs: list[tuple[DeliveryReceipt, ReceiptEvent]]) -> int:
    """Match stored receipts to their parts and apply them; returns how many moved a message."""
    if not pairs:
        return 0
    now = timezone.now()
    with transaction.atomic():
        ids = {event.provider_id for _r, event in pairs if event.provider_id}
        parts = {
            part.provider_id: part
            for part in MessagePart.objects.select_for_update().filter(link=link, provider_id__in=ids)
        }
        matched = []
        for receipt, event in pairs:
            part = parts.get(event.provider_id) if event.provider_id else None
            if part is None:
                part = _unanswered_part(link, event)  # rare: a few statements of its own
                if part is not None:
                    parts[part.provider_id] = part
            if part is not None:
                matched.append((receipt, event, part))
        settled: dict[int, MessagePart] = {}
        for _receipt, event, part in matched:
            # The first final report about a part settles it; an intermediate one
            # (ACCEPTD, ENROUTE) or news about a settled part only joins the record.
            if event.final and part.status == PartStatus.SUBMITTED and part.pk not in settled:
                part.status = PartStatus.DELIVERED if event.delivered else PartStatus.FAILED
                part.stat, part.err, part.done_at = event.stat[:20], event.err[:20], event.done_at or now
                settled[part.pk] = part
        MessagePart.objects.bulk_update(list(settled.values()), ["status", "stat", "err", "done_at"])
        moved = _messages_settle_from_parts({part.message_id for part in settled.values()})
        for receipt, _event, part in matched:
            receipt.message_id = part.message_id
            receipt.applied = part.pk in settled and part.message_id in moved
        DeliveryReceipt.objects.bulk_update([receipt for receipt, _e, _p in matched], ["message", "applied"])
    return sum(1 for receipt, _e, _p in matched if receipt.applied)


def _receipts_reapply(link: str, provider_ids: list[str]) -> int:
    """Receipts that came before their part was written: apply them now that it is."""
    waiting = list(
        DeliveryReceipt.objects.filter(
            message__isnull=True, applied=False, provider_message_id__in=provider_ids
        )
    )
    return _receipts_apply(link, [(receipt, _event_of(receipt)) for receipt in waiting])


def _unanswered_part(link: str, event: ReceiptEvent) -> MessagePart | None:
    """The one part, submitted without an answer, that this receipt can only be about.

    Candidates: parts written without an id (the connection was lost before the answer),
    and the parts of messages a link process claimed and never wrote back (it died; the
    sweep made them `unknown`). They must go to the receipt's handset, have been
    submitted within two minutes of the receipt's submit time (receipts give the minute)
    and, where the receipt quotes the text, start with it; without a quote only a
    one-part message can be meant. Exactly one must fit, else a supervisor settles it.
    """
    digits = "".join(ch for ch in event.recipient if ch.isdigit())[-11:]
    if len(digits) < 11:
        return None
    slack = datetime.timedelta(minutes=2)
    around = {}
    if event.submitted_at:
        around = {"gte": event.submitted_at - slack, "lte": event.submitted_at + slack}
    unknown = SmsMessage.objects.filter(status=MessageStatus.UNKNOWN, phone__endswith=digits)
    found: list[tuple[SmsMessage, int, MessagePart | None]] = []
    rows = MessagePart.objects.select_for_update().filter(
        link=link, provider_id="", status=PartStatus.SUBMITTED, message__in=unknown
    )
    if around:
        rows = rows.filter(submitted_at__gte=around["gte"], submitted_at__lte=around["lte"])
    for part in rows.select_related("message")[:20]:
        if _quoted(event, part.message.body, part.seq):
            found.append((part.message, part.seq, part))
    lost = unknown.filter(error_code="link_lost", parts__isnull=True)
    if around:
        lost = lost.filter(claimed_at__gte=around["gte"], claimed_at__lte=around["lte"])
    for message in lost[:20]:
        texts = split_text(message.body)
        for seq in range(1, len(texts) + 1):
            if (event.text or len(texts) == 1) and _quoted(event, message.body, seq):
                found.append((message, seq, None))
    if len(found) != 1:
        return None
    message, seq, part = found[0]
    provider_id = event.provider_id[:64]
    if part is None:
        total = len(split_text(message.body))
        part = MessagePart.objects.create(
            message=message,
            seq=seq,
            total=total,
            link=link,
            provider_id=provider_id,
            submitted_at=message.claimed_at or timezone.now(),
        )
    else:
        MessagePart.objects.filter(pk=part.pk, provider_id="").update(provider_id=provider_id)
        part.provider_id = provider_id
    return part


def _quoted(event: ReceiptEvent, body: str, seq: int) -> bool:
    """Whether the receipt's quote of the text (if any) is the start of part `seq`."""
    if not event.text:
        return True
    texts = split_text(body)
    return seq <= len(texts) and texts[seq - 1].startswith(event.text[:20])


def _messages_settle_from_parts(message_ids: set[int]) -> set[int]:
    """Delivered once every part is, failed as soon as one fails (only ever forward).
    Returns the messages that moved."""
    if not message_ids:
        return set()
    eligible = set(
        SmsMessage.objects.select_for_update()
        .filter(pk__in=message_ids, status__in=HANDED_TO_GATEWAY)
        .values_list("pk", flat=True)
    )
    by_message: dict[int, list] = {}
    for message_id, status, total, stat, err, done in MessagePart.objects.filter(
        message_id__in=eligible
    ).values_list("message_id", "status", "total", "stat", "err", "done_at"):
        by_message.setdefault(message_id, []).append((status, total, stat, err, done))
    delivered, failed = {}, {}
    for message_id, rows in by_message.items():
        failures = [(stat, err, done) for status, _t, stat, err, done in rows if status == PartStatus.FAILED]
        if failures:
            stat, err, done = failures[0]
            failed[message_id] = (f"{stat}:{err}" if err else stat, done)
        elif sum(1 for status, *_rest in rows if status == PartStatus.DELIVERED) == rows[0][1]:
            delivered[message_id] = max(done for *_rest, done in rows)
    now = timezone.now()
    if delivered:
        at = Case(
            *(When(pk=pk, then=Value(done)) for pk, done in delivered.items()), output_field=DateTimeField()
        )
        SmsMessage.objects.filter(pk__in=delivered).update(
            status=MessageStatus.DELIVERED,
            delivered_at=at,
            sent_at=Coalesce(F("sent_at"), at),
            error_code="",
            updated_at=now,
        )
    for code in {code for code, _done in failed.values()}:
        ids = {pk: done for pk, (c, done) in failed.items() if c == code}
        at = Case(*(When(pk=pk, then=Value(done)) for pk, done in ids.items()), output_field=DateTimeField())
        SmsMessage.objects.filter(pk__in=ids).update(
            status=MessageStatus.FAILED, failed_at=at, error_code=code[:50], updated_at=now
        )
    return set(delivered) | set(failed)


# --- Customers' messages over the link ------------------------------------------------


def link_inbound_part(*, link: str, event: InboundPartEvent, at: datetime.datetime | None = None):
    """A customer's message, or one part of a long one: whole messages go to the inbound
    service at once; parts wait in the database until the last one arrives (on any bind),
    then go as one text. Returns the InboundMessage once there is one, else None."""
    from .webhooks import inbound_receive

    at = at or timezone.now()
    if event.concatenation is None or event.concatenation[1] <= 1:
        return _inbound(link, event.sender, event.text, event.provider_id, at, event.raw, inbound_receive)
    reference, total, seq = event.concatenation
    try:
        with transaction.atomic():
            InboundPart.objects.create(
                link=link,
                sender=event.sender[:32],
                reference=reference,
                total=total,
                seq=seq,
                text=event.text,
                raw=event.raw,
            )
    except IntegrityError:
        pass  # the same part again
    with transaction.atomic():
        group = list(
            InboundPart.objects.select_for_update()
            .filter(
                link=link,
                sender=event.sender[:32],
                reference=reference,
                total=total,
                assembled_at__isnull=True,
            )
            .order_by("seq")
        )
        if len({p.seq for p in group}) < total:
            return None
        InboundPart.objects.filter(pk__in=[p.pk for p in group]).update(assembled_at=at)
        text = "".join(p.text for p in group)
        key = f"{link}:{event.sender}:{reference}:{total}:" + hashlib.sha256(text.encode()).hexdigest()[:16]
        raw = {"link": link, "parts": [p.raw for p in group]}
        return _inbound(link, event.sender, text, key, at, raw, inbound_receive)


def _inbound(link, sender, text, provider_id, at, raw, inbound_receive):
    if not provider_id:
        provider_id = (
            f"{link}:" + hashlib.sha256(f"{sender}\x1f{text}\x1f{at:%Y%m%d%H%M}".encode()).hexdigest()[:40]
        )
    inbound, _created = inbound_receive(
        report=InboundReport(
            sender=sender, text=text, provider_id=provider_id, at=at, raw={"link": link, **raw}
        )
    )
    return inbound
