"""Every main page works under the Content-Security-Policy: Chromium reports no violation
(no inline script, style element, connection or image the policy would block)."""

import pytest
from django.utils import timezone

from notices.models import SmsTemplate
from notices.services import batch_generate
from notices.services.feedback import feedback_record
from tests.e2e.conftest import login
from tests.factories import (
    CustomerFactory,
    LoanFactory,
    administrator_user,
    notice_stage,
    staff_user,
    supervisor_user,
)

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

# Collected in the page: the browser's own report of every blocked resource or script.
RECORD_VIOLATIONS = """
window.__csp = [];
document.addEventListener('securitypolicyviolation', e => window.__csp.push(
  e.violatedDirective + ' ' + (e.blockedURI || '') + ' ' + (e.sourceFile || '') + ':' + e.lineNumber
));
"""


def visit(page, path, problems):
    response = page.goto(f"{page.base_url}{path}")
    page.wait_for_load_state("networkidle")
    assert response.status < 400, (path, response.status)
    assert "script-src 'self' 'nonce-" in response.headers["content-security-policy"]
    problems.extend(f"{path}: {v}" for v in page.evaluate("window.__csp"))


@pytest.fixture
def strict_page(browser, live_server):
    """A page with the policy enforced (the shared fixture lets Playwright bypass it)."""
    context = browser.new_context(locale="zh-CN", viewport={"width": 1400, "height": 900})
    context.set_default_timeout(15_000)
    page = context.new_page()
    page.base_url = live_server.url
    yield page
    context.close()


def test_the_pages_run_under_the_policy_without_violations(strict_page):
    page = strict_page
    staff = staff_user(username="wang")
    supervisor_user(username="zhao")
    administrator_user(username="admin1")
    customer = CustomerFactory(name="陈静", id_number="330102198001011248")
    LoanFactory(customer=customer, days=20)
    batch = batch_generate(as_of=timezone.localdate(), user=staff)
    feedback = feedback_record(user=staff, channel="phone", text="能分期吗", customer=customer)
    template = SmsTemplate.objects.get(stage=notice_stage(20))
    problems, console = [], []
    page.context.add_init_script(RECORD_VIOLATIONS)
    page.on("console", lambda m: console.append(m.text) if "Content Security Policy" in m.text else None)

    visit(page, "/admin/login/", problems)
    login(page, "zhao")
    for path in (
        "/admin/",
        "/admin/customers/customer/",
        f"/admin/customers/customer/{customer.pk}/change/",
        "/admin/customers/loan/",
        "/admin/customers/loanbookimport/",
        "/admin/customers/loanbookimport/import/",
        "/admin/notices/noticebatch/",
        f"/admin/notices/noticebatch/{batch.pk}/change/",
        "/admin/notices/smsmessage/",
        f"/admin/notices/smstemplate/{template.pk}/change/",
        "/admin/notices/feedback/",
        f"/admin/notices/feedback/{feedback.pk}/change/",
        "/admin/notices/repaymentplan/draft/",
        "/admin/core/auditevent/",
        "/account/two-factor/",
        "/admin/password_change/",
    ):
        visit(page, path, problems)
    # Scripts that act: the template editor previews through fetch, the filters open.
    page.goto(f"{page.base_url}/admin/notices/smstemplate/{template.pk}/change/")
    page.locator("textarea[name=body]").fill("{customer_name}您好，请尽快还款。客服{hotline}")
    page.locator("#sms-preview", has_text="00000").wait_for()  # fetched under connect-src
    problems.extend(page.evaluate("window.__csp"))
    page.goto(f"{page.base_url}/admin/customers/customer/{customer.pk}/change/")
    with page.expect_navigation():
        page.click("#reveal-personal-data")
    assert "330102198001011248" in page.locator("#revealed").inner_text()
    problems.extend(page.evaluate("window.__csp"))

    page.context.clear_cookies()
    login(page, "admin1")
    for path in (
        "/admin/auth/user/",
        f"/admin/auth/user/{staff.pk}/change/",
        "/admin/notices/contactpolicy/",
    ):
        visit(page, path, problems)
    assert problems == [] and console == [], problems + console
