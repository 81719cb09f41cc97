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
from django.db.models import DateTimeField, F, Q, Value
from django.db.models.functions import Coalesce
from django.utils import timezone

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
            SmsMessage.objects.filter(pk__in=ids, status=MessageStatus.SENDING).update(**changes)
            if status == MessageStatus.SENT:
                for item in items:  # the first part's id, shown on the message page
                    first = item.parts[0][1].provider_id
                    SmsMessage.objects.filter(pk=item.message.pk, provider_message_id="").update(
                        provider_message_id=first[:100]
                    )
        MessagePart.objects.bulk_create(parts)
        SendAttempt.objects.bulk_create(attempts)
    early = list(
        DeliveryReceipt.objects.filter(
            message__isnull=True,
            applied=False,
            provider_message_id__in=[p.provider_id for p in parts if p.provider_id],
        ).values_list("pk", flat=True)
    )
    return sum(1 for pk in early if _receipt_reapply(link, pk))


# --- Receipts -------------------------------------------------------------------------


def _fingerprint(link: str, event: ReceiptEvent) -> str:
    key = [link, event.provider_id, event.stat, event.err, str(event.done_at or ""), event.recipient]
    return hashlib.sha256(json.dumps(key).encode()).hexdigest()


def link_receipt_apply(*, link: str, event: ReceiptEvent) -> DeliveryReceipt | None:
    """Store one receipt for a part (a repeat is ignored) and move its message forward.

    The part is found by the peer's id for it. A receipt for a part whose submit was never
    answered (its message `unknown`) is matched by the handset, the submit time and the
    start of the text where the peer gives them — only when exactly one such part fits.
    A receipt whose part is not written yet waits and is applied when it is.
    """
    try:
        with transaction.atomic():
            receipt = DeliveryReceipt.objects.create(
                provider_message_id=event.provider_id[:100],
                status=event.stat[:20],
                error_code=event.err[:50],
                reported_at=event.done_at,
                payload={"link": link, **event.raw, "recipient": event.recipient, "receipt_text": event.text},
                fingerprint=_fingerprint(link, event),
            )
    except IntegrityError:
        return None
    _receipt_apply(link, receipt, event)
    return receipt


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


def _receipt_reapply(link: str, pk: int) -> bool:
    receipt = DeliveryReceipt.objects.filter(pk=pk, message__isnull=True).first()
    return bool(receipt) and _receipt_apply(link, receipt, _event_of(receipt))


def _receipt_apply(link: str, receipt: DeliveryReceipt, event: ReceiptEvent) -> bool:
    with transaction.atomic():
        part = (
            MessagePart.objects.select_for_update()
            .filter(link=link, provider_id=event.provider_id)
            .select_related("message")
            .first()
            if event.provider_id
            else None
        )
        if part is None:
            part = _unanswered_part(link, event)
        if part is None:
            return False
        DeliveryReceipt.objects.filter(pk=receipt.pk).update(message=part.message_id)
        if not event.final or part.status != PartStatus.SUBMITTED:
            return False  # an intermediate report, or news about a part already settled
        done = event.done_at or timezone.now()
        new = PartStatus.DELIVERED if event.delivered else PartStatus.FAILED
        MessagePart.objects.filter(pk=part.pk, status=PartStatus.SUBMITTED).update(
            status=new, stat=event.stat[:20], err=event.err[:20], done_at=done
        )
        moved = _message_settle_from_parts(part.message_id, done)
        DeliveryReceipt.objects.filter(pk=receipt.pk).update(applied=moved)
        return moved


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


def _message_settle_from_parts(message_id: int, done: datetime.datetime) -> bool:
    """Delivered once every part is, failed as soon as one fails (only ever forward)."""
    parts = list(
        MessagePart.objects.filter(message_id=message_id).values_list("status", "total", "stat", "err")
    )
    if not parts:
        return False
    total = parts[0][1]
    failed = [(stat, err) for status, _t, stat, err in parts if status == PartStatus.FAILED]
    eligible = SmsMessage.objects.filter(pk=message_id, status__in=HANDED_TO_GATEWAY)
    now = timezone.now()
    if failed:
        stat, err = failed[0]
        return bool(
            eligible.update(
                status=MessageStatus.FAILED,
                failed_at=done,
                error_code=f"{stat}:{err}" if err else stat,
                updated_at=now,
            )
        )
    delivered = sum(1 for status, *_rest in parts if status == PartStatus.DELIVERED)
    if delivered == total:
        return bool(
            eligible.update(
                status=MessageStatus.DELIVERED,
                delivered_at=done,
                sent_at=Coalesce(F("sent_at"), Value(done, output_field=DateTimeField())),
                error_code="",
                updated_at=now,
            )
        )
    return False


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
        item={
            "from": sender,
            "text": text,
            "message_id": provider_id,
            "at": at.isoformat(),
            "link": link,
            "raw": raw,
        }
    )
    return inbound
