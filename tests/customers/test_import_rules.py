"""The loan-book rules, through the import service, on small files built here."""

import datetime
import io
from decimal import Decimal

import pytest
from django.utils import translation

from core.models import AuditEvent
from customers.importing.xlsx import BookRefused
from customers.models import (
    Customer,
    ImportStatus,
    Loan,
    LoanBookImport,
    LoanBookImportError,
    LoanEvent,
    LoanStatus,
    PhoneProblem,
)
from customers.services.loan_import import loan_book_import
from customers.services.loan_writer import ChunkWriter
from tests.customers.xlsx import AS_OF, HEADERS, book, loan
from tests.factories import CustomerFactory, LoanFactory

pytestmark = pytest.mark.django_db


def run(rows, *, mode="incremental", as_of=AS_OF, user=None, **kwargs):
    options = {k: kwargs.pop(k) for k in ("dry_run", "strict", "chunk_rows", "force") if k in kwargs}
    data = book(rows, **kwargs)
    result = loan_book_import(path_or_file=io.BytesIO(data), as_of=as_of, mode=mode, user=user, **options)
    result.close()
    return result


def errors_of(result) -> list[tuple[int, str, str, str]]:
    return [(e.row, e.column, e.value, e.message) for e in result.error_rows]


# --- spellings --------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "spelling",
    [1234.56, "1234.56", "1,234.56", "¥1,234.56", "￥1,234.56", "1234.56元", " 1,234.56 ", "RMB 1,234.56"],
)
def test_every_amount_spelling(spelling):
    result = run([loan(loan_account="62001", overdue_amount=spelling)])
    assert result.errors == 0
    assert Loan.objects.get(loan_account="62001").overdue_amount == Decimal("1234.56")


def test_amount_as_an_excel_float_is_rounded_to_cents():
    run([loan(loan_account="62001", overdue_amount=0.1 + 0.2, overdue_principal=1234, penalty="12345.6元")])
    loan_row = Loan.objects.get(loan_account="62001")
    assert loan_row.overdue_amount == Decimal("0.30")
    assert loan_row.overdue_principal == Decimal("1234.00") and loan_row.overdue_penalty == Decimal(
        "12345.60"
    )


@pytest.mark.parametrize(
    "spelling",
    [
        datetime.date(2026, 11, 1),
        "2026-11-01",
        "2026/11/01",
        "20261101",
        "2026年11月1日",
        "2026-11-01 00:00:00",
        20261101,
    ],
)
def test_every_date_spelling(spelling):
    result = run([loan(loan_account="62001", overdue_since=spelling)])
    assert result.errors == 0
    loan_row = Loan.objects.get(loan_account="62001")
    assert loan_row.overdue_since == datetime.date(2026, 11, 1)
    assert loan_row.days_overdue_on(AS_OF) == 27


@pytest.mark.parametrize(
    "spelling",
    [
        "+86 138 1234 5678",
        "0086-138-1234-5678",
        "138-1234-5678",
        "13812345678",
        13812345678,
        "86 13812345678",
    ],
)
def test_every_phone_spelling(spelling):
    run([loan(customer_no="C1", mobile=spelling)])
    customer = Customer.objects.get(customer_no="C1")
    assert customer.mobile == "+8613812345678" and customer.phone_problem == ""
    assert customer.mobile_raw == str(spelling).strip()


@pytest.mark.parametrize(
    ("raw", "problem"),
    [
        (None, PhoneProblem.MISSING),
        ("0571-87654321", PhoneProblem.NOT_MOBILE),
        ("12345", PhoneProblem.INVALID),
    ],
)
def test_a_phone_problem_is_not_a_row_error(raw, problem):
    result = run([loan(customer_no="C1", loan_account="62001", mobile=raw)])
    assert result.errors == 0 and result.created == 1
    customer = Customer.objects.get(customer_no="C1")
    assert customer.phone_problem == problem and customer.mobile == ""
    assert Loan.objects.get(loan_account="62001").customer == customer
    assert result.phone_problems == {problem: 1}


def test_days_overdue_gives_the_first_overdue_date_and_the_total_is_the_sum_of_its_parts():
    run(
        [
            loan(
                loan_account="62001",
                overdue_since=None,
                days_overdue=5,
                overdue_amount=None,
                overdue_principal="1,000.00",
                overdue_interest=200,
                penalty=None,
            )
        ]
    )
    loan_row = Loan.objects.get(loan_account="62001")
    assert loan_row.overdue_since == AS_OF - datetime.timedelta(days=5)
    assert loan_row.overdue_amount == Decimal("1200.00") and loan_row.status == LoanStatus.OVERDUE


def test_english_headers_in_any_case_and_spacing_units_and_unknown_columns():
    headers = {
        "customer_no": "Customer ID",
        "customer_name": " NAME ",
        "mobile": "Phone",
        "loan_account": "loan_no",
        "overdue_amount": "Overdue_Amount",
        "overdue_since": "overdue since",
        "product": "备注",  # an unknown column: ignored
        "branch": "机构",
    }
    run([loan(loan_account="62001", product="随便写", branch="宁波海曙支行")], headers=headers)
    loan_row = Loan.objects.get(loan_account="62001")
    assert loan_row.overdue_amount == Decimal("1234.56") and loan_row.branch == "宁波海曙支行"
    assert loan_row.product == ""
    units = {**HEADERS, "overdue_amount": "逾期金额（元）", "customer_no": "客户号*"}
    run([loan(loan_account="62002")], headers=units)
    assert Loan.objects.filter(loan_account="62002").exists()


def test_blank_rows_are_skipped_and_a_title_line_is_fine():
    result = run([loan(), loan()], before=[["民丰银行 逾期贷款清单"]], blank_rows_after=(0,))
    assert result.rows == 2 and result.errors == 0 and Loan.objects.count() == 2


def test_shared_strings_as_excel_writes_them():
    result = run([loan(loan_account="62001", customer_name="王五")], shared_strings=True)
    assert result.created == 1 and Customer.objects.get().name == "王五"


# --- rejected rows --------------------------------------------------------------------------------
def test_each_rule_rejects_its_row_with_row_column_value_and_a_chinese_message():
    rows = [
        loan(loan_account=None),  # row 2
        loan(customer_no=""),  # row 3
        loan(overdue_amount="一千元"),  # row 4
        loan(overdue_amount=-5),  # row 5
        loan(overdue_since="2026-02-30"),  # row 6
        loan(overdue_since=None, days_overdue=None),  # row 7
        loan(overdue_since="2026-12-01"),  # row 8
        loan(loan_account="62009"),  # row 9
        loan(loan_account="62009"),  # row 10: a duplicate
        loan(customer_no="C77", customer_name="赵六"),  # row 11
        loan(customer_no="C77", customer_name="赵七"),  # row 12: another name
    ]
    result = run(rows)
    assert result.rows == 11 and result.errors == 9 and result.created == 2
    assert errors_of(result) == [
        (2, "贷款账号", "", "贷款账号为空。"),
        (3, "客户号", "", "客户号为空。"),
        (4, "逾期金额", "一千元", "不是金额。"),
        (5, "逾期金额", "-5", "金额为负数。"),
        (6, "首次逾期日期", "2026-02-30", "日期不存在。"),
        (7, "首次逾期日期", "", "有逾期金额，但没有首次逾期日期或逾期天数。"),
        (8, "首次逾期日期", "2026-12-01", "首次逾期日期晚于数据日期（2026-11-28）。"),
        (10, "贷款账号", "62009", "该贷款账号已在第 9 行出现。"),
        (12, "客户姓名", "赵七", "客户号 C77 在前面的行中姓名为“赵六”。"),
    ]
    assert sorted(Loan.objects.values_list("loan_account", flat=True)) == sorted(
        ["62009", rows[9]["loan_account"]]
    )


def test_row_messages_follow_the_language():
    with translation.override("en"):
        result = run([loan(overdue_amount="abc")])
    assert result.error_rows[0].message == "Not an amount."


def test_rejected_rows_are_stored_with_the_row_as_it_was():
    result = run([loan(loan_account="62001", overdue_amount="abc", mobile="13812345678")])
    stored = LoanBookImportError.objects.get(loan_import=result.loan_import)
    assert (stored.row, stored.column, stored.value) == (2, "逾期金额", "abc")
    assert stored.raw[4] == "62001" and stored.raw[10] == "abc" and stored.raw[3] == "13812345678"


# --- changes and events ------------------------------------------------------------------------------
def test_a_new_book_creates_customers_loans_and_became_overdue_events(supervisor):
    result = run(
        [loan(customer_no="C1", loan_account="62001"), loan(customer_no="C1", loan_account="62002")],
        user=supervisor,
    )
    assert (result.created, result.updated, result.unchanged) == (2, 0, 0)
    assert Customer.objects.count() == 1
    events = LoanEvent.objects.filter(loan_import=result.loan_import)
    assert sorted(events.values_list("kind", flat=True)) == ["became_overdue", "became_overdue"]
    assert {e.on_date for e in events} == {AS_OF}
    loan_import = result.loan_import
    assert loan_import.status == ImportStatus.DONE and loan_import.created_by == supervisor
    assert loan_import.created_count == 2 and loan_import.total_rows == 2
    audit = AuditEvent.objects.get(action="loan_import.apply")
    assert audit.actor == supervisor and audit.object_id == str(loan_import.pk) and "created=2" in audit.note


def test_reimporting_the_same_file_changes_nothing():
    rows = [loan(customer_no="C1"), loan(customer_no="C2", mobile="0571-87654321"), loan(overdue_amount=0)]
    data = book(rows)
    first = loan_book_import(path_or_file=io.BytesIO(data), as_of=AS_OF, mode="snapshot", user=None)
    before = {
        "loans": list(Loan.objects.order_by("pk").values()),
        "customers": list(Customer.objects.order_by("pk").values()),
        "events": LoanEvent.objects.count(),
    }
    again = loan_book_import(path_or_file=io.BytesIO(data), as_of=AS_OF, mode="snapshot", user=None)
    assert (first.created, again.created, again.updated, again.unchanged, again.cured) == (3, 0, 0, 3, 0)
    assert list(Loan.objects.order_by("pk").values()) == before["loans"]
    assert list(Customer.objects.order_by("pk").values()) == before["customers"]
    assert LoanEvent.objects.count() == before["events"]


def test_amount_changed_and_cured_by_the_file_are_events():
    run([loan(loan_account="62001"), loan(loan_account="62002")])
    result = run(
        [loan(loan_account="62001", overdue_amount="2,000.00"), loan(loan_account="62002", overdue_amount=0)],
        as_of=AS_OF + datetime.timedelta(days=1),
    )
    assert (result.created, result.updated) == (0, 2)
    changed, cured = Loan.objects.get(loan_account="62001"), Loan.objects.get(loan_account="62002")
    assert changed.overdue_amount == Decimal("2000.00") and changed.status == LoanStatus.OVERDUE
    assert cured.status == LoanStatus.CURRENT and cured.overdue_since is None and cured.overdue_amount == 0
    kinds = dict(
        LoanEvent.objects.filter(loan_import=result.loan_import).values_list("loan__loan_account", "kind")
    )
    assert kinds == {"62001": "amount_changed", "62002": "cured"}
    event = LoanEvent.objects.get(loan__loan_account="62001", kind="amount_changed")
    assert (event.overdue_amount_before, event.overdue_amount_after) == (
        Decimal("1234.56"),
        Decimal("2000.00"),
    )


def test_incremental_leaves_missing_loans_alone_snapshot_cures_them():
    kept = LoanFactory(loan_account="6299", days=20)
    in_plan = LoanFactory(loan_account="6298", days=30, status=LoanStatus.IN_PLAN)
    run([loan(loan_account="62001")])
    assert Loan.objects.get(pk=kept.pk).status == LoanStatus.OVERDUE
    preview = run([loan(loan_account="62001")], mode="snapshot", dry_run=True)
    assert preview.cured == 1 and preview.cured_sample[0]["loan_account"] == "6299"
    assert Loan.objects.get(pk=kept.pk).status == LoanStatus.OVERDUE  # a dry run writes nothing
    # Curing the whole (one-loan) overdue book is over the safety limit: forced here,
    # refused unforced (test_snapshot_safety.py).
    result = run([loan(loan_account="62001")], mode="snapshot", force=True)
    assert result.cured == 1 and result.loan_import.cured_count == 1
    cured = Loan.objects.get(pk=kept.pk)
    assert cured.status == LoanStatus.CURRENT and cured.overdue_since is None and cured.overdue_amount == 0
    event = LoanEvent.objects.get(loan=cured, kind="cured")
    assert event.on_date == AS_OF and event.overdue_amount_before == Decimal("1234.56")
    assert Loan.objects.get(pk=in_plan.pk).status == LoanStatus.IN_PLAN  # plans decide those


def test_snapshot_does_not_cure_a_loan_whose_row_was_rejected():
    LoanFactory(loan_account="6299", days=20)
    result = run(
        [loan(loan_account="62001"), loan(loan_account="6299", overdue_amount="abc")], mode="snapshot"
    )
    assert result.errors == 1 and result.cured == 0
    assert Loan.objects.get(loan_account="6299").status == LoanStatus.OVERDUE


def test_a_loan_in_a_repayment_plan_keeps_its_status():
    LoanFactory(loan_account="62001", status=LoanStatus.IN_PLAN, days=40)
    run([loan(loan_account="62001", overdue_amount=99)])
    assert Loan.objects.get(loan_account="62001").status == LoanStatus.IN_PLAN


# --- shared mobiles ------------------------------------------------------------------------------
def test_a_mobile_shared_by_two_customers_in_the_file_marks_both():
    run([loan(customer_no="C1", mobile="13912345678"), loan(customer_no="C2", mobile="+86 139 1234 5678")])
    problems = dict(Customer.objects.values_list("customer_no", "phone_problem"))
    assert problems == {"C1": PhoneProblem.SHARED, "C2": PhoneProblem.SHARED}
    assert set(Customer.objects.values_list("mobile", flat=True)) == {"+8613912345678"}


def test_shared_mobiles_count_customers_already_in_the_database_and_clear_when_no_longer_shared():
    CustomerFactory(customer_no="C0", mobile="+8613912345678", phone_problem="")
    run([loan(customer_no="C1", mobile="13912345678")])
    assert Customer.objects.get(customer_no="C0").phone_problem == PhoneProblem.SHARED
    assert Customer.objects.get(customer_no="C1").phone_problem == PhoneProblem.SHARED
    run([loan(customer_no="C1", mobile="13700001111")], as_of=AS_OF + datetime.timedelta(days=1))
    assert Customer.objects.get(customer_no="C0").phone_problem == ""
    assert Customer.objects.get(customer_no="C1").phone_problem == ""


def test_a_wrong_number_report_sticks_to_the_number():
    CustomerFactory(customer_no="C1", mobile="+8613812345678", phone_problem=PhoneProblem.WRONG_NUMBER)
    run([loan(customer_no="C1", mobile="13812345678")])
    assert Customer.objects.get(customer_no="C1").phone_problem == PhoneProblem.WRONG_NUMBER
    run([loan(customer_no="C1", mobile="13812340000")])
    assert Customer.objects.get(customer_no="C1").phone_problem == ""


# --- all or nothing --------------------------------------------------------------------------------
def test_strict_applies_nothing_when_a_row_is_rejected():
    result = run([loan(loan_account="62001"), loan(loan_account="62002", overdue_amount="x")], strict=True)
    assert not result.applied and result.errors == 1
    assert not Loan.objects.exists() and not Customer.objects.exists()
    loan_import = LoanBookImport.objects.get()
    assert loan_import.status == ImportStatus.FAILED and loan_import.row_errors.count() == 1
    assert not AuditEvent.objects.filter(action="loan_import.apply").exists()


def test_a_dry_run_writes_nothing():
    result = run([loan(), loan(overdue_amount="x")], dry_run=True)
    assert (result.created, result.errors) == (1, 1)
    assert (
        not Loan.objects.exists() and not LoanBookImport.objects.exists() and not AuditEvent.objects.exists()
    )


def test_a_crash_midway_leaves_the_database_as_before(monkeypatch):
    LoanFactory(loan_account="62000", days=3)
    before = list(Loan.objects.values())
    calls = {"n": 0}
    real = ChunkWriter.process

    def crash_on_second_chunk(self, rows):
        calls["n"] += 1
        if calls["n"] == 2:
            raise RuntimeError("disk full")
        return real(self, rows)

    monkeypatch.setattr(ChunkWriter, "process", crash_on_second_chunk)
    with pytest.raises(RuntimeError):
        run([loan(loan_account="62000", overdue_amount=1), loan(), loan(), loan()], chunk_rows=2)
    assert calls["n"] == 2
    assert list(Loan.objects.values()) == before and Customer.objects.count() == 1
    assert not LoanEvent.objects.exists()
    loan_import = LoanBookImport.objects.get()
    assert loan_import.status == ImportStatus.FAILED and "disk full" in loan_import.message


def test_a_file_with_no_rows_is_refused_and_leaves_no_trace():
    with pytest.raises(BookRefused) as caught:
        run([])
    assert caught.value.code == "empty"
    assert not LoanBookImport.objects.exists()


def test_events_record_the_overdue_episode_they_belong_to():
    from customers.models import LoanEvent

    since = AS_OF - datetime.timedelta(days=10)
    row = loan(loan_account="6200777700001", overdue_since=since)
    run([row])
    became = LoanEvent.objects.get(loan__loan_account="6200777700001", kind="became_overdue")
    assert became.overdue_since == since
    cured_row = {
        **row,
        "overdue_principal": 0,
        "overdue_interest": 0,
        "penalty": 0,
        "overdue_amount": 0,
        "overdue_since": None,
    }
    run([cured_row], as_of=AS_OF + datetime.timedelta(days=2))
    cured = LoanEvent.objects.get(loan__loan_account="6200777700001", kind="cured")
    assert cured.overdue_since == since
