"""The morning import in Chromium: upload → preview → (supervisor) confirm → progress → result."""

import os
from pathlib import Path

import pytest

from customers.models import ImportStatus, Loan, LoanBookImport, LoanStatus
from tests.customers.xlsx import AS_OF, book, loan
from tests.e2e.conftest import login
from tests.factories import LoanFactory, staff_user, supervisor_user

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


SCREENSHOTS = os.environ.get("IMPORT_SCREENSHOTS")  # a folder: save the pages there to look at them


def shot(page, name: str) -> None:
    if SCREENSHOTS:
        Path(SCREENSHOTS).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(SCREENSHOTS) / f"{name}.png"), full_page=True)


def test_staff_import_a_snapshot_book_a_supervisor_confirms_its_numbers(page, tmp_path):
    staff_user(username="wang")
    supervisor_user(username="zhao")
    LoanFactory(loan_account="6299000011112222", days=40)  # not in the file: will be cured
    path = tmp_path / "民丰银行逾期清单_20261128.xlsx"
    path.write_bytes(
        book(
            [
                loan(loan_account="62001", customer_no="C1", mobile="+86 138 1234 5678"),
                loan(
                    loan_account="62002", customer_no="C2", mobile="0571-87654321", overdue_amount="¥2,000.00"
                ),
                loan(loan_account="62003", customer_no="C3", overdue_amount="一千"),
                loan(loan_account="62004", customer_no="C4", mobile="138-1234-5678"),
            ],
            before=[["民丰银行 逾期贷款清单"]],
            shared_strings=True,
        )
    )
    visited = []
    page.on("framenavigated", lambda frame: visited.append(frame.url) if frame == page.main_frame else None)

    login(page, "wang")
    page.goto(f"{page.base_url}/admin/customers/loanbookimport/")
    page.click("#import-loan-book")
    page.set_input_files("input[type=file]", str(path))
    assert page.input_value("input[name=as_of]") == AS_OF.isoformat()  # pre-filled from the file name
    assert AS_OF.isoformat() in page.inner_text("#as-of-from-name")
    page.check("input[name=mode][value=snapshot]")
    shot(page, "1-upload")
    page.click("#upload-submit")

    page.wait_for_url("**/preview/")
    assert "尚未应用" in page.content()
    assert page.inner_text("#count-created") == "3" and page.inner_text("#count-errors") == "1"
    assert page.inner_text("#count-cured") == "1"
    assert "6299000011112222" in page.inner_text("#to-be-cured")
    assert "不是金额" in page.inner_text("#rejected-rows") and "一千" in page.inner_text("#rejected-rows")
    shared = page.inner_text("#shared-phones")
    assert "138****5678" in shared and "C1" in shared and "C4" in shared
    safety = page.inner_text("#snapshot-safety")
    assert "1 / 1" in page.inner_text("#safety-cured") and "100.0%" in safety and "20%" in safety
    assert "只有主管" in safety and page.is_disabled("#confirm-import")
    shot(page, "2-preview-staff")
    assert not Loan.objects.filter(loan_account="62001").exists()

    page.context.clear_cookies()  # signed out
    login(page, "zhao")
    page.goto(f"{page.base_url}/admin/customers/loanbookimport/{LoanBookImport.objects.get().pk}/preview/")
    assert "1 / 1" in page.inner_text("#safety-cured")
    page.check("#accept-safety")
    shot(page, "3-preview-supervisor")
    page.click("#confirm-import")
    page.wait_for_url("**/result/")
    assert any("/progress/" in url for url in visited)  # the progress page led here
    assert "已导入" in page.inner_text("#import-result")
    assert page.inner_text("#count-created") == "3" and page.inner_text("#count-cured") == "1"
    shot(page, "4-result")

    obj = LoanBookImport.objects.get()
    assert obj.status == ImportStatus.DONE and obj.created_by.username == "wang"
    assert Loan.objects.get(loan_account="6299000011112222").status == LoanStatus.CURRENT
    assert Loan.objects.get(loan_account="62002").customer.phone_problem == "not_mobile"

    with page.expect_download() as download:
        page.click("#error-report")
    assert download.value.suggested_filename.endswith("-rejected-rows.xlsx")

    page.goto(f"{page.base_url}/admin/customers/loanbookimport/")
    assert "民丰银行逾期清单_20261128.xlsx" in page.inner_text("#result_list")


def test_a_refused_file_is_explained_on_the_upload_page(page, tmp_path):
    staff_user(username="wang")
    path = tmp_path / "清单.xlsx"
    path.write_bytes(b"this is a csv, not a workbook")
    login(page, "wang")
    page.goto(f"{page.base_url}/admin/customers/loanbookimport/import/")
    page.set_input_files("input[type=file]", str(path))
    page.click("#upload-submit")
    page.wait_for_load_state("networkidle")
    assert "这不是 Excel .xlsx 文件" in page.content()
    assert not LoanBookImport.objects.exists()
