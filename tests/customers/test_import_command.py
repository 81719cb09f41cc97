"""`manage.py import_loans`, as the bank's scheduler runs it."""

import json
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.management import call_command

from customers.models import Customer, ImportStatus, Loan, LoanBookImport
from tests.customers.xlsx import book, loan, package, sheet_xml

pytestmark = pytest.mark.django_db
ROOT = Path(__file__).resolve().parents[2]


def write(tmp_path, data: bytes, name: str = "book.xlsx") -> str:
    path = tmp_path / name
    path.write_bytes(data)
    return str(path)


def command(*args) -> tuple[int, str, str]:
    """Run the command in-process; returns (exit status, stdout, stderr)."""
    from io import StringIO

    out, err = StringIO(), StringIO()
    try:
        call_command("import_loans", *args, stdout=out, stderr=err)
        code = 0
    except SystemExit as exc:
        code = exc.code
    return code, out.getvalue(), err.getvalue()


def test_json_summary_on_the_last_line(tmp_path):
    path = write(tmp_path, book([loan(loan_account="62001"), loan(loan_account="62002", overdue_amount="x")]))
    code, out, _err = command(path, "--as-of", "2026-11-28", "--json")
    assert code == 0
    summary = json.loads(out.strip().splitlines()[-1])
    assert {k: summary[k] for k in ("created", "updated", "unchanged", "errors", "cured")} == {
        "created": 1,
        "updated": 0,
        "unchanged": 0,
        "errors": 1,
        "cured": 0,
    }
    assert summary["error_rows"] == [{"row": 3, "column": "逾期金额", "value": "x", "message": "不是金额。"}]
    assert Loan.objects.get().loan_account == "62001"
    loan_import = LoanBookImport.objects.get()
    assert loan_import.status == ImportStatus.DONE and loan_import.file_name == "book.xlsx"
    assert loan_import.file.read()[:2] == b"PK"  # the file is kept with its import


def test_human_output_is_chinese_and_reports_rejected_rows(tmp_path):
    path = write(tmp_path, book([loan(overdue_amount="x")]))
    code, out, _err = command(path, "--as-of", "2026-11-28")
    assert code == 0
    assert "新增贷款" in out and "被拒绝的行" in out
    assert "第 2 行" in out and "不是金额" in out


def test_snapshot_mode_reports_cured_loans(tmp_path):
    from tests.factories import LoanFactory

    LoanFactory(loan_account="6299", days=5)
    path = write(tmp_path, book([loan(loan_account="62001")]))
    code, out, _err = command(path, "--as-of", "2026-11-28", "--mode", "snapshot", "--force", "--json")
    assert code == 0 and json.loads(out.splitlines()[-1])["cured"] == 1
    assert Loan.objects.get(loan_account="6299").status == "current"


def test_strict_exits_1_and_applies_nothing(tmp_path):
    path = write(tmp_path, book([loan(), loan(overdue_amount="x")]))
    code, out, _err = command(path, "--strict", "--json")
    assert code == 1
    assert json.loads(out.splitlines()[-1])["errors"] == 1
    assert not Loan.objects.exists() and not Customer.objects.exists()


def test_dry_run_writes_nothing(tmp_path):
    path = write(tmp_path, book([loan(), loan()]))
    code, out, _err = command(path, "--dry-run", "--json")
    assert code == 0 and json.loads(out.splitlines()[-1])["created"] == 2
    assert not Loan.objects.exists() and not LoanBookImport.objects.exists()


@pytest.mark.parametrize(
    ("content", "words"),
    [
        (b"just some text, no loan book\n", "不是 Excel"),
        ("truncated", "损坏"),
        ("no header", "表头"),
        ("bomb", "压缩包"),
    ],
    ids=["not xlsx", "truncated", "no header", "zip bomb"],
)
def test_a_file_that_cannot_be_imported_exits_2_with_one_line_and_changes_nothing(tmp_path, content, words):
    if content == "truncated":
        data = book([loan() for _ in range(30)])
        content = data[: len(data) // 2]
    elif content == "no header":
        content = book([loan()], before=[[f"说明 {i}"] for i in range(10)])
    elif content == "bomb":
        content = package(sheet_xml([["客户号"]]).replace("<sheetData>", " " * (8 << 20) + "<sheetData>"))
    code, out, err = command(write(tmp_path, content), "--json")
    assert code == 2
    assert len(err.strip().splitlines()) == 1 and words in err and "Traceback" not in err
    assert json.loads(out.splitlines()[-1])["refused"] is True
    assert not LoanBookImport.objects.exists() and not Loan.objects.exists()


def test_a_file_over_the_size_limit_exits_2(tmp_path, settings):
    data = book([loan() for _ in range(5)])
    settings.LOAN_IMPORT_MAX_BYTES = len(data) - 1
    code, _out, err = command(write(tmp_path, data))
    assert code == 2 and "上限" in err


def test_a_missing_file_exits_2(tmp_path):
    code, _out, err = command(str(tmp_path / "nope.xlsx"))
    assert code == 2 and "nope.xlsx" in err


def test_no_traceback_from_the_real_command_line(tmp_path):
    """The scheduler's view: a real process, its exit status and its stderr."""
    path = write(tmp_path, b"not a workbook")
    done = subprocess.run(
        [sys.executable, "manage.py", "import_loans", path],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env={"DJANGO_SETTINGS_MODULE": "config.settings.test", "PATH": "/usr/bin:/bin"},
        timeout=60,
    )
    assert done.returncode == 2
    assert done.stderr.strip().count("\n") == 0 and "Traceback" not in done.stderr
