import datetime

import pytest
from django.utils import timezone

from core.models import AuditEvent
from notices.models import LinkSlot, MessageStatus, SmsMessage
from tests.factories import CustomerFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(client, administrator):
    client.force_login(administrator)
    return client


@pytest.fixture(autouse=True)
def _smpp_settings(settings):
    settings.SMS_SMPP_HOST, settings.SMS_SMPP_SYSTEM_ID, settings.SMS_SMPP_SOURCE_ADDR = (
        "smsc",
        "bank",
        "10690",
    )


def test_the_administrators_home_page_shows_each_bind_and_its_last_error(admin_client, settings):
    settings.SMS_SMPP_BINDS = "2"
    now = timezone.now()
    LinkSlot.objects.create(
        link="smpp",
        slot=0,
        holder="host-a:1:x",
        lease_until=now + datetime.timedelta(seconds=20),
        connected_since=now - datetime.timedelta(minutes=5),
        window=10,
        in_flight=4,
        rate=123.4,
        throttled=7,
    )
    LinkSlot.objects.create(link="smpp", slot=1, last_error="bind refused: ESME_RBINDFAIL", last_error_at=now)
    page = admin_client.get("/admin/").content.decode()
    assert 'id="gateway-health"' in page and "smpp" in page
    assert "4 / 10" in page and "123.4" in page
    assert "ESME_RBINDFAIL" in page
    assert page.count('data-bound="1"') == 1 and page.count('data-bound="0"') == 1


def test_a_lapsed_lease_is_shown_as_not_bound(admin_client):
    LinkSlot.objects.create(
        link="smpp",
        slot=0,
        holder="gone:1:x",
        lease_until=timezone.now() - datetime.timedelta(seconds=1),
        connected_since=timezone.now() - datetime.timedelta(hours=1),
    )
    page = admin_client.get("/admin/").content.decode()
    assert 'data-bound="0"' in page and 'data-bound="1"' not in page
    assert "sms_link" in page  # says what to do: nothing is being sent


def test_staff_do_not_see_the_gateway_card(staff_client):
    assert 'id="gateway-health"' not in staff_client.get("/admin/").content.decode()


def test_a_supervisor_settles_an_unknown_message_and_it_is_audited(supervisor_client):
    customer = CustomerFactory()
    message = SmsMessage.objects.create(
        customer=customer,
        phone=customer.mobile,
        body="【民丰银行】x",
        status=MessageStatus.UNKNOWN,
        idempotency_key="u1",
    )
    queued = SmsMessage.objects.create(
        customer=customer,
        phone=customer.mobile,
        body="【民丰银行】y",
        status=MessageStatus.QUEUED,
        idempotency_key="q1",
    )
    response = supervisor_client.post(
        "/admin/notices/smsmessage/",
        {"action": "settle_not_delivered", "_selected_action": [message.pk, queued.pk]},
    )
    assert response.status_code == 302
    message.refresh_from_db()
    assert message.status == MessageStatus.FAILED and message.error_code == "settled_not_delivered"
    assert SmsMessage.objects.get(pk=queued.pk).status == MessageStatus.QUEUED  # only unknown ones
    assert AuditEvent.objects.filter(action="message.settle", to_state=MessageStatus.FAILED).count() == 1


def test_a_link_that_cannot_start_says_why_on_the_home_page(admin_client, settings):
    settings.SMS_SMPP_HOST = ""
    page = admin_client.get("/admin/").content.decode()
    assert 'id="gateway-problem"' in page and "SMS_SMPP_HOST" in page
