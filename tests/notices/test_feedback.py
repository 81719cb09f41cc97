import datetime
import json
import time

import pytest
from django.utils import timezone

from core.exceptions import ServiceError
from core.models import AuditEvent
from customers.models import LoanStatus, PhoneProblem
from customers.services import customer_phone_verify, customer_sms_resume
from notices.models import (
    Feedback,
    FeedbackCategory,
    FeedbackStatus,
    KeywordRule,
    MessageStatus,
    SmsMessage,
    SmsTemplate,
)
from notices.services.feedback import (
    add_working_days,
    feedback_classify,
    feedback_record,
    feedback_reply,
    feedback_set_status,
    feedback_sla,
    sla_state,
)
from notices.services.webhooks import sign
from tests.factories import CustomerFactory, LoanFactory

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("text", "category"),
    [
        ("已还", FeedbackCategory.ALREADY_PAID),
        ("我昨天还了", FeedbackCategory.ALREADY_PAID),
        ("已经还款了，请核实", FeedbackCategory.ALREADY_PAID),
        ("能不能分期", FeedbackCategory.INSTALLMENT_REQUEST),
        ("可以延期吗", FeedbackCategory.EXTENSION_REQUEST),
        ("再宽限几天", FeedbackCategory.EXTENSION_REQUEST),
        ("缓几天行吗", FeedbackCategory.EXTENSION_REQUEST),
        ("不是本人", FeedbackCategory.WRONG_NUMBER),
        ("你们打错了", FeedbackCategory.WRONG_NUMBER),
        ("号码错误", FeedbackCategory.WRONG_NUMBER),
        ("退订", FeedbackCategory.STOP_REQUEST),
        ("TD", FeedbackCategory.STOP_REQUEST),
        ("td", FeedbackCategory.STOP_REQUEST),
        ("我要投诉你们", FeedbackCategory.COMPLAINT),
        ("STD clinic", FeedbackCategory.OTHER),
        ("你好，请问是什么事", FeedbackCategory.OTHER),
    ],
)
def test_default_keyword_rules(text, category):
    assert feedback_classify(text) == category


def test_administrators_change_the_rules():
    assert feedback_classify("这个月还不上") == FeedbackCategory.OTHER
    KeywordRule.objects.create(category=FeedbackCategory.HARDSHIP, keywords="还不上", priority=5)
    assert feedback_classify("这个月还不上") == FeedbackCategory.HARDSHIP
    KeywordRule.objects.filter(category=FeedbackCategory.INSTALLMENT_REQUEST).update(active=False)
    assert feedback_classify("能不能分期") == FeedbackCategory.OTHER


def inbound(client, text, phone="+8613812345678", message_id="in-1"):
    raw = json.dumps(
        {
            "from": phone,
            "text": text,
            "at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "message_id": message_id,
        }
    ).encode()
    response = client.post(
        "/webhooks/sms/inbound/", data=raw, content_type="application/json", HTTP_X_SIGNATURE=sign(raw)
    )
    assert response.status_code == 200


def test_a_reply_becomes_feedback_on_the_customer_and_their_one_overdue_loan(client):
    customer = CustomerFactory(mobile="+8613812345678")
    loan = LoanFactory(customer=customer, days=10)
    LoanFactory(customer=customer, status=LoanStatus.CURRENT, overdue_since=None, overdue_amount=0)
    inbound(client, "我想分期")
    feedback = Feedback.objects.get()
    assert (feedback.customer, feedback.loan, feedback.category) == (
        customer,
        loan,
        FeedbackCategory.INSTALLMENT_REQUEST,
    )
    assert feedback.status == FeedbackStatus.NEW and feedback.assignee is None
    inbound(client, "我想分期")  # the same message again
    assert Feedback.objects.count() == 1


def test_with_several_overdue_loans_the_loan_is_left_for_staff(client):
    customer = CustomerFactory(mobile="+8613812345678")
    LoanFactory(customer=customer, days=10)
    LoanFactory(customer=customer, days=40)
    inbound(client, "已还")
    assert Feedback.objects.get().loan is None


def test_a_reply_from_an_unknown_number_is_kept_unmatched(client):
    inbound(client, "你好", phone="+8613000000000")
    feedback = Feedback.objects.get()
    assert feedback.customer is None and feedback.phone == "+8613000000000"


def test_wrong_number_flags_the_phone_and_stop_stops_sms(client):
    wrong = CustomerFactory(mobile="+8613812345678")
    stop = CustomerFactory(mobile="+8613912345678")
    inbound(client, "不是本人，打错了", message_id="a")
    inbound(client, "TD", phone="+8613912345678", message_id="b")
    wrong.refresh_from_db()
    stop.refresh_from_db()
    assert wrong.phone_problem == PhoneProblem.WRONG_NUMBER and not wrong.sms_stopped
    assert stop.sms_stopped and stop.phone_problem == ""
    assert AuditEvent.objects.filter(action="customer.phone_flagged", object_id=str(wrong.pk)).exists()
    assert AuditEvent.objects.filter(action="customer.sms_stopped", object_id=str(stop.pk)).exists()


def test_staff_clear_the_flags_only_when_set(staff):
    customer = CustomerFactory(phone_problem=PhoneProblem.WRONG_NUMBER, sms_stopped=True)
    customer_phone_verify(customer=customer, user=staff)
    customer_sms_resume(customer=customer, user=staff)
    customer.refresh_from_db()
    assert customer.phone_problem == "" and not customer.sms_stopped
    with pytest.raises(ServiceError):
        customer_phone_verify(customer=customer, user=staff)


def aware(*args):
    return timezone.make_aware(datetime.datetime(*args))


def test_sla_complaints_in_4_hours_others_in_one_working_day():
    friday = aware(2026, 11, 27, 15, 0)
    due, urgent = feedback_sla(FeedbackCategory.COMPLAINT, friday)
    assert due == aware(2026, 11, 27, 19, 0) and urgent
    due, urgent = feedback_sla(FeedbackCategory.ALREADY_PAID, friday)
    assert due == aware(2026, 11, 30, 15, 0) and not urgent  # Monday
    assert add_working_days(aware(2026, 11, 24, 10, 0), 1) == aware(2026, 11, 25, 10, 0)
    assert add_working_days(aware(2026, 11, 28, 22, 0), 1) == aware(
        2026, 12, 1, 9, 0
    )  # Saturday → Tuesday 09:00


def test_sla_state_for_the_worklist(staff):
    item = feedback_record(user=staff, channel="phone", text="我要投诉", customer=CustomerFactory())
    now = item.created_at
    assert sla_state(item, now) == "on_track"
    assert sla_state(item, now + datetime.timedelta(hours=3)) == "due_soon"
    assert sla_state(item, now + datetime.timedelta(hours=5)) == "overdue"


def test_staff_record_a_call_and_resolving_needs_a_note(staff):
    customer = CustomerFactory()
    loan = LoanFactory(customer=customer, days=3)
    item = feedback_record(user=staff, channel="phone", text="客户来电说已经还款了", loan=loan)
    assert (
        item.category == FeedbackCategory.ALREADY_PAID
        and item.customer == customer
        and item.assignee == staff
    )
    with pytest.raises(ServiceError):
        feedback_set_status(feedback=item, user=staff, status=FeedbackStatus.RESOLVED)
    feedback_set_status(feedback=item, user=staff, status=FeedbackStatus.RESOLVED, resolution="核实已还款")
    item.refresh_from_db()
    assert item.status == FeedbackStatus.RESOLVED and item.resolved_at is not None
    assert AuditEvent.objects.filter(action="feedback.status", object_id=str(item.pk)).exists()


def test_reply_goes_through_the_outbox_with_signature_and_lint(staff, settings):
    settings.SMS_SIGNATURE = "【民丰银行】"
    customer = CustomerFactory(name="王小明", id_number="33010219800101123X")
    item = feedback_record(user=staff, channel="phone", text="能分期吗", customer=customer)
    message = feedback_reply(feedback=item, user=staff, text="您好，分期申请已受理，我们会尽快联系您。")
    assert message.status == MessageStatus.QUEUED and message.batch is None
    assert message.body == "【民丰银行】您好，分期申请已受理，我们会尽快联系您。"
    assert message.phone == customer.mobile and message.feedback == item
    with pytest.raises(ServiceError):
        feedback_reply(feedback=item, user=staff, text="再不还款就上门找您家人")
    template = SmsTemplate.objects.get(purpose="feedback_reply")
    templated = feedback_reply(feedback=item, user=staff, template=template)
    assert templated.body.startswith("【民丰银行】王先生您好") and settings.BANK_HOTLINE in templated.body
    assert AuditEvent.objects.filter(action="feedback.reply", object_id=str(item.pk)).count() == 2


def test_no_reply_without_a_matched_customer(client, staff):
    inbound(client, "你好", phone="+8613000000000")
    with pytest.raises(ServiceError):
        feedback_reply(feedback=Feedback.objects.get(), user=staff, text="您好")
    assert not SmsMessage.objects.exists()


def test_worklist_filters_and_taking_an_item(staff_client, staff, client):
    inbound(client, "我要投诉", message_id="x1")
    inbound(client, "你好", phone="+8613000000001", message_id="x2")
    response = staff_client.get("/admin/notices/feedback/", {"work": "unassigned"})
    body = response.content.decode()
    assert body.count('data-sla="') == 2
    ids = list(Feedback.objects.values_list("pk", flat=True))
    staff_client.post("/admin/notices/feedback/", {"action": "take", "_selected_action": ids})
    assert set(Feedback.objects.values_list("assignee__username", flat=True)) == {"staff1"}
    mine = staff_client.get("/admin/notices/feedback/", {"work": "mine"}).content.decode()
    assert mine.count('data-sla="') == 2


def test_feedback_page_reply_and_status_by_post(staff_client, staff):
    customer = CustomerFactory(mobile="+8613812345678")
    item = feedback_record(user=staff, channel="branch", text="申请延期", customer=customer)
    page = staff_client.get(f"/admin/notices/feedback/{item.pk}/change/").content.decode()
    assert "申请延期" in page and "138****5678" in page and "13812345678" not in page
    staff_client.post(f"/admin/notices/feedback/{item.pk}/reply/", {"text": "您好，已收到您的延期申请。"})
    assert SmsMessage.objects.filter(feedback=item).count() == 1
    staff_client.post(
        f"/admin/notices/feedback/{item.pk}/status/", {"status": "resolved", "resolution": "已办理延期"}
    )
    item.refresh_from_db()
    assert item.status == FeedbackStatus.RESOLVED
    assert staff_client.get(f"/admin/notices/feedback/{item.pk}/reply/").status_code == 405


def test_customer_timeline_tells_the_story(supervisor_client, staff, client):
    customer = CustomerFactory(mobile="+8613812345678")
    LoanFactory(customer=customer, days=10)
    inbound(client, "我想分期")
    page = supervisor_client.get(f"/admin/customers/customer/{customer.pk}/change/").content.decode()
    assert 'id="customer-timeline"' in page and "我想分期" in page


def test_home_page_counts(supervisor_client, client):
    inbound(client, "我要投诉", message_id="c1")
    page = supervisor_client.get("/admin/").content.decode()
    assert 'id="tile-unassigned">1</div>' in page
    assert 'id="tile-late">0</div>' in page
