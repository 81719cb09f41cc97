"""The pages staff look at all day, laid out as they should be: measured in Chromium, and
screenshotted (SCREENSHOTS_DIR=… keeps the pictures to look at)."""

import pytest
from django.core.management import call_command
from django.utils import timezone

from core.models import AuditEvent
from customers.models import Customer, ImportStatus, LoanBookImport
from tests.e2e.conftest import login, screenshot

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]
LONG_NAME = "民丰银行_个人贷款逾期台账_全量快照_2026年12月01日_总行风险管理部_第二次修订版_含已结清.xlsx"


@pytest.fixture
def demo(monkeypatch):
    monkeypatch.setenv("DEMO_PASSWORD", "demo-pass-123")
    call_command("seed_demo")
    return "demo-pass-123"


def lines_of_text(page, selector: str) -> float:
    """The most lines the text of any matching element takes (its height over its line height)."""
    return page.evaluate(
        """(selector) => Math.max(...[...document.querySelectorAll(selector)].map((el) => {
            const range = document.createRange();
            range.selectNodeContents(el);
            const style = getComputedStyle(el);
            const line = parseFloat(style.lineHeight) || parseFloat(style.fontSize) * 1.5;
            return range.getBoundingClientRect().height / line;
        }))""",
        selector,
    )


def test_the_audit_log_time_fits_on_one_line(page, demo, tmp_path):
    login(page, "admin", demo)
    page.goto(f"{page.base_url}/admin/core/auditevent/")
    screenshot(page, "audit-log", tmp_path)
    assert AuditEvent.objects.exists()
    assert lines_of_text(page, "#result_list td.field-created_at, #result_list th.field-created_at") < 1.5
    assert page.evaluate(  # nothing runs out of the card on the right
        "document.querySelector('#result_list').getBoundingClientRect().right"
        " <= document.querySelector('#result_list').closest('.card').getBoundingClientRect().right + 1"
    )


def test_a_long_file_name_stays_inside_the_breadcrumb(page, demo, tmp_path):
    imported = LoanBookImport.objects.create(
        file_name=LONG_NAME,
        sha256="1" * 64,
        as_of=timezone.localdate(),
        status=ImportStatus.DONE,
        total_rows=10,
    )
    login(page, "staff", demo)
    page.goto(f"{page.base_url}/admin/customers/loanbookimport/{imported.pk}/result/")
    screenshot(page, "import-result-long-name", tmp_path)
    crumbs = page.evaluate(
        """() => [...document.querySelectorAll('.breadcrumb-item')].map((el) => {
            const b = el.getBoundingClientRect(); return {left: b.left, right: b.right, top: b.top}; })"""
    )
    assert len({c["top"] for c in crumbs}) == 1  # one line
    assert all(a["right"] <= b["left"] + 1 for a, b in zip(crumbs, crumbs[1:], strict=False))  # none overlaps
    assert crumbs[-1]["right"] <= page.evaluate("innerWidth")
    assert page.locator(".breadcrumb-item.active").get_attribute("title") and LONG_NAME in page.content()


def test_the_user_name_in_the_side_menu_is_readable(page, demo, tmp_path):
    login(page, "supervisor", demo)
    page.goto(f"{page.base_url}/admin/")
    screenshot(page, "dashboard-side-menu", tmp_path)
    contrast = page.evaluate(
        """() => {
            const name = document.querySelector('#jazzy-sidebar .user-panel .info');
            const rgb = (c) => c.match(/[\\d.]+/g).slice(0, 3).map(Number).map((v) => {
                v /= 255; return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4); });
            const lum = (c) => { const [r, g, b] = rgb(c); return 0.2126 * r + 0.7152 * g + 0.0722 * b; };
            let el = name, bg = 'rgba(0, 0, 0, 0)';
            while (el && (bg === 'rgba(0, 0, 0, 0)' || bg === 'transparent')) { bg = getComputedStyle(el).backgroundColor; el = el.parentElement; }
            const fg = getComputedStyle(name.querySelector('a, span, div') || name).color;
            const [a, b] = [lum(fg), lum(bg)].sort((x, y) => y - x);
            return {ratio: (a + 0.05) / (b + 0.05), fg, bg, text: name.innerText.trim()};
        }"""
    )
    assert contrast["text"] == "supervisor" and contrast["ratio"] >= 4.5, contrast


def test_the_timeline_is_no_wider_than_the_customer_form(page, demo, tmp_path):
    login(page, "staff", demo)
    customer = Customer.objects.filter(sms_messages__isnull=False, feedback__isnull=False).first()
    page.goto(f"{page.base_url}/admin/customers/customer/{customer.pk}/change/")
    screenshot(page, "customer-timeline", tmp_path)
    widths = page.evaluate(
        """() => ({timeline: document.querySelector('#customer-timeline').getBoundingClientRect().right,
                  form: document.querySelector('#customer_form .card, #customer_form fieldset, #content-main .card').getBoundingClientRect().right,
                  page: document.documentElement.scrollWidth, view: innerWidth})"""
    )
    assert widths["timeline"] <= widths["form"] + 1 and widths["page"] <= widths["view"], widths
    # The customer's loans: the last column, the status, inside the form and readable.
    status = page.evaluate(
        """() => [...document.querySelectorAll('#loans-group td.field-status')].map((el) => {
            const cell = el.getBoundingClientRect(), box = el.closest('.card').getBoundingClientRect();
            return {inside: cell.right <= box.right + 1, text: el.innerText.trim()}; })"""
    )
    assert status and all(s["inside"] and s["text"] for s in status), status


@pytest.mark.parametrize("width", [1400, 1100])
def test_the_loan_lists_status_is_not_clipped(page, demo, tmp_path, width):
    page.set_viewport_size({"width": width, "height": 900})
    login(page, "staff", demo)
    page.goto(f"{page.base_url}/admin/customers/loan/")
    screenshot(page, f"loan-list-{width}", tmp_path)
    clipped = page.evaluate(
        """() => [...document.querySelectorAll('#result_list td.field-status, #result_list th.column-status')]
                 .filter((el) => el.scrollWidth > el.clientWidth + 1 || el.getBoundingClientRect().right > innerWidth)
                 .map((el) => el.innerText)"""
    )
    assert clipped == []
    assert page.evaluate("document.documentElement.scrollWidth <= innerWidth")
