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
    ContactPolicy,
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
    feedback_reply_text,
    feedback_set_status,
    feedback_sla,
    reply_sending_note,
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
    assert due == aware(2026, 11, 30, 15, 0) and not urgent  # Monday, the same clock time
    assert add_working_days(aware(2026, 11, 24, 10, 0), 1) == aware(2026, 11, 25, 10, 0)
    # Saturday night: the clock starts when Monday's window opens and runs one window.
    assert add_working_days(aware(2026, 11, 28, 22, 0), 1) == aware(2026, 11, 30, 22, 0)


@pytest.mark.parametrize(
    ("received", "due", "why"),
    [
        ((2026, 12, 1, 3, 17), (2026, 12, 1, 12, 0), "before the window: the clock starts at 08:00"),
        ((2026, 11, 27, 20, 0), (2026, 11, 30, 10, 0), "2 hours on Friday evening, 2 on Monday"),
        ((2026, 11, 29, 11, 0), (2026, 11, 30, 12, 0), "a Sunday counts nothing"),
        ((2026, 9, 30, 21, 0), (2026, 10, 8, 11, 0), "National Day holidays 10-01..07 count nothing"),
        ((2026, 9, 19, 10, 0), (2026, 9, 20, 12, 0), "Sunday 09-20 is a make-up working day"),
        ((2026, 2, 13, 21, 30), (2026, 2, 14, 11, 30), "Saturday 02-14 is a make-up working day"),
        ((2026, 2, 14, 20, 0), (2026, 2, 24, 10, 0), "the Spring Festival 02-15..23 counts nothing"),
    ],
)
def test_a_complaint_is_due_in_4_hours_of_the_contact_window_on_working_days(received, due, why):
    assert feedback_sla(FeedbackCategory.COMPLAINT, aware(*received))[0] == aware(*due), why


def test_answer_by_times_follow_the_contact_window_the_administrators_set():
    policy = ContactPolicy.current()
    policy.window_start, policy.window_end = datetime.time(0), datetime.time(0)  # 00:00-24:00
    policy.save()
    assert feedback_sla(FeedbackCategory.COMPLAINT, aware(2026, 12, 1, 3, 17))[0] == aware(2026, 12, 1, 7, 17)
    assert feedback_sla(FeedbackCategory.COMPLAINT, aware(2026, 10, 1, 3, 17))[0] == aware(2026, 10, 8, 4, 0)
    policy.window_start, policy.window_end = datetime.time(22), datetime.time(6)  # across midnight
    policy.save()
    assert feedback_sla(FeedbackCategory.COMPLAINT, aware(2026, 12, 1, 12, 0))[0] == aware(2026, 12, 2, 2, 0)
    # 3 hours of Tuesday's night window (it closes at 06:00), 1 of Wednesday's.
    assert feedback_sla(FeedbackCategory.COMPLAINT, aware(2026, 12, 2, 3, 0))[0] == aware(2026, 12, 2, 23, 0)


def test_the_reply_box_says_when_a_reply_goes():
    assert reply_sending_note(aware(2026, 12, 1, 10, 0)) == "立即发出（当前在联系时段内）"
    assert reply_sending_note(aware(2026, 12, 1, 3, 17)) == "当前不在联系时段，将于 08:00 发出"
    assert reply_sending_note(aware(2026, 12, 1, 22, 30)) == "当前不在联系时段，将于 12-02 08:00 发出"


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
    text = feedback_reply_text(feedback=item, template=template)
    assert text.startswith("王先生您好") and settings.BANK_HOTLINE in text and "{" not in text
    templated = feedback_reply(feedback=item, user=staff, text=text, template=template)
    assert templated.body == f"【民丰银行】{text}" and templated.template == template
    edited = feedback_reply(feedback=item, user=staff, text=text + "另附：请查收。", template=template)
    assert edited.body == f"【民丰银行】{text}另附：请查收。" and edited.template is None
    with pytest.raises(ServiceError) as error:  # a template alone sends nothing: the box is what goes
        feedback_reply(feedback=item, user=staff, text="", template=template)
    assert error.value.code == "empty"
    assert AuditEvent.objects.filter(action="feedback.reply", object_id=str(item.pk)).count() == 3


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


def test_the_reply_box_fills_from_a_template_and_sends_exactly_what_it_holds(staff_client, staff):
    customer = CustomerFactory(name="王小明", id_number="33010219800101123X", mobile="+8613812345678")
    item = feedback_record(user=staff, channel="phone", text="能分期吗", customer=customer)
    template = SmsTemplate.objects.get(purpose="feedback_reply")
    preview = f"/admin/notices/feedback/{item.pk}/reply-preview/"
    filled = staff_client.post(preview, {"template": template.pk}).json()["fill"]
    assert filled.startswith("王先生您好") and "{" not in filled
    typed = "王先生您好，您的分期申请已收到，专员今天下午联系您。"
    shown = staff_client.post(preview, {"text": typed}).json()
    assert shown["text"] == f"【民丰银行】{typed}"
    assert (shown["chars"], shown["parts"], shown["problems"]) == (len(shown["text"]), 1, [])
    assert staff_client.post(preview, {"text": typed * 3}).json()["parts"] == 2
    assert staff_client.post(preview, {"text": "不还就上门"}).json()["problems"]
    # The template chosen, the box edited: what goes is the box, not the template.
    response = staff_client.post(
        f"/admin/notices/feedback/{item.pk}/reply/", {"template": template.pk, "text": typed}, follow=True
    )
    message = SmsMessage.objects.get(feedback=item)
    assert message.body == f"【民丰银行】{typed}" and message.template is None
    assert "回复已加入发送队列" in response.content.decode()
    # A template with an empty box sends nothing and says why.
    response = staff_client.post(
        f"/admin/notices/feedback/{item.pk}/reply/", {"template": template.pk, "text": ""}, follow=True
    )
    assert "回复内容为空" in response.content.decode()
    assert SmsMessage.objects.filter(feedback=item).count() == 1


def test_the_answer_by_page_states_the_rule_and_a_year_the_calendar_lacks(admin_client, monkeypatch):
    page = admin_client.get("/admin/notices/feedbacksla/").content.decode()
    assert "应答计时只在工作日的联系时段（08:00–22:00）内进行" in page
    monkeypatch.setattr("notices.admin.feedback.calendar_published", lambda year: False)
    page = admin_client.get("/admin/notices/feedbacksla/").content.decode()
    assert f"尚未包含国务院 {timezone.localdate().year} 年的放假安排" in page
