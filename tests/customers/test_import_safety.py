"""Snapshot safety, limits that hold, the rejected-rows report, and files converted by
LibreOffice itself (skipped when it is not installed)."""

import io
import json
import time

import openpyxl
import pytest
from django.core.management import call_command
from django.urls import reverse

from core.models import AuditEvent
from customers.importing.cells import BookRefused
from customers.models import Customer, ImportStatus, Loan, LoanBookImport, LoanBookImportError, LoanStatus
from customers.services.loan_import import loan_book_import
from tests.customers.producers import csv_bytes, grid, libreoffice_convert, needs_libreoffice
from tests.customers.xlsx import AS_OF, book, loan, package, sheet_xml
from tests.factories import LoanFactory

pytestmark = pytest.mark.django_db


def run(data: bytes, name="book.xlsx", **kwargs):
    handle = io.BytesIO(data)
    kwargs.setdefault("as_of", AS_OF)
    result = loan_book_import(path_or_file=handle, file_name=name, **kwargs)
    result.close()
    return result


def command(*args) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    try:
        call_command("import_loans", *args, stdout=out, stderr=err)
        code = 0
    except SystemExit as exc:
        code = exc.code
    return code, out.getvalue(), err.getvalue()


# --- snapshot safety --------------------------------------------------------------------------------
def test_a_snapshot_that_would_cure_most_of_the_book_is_refused_without_force():
    kept = [LoanFactory(loan_account=f"63{i:04d}", days=10) for i in range(10)]
    rows = [loan(loan_account=kept[0].loan_account, customer_no=kept[0].customer.customer_no)]
    rows[0]["customer_name"] = kept[0].customer.name
    result = run(book(rows), mode="snapshot")
    assert result.refused == "snapshot_unsafe" and not result.applied
    assert result.safety["cured"] == 9 and result.safety["overdue_book"] == 10
    assert Loan.objects.filter(status=LoanStatus.OVERDUE).count() == 10  # nothing cured
    loan_import = LoanBookImport.objects.get()
    assert loan_import.status == ImportStatus.FAILED and "安全限制" in loan_import.message
    assert "90%" in loan_import.message and "20%" in loan_import.message
    forced = run(book(rows), mode="snapshot", force=True)
    assert forced.applied and forced.cured == 9
    assert "forced" in AuditEvent.objects.filter(action="loan_import.apply").get().note


def test_a_snapshot_with_most_rows_rejected_cures_nothing():
    book_loans = [LoanFactory(loan_account=f"64{i:04d}", days=10) for i in range(20)]
    rows = [loan(loan_account=x.loan_account, overdue_amount="坏数据") for x in book_loans[:19]]
    rows.append(loan(loan_account=book_loans[19].loan_account))
    result = run(book(rows), mode="snapshot")
    assert result.refused == "snapshot_unsafe" and result.errors == 19
    assert result.safety["too_many_rejected"] and not result.safety["too_many_cured"]
    assert Loan.objects.filter(status=LoanStatus.OVERDUE).count() == 20


def test_the_command_exits_3_on_an_unsafe_snapshot_and_0_with_force(tmp_path):
    LoanFactory(loan_account="6299", days=5)
    path = tmp_path / "book.xlsx"
    path.write_bytes(book([loan(loan_account="62001")]))
    code, out, _err = command(str(path), "--as-of", "2026-11-28", "--mode", "snapshot", "--json")
    summary = json.loads(out.splitlines()[-1])
    assert code == 3 and summary["refused"] == "snapshot_unsafe" and summary["safety"]["cured"] == 1
    assert Loan.objects.get(loan_account="6299").status == LoanStatus.OVERDUE
    code, _out, _err = command(str(path), "--as-of", "2026-11-28", "--mode", "snapshot", "--force")
    assert code == 0 and Loan.objects.get(loan_account="6299").status == LoanStatus.CURRENT


def test_in_the_browser_staff_cannot_confirm_an_unsafe_snapshot_a_supervisor_sees_the_numbers(
    client, staff, supervisor, django_capture_on_commit_callbacks
):
    from django.core.files.uploadedfile import SimpleUploadedFile

    for i in range(4):
        LoanFactory(loan_account=f"65{i:04d}", days=10)
    client.force_login(staff)
    with django_capture_on_commit_callbacks(execute=True):
        client.post(
            "/admin/customers/loanbookimport/import/",
            {
                "file": SimpleUploadedFile("b.xlsx", book([loan()])),
                "as_of": AS_OF.isoformat(),
                "mode": "snapshot",
            },
        )
    obj = LoanBookImport.objects.get()
    preview_url = reverse("admin:customers_loanbookimport_preview", args=[obj.pk])
    page = client.get(preview_url).content.decode()
    assert 'id="snapshot-safety"' in page and "4 / 4" in page and "100.0%" in page
    assert 'id="needs-supervisor"' in page and "disabled" in page
    response = client.post(preview_url, {"action": "confirm", "accept_safety": "1"}, follow=True)
    obj.refresh_from_db()
    assert obj.status == ImportStatus.VALIDATED and "只有主管" in response.content.decode()
    client.force_login(supervisor)
    page = client.get(preview_url).content.decode()
    assert 'name="accept_safety"' in page and 'id="needs-supervisor"' not in page
    client.post(preview_url, {"action": "confirm"})  # without ticking the box
    obj.refresh_from_db()
    assert obj.status == ImportStatus.VALIDATED
    with django_capture_on_commit_callbacks(execute=True):
        client.post(preview_url, {"action": "confirm", "accept_safety": "1"})
    obj.refresh_from_db()
    assert obj.status == ImportStatus.DONE and obj.cured_count == 4
    confirm = AuditEvent.objects.get(action="loan_import.confirm")
    assert confirm.actor == supervisor and "cures 4 of 4" in confirm.note


# --- limits ---------------------------------------------------------------------------------------
def test_a_huge_cell_refuses_the_file_fast_with_bounded_memory(tmp_path, settings):
    import tracemalloc

    settings.LOAN_IMPORT_MAX_COMPRESSION_RATIO = 10**6  # the row limit alone must hold

    header = sheet_xml([["客户号", "客户姓名", "手机号", "贷款账号", "逾期金额", "逾期天数"]])
    big = '<row r="2"><c r="A2" t="inlineStr"><is><t>' + "x" * 30_000_000 + "</t></is></c></row>"
    sheet = header.replace("</sheetData>", big + "</sheetData>")
    data = package(sheet, compresslevel=9)
    assert len(data) < 2 * 1024 * 1024
    tracemalloc.start()
    started = time.monotonic()
    with pytest.raises(BookRefused) as caught:
        run(data)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert caught.value.code == "row_too_long" and (time.monotonic() - started) < 30
    assert peak < 64 * 1024 * 1024
    assert not LoanBookImport.objects.exists()


def test_a_cell_over_excels_limit_in_a_normal_row_refuses_the_file():
    lines = [
        ["客户号", "客户姓名", "手机号", "贷款账号", "逾期金额", "逾期天数"],
        ["C1", "长" * 40_000, "13812345678", "62001", 1, 1],
    ]
    with pytest.raises(BookRefused) as caught:
        run(package(sheet_xml(lines)))
    assert caught.value.code == "cell_too_long" and "32,767" in caught.value.message


@pytest.mark.parametrize("reference", ["&#x110000;", "&#xD800;", "&#1;"])
def test_an_invalid_character_reference_exits_2_with_one_line(tmp_path, reference):
    sheet = sheet_xml(
        [
            ["客户号", "贷款账号", "客户姓名", "手机号", "逾期金额", "逾期天数"],
            ["C1", "62001", "张三", "13812345678", 1, 1],
        ]
    )
    path = tmp_path / "bad.xlsx"
    path.write_bytes(package(sheet.replace("张三", "张" + reference)))
    code, _out, err = command(str(path))
    assert code == 2 and len(err.strip().splitlines()) == 1 and "Traceback" not in err and "无效字符" in err


def test_invalid_utf8_in_a_header_exits_2_with_one_line(tmp_path):
    strings = (
        '<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
        "<si><t>\u5ba2\u6237\u53f7</t></si><si><t>\xff\xfe</t></si></sst>"
    ).encode("latin-1", errors="ignore")
    strings = strings.replace(b"\xff\xfe", b"\xff\xfe\xfd")
    sheet = (
        '<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>'
        '<row r="1"><c r="A1" t="s"><v>1</v></c><c r="B1" t="s"><v>1</v></c></row></sheetData></worksheet>'
    )
    path = tmp_path / "bad.xlsx"
    path.write_bytes(package(sheet, shared_strings_xml=strings))
    code, _out, err = command(str(path))
    assert code == 2 and len(err.strip().splitlines()) == 1 and "Traceback" not in err


def test_a_rejected_rows_raw_cells_are_stored_cut_to_their_limit():
    result = run(book([loan(overdue_amount="坏" * 5000)]))
    stored = LoanBookImportError.objects.get(loan_import=result.loan_import)
    assert max(len(str(cell)) for cell in stored.raw if cell) <= 1001


def test_a_csv_line_over_the_row_limit_refuses_the_file(settings):
    settings.LOAN_IMPORT_MAX_ROW_BYTES = 4096
    lines = grid([loan(), loan(product="备注" * 3000)])
    with pytest.raises(BookRefused) as caught:
        run(csv_bytes(lines), name="book.csv")
    assert caught.value.code == "row_too_long"


# --- the rejected-rows report ----------------------------------------------------------------------
def test_the_report_masks_every_spelling_neutralises_formulas_and_is_audited(
    client, staff, supervisor, django_capture_on_commit_callbacks
):
    from django.core.files.uploadedfile import SimpleUploadedFile

    rows = [
        loan(
            mobile="+86 138-1234-5678",
            id_number="330102 19800101 123X",
            overdue_amount="x",
            product="=HYPERLINK(1)",
        ),
        loan(mobile=13912345678, overdue_amount="y", branch="联系 139 8765 4321"),
    ]
    client.force_login(staff)
    with django_capture_on_commit_callbacks(execute=True):
        client.post(
            "/admin/customers/loanbookimport/import/",
            {
                "file": SimpleUploadedFile("b.xlsx", book(rows)),
                "as_of": AS_OF.isoformat(),
                "mode": "incremental",
            },
        )
    obj = LoanBookImport.objects.get()
    response = client.get(reverse("admin:customers_loanbookimport_errors", args=[obj.pk]))
    cells = [
        list(r)
        for r in openpyxl.load_workbook(io.BytesIO(b"".join(response.streaming_content))).active.iter_rows(
            values_only=True
        )
    ]
    text = json.dumps(cells, ensure_ascii=False, default=str)
    assert "138****5678" in text and "330102********123X" in text and "139****4321" in text
    assert (
        "13812345678" not in text
        and "1234-5678" not in text
        and "19800101" not in text
        and "13912345678" not in text
    )
    assert "'=HYPERLINK(1)" in text  # written as text, never a live formula
    audit = AuditEvent.objects.get(action="loan_import.error_report")
    assert audit.actor == staff and "masked=True" in audit.note
    client.force_login(supervisor)
    response = client.get(reverse("admin:customers_loanbookimport_errors", args=[obj.pk]))
    whole = json.dumps(
        [
            list(r)
            for r in openpyxl.load_workbook(
                io.BytesIO(b"".join(response.streaming_content))
            ).active.iter_rows(values_only=True)
        ],
        ensure_ascii=False,
    )
    assert "+86 138-1234-5678" in whole and "330102 19800101 123X" in whole
    assert (
        "masked=False"
        in AuditEvent.objects.filter(action="loan_import.error_report").order_by("pk").last().note
    )


# --- files LibreOffice made ----------------------------------------------------------------------------
@needs_libreoffice
def test_a_csv_opened_and_saved_by_libreoffice_as_xlsx_and_xls(tmp_path):
    """A core-system CSV opened in LibreOffice (numbers parsed as numbers) and saved:
    the precision-lost identifiers and the scientific phone are caught, the total row is
    skipped, exact identifiers come through as their digits."""
    lines = [
        ["客户号", "客户姓名", "手机号码", "贷款账号", "逾期金额", "逾期天数"],
        ["0061865514", "张三", "13812345678", "620012345678", "1,234.56", "5"],
        ["C2", "李四", "1.39829E+10", "6200123456789", "500", "3"],
        ["C3", "王五", "13912345678", "3.30126216075298E+18", "100", "3"],
        ["合计", "", "", "", "1834.56", ""],
    ]
    source = tmp_path / "core.csv"
    source.write_bytes(csv_bytes(lines, encoding="utf-8"))
    for target in ("xlsx", "xls"):
        Loan.objects.all().delete()
        Customer.objects.all().delete()
        produced = libreoffice_convert(source, target, csv_filter="CSV:44,34,76,1")
        result = run(produced.read_bytes(), name=produced.name)
        assert result.skipped == 1, target
        assert [(e.row, e.column) for e in result.error_rows] == [(4, "贷款账号")], target
        assert sorted(Loan.objects.values_list("loan_account", flat=True)) == [
            "620012345678",
            "6200123456789",
        ]
        phones = dict(Customer.objects.values_list("customer_no", "mobile"))
        assert phones == {"61865514": "+8613812345678", "C2": ""}, target
        assert any("客户号" in w for w in result.warnings), target


@needs_libreoffice
def test_an_ods_saved_by_libreoffice_is_refused_with_what_to_do(tmp_path):
    source = tmp_path / "book.xlsx"
    source.write_bytes(book([loan()]))
    produced = libreoffice_convert(source, "ods")
    with pytest.raises(BookRefused) as caught:
        run(produced.read_bytes(), name=produced.name)
    assert caught.value.code == "ods"
