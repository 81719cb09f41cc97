"""A signed webhook never makes a 500: nesting, sizes and times that cannot be read are
400s with nothing stored; a receipt for a message never handed to the gateway is kept,
flagged, and changes nothing."""

import json
import time

import pytest

from notices.backends.http import sign
from notices.models import DeliveryReceipt, InboundMessage, MessageStatus, SmsMessage
from tests.factories import CustomerFactory

from .test_webhooks import INBOUND, RECEIPT, post, recent

pytestmark = pytest.mark.django_db


def post_raw(client, url, raw: bytes, timestamp: str | None = None):
    headers = {"HTTP_X_SIGNATURE": sign(raw, timestamp=timestamp)}
    if timestamp is not None:
        headers["HTTP_X_TIMESTAMP"] = timestamp
    return client.post(url, data=raw, content_type="application/json", **headers)


@pytest.mark.parametrize("depth", [50, 5000, 200_000])
def test_deeply_nested_json_is_a_400(client, depth):
    raw = b"[" * depth + b"]" * depth
    response = post_raw(client, RECEIPT, raw)
    assert response.status_code == 400
    assert not DeliveryReceipt.objects.exists()


@pytest.mark.parametrize(
    "at", ["2026-13-45", "2026-02-30T10:00:00", 1e30, -1e300, "NaN", True, {"x": 1}, [1]]
)
def test_an_unreadable_at_is_a_400_with_or_without_a_timestamp(client, at):
    payload = json.dumps({"message_id": "gw-9", "status": "delivered", "at": at}).encode()
    assert post_raw(client, RECEIPT, payload).status_code == 400
    assert post_raw(client, RECEIPT, payload, timestamp=str(int(time.time()))).status_code == 400
    reply = json.dumps({"from": "+8613800000000", "text": "好", "at": at, "message_id": "m1"}).encode()
    assert post_raw(client, INBOUND, reply, timestamp=str(int(time.time()))).status_code == 400
    assert not DeliveryReceipt.objects.exists() and not InboundMessage.objects.exists()


@pytest.mark.parametrize("stamp", ["abc", "1e30", "nan", "inf", ""])
def test_an_unreadable_x_timestamp_is_a_400(client, stamp):
    payload = json.dumps({"message_id": "gw-9", "status": "delivered"}).encode()
    assert post_raw(client, RECEIPT, payload, timestamp=stamp).status_code == 400


def test_too_many_items_in_one_call_are_refused(client):
    items = [{"message_id": f"gw-{i}", "status": "delivered", "at": recent()} for i in range(1001)]
    assert post(client, RECEIPT, items).status_code == 413
    assert not DeliveryReceipt.objects.exists()


@pytest.mark.parametrize(
    "status", [MessageStatus.PENDING, MessageStatus.QUEUED, MessageStatus.CANCELLED, MessageStatus.EXCLUDED]
)
def test_a_receipt_for_a_message_never_handed_to_the_gateway_changes_nothing(client, status):
    customer = CustomerFactory()
    message = SmsMessage.objects.create(
        customer=customer,
        phone=customer.mobile,
        body="【民丰银行】x",
        status=status,
        exclusion_reason="deceased" if status == MessageStatus.EXCLUDED else "",
        idempotency_key="n-7-7",
    )
    response = post(client, RECEIPT, {"client_ref": "n-7-7", "status": "delivered", "at": recent()})
    assert response.status_code == 200
    assert SmsMessage.objects.get(pk=message.pk).status == status
    receipt = DeliveryReceipt.objects.get()
    assert receipt.needs_review and not receipt.applied and receipt.message == message
