"""Finding a customer by a whole ID number, or by the last four digits the masked pages
show (mobile 138****5678, ID 330102********123X, loan …1111), on every list that looks
customers up, with the results still masked; and, on PostgreSQL, through indexes."""

import re

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from notices.services.feedback import feedback_record
from tests.factories import CustomerFactory, LoanFactory

pytestmark = pytest.mark.django_db

LISTS = {
    "customers": "/admin/customers/customer/",
    "loans": "/admin/customers/loan/",
    "messages": "/admin/notices/smsmessage/",
    "feedback": "/admin/notices/feedback/",
}
WHOLE_MOBILE = re.compile(r"(?<!\d)1[3-9]\d{9}(?!\d)")
WHOLE_ID = re.compile(r"(?<![0-9A-Za-z])\d{17}[\dXx](?![0-9A-Za-z])")


@pytest.fixture
def book(staff):
    from notices.models import SmsMessage

    zhang = CustomerFactory(
        customer_no="C0001", name="张三", mobile="+8613812345678", id_number="33010219800101123x"
    )
    li = CustomerFactory(
        customer_no="C0002", name="李四", mobile="+8613987654321", id_number="330102198507074321"
    )
    wang = CustomerFactory(customer_no="C0003", name="王五", mobile="+8613700009999", id_number="")
    for customer, account in (
        (zhang, "6200000000001111"),
        (li, "6200000000002222"),
        (wang, "6200000000005678"),
    ):
        loan = LoanFactory(loan_account=account, customer=customer, days=10)
        SmsMessage.objects.create(
            customer=customer,
            loan=loan,
            phone=customer.mobile,
            body="【民丰银行】您好",
            idempotency_key=account,
        )
        feedback_record(user=staff, channel="phone", text="客户来电", customer=customer)
    return zhang, li, wang


@pytest.mark.parametrize(
    ("term", "found"),
    [
        ("33010219800101123X", {"C0001"}),  # a whole ID number, whatever the case of its X
        ("33010219800101123x", {"C0001"}),
        ("5678", {"C0001", "C0003"}),  # 张三's mobile …5678, 王五's loan …5678
        ("123X", {"C0001"}),  # the last four of an ID number, as the masked page shows it
        ("123x", {"C0001"}),
        ("4321", {"C0002"}),  # 李四's mobile and ID number both end in 4321
        ("2222", {"C0002"}),  # a loan account's last four
        ("9999", {"C0003"}),
        ("0000", set()),
    ],
)
@pytest.mark.parametrize("page", sorted(LISTS))
def test_staff_find_customers_by_id_number_or_last_four_digits_on_every_list(
    staff_client, book, page, term, found
):
    response = staff_client.get(LISTS[page], {"q": term})
    assert response.status_code == 200
    body = response.content.decode()
    results = body[body.index('id="result_list"') :] if found else body
    shown = {no for no in ("C0001", "C0002", "C0003") if no in results or _loan_of(no) in results}
    assert shown == found
    # What is found is shown masked: no whole number on the page but the one typed (which
    # the admin keeps in the search box and its links).
    assert set(WHOLE_MOBILE.findall(body) + WHOLE_ID.findall(body)) <= {term}


def _loan_of(customer_no: str) -> str:
    return {"C0001": "6200000000001111", "C0002": "6200000000002222", "C0003": "6200000000005678"}[
        customer_no
    ]


def test_the_search_box_says_what_it_finds(staff_client, book):
    body = staff_client.get(LISTS["customers"]).content.decode()
    assert "证件号码" in body and "后四位" in body


SEARCHES = ["33010219800101123X", "5678", "123X", "C0001", "张三", "13812345678", "6200000000001111"]


@pytest.mark.postgres
@pytest.mark.parametrize("page", sorted(LISTS))
def test_every_search_reads_customers_and_loans_through_indexes(staff_client, book, page):
    """Each statement the list sends is EXPLAINed with sequential scans priced out: if a
    predicate had no index to serve it (a suffix LIKE, an OR PostgreSQL cannot split), the
    plan would still read the whole table. bench/scale.py checks the same on a bank-sized
    book (700,000 customers, 1,000,000 loans), where the planner chooses for itself."""
    if connection.vendor != "postgresql":
        pytest.skip("the query plans are PostgreSQL's")
    for term in SEARCHES:
        with CaptureQueriesContext(connection) as captured:
            assert staff_client.get(LISTS[page], {"q": term}).status_code == 200
        statements = [
            q["sql"] for q in captured.captured_queries if q["sql"].lstrip().upper().startswith("SELECT")
        ]
        touching = [sql for sql in statements if re.search(r'"customers_(customer|loan)"', sql)]
        assert touching, term
        for sql in touching:
            with transaction.atomic(), connection.cursor() as cursor:
                cursor.execute("SET LOCAL enable_seqscan = off")
                cursor.execute(f"EXPLAIN {sql}")
                plan = "\n".join(row[0] for row in cursor.fetchall())
            assert not re.search(r"Seq Scan on customers_(customer|loan)\b", plan), f"{term}: {sql}\n{plan}"


def test_a_customer_without_an_id_number_is_not_found_by_an_empty_tail(staff_client, book):
    body = staff_client.get(LISTS["customers"], {"q": "   "}).content.decode()
    assert all(no in body for no in ("C0001", "C0002", "C0003"))  # an empty search lists everyone
    assert timezone.now()  # (the fixture's book is unchanged)
