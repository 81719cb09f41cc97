"""The Kannel and Jasmin backends and callbacks, and throttling answers on every HTTP backend."""

import datetime
import email.utils
import time
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from django.core.exceptions import ImproperlyConfigured

from notices.backends import reset_backends
from notices.backends.base import Outcome, Outgoing
from notices.backends.http import HttpBackend
from notices.backends.inbound import reference_signature
from notices.backends.jasmin import JasminBackend
from notices.backends.jasmin import inbound_url as jasmin_inbound_url
from notices.backends.kannel import KannelBackend
from notices.backends.kannel import inbound_url as kannel_inbound_url
from notices.models import DeliveryReceipt, InboundMessage, MessageStatus, SmsMessage
from tests.factories import CustomerFactory

CHINESE = "【民丰银行】您尾号2603的贷款已逾期3天。"
MOBILE = "+8613812345678"


@pytest.fixture(autouse=True)
def gateways(settings):
    settings.SMS_CALLBACK_BASE_URL = "https://notices.bank.example"
    settings.SMS_KANNEL_URL = "http://kannel:13013/cgi-bin/sendsms"
    settings.SMS_KANNEL_USERNAME, settings.SMS_KANNEL_PASSWORD = "notices", "k-pass"
    settings.SMS_KANNEL_FROM = "95588"
    settings.SMS_JASMIN_URL = "http://jasmin:1401"
    settings.SMS_JASMIN_USERNAME, settings.SMS_JASMIN_PASSWORD = "notices", "j-pass"
    yield
    reset_backends()


def answering(backend, handler):
    """The backend, talking to `handler` (request → httpx.Response) instead of a network."""
    seen = []

    def record(request):
        seen.append(request)
        return handler(request)

    backend.client = httpx.Client(transport=httpx.MockTransport(record), base_url=backend.client.base_url)
    return backend, seen


# --- Kannel ------------------------------------------------------------------------------


def test_kannel_sendsms_carries_ucs2_coding_a_dlr_mask_and_a_signed_dlr_url():
    backend, seen = answering(KannelBackend(), lambda r: httpx.Response(202, text="0: Accepted for delivery"))
    result = backend.send(Outgoing(MOBILE, CHINESE, "n-1-1"))
    assert result.outcome == Outcome.ACCEPTED
    query = parse_qs(urlsplit(str(seen[0].url)).query)
    assert query["username"] == ["notices"] and query["password"] == ["k-pass"] and query["from"] == ["95588"]
    assert query["coding"] == ["2"] and query["charset"] == ["UTF-8"] and query["text"] == [CHINESE]
    assert query["dlr-mask"] == ["27"]
    dlr = urlsplit(query["dlr-url"][0])
    assert dlr.netloc == "notices.bank.example" and dlr.path == "/webhooks/sms/kannel/receipt/"
    params = parse_qs(dlr.query)
    assert params["ref"] == ["n-1-1"] and params["sig"] == [reference_signature("kannel-receipt", "n-1-1")]
    assert params["type"] == ["%d"] and params["smsc_id"] == ["%F"]  # Kannel's escapes, for Kannel


def test_kannel_sends_gsm_text_as_7_bit():
    backend, seen = answering(KannelBackend(), lambda r: httpx.Response(202, text="0: Accepted for delivery"))
    backend.send(Outgoing(MOBILE, "Loan 2603 is overdue.", "n-1-2"))
    assert parse_qs(urlsplit(str(seen[0].url)).query)["coding"] == ["0"]


@pytest.mark.parametrize("missing", ["SMS_KANNEL_URL", "SMS_KANNEL_USERNAME", "SMS_CALLBACK_BASE_URL"])
def test_kannel_without_a_setting_says_which_in_one_line(settings, missing):
    setattr(settings, missing, "")
    with pytest.raises(ImproperlyConfigured) as refused:
        KannelBackend()
    assert str(refused.value).startswith(f"{missing}=''") and "\n" not in str(refused.value)


def kannel_dlr(client, ref, dlr_type, *, sig=None, answer="", smsc_id="1796", at=None):
    return client.get(
        "/webhooks/sms/kannel/receipt/",
        {
            "ref": ref,
            "sig": sig if sig is not None else reference_signature("kannel-receipt", ref),
            "type": str(dlr_type),
            "smsc_id": smsc_id,
            "answer": answer,
            "at": str(at or int(time.time())),
        },
    )


@pytest.fixture
def message(db):
    customer = CustomerFactory(mobile=MOBILE)
    return SmsMessage.objects.create(
        customer=customer,
        phone=customer.mobile,
        body=CHINESE,
        status=MessageStatus.SENT,
        idempotency_key="n-1-1",
    )


def test_a_kannel_receipt_moves_the_message_by_our_reference(client, message):
    answer = (
        "id:1796 sub:001 dlvrd:001 submit date:2612011530 done date:2612011531 stat:DELIVRD err:000 text:"
    )
    response = kannel_dlr(client, "n-1-1", 1, answer=answer)
    assert response.status_code == 200 and response.content == b"OK"
    message.refresh_from_db()
    assert message.status == MessageStatus.DELIVERED and message.provider_message_id == "1796"
    receipt = DeliveryReceipt.objects.get()
    assert (
        receipt.status == "delivered" and receipt.payload["answer"] == answer and "sig" not in receipt.payload
    )


def test_a_kannel_receipt_for_an_smsc_refusal_names_the_smpp_status(client, message):
    kannel_dlr(client, "n-1-1", 16, answer="NACK/0x0000000b/Invalid Destination Address")
    message.refresh_from_db()
    assert message.status == MessageStatus.FAILED and message.error_code == "ESME_RINVDSTADR"


def test_an_undelivered_kannel_receipt_keeps_the_smscs_stat_and_err(client, message):
    kannel_dlr(client, "n-1-1", 2, answer="id:1796 stat:UNDELIV err:012 text:\x00x")
    message.refresh_from_db()
    assert message.status == MessageStatus.FAILED and message.error_code == "UNDELIV/012"
    assert "\x00" not in DeliveryReceipt.objects.get().payload["answer"]  # PostgreSQL refuses NUL in JSON


@pytest.mark.parametrize("sig", ["", "0" * 64, reference_signature("kannel-receipt", "n-1-2")])
def test_a_kannel_receipt_without_the_signature_of_its_reference_is_refused(client, message, sig):
    assert kannel_dlr(client, "n-1-1", 1, sig=sig).status_code == 403
    assert not DeliveryReceipt.objects.exists()
    assert SmsMessage.objects.get(pk=message.pk).status == MessageStatus.SENT


def test_a_kannel_reply_in_utf16_is_read_with_its_charset(client, db):
    customer = CustomerFactory(mobile=MOBILE)
    url = urlsplit(kannel_inbound_url())
    token = parse_qs(url.query)["token"][0]
    text = "".join(f"%{b:02X}" for b in "我想分期".encode("utf-16-be"))
    query = f"token={token}&from=8613812345678&to=95588&text={text}&charset=UTF-16BE&coding=2&id=k-1&at=1796167780"
    response = client.get(f"/webhooks/sms/kannel/inbound/?{query}")
    assert response.status_code == 200 and response.content == b""  # nothing for Kannel to send back
    inbound = InboundMessage.objects.get()
    assert (
        inbound.text == "我想分期" and inbound.customer == customer and inbound.provider_message_id == "k-1"
    )
    assert client.get(f"/webhooks/sms/kannel/inbound/?{query}").status_code == 200
    assert InboundMessage.objects.count() == 1  # the same reply twice is stored once


def test_a_kannel_reply_without_the_token_is_refused(client, db):
    response = client.get("/webhooks/sms/kannel/inbound/?from=8613812345678&text=hi&token=nope")
    assert response.status_code == 403 and not InboundMessage.objects.exists()


# --- Jasmin ------------------------------------------------------------------------------


def test_jasmin_send_carries_ucs2_as_hex_content_and_the_signed_dlr_url():
    backend, seen = answering(
        JasminBackend(), lambda r: httpx.Response(200, text='Success "07033084-5cfd-4812"')
    )
    result = backend.send(Outgoing(MOBILE, CHINESE, "n-1-1"))
    assert result.outcome == Outcome.ACCEPTED and result.provider_message_id == "07033084-5cfd-4812"
    form = parse_qs(seen[0].content.decode())
    assert str(seen[0].url) == "http://jasmin:1401/send"
    assert form["coding"] == ["8"] and bytes.fromhex(form["hex-content"][0]).decode("utf-16-be") == CHINESE
    assert "content" not in form and form["dlr"] == ["yes"] and form["dlr-level"] == ["3"]
    dlr = urlsplit(form["dlr-url"][0])
    assert dlr.path == "/webhooks/sms/jasmin/receipt/"
    assert parse_qs(dlr.query)["sig"] == [reference_signature("jasmin-receipt", "n-1-1")]


def test_jasmin_sends_gsm_text_as_content():
    backend, seen = answering(JasminBackend(), lambda r: httpx.Response(200, text='Success "x"'))
    backend.send(Outgoing(MOBILE, "Loan overdue", "n-1-2"))
    form = parse_qs(seen[0].content.decode())
    assert form["coding"] == ["0"] and form["content"] == ["Loan overdue"]


@pytest.mark.parametrize(
    ("status", "body", "outcome"),
    [
        (403, 'Error "User throughput exceeded"', Outcome.RETRY),
        (403, 'Error "Authentication failure for username:notices"', Outcome.FAILED),
        (412, 'Error "No route found"', Outcome.FAILED),
        (500, 'Error "Cannot send submit_sm"', Outcome.RETRY),
    ],
)
def test_jasmin_refusals(status, body, outcome):
    backend, _seen = answering(JasminBackend(), lambda r: httpx.Response(status, text=body))
    result = backend.send(Outgoing(MOBILE, "x", "n-1-3"))
    assert result.outcome == outcome and result.code == str(status)


def jasmin_dlr(client, ref, fields, sig=None):
    sig = sig if sig is not None else reference_signature("jasmin-receipt", ref)
    return client.post(f"/webhooks/sms/jasmin/receipt/?ref={ref}&sig={sig}", fields)


def test_jasmin_receipts_at_both_levels_are_acknowledged_as_jasmin_expects(client, message):
    SmsMessage.objects.filter(pk=message.pk).update(status=MessageStatus.SENDING)
    first = jasmin_dlr(
        client, "n-1-1", {"id": "j-1", "level": "1", "message_status": "ESME_ROK", "connector": "c"}
    )
    assert first.status_code == 200 and first.content == b"ACK/Jasmin"
    assert SmsMessage.objects.get(pk=message.pk).status == MessageStatus.SENT
    jasmin_dlr(
        client,
        "n-1-1",
        {
            "id": "j-1",
            "level": "2",
            "message_status": "UNDELIV",
            "err": "012",
            "id_smsc": "99",
            "connector": "c",
        },
    )
    message.refresh_from_db()
    assert message.status == MessageStatus.FAILED and message.error_code == "UNDELIV/012"
    assert message.provider_message_id == "j-1"


def test_a_jasmin_receipt_with_a_bad_signature_is_not_acknowledged(client, message):
    response = jasmin_dlr(
        client, "n-1-1", {"id": "j-1", "level": "2", "message_status": "DELIVRD"}, sig="bad"
    )
    assert response.status_code == 403 and response.content != b"ACK/Jasmin"
    assert not DeliveryReceipt.objects.exists()


def test_a_jasmin_reply_is_read_from_its_binary_and_coding(client, db):
    customer = CustomerFactory(mobile=MOBILE)
    token = parse_qs(urlsplit(jasmin_inbound_url()).query)["token"][0]
    fields = {
        "id": "mo-1",
        "from": "8613812345678",
        "to": "95588",
        "origin-connector": "c",
        "coding": "\x08",  # Jasmin 0.11 sends the data_coding octet itself
        "content": "garbled",
        "binary": "已还".encode("utf-16-be").hex(),
    }
    response = client.post(f"/webhooks/sms/jasmin/inbound/?token={token}", fields)
    assert response.status_code == 200 and response.content == b"ACK/Jasmin"
    inbound = InboundMessage.objects.get()
    assert inbound.text == "已还" and inbound.customer == customer and inbound.provider_message_id == "mo-1"


# --- throttling on every HTTP backend -----------------------------------------------------


def backends():
    return [
        lambda: HttpBackend(base_url="http://platform", token="t"),
        KannelBackend,
        JasminBackend,
    ]


@pytest.mark.parametrize("make", backends(), ids=["http", "kannel", "jasmin"])
@pytest.mark.parametrize(
    ("headers", "expected"),
    [({"Retry-After": "7"}, 7.0), ({}, None), ({"Retry-After": "soon"}, None)],
    ids=["seconds", "absent", "unreadable"],
)
def test_a_429_is_retry_with_the_delay_the_gateway_asked_for(make, headers, expected):
    backend, _seen = answering(make(), lambda r: httpx.Response(429, headers=headers, text="busy"))
    result = backend.send(Outgoing(MOBILE, "x", "n-1-4"))
    assert result.outcome == Outcome.RETRY and result.code == "429" and result.retry_after == expected


def test_a_retry_after_date_becomes_seconds_from_now():
    later = email.utils.format_datetime(
        datetime.datetime.now(datetime.UTC) + datetime.timedelta(seconds=30), usegmt=True
    )
    backend, _seen = answering(
        HttpBackend(base_url="http://platform", token="t"),
        lambda r: httpx.Response(503, headers={"Retry-After": later}),
    )
    result = backend.send(Outgoing(MOBILE, "x", "n-1-5"))
    assert result.outcome == Outcome.RETRY and 25 <= result.retry_after <= 30


# --- carrier links -------------------------------------------------------------------------


def test_the_webhooks_say_a_carrier_links_receipts_come_over_its_connection(client, settings, db):
    settings.SMS_BACKEND = "smpp"
    reset_backends()
    response = client.post("/webhooks/sms/receipt/", data=b"{}", content_type="application/json")
    assert response.status_code == 404 and "own connection" in response.json()["error"]
