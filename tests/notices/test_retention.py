import datetime

import pytest
from django.core.management import call_command
from django.utils import timezone

from core.audit import audit_record
from core.models import AuditEvent
from notices.models import (
    DeliveryReceipt,
    Feedback,
    FeedbackChannel,
    FeedbackStatus,
    InboundMessage,
    MessageStatus,
    SendAttempt,
    SmsMessage,
)
from notices.services.retention import data_purge
from tests.factories import CustomerFactory

pytestmark = pytest.mark.django_db


def backdate(model, obj, days, field="created_at"):
    model.objects.filter(pk=obj.pk).update(**{field: timezone.now() - datetime.timedelta(days=days)})


def message(customer, key, status=MessageStatus.DELIVERED, days=0):
    sms = SmsMessage.objects.create(
        customer=customer, phone=customer.mobile, body="【民丰银行】x", status=status, idempotency_key=key
    )
    SendAttempt.objects.create(message=sms, outcome="accepted", backend="locmem")
    DeliveryReceipt.objects.create(
        message=sms, status="delivered", payload={"to": customer.mobile}, fingerprint=f"fp-{key}"
    )
    backdate(SmsMessage, sms, days)
    return sms


def reply(customer, message_id, status, days):
    inbound = InboundMessage.objects.create(
        provider_message_id=message_id, phone=customer.mobile, text="已还", customer=customer, payload={}
    )
    feedback = Feedback.objects.create(
        customer=customer,
        channel=FeedbackChannel.SMS_REPLY,
        category="already_paid",
        status=status,
        text="已还",
        inbound=inbound,
        sla_due_at=timezone.now(),
    )
    backdate(InboundMessage, inbound, days, field="received_at")
    backdate(Feedback, feedback, days)
    return feedback


def test_purge_deletes_old_finished_data_keeps_recent_open_in_flight_and_the_audit_log(settings, capsys):
    settings.DATA_RETENTION_DAYS = 730
    customer = CustomerFactory()
    old = message(customer, "old", days=800)
    recent = message(customer, "recent", days=100)
    old_queued = message(customer, "old-queued", status=MessageStatus.QUEUED, days=800)
    old_closed = reply(customer, "in-old", FeedbackStatus.CLOSED, days=800)
    old_open = reply(customer, "in-open", FeedbackStatus.IN_PROGRESS, days=800)
    audit_record(actor=None, action="batch.generate")
    before = AuditEvent.objects.count()

    cutoff = timezone.now() - datetime.timedelta(days=730)
    counts = data_purge(before=cutoff, dry_run=True)
    assert counts == {"messages": 1, "receipts": 1, "feedback": 1, "inbound": 1}
    assert SmsMessage.objects.filter(pk=old.pk).exists()  # a dry run deletes nothing
    call_command("purge_old_data", "--dry-run")
    assert SmsMessage.objects.filter(pk=old.pk).exists()

    call_command("purge_old_data")
    assert capsys.readouterr().out
    assert set(SmsMessage.objects.values_list("pk", flat=True)) == {recent.pk, old_queued.pk}
    assert not SendAttempt.objects.filter(message_id=old.pk).exists()
    assert set(DeliveryReceipt.objects.values_list("fingerprint", flat=True)) == {
        "fp-recent",
        "fp-old-queued",
    }
    assert set(Feedback.objects.values_list("pk", flat=True)) == {old_open.pk}
    assert set(InboundMessage.objects.values_list("provider_message_id", flat=True)) == {"in-open"}
    assert not Feedback.objects.filter(pk=old_closed.pk).exists()
    # The audit log only grew: the purge itself is recorded.
    assert AuditEvent.objects.count() == before + 1
    assert AuditEvent.objects.filter(action="data.purge").exists()
