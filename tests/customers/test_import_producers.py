"""The loan-book rules on files built the way each producer writes them (issue 12):
identifiers kept as numbers, formulas with and without a cached value, merged two-row
headers, totals rows, full-width values, hidden rows, CSV in four encodings, .xls."""

import datetime
import io
from decimal import Decimal

import pytest

from customers.importing.cells import BookRefused
from customers.models import Customer, Loan, PhoneProblem
from customers.services.loan_import import loan_book_import
from tests.customers.producers import csv_bytes, excel_package, grid, xls_book, xlsxwriter_book
from tests.customers.xlsx import AS_OF, HEADERS, book, loan
from tests.factories import LoanFactory

pytestmark = pytest.mark.django_db

NUMBER_LOST = "被保存为数字，已丢失精度：请将该列设为文本后重新导出。"


def run(data: bytes, *, name="book.xlsx", **kwargs):
    handle = io.BytesIO(data)
    handle.name = name
    kwargs.setdefault("as_of", AS_OF)
    result = loan_book_import(path_or_file=handle, file_name=name, **kwargs)
    result.close()
    return result


def errors_of(result) -> list[tuple[int, str, str]]:
    return [(e.row, e.column, e.message) for e in result.error_rows]


def columns(*names) -> list[int]:
    fields = list(HEADERS)
    return [fields.index(n) for n in names]


# --- identifiers are text -----------------------------------------------------------------------------
def test_identifiers_excel_kept_as_numbers_are_rejected_or_taken_as_their_exact_digits():
    lines = grid(
        [
            loan(loan_account="6200000000000001", customer_no="C1"),
            loan(customer_no="C2"),
            loan(customer_no="C3"),
            loan(customer_no="C4"),
        ]
    )
    account, customer, id_number, mobile = columns("loan_account", "customer_no", "id_number", "mobile")
    lines[1][customer] = 61865514  # a customer number stored as a number: exact, accepted as its digits
    lines[2][account] = ("raw", "3.30126216075298E+18")  # a 19-digit account after a round trip
    lines[3][id_number] = ("raw", "3.30102198001011E+17")  # an 18-digit ID number as a number
    lines[4][account] = 6222021234567890  # 16 digits: more than a spreadsheet keeps exactly
    lines[1][mobile] = 13982900000  # shown in scientific notation (style 1): 1.39829E+10
    result = run(excel_package(lines, styles={(2, mobile): 1}))
    assert errors_of(result) == [
        (3, "贷款账号", "贷款账号" + NUMBER_LOST),
        (4, "证件号码", "证件号码" + NUMBER_LOST),
        (5, "贷款账号", "贷款账号" + NUMBER_LOST),
    ]
    assert result.error_rows[0].value == "3.30126216075298E+18"
    customer_row = Customer.objects.get(customer_no="61865514")
    assert customer_row.mobile == "" and customer_row.phone_problem == PhoneProblem.INVALID
    assert Loan.objects.get().loan_account == "6200000000000001"
    assert any("客户号" in w and "被保存为数字" in w for w in result.warnings)


def test_identifiers_from_a_pandas_xlsxwriter_script():
    lines = grid([loan(customer_no="C1"), loan(customer_no="C2")])
    account, customer = columns("loan_account", "customer_no")
    lines[1][account], lines[1][customer] = 620012345678, 61865514
    lines[2][account] = 3301262160752979968.0  # int64 read as float by pandas
    result = run(xlsxwriter_book(lines))
    assert errors_of(result) == [(3, "贷款账号", "贷款账号" + NUMBER_LOST)]
    assert Loan.objects.get().loan_account == "620012345678"
    assert Customer.objects.get().customer_no == "61865514"


@pytest.mark.parametrize("spelling", ["3.30126E+18", "3.3012621607529800e+18", "61865514.0"])
def test_identifiers_spelled_as_numbers_in_a_csv_are_rejected(spelling):
    data = csv_bytes(grid([loan(loan_account=spelling)]))
    result = run(data, name="book.csv")
    assert errors_of(result) == [(2, "贷款账号", "贷款账号" + NUMBER_LOST)]
    assert not Loan.objects.exists()


def test_apostrophes_spaces_and_full_width_digits_are_dropped_from_identifiers():
    rows = [
        loan(
            loan_account=" '0062001 ",
            customer_no="'0061865514",
            id_number="３３０１０２１９８００１０１１２３Ｘ",
        )
    ]
    run(book(rows))
    customer = Customer.objects.get()
    assert customer.customer_no == "0061865514" and customer.id_number == "33010219800101123X"
    assert Loan.objects.get().loan_account == "0062001"


def test_an_id_number_whose_check_digit_fails_is_imported_and_flagged():
    run(
        book(
            [
                loan(customer_no="C1", id_number="11010519491231002X"),  # a valid check digit
                loan(customer_no="C2", id_number="110105194912310021"),  # the same, last digit wrong
            ]
        )
    )
    flags = dict(Customer.objects.values_list("customer_no", "id_number_check_failed"))
    assert flags == {"C1": False, "C2": True}
    assert Customer.objects.get(customer_no="C2").honorific_name == "张三"  # no 先生/女士 guessed


@pytest.mark.parametrize("spelling", ["1.39829E+10", "1.3982912345e10", 1.39829e10])
def test_a_phone_in_scientific_notation_is_a_phone_problem_never_a_mobile(spelling):
    result = run(csv_bytes(grid([loan(customer_no="C1", mobile=spelling)])), name="book.csv")
    assert result.errors == 0
    customer = Customer.objects.get()
    assert customer.mobile == "" and customer.phone_problem == PhoneProblem.INVALID


# --- values normalised before parsing -------------------------------------------------------------------
def test_full_width_values_dashes_and_parentheses():
    rows = [
        loan(
            loan_account="６２００１",
            mobile="１３８１２３４５６７８",
            overdue_amount="１，２３４．５６",
            overdue_since="２０２６－１１－０１",
            penalty="-",
            overdue_interest="—",
            overdue_principal="1,234.56",
        ),
        loan(loan_account="62002", overdue_amount="(1,234.56)"),
        loan(loan_account="62003", overdue_amount="￥（１００.００）"),
    ]
    result = run(book(rows))
    made = Loan.objects.get(loan_account="62001")
    assert made.overdue_amount == Decimal("1234.56") and made.overdue_since == datetime.date(2026, 11, 1)
    assert (made.overdue_penalty, made.overdue_interest) == (Decimal("0.00"), Decimal("0.00"))
    assert made.customer.mobile == "+8613812345678"
    assert errors_of(result) == [(3, "逾期金额", "金额为负数。"), (4, "逾期金额", "金额为负数。")]


# --- formulas --------------------------------------------------------------------------------------
def test_a_formula_without_a_calculated_value_is_a_row_error():
    lines = grid([loan(loan_account="62001"), loan(loan_account="62002")])
    (total,) = columns("overdue_amount")
    lines[1][total] = "=J2+K2+L2"  # openpyxl writes the formula, no value
    result = run(book_from_lines(lines))
    assert [(r, c) for r, c, _m in errors_of(result)] == [(2, "逾期金额")]
    assert "公式未计算" in result.error_rows[0].message and "请用 Excel" in result.error_rows[0].message
    assert list(Loan.objects.values_list("loan_account", flat=True)) == ["62002"]


def test_xlsxwriter_formulas_cache_zero_and_ask_for_recalculation_so_they_are_not_trusted():
    lines = grid([loan(loan_account="62001")])
    (total,) = columns("overdue_amount")
    result = run(xlsxwriter_book(lines, formulas={(1, total): "=J2+K2+L2"}))
    assert result.errors == 1 and "公式未计算" in result.error_rows[0].message
    assert not Loan.objects.exists()


def test_a_formula_excel_calculated_is_read_by_its_value():
    lines = grid([loan(loan_account="62001")])
    (total,) = columns("overdue_amount")
    lines[1][total] = ("formula", "J2+K2+L2", "1234.56")
    run(excel_package(lines))
    assert Loan.objects.get().overdue_amount == Decimal("1234.56")


def book_from_lines(lines: list[list]) -> bytes:
    from openpyxl import Workbook

    workbook = Workbook()
    sheet = workbook.active
    for line in lines:
        sheet.append(line)
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


# --- headers -----------------------------------------------------------------------------------------
TWO_ROW_TOP = [
    "客户号",
    "客户姓名",
    "手机号码",
    "贷款账号",
    "逾期金额",
    None,
    None,
    "逾期总额",
    "首次逾期日期",
]
TWO_ROW_SUB = [None, None, None, None, "本金", "利息", "罚息", None, None]


def two_row_line(account: str, customer: str, principal, interest, penalty, total) -> list:
    return [
        customer,
        "张三",
        "13812345678",
        account,
        principal,
        interest,
        penalty,
        total,
        AS_OF - datetime.timedelta(days=5),
    ]


@pytest.mark.parametrize("producer", ["xlsx", "csv", "xls"])
def test_a_two_row_header_with_a_merged_group_over_its_parts_and_the_total_beside_it(producer):
    lines = [
        ["民丰银行逾期清单"],
        TWO_ROW_TOP,
        TWO_ROW_SUB,
        two_row_line("62001", "C1", 1000, 200, 34.56, 1234.56),
        two_row_line("62002", "C2", 500, 0, 0, 500),
    ]
    if producer == "xlsx":
        data, name = excel_package(lines), "book.xlsx"
    elif producer == "csv":
        data, name = csv_bytes(lines, encoding="gbk"), "book.csv"
    else:
        data, name = xls_book(lines), "book.xls"
    result = run(data, name=name)
    assert result.errors == 0 and result.created == 2
    first = Loan.objects.get(loan_account="62001")
    assert first.overdue_amount == Decimal("1234.56")
    assert (first.overdue_principal, first.overdue_interest, first.overdue_penalty) == (
        Decimal("1000.00"),
        Decimal("200.00"),
        Decimal("34.56"),
    )
    assert any("逾期金额" in w and "分组标题" in w for w in result.warnings)


def test_a_group_row_above_the_identifier_row():
    lines = [
        ["客户信息", None, None, "贷款信息", "逾期金额", None, None, "逾期总额", None],
        ["客户号", "客户姓名", "手机号码", "贷款账号", "本金", "利息", "罚息", None, "首次逾期日期"],
        two_row_line("62001", "C1", 1000, 200, 34.56, 1234.56),
    ]
    result = run(excel_package(lines))
    assert result.errors == 0 and result.header_first_row == 1 and result.header_row == 2
    made = Loan.objects.get()
    assert made.overdue_amount == Decimal("1234.56") and made.overdue_principal == Decimal("1000.00")


def test_the_more_specific_column_wins_and_the_preview_says_so():
    headers = {**HEADERS, "days_overdue": "逾期总额"}  # both 逾期金额 and 逾期总额 in one header row
    row = loan(loan_account="62001", overdue_amount=1000, days_overdue=1234.56)
    result = run(book([row], headers=headers))
    assert Loan.objects.get().overdue_amount == Decimal("1234.56")
    assert any("使用 M 列（“逾期总额”），不使用 K 列（“逾期金额”）" in w for w in result.warnings)


def test_two_columns_equally_named_for_one_field_refuse_the_file():
    headers = {**HEADERS, "product": "手机号码"}
    with pytest.raises(BookRefused) as caught:
        run(book([loan()], headers=headers))
    assert caught.value.code == "ambiguous_columns"
    assert "D 列" in caught.value.message and "F 列" in caught.value.message


# --- totals, footers, hidden rows ---------------------------------------------------------------------
def test_totals_subtotals_and_footers_are_skipped_not_rejected_and_strict_passes():
    lines = grid([loan(loan_account="62001"), loan(loan_account="62002")])
    (total,) = columns("overdue_amount")
    subtotal = [None] * len(lines[0])
    subtotal[0], subtotal[total] = "小计", 2469.12
    grand = [None] * len(lines[0])
    grand[1], grand[total] = "合 计", 2469.12
    lines += [subtotal, grand, ["制表人：王五", None, "审核：李四"], ["共 2 笔"]]
    result = run(excel_package(lines), strict=True)
    assert result.applied and result.errors == 0 and result.rows == 2 and result.skipped == 4
    assert [r["kind"] for r in result.skipped_rows] == ["totals", "totals", "footer", "totals"]


def test_a_row_without_identifiers_that_is_no_totals_row_is_still_rejected():
    result = run(book([loan(loan_account=None, customer_no=None)]))
    assert result.errors == 1 and result.skipped == 0


def test_hidden_and_filtered_rows_are_imported_and_counted():
    lines = grid([loan(), loan(), loan()])
    result = run(excel_package(lines, hidden=(3, 4)))
    assert result.created == 3 and result.hidden_rows == 2
    assert any("2 行被隐藏或筛选掉" in w for w in result.warnings)


# --- columns the file lacks ----------------------------------------------------------------------------
def test_a_file_with_only_the_total_keeps_the_stored_parts_and_unchanged_loans_are_unchanged():
    LoanFactory(
        loan_account="62001",
        days=10,
        overdue_principal=Decimal("1000.00"),
        overdue_interest=Decimal("200.00"),
        overdue_penalty=Decimal("34.56"),
        overdue_amount=Decimal("1234.56"),
    )
    stored = Loan.objects.get()
    headers = {
        f: t for f, t in HEADERS.items() if f not in ("overdue_principal", "overdue_interest", "penalty")
    }
    row = loan(loan_account="62001", overdue_amount=1234.56, overdue_since=stored.overdue_since)
    row["customer_no"], row["customer_name"] = stored.customer.customer_no, stored.customer.name
    row.update(product=stored.product, branch=stored.branch, id_number=stored.customer.id_number)
    row["mobile"] = stored.customer.mobile
    result = run(book([row], headers=headers), as_of=AS_OF + datetime.timedelta(days=3))
    assert (result.updated, result.unchanged) == (0, 1)
    again = Loan.objects.get()
    assert (again.overdue_principal, again.overdue_interest, again.overdue_penalty) == (
        Decimal("1000.00"),
        Decimal("200.00"),
        Decimal("34.56"),
    )


# --- formats ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gbk", "gb18030"])
@pytest.mark.parametrize("delimiter", [",", "\t", ";"])
def test_csv_in_each_encoding_and_delimiter(encoding, delimiter):
    rows = [
        loan(loan_account="62001", customer_name="欧阳娜", overdue_amount="1,234.56"),
        loan(loan_account="62002"),
    ]
    lines = grid(rows)
    lines.append(["合计", None, None, None, None, None, None, None, None, None, "2469.12"])
    result = run(csv_bytes(lines, encoding=encoding, delimiter=delimiter), name="逾期清单.csv", strict=True)
    assert result.applied and result.created == 2 and result.skipped == 1
    assert Customer.objects.get(name="欧阳娜").loans.get().overdue_amount == Decimal("1234.56")
    assert result.file_format["kind"] == "csv"


def test_a_csv_in_neither_utf8_nor_gb18030_is_refused():
    with pytest.raises(BookRefused) as caught:
        run(b"\x81\x30\x81\xff\xff\xfe" * 10, name="book.csv")
    assert caught.value.code == "not_a_book" and ".xlsx" in caught.value.message


def test_a_legacy_xls_with_numbers_dates_hidden_rows_and_scientific_cells():
    lines = grid([loan(loan_account="62001", customer_no="C1"), loan(loan_account="62002", customer_no="C2")])
    account, mobile = columns("loan_account", "mobile")
    lines[1][mobile] = 13812345678
    lines[2][mobile] = 13982900000
    result = run(xls_book(lines, hidden=(3,), scientific=((2, mobile),)), name="book.xls")
    assert result.created == 2 and result.hidden_rows == 1 and result.file_format["kind"] == "xls"
    customers = dict(Customer.objects.values_list("customer_no", "mobile"))
    assert customers == {"C1": "+8613812345678", "C2": ""}
    assert Loan.objects.get(loan_account="62001").overdue_since == AS_OF - datetime.timedelta(days=10)


@pytest.mark.parametrize(
    ("content", "code", "words"),
    [
        ("ods", "ods", "这是 ODS 文件，请另存为 .xlsx 或 .csv"),
        (
            b"<html><body><table><tr><td>\xe5\xae\xa2\xe6\x88\xb7\xe5\x8f\xb7</td></tr></table></body></html>",
            "html",
            "网页（HTML）",
        ),
        (
            b'<?xml version="1.0"?><?mso-application progid="Excel.Sheet"?><Workbook xmlns="urn:schemas-microsoft-com:office:spreadsheet"></Workbook>',
            "xml_spreadsheet",
            "XML 电子表格 2003",
        ),
        (b"%PDF-1.4\n", "pdf", "PDF"),
    ],
    ids=["ods", "html as xls", "xml spreadsheet", "pdf"],
)
def test_other_files_are_refused_saying_what_they_are_and_what_to_do(content, code, words):
    if content == "ods":
        import zipfile

        out = io.BytesIO()
        with zipfile.ZipFile(out, "w") as archive:
            archive.writestr("mimetype", "application/vnd.oasis.opendocument.spreadsheet")
            archive.writestr("content.xml", "<office:document-content/>")
        content = out.getvalue()
    with pytest.raises(BookRefused) as caught:
        run(content, name="book.xls")
    assert caught.value.code == code and words in caught.value.message


# --- the data date -----------------------------------------------------------------------------------
def test_the_data_date_comes_from_the_title_or_the_file_name_and_a_mismatch_is_warned():
    data = book([loan()], before=[["民丰银行逾期贷款清单（数据日期：2026年11月27日）"]])
    result = run(data, as_of=None)
    assert result.as_of == datetime.date(2026, 11, 27) and result.data_date["source"] == "表头上方的标题"
    result = run(book([loan()]), name="逾期清单_20261126.xlsx", as_of=None, dry_run=True)
    assert result.as_of == datetime.date(2026, 11, 26)
    result = run(data, as_of=AS_OF, dry_run=True)
    assert any("2026-11-27" in w and "2026-11-28" in w for w in result.warnings)


# --- shared phones in the preview -----------------------------------------------------------------------
def test_the_dry_run_lists_mobiles_shared_in_the_file_and_with_the_database():
    from tests.factories import CustomerFactory

    CustomerFactory(customer_no="C9", name="李四", mobile="+8613700001111")
    rows = [
        loan(customer_no="C1", mobile="13912345678"),
        loan(customer_no="C2", mobile="139 1234 5678"),
        loan(customer_no="C3", mobile="13700001111"),
    ]
    result = run(book(rows), dry_run=True)
    shared = {
        item["mobile"]: sorted(c["customer_no"] for c in item["customers"]) for item in result.shared_phones
    }
    assert shared == {"139****5678": ["C1", "C2"], "137****1111": ["C3", "C9"]}
    assert not Customer.objects.filter(customer_no__in=["C1", "C2", "C3"]).exists()


def test_a_csv_larger_than_the_read_block_is_applied_whole(tmp_path):
    """The import stores the file while the reader is partway through it: the reader
    keeps its own position."""
    rows = [loan(loan_account=f"66{i:08d}", customer_no=f"K{i}") for i in range(8000)]
    path = tmp_path / "big.csv"
    path.write_bytes(csv_bytes(grid(rows)))
    assert path.stat().st_size > 1024 * 1024
    result = loan_book_import(path_or_file=str(path), as_of=AS_OF)
    result.close()
    assert (result.rows, result.created, result.errors) == (8000, 8000, 0)
