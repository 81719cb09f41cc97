import datetime
import json
import time

import pytest

from customers.models import PhoneProblem
from notices.models import DeliveryReceipt, InboundMessage, MessageStatus, SmsMessage
from notices.services.webhooks import sign
from tests.factories import CustomerFactory

pytestmark = pytest.mark.django_db
RECEIPT = "/webhooks/sms/receipt/"
INBOUND = "/webhooks/sms/inbound/"


def recent(seconds_ago: int = 0) -> str:
    """An "at" a moment ago: older ones are refused as replays."""
    moment = datetime.datetime.now(datetime.UTC) - datetime.timedelta(seconds=seconds_ago)
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def post(client, url, payload, signature=None):
    raw = json.dumps(payload, ensure_ascii=False).encode()
    headers = {} if signature is False else {"HTTP_X_SIGNATURE": signature or sign(raw)}
    return client.post(url, data=raw, content_type="application/json", **headers)


@pytest.fixture
def message():
    customer = CustomerFactory()
    return SmsMessage.objects.create(
        customer=customer,
        phone=customer.mobile,
        body="【民丰银行】x",
        status=MessageStatus.SENT,
        idempotency_key="n-1-1",
        provider_message_id="gw-1",
    )


@pytest.fixture(autouse=True)
def _moment(monkeypatch):
    """One "at" per test, so that the same receipt posted twice is the same receipt."""
    monkeypatch.setitem(MOMENT, "at", recent(2))


MOMENT = {}


def receipt(status="delivered", **extra):
    return {
        "message_id": "gw-1",
        "client_ref": "n-1-1",
        "status": status,
        "error_code": None,
        "at": MOMENT["at"],
        **extra,
    }


@pytest.mark.parametrize("signature", [False, "0" * 64, "not-hex"])
def test_bad_or_missing_signature_is_refused_and_nothing_is_stored(client, message, signature):
    response = post(client, RECEIPT, receipt(), signature=signature)
    assert response.status_code == 403
    assert DeliveryReceipt.objects.count() == 0
    assert SmsMessage.objects.get(pk=message.pk).status == MessageStatus.SENT
    assert (
        post(
            client,
            INBOUND,
            {"from": "13812345678", "text": "已还", "message_id": "in-1"},
            signature=signature,
        ).status_code
        == 403
    )
    assert InboundMessage.objects.count() == 0


def test_a_signature_over_a_different_body_is_refused(client, message):
    other = sign(json.dumps(receipt("failed")).encode())
    assert post(client, RECEIPT, receipt(), signature=other).status_code == 403


def test_delivered_receipt_moves_the_message_and_keeps_the_raw_payload(client, message):
    response = post(client, RECEIPT, receipt())
    assert response.status_code == 200 and response.json()["applied"] == 1
    message.refresh_from_db()
    assert message.status == MessageStatus.DELIVERED and message.delivered_at is not None
    assert DeliveryReceipt.objects.get().payload["client_ref"] == "n-1-1"


def test_a_repeated_receipt_changes_nothing(client, message):
    post(client, RECEIPT, receipt())
    response = post(client, RECEIPT, receipt())
    assert response.status_code == 200 and response.json()["stored"] == 0
    assert DeliveryReceipt.objects.count() == 1


def test_a_late_accepted_never_overwrites_delivered(client, message):
    post(client, RECEIPT, receipt("delivered"))
    post(client, RECEIPT, receipt("accepted", at=recent(60)))
    assert SmsMessage.objects.get(pk=message.pk).status == MessageStatus.DELIVERED
    assert DeliveryReceipt.objects.count() == 2


def test_several_receipts_in_one_request_and_matching_by_gateway_id(client, message):
    customer = CustomerFactory()
    other = SmsMessage.objects.create(
        customer=customer,
        phone=customer.mobile,
        body="x",
        status=MessageStatus.SENT,
        idempotency_key="n-1-2",
        provider_message_id="gw-2",
    )
    payload = [
        receipt(),
        {
            "message_id": "gw-2",
            "status": "failed",
            "error_code": "UNDELIVERABLE",
            "at": recent(1),
        },
    ]
    response = post(client, RECEIPT, payload)
    assert response.json() == {"received": 2, "stored": 2, "applied": 2}
    other.refresh_from_db()
    assert other.status == MessageStatus.FAILED and other.error_code == "UNDELIVERABLE"
    assert post(client, RECEIPT, {"receipts": [receipt("delivered", at=recent(0))]}).status_code == 200


def test_receipt_for_a_message_still_sending_is_kept(client, message):
    SmsMessage.objects.filter(pk=message.pk).update(status=MessageStatus.SENDING)
    post(client, RECEIPT, receipt())
    assert SmsMessage.objects.get(pk=message.pk).status == MessageStatus.DELIVERED


def test_invalid_json_with_a_valid_signature_is_a_400(client):
    raw = b"{not json"
    assert (
        client.post(
            RECEIPT, data=raw, content_type="application/json", HTTP_X_SIGNATURE=sign(raw)
        ).status_code
        == 400
    )


def test_get_is_not_allowed(client):
    assert client.get(RECEIPT).status_code == 405


def test_inbound_reply_is_stored_once_and_matched_by_phone(client):
    customer = CustomerFactory(mobile="+8613812345678")
    payload = {
        "from": "+86 138 1234 5678",
        "text": "我想分期",
        "at": recent(),
        "message_id": "in-9",
    }
    assert post(client, INBOUND, payload).status_code == 200
    assert post(client, INBOUND, payload).json()["stored"] == 0
    inbound = InboundMessage.objects.get()
    assert inbound.customer == customer and inbound.text == "我想分期" and inbound.payload == payload


def test_inbound_from_an_unknown_or_shared_number_is_kept_unmatched(client):
    CustomerFactory(mobile="+8613900001111", phone_problem=PhoneProblem.SHARED)
    CustomerFactory(mobile="+8613900001111", phone_problem=PhoneProblem.SHARED)
    post(client, INBOUND, {"from": "13700000000", "text": "你好", "message_id": "in-1"})
    post(client, INBOUND, {"from": "13900001111", "text": "你好", "message_id": "in-2"})
    assert list(InboundMessage.objects.values_list("customer", flat=True)) == [None, None]


def post_stamped(client, url, payload, timestamp, signature=None):
    raw = json.dumps(payload, ensure_ascii=False).encode()
    return client.post(
        url,
        data=raw,
        content_type="application/json",
        HTTP_X_TIMESTAMP=str(timestamp),
        HTTP_X_SIGNATURE=signature or sign(raw, timestamp=str(timestamp)),
    )


def test_a_signed_timestamp_within_the_tolerance_is_accepted(client, message):
    response = post_stamped(client, RECEIPT, receipt(at=None), int(time.time()) - 60)
    assert response.status_code == 200 and response.json()["applied"] == 1


@pytest.mark.parametrize("age", [302, 3600, -302])
def test_a_replay_outside_the_tolerance_is_refused_and_nothing_is_stored(client, message, age):
    stamp = int(time.time()) - age
    assert post_stamped(client, RECEIPT, receipt(), stamp).status_code == 403
    assert post_stamped(client, INBOUND, {"from": "13812345678", "text": "已还"}, stamp).status_code == 403
    assert not DeliveryReceipt.objects.exists() and not InboundMessage.objects.exists()
    assert SmsMessage.objects.get(pk=message.pk).status == MessageStatus.SENT


def test_the_timestamp_is_part_of_the_signature(client, message):
    raw = json.dumps(receipt()).encode()
    old = int(time.time()) - 3600
    # The old call's signature with a fresh timestamp pasted in: refused.
    response = post_stamped(
        client, RECEIPT, receipt(), int(time.time()), signature=sign(raw, timestamp=str(old))
    )
    assert response.status_code == 403 and not DeliveryReceipt.objects.exists()


def test_without_a_timestamp_an_old_at_is_a_replay(client, message):
    assert post(client, RECEIPT, receipt(at=recent(301))).status_code == 403
    assert (
        post(client, INBOUND, {"from": "13812345678", "text": "已还", "at": recent(3600)}).status_code == 403
    )
    assert not DeliveryReceipt.objects.exists() and not InboundMessage.objects.exists()


def test_a_deployment_can_require_the_timestamp(client, message, settings):
    settings.SMS_WEBHOOK_REQUIRE_TIMESTAMP = True
    assert post(client, RECEIPT, receipt()).status_code == 403
    assert not DeliveryReceipt.objects.exists()
