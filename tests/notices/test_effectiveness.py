import datetime
from decimal import Decimal

import pytest

from customers.models import LoanEvent, LoanEventKind, LoanStatus
from notices.effectiveness import cure_rates, roll_rates, two_proportion_z, wilson_interval
from notices.models import MessageStatus, NoticeBatch, NotifiedLoan, SmsMessage
from tests.factories import LoanFactory, notice_stage

TODAY = datetime.date(2026, 11, 28)


def test_wilson_interval_known_values():
    low, high = wilson_interval(8, 10)
    assert (round(low, 3), round(high, 3)) == (0.490, 0.943)
    low, high = wilson_interval(0, 20)
    assert low == 0.0 and round(high, 3) == 0.161
    assert wilson_interval(0, 0) == (0.0, 0.0)


def test_two_proportion_z_known_value():
    assert round(two_proportion_z(40, 100, 20, 100), 3) == 3.086
    assert two_proportion_z(0, 0, 1, 10) is None


_keys = iter(range(10**6))


def notify(loan, *, on, variant="A", days=5, status=MessageStatus.DELIVERED):
    batch, _ = NoticeBatch.objects.get_or_create(as_of=on)
    stage = notice_stage(days)
    message = SmsMessage.objects.create(
        batch=batch, customer=loan.customer, loan=loan, stage=stage, variant=variant, phone=loan.customer.mobile,
        body="x", status=status, idempotency_key=f"e-{next(_keys)}",
    )  # fmt: skip
    NotifiedLoan.objects.create(
        message=message, loan=loan, stage=stage, as_of=on, days_overdue=days, overdue_amount=Decimal("100")
    )


def cure(loan, on):
    LoanEvent.objects.create(
        loan=loan, kind=LoanEventKind.CURED, on_date=on, overdue_amount_before=Decimal("100")
    )


@pytest.mark.django_db
def test_cure_rates_by_stage_and_variant_within_7_and_30_days():
    noticed = TODAY - datetime.timedelta(days=40)
    loans = [LoanFactory(overdue_since=noticed - datetime.timedelta(days=5)) for _ in range(10)]
    for i, loan in enumerate(loans):
        notify(loan, on=noticed, variant="A")
        notify(loan, on=noticed + datetime.timedelta(days=1), variant="A", days=6)  # a repeat: counted once
        if i < 3:
            cure(loan, noticed + datetime.timedelta(days=5))  # within 7
        elif i < 6:
            cure(loan, noticed + datetime.timedelta(days=20))  # within 30
    recent = LoanFactory()
    notify(
        recent, on=TODAY - datetime.timedelta(days=3), variant="A"
    )  # its 7 days have not passed: not counted
    [row] = cure_rates(today=TODAY)
    assert row.stage == notice_stage(5) and row.variant == "A" and row.champion
    assert (row.windows[7].cured, row.windows[7].total) == (3, 10)
    assert (row.windows[30].cured, row.windows[30].total) == (6, 10)
    assert row.windows[7].percent == 30.0
    assert row.windows[7].interval_percent == (10.8, 60.3)


@pytest.mark.django_db
def test_challenger_verdicts():
    noticed = TODAY - datetime.timedelta(days=35)
    for variant, n, cured in (("A", 100, 20), ("B", 100, 40), ("C", 10, 9)):
        for i in range(n):
            loan = LoanFactory()
            notify(loan, on=noticed, variant=variant)
            if i < cured:
                cure(loan, noticed + datetime.timedelta(days=10))
    rows = {row.variant: row for row in cure_rates(today=TODAY)}
    assert rows["A"].champion
    assert "better" in rows["B"].verdict or "优于" in rows["B"].verdict
    assert round(rows["B"].z, 2) == 3.09
    assert rows["C"].z is None and ("not enough" in rows["C"].verdict or "数据不足" in rows["C"].verdict)


@pytest.mark.django_db
def test_roll_rates_count_the_month_of_entry():
    # Three loans entered stage 1–3 (day 1) in the month of TODAY; one rolled to day 4, one
    # was cured on day 2, one is still on day 2 (pending).
    month = TODAY.replace(day=1)
    rolled = LoanFactory(
        overdue_since=month + datetime.timedelta(days=1)
    )  # day 1 on the 3rd, day 4 on the 6th
    cured_first = LoanFactory(overdue_since=month + datetime.timedelta(days=1))
    pending = LoanFactory(overdue_since=TODAY - datetime.timedelta(days=2))
    notify(cured_first, on=month + datetime.timedelta(days=2), days=1)
    cure(cured_first, month + datetime.timedelta(days=3))
    cured_first.status, cured_first.overdue_since = LoanStatus.CURRENT, None
    cured_first.save()
    table = roll_rates(months=1, today=TODAY)
    (first_stage, second_stage), *_rest = table["stages"]
    assert (first_stage.min_days, second_stage.min_days) == (1, 4)
    [(row_month, cells)] = table["rows"]
    cell = cells[0]
    assert row_month == month
    assert (cell.entered, cell.rolled, cell.cured, cell.pending) == (3, 1, 1, 1)
    assert cell.percent == 50.0
    assert rolled and pending


@pytest.mark.django_db
def test_roll_rates_cover_the_months_asked():
    table = roll_rates(months=6, today=datetime.date(2026, 11, 28))
    assert [month for month, _cells in table["rows"]] == [datetime.date(2026, m, 1) for m in range(6, 12)]
    table = roll_rates(months=3, today=datetime.date(2027, 1, 5))
    assert [month for month, _cells in table["rows"]] == [
        datetime.date(2026, 11, 1),
        datetime.date(2026, 12, 1),
        datetime.date(2027, 1, 1),
    ]


@pytest.mark.django_db
def test_a_loan_cured_before_any_notice_counts_in_the_roll_rates():
    month = TODAY.replace(day=1)
    loan = LoanFactory(status=LoanStatus.CURRENT, overdue_since=None, overdue_amount=Decimal("0"))
    LoanEvent.objects.create(
        loan=loan,
        kind=LoanEventKind.CURED,
        on_date=month + datetime.timedelta(days=3),
        overdue_since=month + datetime.timedelta(days=1),
    )
    cell = roll_rates(months=1, today=TODAY)["rows"][0][1][0]
    assert (cell.entered, cell.cured, cell.rolled) == (1, 1, 0)
