import pytest

from core.models import AuditEvent
from tests.e2e.conftest import login
from tests.factories import CustomerFactory, LoanFactory, staff_user, supervisor_user

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_staff_find_a_customer_by_mobile_and_see_it_masked_supervisor_reveals_it_whole(page):
    staff_user(username="wang")
    supervisor_user(username="zhao")
    customer = CustomerFactory(name="陈静", customer_no="C7001", mobile="+8613812345678")
    LoanFactory(customer=customer, days=12)

    page.goto(f"{page.base_url}/admin/login/")
    assert "登录" in page.content()  # the login page speaks Chinese
    login(page, "wang")
    page.goto(f"{page.base_url}/admin/customers/customer/")
    page.fill("input[name=q]", "138 1234 5678")
    page.keyboard.press("Enter")
    page.wait_for_load_state("networkidle")
    row = page.locator("#result_list tbody tr")
    assert row.count() == 1
    assert "陈静" in row.inner_text() and "138****5678" in row.inner_text()
    assert "13812345678" not in page.locator("#result_list").inner_html()

    page.context.clear_cookies()
    login(page, "zhao")
    page.goto(f"{page.base_url}/admin/customers/customer/?q=C7001")
    assert "138****5678" in page.locator("#result_list").inner_text()
    assert "13812345678" not in page.content()
    page.goto(f"{page.base_url}/admin/customers/customer/{customer.pk}/change/")
    assert "13812345678" not in page.content()
    with page.expect_navigation():
        page.click("#reveal-personal-data")
    assert "13812345678" in page.locator("#revealed").inner_text()
    assert AuditEvent.objects.filter(action="customer.reveal", actor_label="zhao").count() == 1
