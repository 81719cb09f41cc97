import json
import time

import httpx
import pytest

from notices.models import ExclusionReason, Feedback, NoticeBatch, PlanStatus, RepaymentPlan, SmsMessage
from notices.services.webhooks import sign
from tests.e2e.conftest import login
from tests.factories import CustomerFactory, LoanFactory, staff_user, supervisor_user

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_a_reply_becomes_a_six_installment_plan_that_a_supervisor_approves(page, browser, live_server):
    staff_user(username="wang")
    supervisor_user(username="zhao")
    customer = CustomerFactory(name="陈静", id_number="330102198001011248", mobile="+8613812345678")
    loan = LoanFactory(customer=customer, days=20, overdue_amount="6000.00")

    raw = json.dumps(
        {
            "from": "13812345678",
            "text": "我想分期",
            "at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "message_id": "in-77",
        }
    ).encode()
    response = httpx.post(
        f"{live_server.url}/webhooks/sms/inbound/",
        content=raw,
        headers={"X-Signature": sign(raw), "Content-Type": "application/json"},
    )
    assert response.status_code == 200

    login(page, "wang")
    page.goto(f"{page.base_url}/admin/notices/feedback/?work=unassigned")
    row = page.locator("#result_list tbody tr").filter(has_text="我想分期")
    assert "陈静" in row.inner_text() and "申请分期" in row.inner_text()
    row.locator("a").first.click()
    page.wait_for_load_state("networkidle")
    page.locator("#draft-plan").click()
    page.wait_for_load_state("networkidle")
    page.check("input[name=kind][value=installments]")
    page.fill("input[name=count]", "6")
    page.locator("#preview-plan").click()
    page.wait_for_load_state("networkidle")
    schedule = page.locator("#schedule tbody tr")
    assert schedule.count() == 6 and "1,000.00" in page.locator("#schedule").inner_text()
    page.locator("#submit-plan").click()
    page.wait_for_load_state("networkidle")
    plan = RepaymentPlan.objects.get()
    assert plan.status == PlanStatus.PENDING_APPROVAL and plan.feedback == Feedback.objects.get()
    assert page.locator("#approve-plan").count() == 0  # the author cannot approve

    context = browser.new_context(locale="zh-CN")
    boss = context.new_page()
    boss.base_url = page.base_url
    login(boss, "zhao")
    boss.goto(f"{page.base_url}/admin/notices/repaymentplan/{plan.pk}/change/")
    boss.locator("#approve-plan").click()
    boss.wait_for_load_state("networkidle")
    assert "执行中" in boss.locator("#plan-status").inner_text()
    context.close()

    page.goto(f"{page.base_url}/admin/customers/customer/{customer.pk}/change/")
    timeline = page.locator("#customer-timeline").inner_text()
    assert "还款计划确认" in timeline and "陈女士您好" in timeline
    assert SmsMessage.objects.filter(plan=plan, purpose="plan_confirmation").exists()

    page.goto(f"{page.base_url}/admin/notices/noticebatch/generate/")
    page.locator("#generate-batch").click()
    page.wait_for_load_state("networkidle")
    batch = NoticeBatch.objects.get()
    assert "还款计划执行中" in page.locator("#exclusions").inner_text()
    assert SmsMessage.objects.get(batch=batch, loan=loan).exclusion_reason == ExclusionReason.ACTIVE_PLAN
