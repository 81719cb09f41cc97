"""Cancelling a batch or withdrawing a plan: a page that says what will happen, a reason
required, the service deciding who may, and the audit log keeping it."""

import pytest
from django.utils import timezone

from core.exceptions import ServiceError
from core.models import AuditEvent
from customers.models import LoanStatus
from notices.models import (
    BatchStatus,
    FeedbackStatus,
    MessageStatus,
    NoticeBatch,
    PlanStatus,
    RepaymentPlan,
    SmsMessage,
)
from notices.services import batch_approve, batch_cancel, batch_generate
from notices.services.feedback import feedback_record
from notices.services.plans import plan_cancel, plan_draft, plan_schedule
from tests.factories import CustomerFactory, LoanFactory, staff_user, supervisor_user

pytestmark = pytest.mark.django_db
TODAY = timezone.localdate()
BATCHES = "/admin/notices/noticebatch/"
PLANS = "/admin/notices/repaymentplan/"


@pytest.fixture
def batch(staff):
    chen = CustomerFactory(name="陈静")
    LoanFactory(days=10, customer=chen, loan_account="6200000000000101")
    LoanFactory(days=12, customer=chen, loan_account="6200000000000102")
    LoanFactory(days=20, loan_account="6200000000000201")
    LoanFactory(days=40, customer=CustomerFactory(deceased=True))  # excluded: not "unsent"
    return batch_generate(as_of=TODAY, user=staff)


def page(client, url) -> str:
    response = client.get(url)
    assert response.status_code == 200
    return response.content.decode()


# --- The service ----------------------------------------------------------------------


def test_cancelling_needs_a_reason_and_the_service_decides_who(batch, staff):
    for reason in ("", "   "):
        with pytest.raises(ServiceError) as error:
            batch_cancel(batch=batch, user=staff, reason=reason)
        assert error.value.code == "reason_required"
    with pytest.raises(ServiceError) as error:
        batch_cancel(batch=batch, user=staff_user(username="colleague"), reason="不是我的")
    assert error.value.code == "not_allowed"
    assert NoticeBatch.objects.get(pk=batch.pk).status == BatchStatus.PENDING_APPROVAL


def test_a_cancelled_batch_sends_nothing_and_its_loans_are_due_again(batch, staff):
    batch_cancel(batch=batch, user=staff, reason="金额有误，重新导入后再生成")
    assert set(
        SmsMessage.objects.filter(batch=batch)
        .exclude(status=MessageStatus.EXCLUDED)
        .values_list("status", "error_code")
    ) == {(MessageStatus.CANCELLED, "batch_cancelled")}
    audit = AuditEvent.objects.get(action="batch.cancel")
    assert (audit.from_state, audit.to_state, audit.note) == (
        "pending_approval",
        "cancelled",
        "金额有误，重新导入后再生成",
    )
    again = batch_generate(as_of=TODAY, user=staff)
    assert again.pk != batch.pk and again.message_count == 2  # the same two customers


# --- The batch's confirmation page ----------------------------------------------------


def test_the_page_says_what_will_not_go_before_anything_happens(client, batch, staff):
    client.force_login(staff)
    detail = page(client, f"{BATCHES}{batch.pk}/change/")
    assert f'href="{BATCHES}{batch.pk}/cancel/"' in detail  # a link to the page, not a one-click POST
    body = page(client, f"{BATCHES}{batch.pk}/cancel/")
    assert "2 条短信将不会发送" in body and "发给 2 位客户" in body
    assert "3 笔贷款将失去本日期的通知" in body
    for account in ("6200000000000101", "6200000000000102", "6200000000000201"):
        assert account in body
    assert "同一日期重新生成批次" in body
    assert "已发往短信网关" not in body
    assert NoticeBatch.objects.get(pk=batch.pk).status == BatchStatus.PENDING_APPROVAL


def test_confirming_without_a_reason_keeps_the_batch_and_says_why(client, batch, staff):
    client.force_login(staff)
    response = client.post(f"{BATCHES}{batch.pk}/cancel/", {"reason": "  "})
    assert response.status_code == 200
    assert "请填写原因" in response.content.decode()
    assert NoticeBatch.objects.get(pk=batch.pk).status == BatchStatus.PENDING_APPROVAL
    assert not AuditEvent.objects.filter(action="batch.cancel").exists()


def test_confirming_with_a_reason_cancels_and_goes_back_to_the_batch(client, batch, staff):
    client.force_login(staff)
    response = client.post(f"{BATCHES}{batch.pk}/cancel/", {"reason": "模板用错了"}, follow=True)
    assert response.redirect_chain[-1][0] == f"{BATCHES}{batch.pk}/change/"
    body = response.content.decode()
    assert "批次已取消" in body and "模板用错了" in body
    assert NoticeBatch.objects.get(pk=batch.pk).status == BatchStatus.CANCELLED
    assert AuditEvent.objects.get(action="batch.cancel").actor == staff


@pytest.mark.parametrize("who", ["colleague", "administrator"])
def test_others_may_not_cancel(client, batch, administrator, who):
    client.force_login(staff_user(username="colleague") if who == "colleague" else administrator)
    assert client.get(f"{BATCHES}{batch.pk}/cancel/").status_code == 403
    assert client.post(f"{BATCHES}{batch.pk}/cancel/", {"reason": "x"}).status_code == 403
    assert NoticeBatch.objects.get(pk=batch.pk).status == BatchStatus.PENDING_APPROVAL


def test_an_approved_batch_says_what_has_already_gone(client, batch, supervisor):
    batch_approve(batch=batch, user=supervisor)
    sent = SmsMessage.objects.filter(batch=batch, status=MessageStatus.SENT).first()
    if sent is None:  # the sender ran inline: put one back in the queue
        SmsMessage.objects.filter(batch=batch).exclude(status=MessageStatus.EXCLUDED).update(
            status=MessageStatus.QUEUED
        )
        first = SmsMessage.objects.filter(batch=batch, status=MessageStatus.QUEUED).first()
        SmsMessage.objects.filter(pk=first.pk).update(status=MessageStatus.SENT)
    NoticeBatch.objects.filter(pk=batch.pk).update(status=BatchStatus.APPROVED)
    client.force_login(supervisor)
    body = page(client, f"{BATCHES}{batch.pk}/cancel/")
    assert "1 条短信将不会发送" in body
    assert "1 条短信已发往短信网关，无法撤回" in body


def test_a_batch_already_cancelled_cannot_be_cancelled_again(client, batch, staff):
    batch_cancel(batch=batch, user=staff, reason="重复")
    client.force_login(staff)
    response = client.get(f"{BATCHES}{batch.pk}/cancel/", follow=True)
    assert response.redirect_chain[-1][0] == f"{BATCHES}{batch.pk}/change/"
    assert "不能再取消" in response.content.decode()


# --- Plans ----------------------------------------------------------------------------


@pytest.fixture
def plan(staff):
    loan = LoanFactory(days=20, loan_account="6200000000000301")
    feedback = feedback_record(user=staff, channel="phone", text="想分三期还", customer=loan.customer)
    schedule = plan_schedule(kind="installments", total=loan.overdue_amount, today=TODAY, count=3)
    return plan_draft(loans=[loan], user=staff, kind="installments", schedule=schedule, feedback=feedback)


def test_withdrawing_a_plan_needs_a_reason_and_its_author_or_a_supervisor(plan, staff):
    with pytest.raises(ServiceError) as error:
        plan_cancel(plan=plan, user=staff, reason="")
    assert error.value.code == "reason_required"
    with pytest.raises(ServiceError) as error:
        plan_cancel(plan=plan, user=staff_user(username="colleague"), reason="x")
    assert error.value.code == "not_allowed"
    plan_cancel(plan=plan, user=supervisor_user(username="boss"), reason="客户改为一次还清")
    assert RepaymentPlan.objects.get(pk=plan.pk).status == PlanStatus.CANCELLED
    assert AuditEvent.objects.get(action="plan.cancel").note == "客户改为一次还清"


def test_the_plan_page_says_what_happens_to_the_loan_and_the_feedback(client, plan, staff):
    client.force_login(staff)
    assert f'href="{PLANS}{plan.pk}/cancel/"' in page(client, f"{PLANS}{plan.pk}/change/")
    body = page(client, f"{PLANS}{plan.pk}/cancel/")
    assert "6200000000000301" in body and "逾期 ¥1,234.56" in body
    assert "照常收到逾期通知" in body
    assert "仍待处理" in body  # the feedback it answers stays open
    response = client.post(f"{PLANS}{plan.pk}/cancel/", {"reason": ""})
    assert response.status_code == 200 and "请填写原因" in response.content.decode()
    response = client.post(f"{PLANS}{plan.pk}/cancel/", {"reason": "客户不同意"}, follow=True)
    assert "还款计划已撤回" in response.content.decode()
    plan.refresh_from_db()
    assert plan.status == PlanStatus.CANCELLED and plan.reason == "客户不同意"
    assert {loan.status for loan in plan.loans.all()} == {LoanStatus.OVERDUE}
    assert plan.feedback.status == FeedbackStatus.IN_PROGRESS


def test_a_colleague_may_not_withdraw_a_plan(client, plan):
    client.force_login(staff_user(username="colleague"))
    assert client.get(f"{PLANS}{plan.pk}/cancel/").status_code == 403
    assert client.post(f"{PLANS}{plan.pk}/cancel/", {"reason": "x"}).status_code == 403
