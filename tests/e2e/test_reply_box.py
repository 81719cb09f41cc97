"""The feedback reply box in the browser: a template fills the box, never over what staff
typed without asking; the preview counts characters and parts; the box is what is sent."""

import pytest

from notices.models import SmsMessage, SmsTemplate
from notices.services.feedback import feedback_record
from tests.e2e.conftest import login, screenshot
from tests.factories import CustomerFactory, LoanFactory, staff_user

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_a_template_fills_the_box_and_what_is_sent_is_what_the_box_holds(page, tmp_path):
    wang = staff_user(username="wang")
    customer = CustomerFactory(name="王小明", id_number="33010219800101123X", mobile="+8613812345678")
    LoanFactory(customer=customer, days=12)
    item = feedback_record(user=wang, channel="phone", text="我想申请延期", customer=customer)
    template = SmsTemplate.objects.get(purpose="feedback_reply")

    login(page, "wang")
    page.goto(f"{page.base_url}/admin/notices/feedback/{item.pk}/change/")
    box, select = page.locator("textarea[name=text]"), page.locator("select[name=template]")
    page.wait_for_function("document.getElementById('sms-parts').textContent !== '0'")

    select.select_option(str(template.pk))  # an empty box: filled at once
    page.wait_for_function("document.querySelector('textarea[name=text]').value.startsWith('王先生您好')")
    assert "{" not in box.input_value()
    page.wait_for_function(
        "document.getElementById('sms-preview').textContent.startsWith('【民丰银行】王先生')"
    )

    own = "王先生您好，延期申请已收到，我们今天下午给您回电。"
    box.fill(own)
    page.wait_for_function(f"document.getElementById('sms-preview').textContent === '【民丰银行】{own}'")
    assert page.locator("#sms-chars").inner_text() == str(len(f"【民丰银行】{own}"))
    assert page.locator("#sms-parts").inner_text() == "1"
    select.select_option("")  # back to "write my own": nothing changes
    select.select_option(str(template.pk))  # over typed text: asks first
    page.locator("#template-conflict").wait_for(state="visible")
    assert box.input_value() == own
    screenshot(page, "feedback-reply-conflict", tmp_path)
    page.locator("#template-keep").click()
    assert box.input_value() == own and select.input_value() == ""

    box.fill(own * 3)  # two parts, shown before sending
    page.wait_for_function("document.getElementById('sms-parts').textContent === '2'")
    box.fill(own)
    page.wait_for_function("document.getElementById('sms-parts').textContent === '1'")
    page.locator("#send-reply").click()
    page.wait_for_load_state("networkidle")
    assert SmsMessage.objects.get(feedback=item).body == f"【民丰银行】{own}"
    assert "回复已加入发送队列" in page.locator(".alert-success, .messagelist, body").first.inner_text()
    screenshot(page, "feedback-after-reply", tmp_path)
