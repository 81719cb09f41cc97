"""A cancelled, rejected or superseded batch is not the day's batch: its exclusions and
unsent notices no longer show on the dashboard, the customer's timeline or the
conversation, and no figure counts them."""

import datetime

import pytest
from django.utils import timezone

from customers.models import Customer, PhoneProblem
from notices.models import ExclusionReason, MessageStatus, SmsMessage
from notices.selectors import customer_timeline, feedback_conversation, loans_at_risk, promise_by_first_day
from notices.services import batch_approve, batch_cancel, batch_generate, batch_reject
from notices.services.feedback import feedback_record
from tests.factories import CustomerFactory, LoanFactory, supervisor_user

pytestmark = pytest.mark.django_db
TODAY = timezone.localdate()
YESTERDAY = TODAY - datetime.timedelta(days=1)


def at(hour):
    return timezone.make_aware(datetime.datetime.combine(TODAY, datetime.time(hour)))


@pytest.fixture
def story(staff):
    """陈静's loan fell overdue today; the first batch excluded her (a shared mobile) and was
    cancelled; her mobile was sorted out and the second batch, approved, queues her notice."""
    chen = CustomerFactory(name="陈静", phone_problem=PhoneProblem.SHARED)
    loan = LoanFactory(customer=chen, overdue_since=YESTERDAY)
    LoanFactory(days=20)  # someone else, notified in both batches
    first = batch_generate(as_of=TODAY, user=staff)
    assert SmsMessage.objects.get(batch=first, loan=loan).exclusion_reason == ExclusionReason.PHONE_SHARED
    batch_cancel(batch=first, user=staff, reason="手机号问题已核实，重新生成")
    Customer.objects.filter(pk=chen.pk).update(phone_problem="")
    second = batch_generate(as_of=TODAY, user=staff)
    batch_approve(batch=second, user=supervisor_user(username="boss"))
    assert SmsMessage.objects.get(batch=second, loan=loan).status == MessageStatus.QUEUED
    chen.refresh_from_db()
    return chen, loan, first, second


def test_the_loans_at_risk_show_the_approved_batch_not_the_cancelled_exclusion(story):
    _chen, loan, _first, _second = story
    rows = {row["loan"].pk: str(row["state"]) for row in loans_at_risk(now=at(10))}
    assert rows == {loan.pk: "已审批，等待发送"}


def test_the_24_hour_promise_counts_the_loan(story):
    figure = promise_by_first_day([TODAY])[TODAY]
    assert (figure.kept, figure.total) == (0, 1)  # due, not yet sent: not "excluded from contact"


def test_the_timeline_and_the_conversation_leave_the_cancelled_batch_out(story, staff, supervisor_client):
    chen, _loan, first, _second = story
    events = [e for e in customer_timeline(chen) if e["kind"] == "sms"]
    assert [e["status"] for e in events] == [MessageStatus.QUEUED]
    page = supervisor_client.get(f"/admin/customers/customer/{chen.pk}/change/").content.decode()
    timeline = page[page.index('id="customer-timeline"') :]
    assert "已排除" not in timeline and "手机号与其他客户共用" not in timeline and "排队中" in timeline
    item = feedback_record(user=staff, channel="phone", text="收到短信了吗", customer=chen)
    assert [e["status"] for e in feedback_conversation(item) if e["direction"] == "out"] == ["排队中"]
    assert SmsMessage.objects.filter(batch=first, loan__customer=chen).count() == 1  # kept on record


def test_a_rejected_batch_is_left_out_too(staff, supervisor):
    chen = CustomerFactory(name="陈静")
    loan = LoanFactory(customer=chen, overdue_since=YESTERDAY)
    rejected = batch_generate(as_of=TODAY, user=staff)
    batch_reject(batch=rejected, user=supervisor, reason="模板措辞需修改")
    assert [e for e in customer_timeline(chen) if e["kind"] == "sms"] == []
    rows = {row["loan"].pk: str(row["state"]) for row in loans_at_risk(now=at(10))}
    assert rows == {loan.pk: "尚未生成批次"}


def test_what_went_out_before_a_batch_was_cancelled_stays_in_the_story(staff, supervisor):
    chen = CustomerFactory(name="陈静")
    LoanFactory(customer=chen, overdue_since=YESTERDAY)
    batch = batch_generate(as_of=TODAY, user=staff)
    batch_approve(batch=batch, user=supervisor)
    SmsMessage.objects.filter(batch=batch).update(status=MessageStatus.SENT, sent_at=timezone.now())
    batch.refresh_from_db()
    from notices.models import BatchStatus, NoticeBatch

    NoticeBatch.objects.filter(pk=batch.pk).update(status=BatchStatus.CANCELLED)
    assert [e["status"] for e in customer_timeline(chen) if e["kind"] == "sms"] == [MessageStatus.SENT]
