"""core.bulk: many rows in one statement, on SQLite and PostgreSQL alike."""

import datetime
from decimal import Decimal

import pytest

from core.bulk import BulkInsert, BulkUpdate, fetch_in
from customers.models import Customer, Loan, LoanStatus
from tests.factories import CustomerFactory

pytestmark = pytest.mark.django_db


def test_insert_fills_unnamed_columns_with_defaults_and_fixed_values():
    customer = CustomerFactory()
    BulkInsert(
        Loan, ("loan_account", "customer_id", "overdue_amount"), as_of=datetime.date(2026, 11, 28)
    ).write([("L1", customer.pk, Decimal("12.34")), ("L2", customer.pk, Decimal("0.00"))])
    loans = {x.loan_account: x for x in Loan.objects.all()}
    assert loans["L1"].overdue_amount == Decimal("12.34") and loans["L1"].status == LoanStatus.CURRENT
    assert loans["L2"].as_of == datetime.date(2026, 11, 28) and loans["L2"].created_at is not None


def test_update_sets_each_rows_values_and_the_fixed_ones():
    a, b = CustomerFactory(name="甲"), CustomerFactory(name="乙")
    before = Customer.objects.get(pk=a.pk).updated_at
    BulkUpdate(Customer, ("name",), touch=True, mobile_raw="x").write([("丙", a.pk), ("丁", b.pk)])
    rows = dict(Customer.objects.values_list("pk", "name"))
    assert rows == {a.pk: "丙", b.pk: "丁"}
    assert set(Customer.objects.values_list("mobile_raw", flat=True)) == {"x"}
    assert Customer.objects.get(pk=a.pk).updated_at >= before


def test_fetch_in_converts_values_as_the_orm_does_and_chunks_long_lists():
    customer = CustomerFactory()
    Loan.objects.create(
        loan_account="L1",
        customer=customer,
        overdue_amount=Decimal("1234.56"),
        overdue_since=datetime.date(2026, 11, 1),
        status=LoanStatus.OVERDUE,
    )
    keys = ["L1", *[f"none-{i}" for i in range(2500)]]
    found = fetch_in(
        Loan, ("loan_account", "overdue_amount", "overdue_since"), key="loan_account", values=keys
    )
    assert found == [("L1", Decimal("1234.56"), datetime.date(2026, 11, 1))]
    assert fetch_in(Loan, ("id",), key="loan_account", values=[]) == []
