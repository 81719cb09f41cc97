import datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from core.models import AuditEvent
from customers.models import Customer, LoanEvent, LoanStatus
from tests.factories import CustomerFactory, LoanFactory

pytestmark = pytest.mark.django_db

CUSTOMERS = "/admin/customers/customer/"
LOANS = "/admin/customers/loan/"


def listed(response) -> str:
    assert response.status_code == 200
    return response.content.decode()


@pytest.fixture
def book():
    zhang = CustomerFactory(
        customer_no="C0001", name="张三", mobile="+8613812345678", id_number="33010219800101123X"
    )
    li = CustomerFactory(customer_no="C0002", name="李四", mobile="+8613987654321")
    LoanFactory(loan_account="6200000000001111", customer=zhang, days=2)
    LoanFactory(loan_account="6200000000002222", customer=zhang, days=45, branch="宁波海曙支行")
    LoanFactory(loan_account="6200000000003333", customer=li, days=100, product="信用卡分期")
    return zhang, li


@pytest.mark.parametrize("term", ["13812345678", "+86 138-1234-5678", "C0001", "张", "6200000000002222"])
def test_staff_find_a_customer_by_mobile_number_name_or_loan(staff_client, book, term):
    body = listed(staff_client.get(CUSTOMERS, {"q": term}))
    assert "C0001" in body and "C0002" not in body


def test_customer_list_shows_masked_mobiles_to_staff_and_supervisors_alike(
    staff_client, client, supervisor, book
):
    body = listed(staff_client.get(CUSTOMERS, {"q": "138 1234 5678"}))
    assert "138****5678" in body and "13812345678" not in body
    client.force_login(supervisor)
    body = listed(client.get(CUSTOMERS))
    assert "138****5678" in body and "13812345678" not in body  # whole only when revealed


def test_customer_page_masks_id_and_lists_loans_with_days_overdue_today(staff_client, book):
    zhang, _ = book
    body = listed(staff_client.get(f"{CUSTOMERS}{zhang.pk}/change/"))
    assert "330102********123X" in body and "33010219800101123X" not in body
    assert "6200000000001111" in body and "6200000000002222" in body
    assert ">45<" in body.replace(" ", "").replace("\n", "")


def test_loans_filter_by_stage_status_branch_and_product(staff_client, book):
    body = listed(staff_client.get(LOANS, {"stage": "31-60"}))
    assert "6200000000002222" in body and "6200000000001111" not in body
    body = listed(staff_client.get(LOANS, {"stage": "91-"}))
    assert "6200000000003333" in body and "6200000000002222" not in body
    body = listed(staff_client.get(LOANS, {"branch": "宁波海曙支行"}))
    assert "6200000000002222" in body and "6200000000001111" not in body
    body = listed(staff_client.get(LOANS, {"product": "信用卡分期", "status__exact": "overdue"}))
    assert "6200000000003333" in body and "6200000000001111" not in body


def test_loans_search_by_customer_mobile(staff_client, book):
    body = listed(staff_client.get(LOANS, {"q": "13987654321"}))
    assert "6200000000003333" in body and "6200000000001111" not in body


def test_phone_problem_filter(staff_client, book):
    CustomerFactory(customer_no="C0003", mobile="", phone_problem="not_mobile")
    body = listed(staff_client.get(CUSTOMERS, {"phone_problem": "not_mobile"}))
    assert "C0003" in body and "C0001" not in body


def test_staff_set_do_not_contact_and_it_is_audited(staff_client, book):
    zhang, _ = book
    until = timezone.localdate() + datetime.timedelta(days=30)
    response = staff_client.post(
        f"{CUSTOMERS}{zhang.pk}/change/",
        {
            "do_not_contact": "on",
            "do_not_contact_reason": "客户住院",
            "do_not_contact_until": until.isoformat(),
            "loans-TOTAL_FORMS": "2",
            "loans-INITIAL_FORMS": "2",
            "loans-MIN_NUM_FORMS": "0",
            "loans-MAX_NUM_FORMS": "1000",
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    zhang.refresh_from_db()
    assert (
        zhang.do_not_contact
        and zhang.do_not_contact_reason == "客户住院"
        and zhang.do_not_contact_until == until
    )
    event = AuditEvent.objects.get(action="customer.contact_update")
    assert event.actor.username == "staff1" and event.object_id == str(zhang.pk)
    assert event.from_state == "contactable" and "客户住院" in event.to_state


def test_do_not_contact_without_a_reason_is_refused_with_a_message(staff_client, book):
    zhang, _ = book
    response = staff_client.post(
        f"{CUSTOMERS}{zhang.pk}/change/",
        {"do_not_contact": "on", "loans-TOTAL_FORMS": "0", "loans-INITIAL_FORMS": "0"},
    )
    assert response.status_code == 200
    assert "请填写" in response.content.decode()
    assert not Customer.objects.get(pk=zhang.pk).do_not_contact
    assert not AuditEvent.objects.exclude(action__startswith="auth.").exists()  # only the sign-in


def test_loans_are_read_only_for_staff(staff_client, book):
    assert staff_client.get(f"{LOANS}add/").status_code == 403
    loan = book[0].loans.first()
    assert 'name="_save"' not in listed(staff_client.get(f"{LOANS}{loan.pk}/change/"))


@pytest.mark.parametrize(
    "url", [CUSTOMERS, LOANS, "/admin/customers/loanevent/", "/admin/customers/loanbookimport/"]
)
def test_changelist_queries_do_not_grow_with_rows(admin_client, url):
    def count_queries():
        with CaptureQueriesContext(connection) as ctx:
            assert admin_client.get(url).status_code == 200
        return len(ctx)

    def add(n):
        for _ in range(n):
            loan = LoanFactory()
            LoanEvent.objects.create(loan=loan, kind="became_overdue", on_date=timezone.localdate())

    add(5)
    few = count_queries()
    add(45)
    assert count_queries() == few


@pytest.mark.parametrize(
    "url",
    [
        CUSTOMERS,
        f"{CUSTOMERS}?q=张",
        LOANS,
        f"{LOANS}?q=6200000000001111",
        "/admin/customers/loanevent/",
        "/admin/customers/loanbookimport/",
        "/admin/core/auditevent/",
    ],
)
def test_admin_smoke_as_superuser(admin_client, book, url):
    assert admin_client.get(url).status_code == 200


def test_loan_status_choice_labels_are_chinese(staff_client, book):
    assert "逾期" in listed(staff_client.get(LOANS))
    assert LoanStatus.OVERDUE.label
