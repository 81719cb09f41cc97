"""Cancelling a batch in the browser: the button opens a page that says what will not go,
the reason is required, and only then is the batch cancelled. Also a look at the other
pages this work changed (answer-by times, reports, an error page)."""

import pytest
from django.utils import timezone

from notices.models import BatchStatus, NoticeBatch
from notices.services import batch_generate
from tests.e2e.conftest import login, screenshot
from tests.factories import CustomerFactory, LoanFactory, administrator_user, staff_user, supervisor_user

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_cancelling_a_batch_shows_what_will_not_go_and_needs_a_reason(page, tmp_path):
    wang = staff_user(username="wang")
    for n in range(3):
        LoanFactory(days=10 + n, customer=CustomerFactory(name=f"客户{n}"))
    batch = batch_generate(as_of=timezone.localdate(), user=wang)

    login(page, "wang")
    page.goto(f"{page.base_url}/admin/notices/noticebatch/{batch.pk}/change/")
    page.locator("#cancel-batch").click()
    page.wait_for_load_state("networkidle")
    assert "3 条短信将不会发送" in page.locator("#consequences").inner_text()
    assert NoticeBatch.objects.get(pk=batch.pk).status == BatchStatus.PENDING_APPROVAL  # nothing yet
    screenshot(page, "batch-cancel-confirm", tmp_path)

    page.locator("#confirm-cancel").click()  # no reason: refused, the page says why
    page.wait_for_load_state("networkidle")
    assert page.locator("#reason-error").is_visible()
    assert NoticeBatch.objects.get(pk=batch.pk).status == BatchStatus.PENDING_APPROVAL
    screenshot(page, "batch-cancel-no-reason", tmp_path)

    page.fill("textarea[name=reason]", "导入的台账日期有误，重新导入后再生成")
    page.locator("#confirm-cancel").click()
    page.wait_for_load_state("networkidle")
    assert NoticeBatch.objects.get(pk=batch.pk).status == BatchStatus.CANCELLED
    assert "批次已取消" in page.content() and "导入的台账日期有误" in page.content()
    screenshot(page, "batch-cancelled", tmp_path)


def test_the_other_pages_this_work_changed(page, tmp_path):
    supervisor_user(username="zhao")
    administrator_user(username="root")
    login(page, "zhao")
    page.goto(f"{page.base_url}/admin/reports/")
    assert "起始日期" in page.locator("#report-form").inner_text()
    screenshot(page, "reports", tmp_path)
    page.goto(f"{page.base_url}/admin/notices/feedbacksla/")
    assert "应答计时只在工作日的联系时段" in page.locator("#answer-by-rule").inner_text()
    screenshot(page, "feedback-sla", tmp_path)
    page.goto(f"{page.base_url}/admin/auth/user/")
    assert "您无权打开此页面" in page.locator("#error-page").inner_text()
    screenshot(page, "error-403", tmp_path)
    page.goto(f"{page.base_url}/admin/no-such-page/")
    assert "页面不存在" in page.locator("#error-page").inner_text()
    screenshot(page, "error-404", tmp_path)
