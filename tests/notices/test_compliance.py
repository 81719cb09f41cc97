"""What is sent is lawful: only to the borrower's own mobile, never with a forbidden
expression, always signed, only inside the contact window — for notices, replies to
customers and repayment-plan confirmations alike, checked again just before sending."""

from collections import Counter
from decimal import Decimal

import pytest
from django.utils import timezone

from customers.models import Customer, PhoneProblem
from notices.backends import locmem
from notices.models import ForbiddenExpression, MessageStatus, PlanKind, SmsMessage, TemplatePurpose
from notices.policy import CancelCode
from notices.services import batch_approve, batch_generate
from notices.services.feedback import feedback_record, feedback_reply
from notices.services.plans import plan_approve, plan_draft, plan_schedule
from notices.services.sending import sender_run
from tests.factories import CustomerFactory, LoanFactory, staff_user, supervisor_user

pytestmark = pytest.mark.django_db
PURPOSES = {TemplatePurpose.OVERDUE_NOTICE, TemplatePurpose.FEEDBACK_REPLY, TemplatePurpose.PLAN_CONFIRMATION}


@pytest.fixture
def three(settings):
    """A queued notice, reply and plan confirmation for one borrower."""
    settings.SMS_SIGNATURE = "【民丰银行】"
    customer = CustomerFactory(name="李丽", id_number="330102198001011248", mobile="+8613812345678")
    LoanFactory(customer=customer, days=10)
    plan_loan = LoanFactory(customer=customer, days=12, overdue_amount=Decimal("900.00"))
    batch = batch_generate(as_of=timezone.localdate())
    batch_approve(batch=batch, user=supervisor_user(username="approver"))
    staff = staff_user(username="clerk")
    # Someone else called about her loan: the answer still goes only to her own mobile.
    feedback = feedback_record(user=staff, channel="phone", text="能分期吗", customer=customer)
    feedback_reply(feedback=feedback, user=staff, text="您好，分期申请已受理，我们会尽快联系您。")
    schedule = plan_schedule(
        kind=PlanKind.INSTALLMENTS, total=plan_loan.overdue_amount, today=timezone.localdate(), count=3
    )
    plan = plan_draft(loans=[plan_loan], user=staff, kind=PlanKind.INSTALLMENTS, schedule=schedule)
    plan_approve(plan=plan, user=supervisor_user(username="approver2"))
    messages = SmsMessage.objects.filter(customer=customer, status=MessageStatus.QUEUED)
    assert set(messages.values_list("purpose", flat=True)) == PURPOSES
    return customer


def outcome(customer) -> dict[str, tuple[str, str]]:
    rows = SmsMessage.objects.filter(customer=customer, purpose__in=PURPOSES)
    return {m.purpose: (m.status, m.error_code) for m in rows}


def test_all_three_go_to_the_borrowers_own_mobile_signed_inside_the_window(three, clock):
    clock.set(10, 0)
    sender_run(max_seconds=5, sleep=lambda: None)
    assert {status for status, _code in outcome(three).values()} == {MessageStatus.SENT}
    assert Counter(m.to for m in locmem.outbox) == {"+8613812345678": 3}
    assert all(m.text.startswith("【民丰银行】") for m in locmem.outbox)


@pytest.mark.parametrize("hour", [7, 22, 23, 3])
def test_nothing_goes_outside_the_contact_window_and_nothing_is_dropped(three, clock, hour):
    clock.set(hour, 30)
    sender_run(max_seconds=5, sleep=lambda: None)
    assert locmem.outbox == []
    assert {status for status, _code in outcome(three).values()} == {MessageStatus.QUEUED}
    clock.set(8, 0)
    sender_run(max_seconds=5, sleep=lambda: None)
    assert len(locmem.outbox) == 3


def test_a_number_found_shared_with_another_customer_is_never_messaged(three, clock):
    Customer.objects.filter(pk=three.pk).update(phone_problem=PhoneProblem.SHARED)
    sender_run(max_seconds=5, sleep=lambda: None)
    assert locmem.outbox == []
    assert set(outcome(three).values()) == {(MessageStatus.CANCELLED, CancelCode.NOT_CONTACTABLE)}


def test_a_message_whose_number_is_no_longer_the_borrowers_is_not_sent(three, clock):
    Customer.objects.filter(pk=three.pk).update(mobile="+8613900001111")
    sender_run(max_seconds=5, sleep=lambda: None)
    assert locmem.outbox == []
    assert set(outcome(three).values()) == {(MessageStatus.CANCELLED, CancelCode.PHONE_CHANGED)}


def test_an_expression_forbidden_after_the_text_was_written_stops_it(three, clock):
    signature = "【民丰银行】"
    for message in SmsMessage.objects.filter(customer=three):
        phrase = message.body[len(signature) : len(signature) + 4]
        ForbiddenExpression.objects.get_or_create(phrase=phrase)
    sender_run(max_seconds=5, sleep=lambda: None)
    assert locmem.outbox == []
    assert set(outcome(three).values()) == {(MessageStatus.CANCELLED, CancelCode.FORBIDDEN_EXPRESSION)}


def test_a_text_without_the_signature_is_never_sent(three, clock):
    for message in SmsMessage.objects.filter(customer=three):
        SmsMessage.objects.filter(pk=message.pk).update(body=message.body.replace("【民丰银行】", ""))
    sender_run(max_seconds=5, sleep=lambda: None)
    assert locmem.outbox == []
    assert set(outcome(three).values()) == {(MessageStatus.CANCELLED, CancelCode.NO_SIGNATURE)}


def test_a_placeholder_left_in_the_text_is_never_sent(three, clock):
    SmsMessage.objects.filter(customer=three).update(body="【民丰银行】{customer_name}您好")
    sender_run(max_seconds=5, sleep=lambda: None)
    assert locmem.outbox == []
    assert set(outcome(three).values()) == {(MessageStatus.CANCELLED, CancelCode.PLACEHOLDER_LEFT)}


def test_shared_numbers_get_no_notice_and_replies_refuse_a_forbidden_text(clock, settings):
    settings.SMS_SIGNATURE = "【民丰银行】"
    shared = CustomerFactory(mobile="+8613700001111", phone_problem=PhoneProblem.SHARED)
    LoanFactory(customer=shared, days=10)
    batch = batch_generate(as_of=timezone.localdate())
    message = SmsMessage.objects.get(batch=batch, customer=shared)
    assert message.status == MessageStatus.EXCLUDED and not message.body
    staff = staff_user(username="clerk")
    feedback = feedback_record(user=staff, channel="phone", text="你好", customer=CustomerFactory())
    from core.exceptions import ServiceError

    with pytest.raises(ServiceError):
        feedback_reply(feedback=feedback, user=staff, text="再不还款就上门找您家人")
    assert not SmsMessage.objects.filter(feedback=feedback).exists()
