"""What the gateway posts back: delivery receipts and customers' replies."""

from __future__ import annotations

import datetime
import hashlib
import hmac
import json

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from customers.models import Customer
from customers.phones import phone_normalize

from ..models import DeliveryReceipt, InboundMessage, MessageStatus, SmsMessage
from .feedback import feedback_from_inbound

# A status only ever moves forward: a late "accepted" never overwrites "delivered".
RANK = {
    MessageStatus.PENDING: 0,
    MessageStatus.QUEUED: 1,
    MessageStatus.SENDING: 2,
    MessageStatus.UNKNOWN: 2,
    MessageStatus.SENT: 3,
    MessageStatus.DELIVERED: 4,
    MessageStatus.FAILED: 4,
}
RECEIPT_STATUS = {
    "accepted": MessageStatus.SENT,
    "sent": MessageStatus.SENT,
    "delivered": MessageStatus.DELIVERED,
    "failed": MessageStatus.FAILED,
}


def _signed_bytes(raw_body: bytes, timestamp: str | None) -> bytes:
    return raw_body if timestamp is None else timestamp.encode() + b"." + raw_body


def signature_valid(raw_body: bytes, signature: str | None, timestamp: str | None = None) -> bool:
    """X-Signature must be hex(HMAC-SHA256(SMS_WEBHOOK_SECRET, raw body)); when the call
    carries X-Timestamp, the HMAC covers "<timestamp>." + raw body instead."""
    if not signature:
        return False
    expected = sign(raw_body, timestamp=timestamp)
    return hmac.compare_digest(expected, signature.strip().lower())


def sign(raw_body: bytes, secret: str | None = None, *, timestamp: str | None = None) -> str:
    key = (secret or settings.SMS_WEBHOOK_SECRET).encode()
    return hmac.new(key, _signed_bytes(raw_body, timestamp), hashlib.sha256).hexdigest()


def timestamp_fresh(value: str, now: datetime.datetime | None = None) -> bool:
    """An X-Timestamp (Unix seconds) within SMS_WEBHOOK_TOLERANCE_SECONDS of now."""
    try:
        moment = float(value.strip())
    except (AttributeError, ValueError):
        return False
    if moment != moment:  # NaN
        return False
    now_ts = (now or timezone.now()).timestamp()
    return abs(now_ts - moment) <= settings.SMS_WEBHOOK_TOLERANCE_SECONDS


def items_fresh(items: list[dict], now: datetime.datetime | None = None) -> bool:
    """Without X-Timestamp: every item's "at", where given, within the tolerance of now."""
    now = now or timezone.now()
    tolerance = datetime.timedelta(seconds=settings.SMS_WEBHOOK_TOLERANCE_SECONDS)
    for item in items:
        if item.get("at") in (None, ""):
            continue
        try:
            at = _when(item["at"])
        except (TypeError, ValueError, OverflowError, OSError):
            return False
        if at is None or abs(now - at) > tolerance:
            return False
    return True


def _when(value) -> datetime.datetime | None:
    if not value:
        return None
    if isinstance(value, (int, float)):
        return datetime.datetime.fromtimestamp(value, tz=datetime.UTC)
    parsed = parse_datetime(str(value))
    if parsed and timezone.is_naive(parsed):
        parsed = timezone.make_aware(parsed)
    return parsed


def receipt_apply(*, item: dict) -> DeliveryReceipt | None:
    """Store one receipt (a repeat is ignored) and move its message forward if it can."""
    status = str(item.get("status", "")).lower()
    client_ref = str(item.get("client_ref") or "")[:64]
    provider_id = str(item.get("message_id") or "")[:100]
    fingerprint = hashlib.sha256(
        json.dumps(
            [provider_id, client_ref, status, str(item.get("error_code") or ""), str(item.get("at") or "")]
        ).encode()
    ).hexdigest()
    with transaction.atomic():
        query = SmsMessage.objects.select_for_update()
        message = None
        if client_ref:
            message = query.filter(idempotency_key=client_ref).first()
        if message is None and provider_id:
            message = query.filter(provider_message_id=provider_id).first()
        try:
            with transaction.atomic():
                receipt = DeliveryReceipt.objects.create(
                    message=message,
                    provider_message_id=provider_id,
                    client_ref=client_ref,
                    status=status[:20],
                    error_code=str(item.get("error_code") or "")[:50],
                    reported_at=_when(item.get("at")),
                    payload=item,
                    fingerprint=fingerprint,
                )
        except IntegrityError:
            return None  # the same receipt again: nothing changes
        target = RECEIPT_STATUS.get(status)
        if message is None or target is None:
            return receipt
        if RANK.get(target, 0) <= RANK.get(message.status, 99):
            return receipt  # stale or repeated news
        at = receipt.reported_at or timezone.now()
        changes = {"status": target, "updated_at": timezone.now()}
        if provider_id and not message.provider_message_id:
            changes["provider_message_id"] = provider_id
        if target == MessageStatus.DELIVERED:
            changes["delivered_at"] = at
            if not message.sent_at:
                changes["sent_at"] = at
        elif target == MessageStatus.FAILED:
            changes["failed_at"] = at
            changes["error_code"] = receipt.error_code or "failed"
        elif target == MessageStatus.SENT and not message.sent_at:
            changes["sent_at"] = at
        SmsMessage.objects.filter(pk=message.pk, status=message.status).update(**changes)
        DeliveryReceipt.objects.filter(pk=receipt.pk).update(applied=True)
        receipt.applied = True
    return receipt


def customer_for_phone(raw: str) -> Customer | None:
    """The one customer whose mobile this is (none when unknown or shared)."""
    mobile, _problem = phone_normalize(raw)
    if not mobile:
        return None
    matches = list(Customer.objects.filter(mobile=mobile)[:2])
    return matches[0] if len(matches) == 1 else None


def inbound_receive(*, item: dict) -> tuple[InboundMessage, bool]:
    """Store a customer's reply once (by gateway id) and match it to the customer by phone."""
    provider_id = str(item.get("message_id") or "")[:100]
    if not provider_id:
        provider_id = (
            "sha-"
            + hashlib.sha256(json.dumps(item, sort_keys=True, ensure_ascii=False).encode()).hexdigest()[:60]
        )
    existing = InboundMessage.objects.filter(provider_message_id=provider_id).first()
    if existing:
        return existing, False
    phone = str(item.get("from") or "")[:32]
    try:
        with transaction.atomic():
            inbound = InboundMessage.objects.create(
                provider_message_id=provider_id,
                phone=phone,
                text=str(item.get("text") or ""),
                sent_at=_when(item.get("at")),
                customer=customer_for_phone(phone),
                payload=item,
            )
            feedback_from_inbound(inbound=inbound)
    except IntegrityError:
        return InboundMessage.objects.get(provider_message_id=provider_id), False
    return inbound, True
