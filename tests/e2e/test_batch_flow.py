import datetime
import re

import pytest
from django.utils import timezone

from notices.backends import reset_backends
from notices.fake_gateway import FakeGateway
from notices.models import BatchStatus, ContactPolicy, MessageStatus, NoticeBatch, SmsMessage, SmsTemplate
from tests.e2e.conftest import login
from tests.factories import CustomerFactory, LoanFactory, notice_stage, staff_user, supervisor_user

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_staff_edit_a_template_with_live_preview_generate_a_batch_and_only_a_supervisor_approves(
    page, browser, live_server
):
    staff_user(username="wang")
    supervisor_user(username="zhao")
    LoanFactory(days=20, customer=CustomerFactory(name="陈静", id_number="330102198001011248"))
    template = SmsTemplate.objects.get(stage=notice_stage(20))

    login(page, "wang")
    page.goto(f"{page.base_url}/admin/notices/smstemplate/{template.pk}/change/")
    parts = page.locator("#sms-parts")
    page.wait_for_function("document.getElementById('sms-parts').textContent !== '0'")
    assert parts.inner_text() == "1"
    body = page.locator("textarea[name=body]")
    body.fill(
        template.body.replace(
            "客服{hotline}",
            "感谢您的配合，祝您生活愉快，如有疑问请随时致电客服{hotline}，我们将竭诚为您服务。",
        )
    )
    page.wait_for_function("document.getElementById('sms-parts').textContent === '2'")
    assert "竭诚为您服务" in page.locator("#sms-preview").inner_text()
    # A placeholder button inserts at the cursor; the preview follows.
    body.fill("{customer_name}您好，请尽快还款。客服")
    page.locator("[data-placeholder=hotline]").click()
    page.wait_for_function("document.getElementById('sms-preview').textContent.includes('00000')")
    page.locator("input[name=_save]").click()
    page.wait_for_load_state("networkidle")
    template.refresh_from_db()
    assert template.body == "{customer_name}您好，请尽快还款。客服{hotline}"

    page.goto(f"{page.base_url}/admin/notices/noticebatch/generate/")
    page.locator("#generate-batch").click()
    page.wait_for_load_state("networkidle")
    page.screenshot(path="/tmp/gen.png")
    batch = NoticeBatch.objects.get()
    assert batch.status == BatchStatus.PENDING_APPROVAL
    assert "陈女士您好，请尽快还款。客服00000" in page.locator("#samples").inner_text()
    assert page.locator("#approve-batch").count() == 0  # the author cannot approve

    supervisor = browser.new_context(locale="zh-CN")
    boss = supervisor.new_page()
    boss.base_url = page.base_url
    login(boss, "zhao")
    assert boss.locator("#pending-batches").get_by_text(str(batch.as_of)).count() >= 1
    boss.goto(f"{page.base_url}/admin/notices/noticebatch/{batch.pk}/change/")
    boss.locator("#approve-batch").click()
    boss.wait_for_load_state("networkidle")
    batch.refresh_from_db()
    assert batch.status in (BatchStatus.APPROVED, BatchStatus.SENDING, BatchStatus.DONE)
    assert batch.approved_by.username == "zhao"
    supervisor.close()


def test_supervisor_approves_and_watches_the_messages_reach_delivered(page, live_server, settings):
    policy = ContactPolicy.current()
    policy.window_start, policy.window_end = datetime.time(0, 0), datetime.time(23, 59, 59, 999999)
    policy.save()
    gateway = FakeGateway(
        port=0,
        token="t0k",
        secret=settings.SMS_WEBHOOK_SECRET,
        webhook_url=live_server.url,
        latency=0.02,
        receipt_delay=0.2,
    ).start()
    settings.SMS_BACKEND, settings.SMS_HTTP_BASE_URL, settings.SMS_HTTP_TOKEN = "http", gateway.url, "t0k"
    reset_backends()
    try:
        supervisor_user(username="zhao")
        for _ in range(5):
            LoanFactory(days=12)
        from notices.services import batch_generate

        batch = batch_generate(as_of=timezone.localdate())
        login(page, "zhao")
        page.goto(f"{page.base_url}/admin/notices/noticebatch/{batch.pk}/change/")
        page.locator("#approve-batch").click()
        page.wait_for_load_state("networkidle")
        page.wait_for_function(
            "document.querySelector('#batch-progress [data-status=delivered]') && "
            "document.querySelector('#batch-progress [data-status=delivered]').textContent === '5'",
            timeout=20_000,
        )
        assert re.search(r"已完成|已送达", page.locator("#batch-page").inner_text())
        assert SmsMessage.objects.filter(batch=batch, status=MessageStatus.DELIVERED).count() == 5
        assert gateway.state.stats()["duplicates"] == 0
    finally:
        gateway.stop()
        reset_backends()
