"""What gateways report back, whichever way it came: delivery receipts and customers'
replies, as protocol-neutral reports (`notices/backends/inbound.py`). Each gateway's
protocol (signatures, payload keys, status words) lives with its backend."""

from __future__ import annotations

import hashlib
import json

from django.db import IntegrityError, transaction
from django.utils import timezone

from customers.models import Customer
from customers.phones import phone_normalize

from ..backends.http import sign  # noqa: F401  (the http platform's signature, as before)
from ..backends.inbound import InboundReport, ReceiptReport, ReceiptState
from ..models import HANDED_TO_GATEWAY, DeliveryReceipt, InboundMessage, MessageStatus, SmsMessage
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
    ReceiptState.SENT: MessageStatus.SENT,
    ReceiptState.DELIVERED: MessageStatus.DELIVERED,
    ReceiptState.FAILED: MessageStatus.FAILED,
}


def receipt_apply(*, report: ReceiptReport) -> DeliveryReceipt | None:
    """Store one receipt (a repeat is ignored) and move its message forward if it can."""
    client_ref = report.client_ref[:64]
    provider_id = report.provider_id[:100]
    at = report.at.isoformat() if report.at else ""
    fingerprint = hashlib.sha256(
        json.dumps([provider_id, client_ref, report.status, report.error_code, at]).encode()
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
                    status=report.status[:20],
                    error_code=report.error_code[:50],
                    reported_at=report.at,
                    payload=report.raw,
                    fingerprint=fingerprint,
                )
        except IntegrityError:
            return None  # the same receipt again: nothing changes
        target = RECEIPT_STATUS.get(report.state)
        if message is None or target is None:
            return receipt
        if message.status not in HANDED_TO_GATEWAY and message.status not in (
            MessageStatus.DELIVERED,
            MessageStatus.FAILED,
        ):
            # Never handed to the gateway (pending, queued, cancelled…): a receipt for it is
            # impossible news — kept for someone to look at, never applied.
            DeliveryReceipt.objects.filter(pk=receipt.pk).update(needs_review=True)
            receipt.needs_review = True
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


def inbound_receive(*, report: InboundReport) -> tuple[InboundMessage, bool]:
    """Store a customer's reply once (by gateway id) and match it to the customer by phone."""
    provider_id = report.provider_id[:100]
    if not provider_id:
        provider_id = (
            "sha-"
            + hashlib.sha256(json.dumps(report.raw, sort_keys=True, ensure_ascii=False).encode()).hexdigest()[
                :60
            ]
        )
    existing = InboundMessage.objects.filter(provider_message_id=provider_id).first()
    if existing:
        return existing, False
    phone = report.sender[:32]
    try:
        with transaction.atomic():
            inbound = InboundMessage.objects.create(
                provider_message_id=provider_id,
                phone=phone,
                text=report.text,
                sent_at=report.at,
                customer=customer_for_phone(phone),
                payload=report.raw,
            )
            feedback_from_inbound(inbound=inbound)
    except IntegrityError:
        return InboundMessage.objects.get(provider_message_id=provider_id), False
    return inbound, True
