import datetime

import pytest
from django.db import IntegrityError

from customers.models import Customer, Loan, LoanStatus
from tests.factories import CustomerFactory, LoanFactory


@pytest.mark.django_db
def test_days_overdue_is_derived_from_the_date_asked():
    loan = LoanFactory(overdue_since=datetime.date(2026, 11, 1))
    assert loan.days_overdue_on(datetime.date(2026, 11, 1)) == 0
    assert loan.days_overdue_on(datetime.date(2026, 11, 2)) == 1
    assert loan.days_overdue_on(datetime.date(2026, 12, 1)) == 30
    loan.status, loan.overdue_since = LoanStatus.CURRENT, None
    assert loan.days_overdue_on(datetime.date(2026, 12, 1)) == 0


@pytest.mark.parametrize(
    ("id_number", "name", "expected"),
    [
        ("33010219800101123X", "王小明", "王先生"),  # 17th digit 3: odd, a man
        ("330102198001011248", "李丽", "李女士"),  # 17th digit 4: even, a woman
        ("", "赵敏", "赵敏"),
        ("1234", "钱多", "钱多"),
    ],
)
def test_honorific_name_follows_the_id_number(id_number, name, expected):
    assert Customer(name=name, id_number=id_number).honorific_name == expected


def test_loan_tail_is_the_last_four_digits():
    assert Loan(loan_account="6228480012345678").loan_tail == "5678"


@pytest.mark.django_db
def test_an_overdue_loan_must_have_a_date_and_no_negative_amounts():
    customer = CustomerFactory()
    with pytest.raises(IntegrityError):
        Loan.objects.create(
            loan_account="X1", customer=customer, status=LoanStatus.OVERDUE, overdue_since=None
        )


@pytest.mark.django_db
def test_negative_amounts_are_refused_by_the_database():
    customer = CustomerFactory()
    with pytest.raises(IntegrityError):
        Loan.objects.create(loan_account="X2", customer=customer, overdue_amount=-1)


@pytest.mark.django_db
def test_do_not_contact_lapses_after_its_end_date():
    customer = CustomerFactory(
        do_not_contact=True, do_not_contact_reason="x", do_not_contact_until=datetime.date(2026, 12, 1)
    )
    assert customer.do_not_contact_on(datetime.date(2026, 12, 1))
    assert not customer.do_not_contact_on(datetime.date(2026, 12, 2))
