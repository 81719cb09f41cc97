"""Our kannel backend in front of Debian's Kannel, in front of the npm SMSC: a notice goes
out through Kannel, its receipt and the customer's reply come back through Kannel."""

import time

import pytest
from django.db import connection

from notices.backends import get_backend, reset_backends
from notices.backends.base import Outcome, Outgoing
from notices.backends.kannel import inbound_url
from notices.models import DeliveryReceipt, InboundMessage, MessageStatus, SmsMessage
from tests.factories import CustomerFactory
from tests.peers.kannel import Kannel
from tests.peers.smsc import NodeSmsc

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

TEXT = (
    "【民丰银行】尊敬的王先生，您尾号2603的贷款已逾期3天，合计待还1,234.56元，"
    "请于11月5日前通过手机银行、网点柜台或自动扣款还款。如已还款请忽略。咨询95588。"
)


@pytest.fixture(autouse=True)
def _postgres_only():
    # Kannel calls back on several connections at once; SQLite's shared in-memory test
    # database answers concurrent writers "table is locked" instead of waiting.
    if connection.vendor != "postgresql":
        pytest.skip("Kannel's concurrent callbacks need PostgreSQL (CI runs them there)")


@pytest.fixture
def chain(tmp_path, live_server, settings):
    smsc = NodeSmsc(system_id="kannel", password="k-secret")
    smsc.set(receipts="auto", receipt_delay_ms=100, id_prefix="")  # Kannel reads numeric ids by default
    settings.SMS_CALLBACK_BASE_URL = live_server.url
    kannel = Kannel(
        tmp_path,
        smsc_port=smsc.port,
        smsc_system_id="kannel",
        smsc_password="k-secret",
        get_url=inbound_url(),
    ).start()
    settings.SMS_BACKEND = "kannel"
    settings.SMS_KANNEL_URL = kannel.sendsms_url
    settings.SMS_KANNEL_USERNAME, settings.SMS_KANNEL_PASSWORD = kannel.username, kannel.password
    settings.SMS_KANNEL_FROM = "95588"
    reset_backends()
    smsc.wait("bind", ok=True, timeout=20)
    yield smsc, kannel
    kannel.stop()
    smsc.stop()
    reset_backends()


def until(predicate, kannel, timeout=20.0):
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"not reached in {timeout} s\n{kannel.log_tail()}")
        time.sleep(0.1)


def test_a_notice_goes_through_kannel_and_its_receipt_comes_back(chain):
    smsc, kannel = chain
    customer = CustomerFactory(mobile="+8613812345678")
    message = SmsMessage.objects.create(
        customer=customer,
        phone=customer.mobile,
        body=TEXT,
        status=MessageStatus.SENT,
        idempotency_key="n-7-1",
    )
    result = get_backend().send(Outgoing(customer.mobile, TEXT, "n-7-1"))
    assert result.outcome == Outcome.ACCEPTED and result.code == "202"

    until(lambda: SmsMessage.objects.get(pk=message.pk).status == MessageStatus.DELIVERED, kannel)
    until(lambda: len(smsc.submits()) >= 2, kannel)
    submits = smsc.submits("accepted")
    assert len(submits) == 2 and all(s["data_coding"] == 8 for s in submits)  # UCS2, two parts
    assert "".join(s["text"] for s in sorted(submits, key=lambda s: s["udh"])) == TEXT
    assert all(s["destination"] == "8613812345678" and s["source"] == "95588" for s in submits)
    receipts = DeliveryReceipt.objects.filter(message=message)
    assert {r.status for r in receipts} >= {"smsc_accepted", "delivered"}
    delivered = receipts.get(status="delivered")
    assert (
        delivered.provider_message_id == submits[0]["message_id"]
        and "stat:DELIVRD" in delivered.payload["answer"]
    )
    assert "sig" not in delivered.payload
    assert smsc.stats()["duplicates"] == 0


def test_a_reply_comes_back_through_the_sms_service_get_url(chain):
    smsc, kannel = chain
    customer = CustomerFactory(mobile="+8613812345678")
    smsc.send("mo", **{"from": "8613812345678", "text": "我想分期还款"})
    until(InboundMessage.objects.exists, kannel)
    inbound = InboundMessage.objects.get()
    assert inbound.text == "我想分期还款" and inbound.customer == customer
    assert "token" not in inbound.payload and inbound.sent_at is not None
    assert smsc.wait("deliver_resp")["status"] == 0
