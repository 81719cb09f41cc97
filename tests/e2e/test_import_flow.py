"""The morning import in Chromium: upload → preview → confirm → progress → result."""

import pytest

from customers.models import ImportStatus, Loan, LoanBookImport, LoanStatus
from tests.customers.xlsx import AS_OF, book, loan
from tests.e2e.conftest import login
from tests.factories import LoanFactory, staff_user

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_staff_import_a_snapshot_book_in_the_browser(page, tmp_path):
    staff_user(username="wang")
    LoanFactory(loan_account="6299000011112222", days=40)  # not in the file: will be cured
    path = tmp_path / "民丰银行逾期清单.xlsx"
    path.write_bytes(
        book(
            [
                loan(loan_account="62001", customer_no="C1", mobile="+86 138 1234 5678"),
                loan(
                    loan_account="62002", customer_no="C2", mobile="0571-87654321", overdue_amount="¥2,000.00"
                ),
                loan(loan_account="62003", customer_no="C3", overdue_amount="一千"),
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
    page.fill("input[name=as_of]", AS_OF.isoformat())
    page.check("input[name=mode][value=snapshot]")
    page.click("#upload-submit")

    page.wait_for_url("**/preview/")
    assert "尚未应用" in page.content()
    assert page.inner_text("#count-created") == "2" and page.inner_text("#count-errors") == "1"
    assert page.inner_text("#count-cured") == "1"
    assert "6299000011112222" in page.inner_text("#to-be-cured")
    assert "不是金额" in page.inner_text("#rejected-rows") and "一千" in page.inner_text("#rejected-rows")
    assert not Loan.objects.filter(loan_account="62001").exists()

    page.click("#confirm-import")
    page.wait_for_url("**/result/")
    assert any("/progress/" in url for url in visited)  # the progress page led here
    assert "已导入" in page.inner_text("#import-result")
    assert page.inner_text("#count-created") == "2" and page.inner_text("#count-cured") == "1"

    obj = LoanBookImport.objects.get()
    assert obj.status == ImportStatus.DONE and obj.created_by.username == "wang"
    assert Loan.objects.get(loan_account="6299000011112222").status == LoanStatus.CURRENT
    assert Loan.objects.get(loan_account="62002").customer.phone_problem == "not_mobile"

    with page.expect_download() as download:
        page.click("#error-report")
    assert download.value.suggested_filename.endswith("-rejected-rows.xlsx")

    page.goto(f"{page.base_url}/admin/customers/loanbookimport/")
    assert "民丰银行逾期清单.xlsx" in page.inner_text("#result_list")


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
