"""The import pages staff use: upload → preview → confirm → progress → result."""

import io

import openpyxl
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from core.models import AuditEvent
from customers.models import ImportStatus, Loan, LoanBookImport, LoanStatus
from tests.customers.xlsx import AS_OF, book, loan
from tests.factories import LoanFactory

pytestmark = pytest.mark.django_db

UPLOAD = "/admin/customers/loanbookimport/import/"
HISTORY = "/admin/customers/loanbookimport/"


def url(name: str, obj) -> str:
    return reverse(f"admin:customers_loanbookimport_{name}", args=[obj.pk])


def upload(client, data: bytes, *, mode="incremental", name="逾期清单.xlsx", capture=None):
    form = {"file": SimpleUploadedFile(name, data), "as_of": AS_OF.isoformat(), "mode": mode}
    with capture(execute=True):
        return client.post(UPLOAD, form)


def rows_with_a_mobile_error():
    return [
        loan(loan_account="62001", customer_no="C1"),
        loan(loan_account="62002", mobile="13812345678", overdue_amount="abc"),
        loan(loan_account="62003", id_number="330102198001011234", overdue_since="2026-13-01"),
    ]


def test_staff_upload_check_confirm_and_see_the_result(
    staff_client, staff, django_capture_on_commit_callbacks
):
    page = staff_client.get(UPLOAD)
    assert (
        page.status_code == 200
        and "数据日期" in page.content.decode()
        and 'type="file"' in page.content.decode()
    )

    response = upload(
        staff_client, book(rows_with_a_mobile_error()), capture=django_capture_on_commit_callbacks
    )
    obj = LoanBookImport.objects.get()
    assert response.status_code == 302 and response["Location"] == url("progress", obj)
    assert obj.status == ImportStatus.VALIDATED  # the check ran as a task (inline in tests)
    assert not Loan.objects.exists()

    status = staff_client.get(url("status", obj)).json()
    assert status["status"] == "validated" and status["next"] == url("preview", obj)

    preview = staff_client.get(url("preview", obj)).content.decode()
    assert "尚未应用" in preview
    assert 'id="count-created">1<' in preview and 'id="count-errors">2<' in preview
    assert "不是金额" in preview and "日期不存在" in preview
    assert "abc" in preview and "2026-13-01" in preview

    with django_capture_on_commit_callbacks(execute=True):
        response = staff_client.post(url("preview", obj), {"action": "confirm"})
    assert response["Location"] == url("progress", obj)
    obj.refresh_from_db()
    assert obj.status == ImportStatus.DONE and obj.created_count == 1 and obj.error_count == 2
    assert Loan.objects.get().loan_account == "62001"
    assert staff_client.get(url("status", obj)).json()["next"] == url("result", obj)

    result = staff_client.get(url("result", obj)).content.decode()
    assert "已导入" in result and "逾期清单.xlsx" in result
    actions = AuditEvent.objects.exclude(action__startswith="auth.").order_by("pk")
    assert list(actions.values_list("action", flat=True)) == [
        "loan_import.upload",
        "loan_import.confirm",
        "loan_import.apply",
    ]

    history = staff_client.get(HISTORY).content.decode()
    assert "逾期清单.xlsx" in history and url("result", obj) in history and "import-loan-book" in history


def test_the_preview_masks_personal_data_for_staff_and_supervisors_alike(
    client, staff, supervisor, django_capture_on_commit_callbacks
):
    rows = [loan(loan_account="62001", overdue_amount="13812345678x")]
    client.force_login(staff)
    upload(client, book(rows), capture=django_capture_on_commit_callbacks)
    obj = LoanBookImport.objects.get()
    page = client.get(url("preview", obj)).content.decode()
    assert "138****5678x" in page and "13812345678" not in page
    client.force_login(supervisor)  # pages never show whole numbers; the error report may
    page = client.get(url("preview", obj)).content.decode()
    assert "138****5678x" in page and "13812345678" not in page


def test_the_error_report_holds_rows_as_they_were_for_supervisors_masked_for_staff(
    client, staff, supervisor, django_capture_on_commit_callbacks
):
    client.force_login(staff)
    upload(client, book(rows_with_a_mobile_error()), capture=django_capture_on_commit_callbacks)
    obj = LoanBookImport.objects.get()

    def report():
        response = client.get(url("errors", obj))
        assert response.status_code == 200
        assert response["Content-Type"].startswith("application/vnd.openxmlformats")
        sheet = openpyxl.load_workbook(io.BytesIO(b"".join(response.streaming_content))).active
        return [list(r) for r in sheet.iter_rows(values_only=True)]

    staff_rows = report()
    assert staff_rows[0][0] == "行号" and staff_rows[0][-1] == "原因" and "贷款账号" in staff_rows[0]
    assert [r[0] for r in staff_rows[1:]] == [3, 4]
    assert "逾期金额: 不是金额。" in staff_rows[1][-1]
    assert "138****5678" in staff_rows[1] and "330102********1234" in staff_rows[2]
    client.force_login(supervisor)
    supervisor_rows = report()
    assert "13812345678" in supervisor_rows[1] and "330102198001011234" in supervisor_rows[2]


def test_snapshot_preview_lists_the_loans_to_cure(
    client, staff, supervisor, django_capture_on_commit_callbacks
):
    LoanFactory(loan_account="6299000011112222", days=40)
    client.force_login(staff)
    upload(
        client,
        book([loan(loan_account="62001")]),
        mode="snapshot",
        capture=django_capture_on_commit_callbacks,
    )
    obj = LoanBookImport.objects.get()
    page = client.get(url("preview", obj)).content.decode()
    assert 'id="count-cured">1<' in page and "6299000011112222" in page and "标记为逾期已结清" in page
    # Curing the whole overdue book (1 of 1) is over the safety limit: a supervisor confirms it.
    with django_capture_on_commit_callbacks(execute=True):
        client.post(url("preview", obj), {"action": "confirm"})
    assert Loan.objects.get(loan_account="6299000011112222").status == LoanStatus.OVERDUE
    client.force_login(supervisor)
    with django_capture_on_commit_callbacks(execute=True):
        client.post(url("preview", obj), {"action": "confirm", "accept_safety": "1"})
    assert Loan.objects.get(loan_account="6299000011112222").status == LoanStatus.CURRENT


def test_uploading_a_file_already_imported_for_the_date_warns_first(
    staff_client, django_capture_on_commit_callbacks
):
    data = book([loan(loan_account="62001")])
    upload(staff_client, data, capture=django_capture_on_commit_callbacks)
    first = LoanBookImport.objects.get()
    with django_capture_on_commit_callbacks(execute=True):
        staff_client.post(url("preview", first), {"action": "confirm"})

    upload(staff_client, data, capture=django_capture_on_commit_callbacks)
    second = LoanBookImport.objects.exclude(pk=first.pk).get()
    page = staff_client.get(url("preview", second)).content.decode()
    assert "已经导入过" in page and 'name="reimport"' in page

    response = staff_client.post(url("preview", second), {"action": "confirm"}, follow=True)
    second.refresh_from_db()
    assert second.status == ImportStatus.VALIDATED and "勾选" in response.content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        staff_client.post(url("preview", second), {"action": "confirm", "reimport": "1"})
    second.refresh_from_db()
    assert second.status == ImportStatus.DONE and second.unchanged_count == 1


def test_cancel_applies_nothing(staff_client, django_capture_on_commit_callbacks):
    upload(staff_client, book([loan()]), capture=django_capture_on_commit_callbacks)
    obj = LoanBookImport.objects.get()
    response = staff_client.post(url("preview", obj), {"action": "cancel"}, follow=True)
    obj.refresh_from_db()
    assert obj.status == ImportStatus.CANCELLED and not Loan.objects.exists()
    assert "已取消" in response.content.decode()


def test_a_file_that_cannot_be_imported_is_refused_on_the_form(
    staff_client, django_capture_on_commit_callbacks
):
    response = upload(staff_client, b"just text", capture=django_capture_on_commit_callbacks)
    assert response.status_code == 200 and "不是 Excel" in response.content.decode()
    assert not LoanBookImport.objects.exists()


def test_the_form_refuses_a_file_over_the_limit(staff_client, settings, django_capture_on_commit_callbacks):
    settings.LOAN_IMPORT_MAX_BYTES = 1024
    response = upload(staff_client, book([loan()]), capture=django_capture_on_commit_callbacks)
    assert response.status_code == 200 and "上限" in response.content.decode()


def test_only_users_who_may_import_can_upload_or_confirm(
    client, administrator, staff, django_capture_on_commit_callbacks
):
    client.force_login(staff)
    upload(client, book([loan()]), capture=django_capture_on_commit_callbacks)
    obj = LoanBookImport.objects.get()
    client.force_login(administrator)  # may view imports, may not import
    assert client.get(UPLOAD).status_code == 403
    assert client.post(url("preview", obj), {"action": "confirm"}).status_code == 403
    assert client.get(url("preview", obj)).status_code == 200
    assert "import-loan-book" not in client.get(HISTORY).content.decode()
    assert "confirm-import" not in client.get(url("preview", obj)).content.decode()


def test_confirming_needs_a_post(staff_client, django_capture_on_commit_callbacks):
    upload(staff_client, book([loan()]), capture=django_capture_on_commit_callbacks)
    obj = LoanBookImport.objects.get()
    staff_client.get(url("preview", obj), {"action": "confirm"})
    obj.refresh_from_db()
    assert obj.status == ImportStatus.VALIDATED


def test_progress_page_polls_a_status_endpoint_with_a_static_script(staff_client, staff):
    obj = LoanBookImport.objects.create(
        file_name="x.xlsx", sha256="0", created_by=staff, as_of=AS_OF, status=ImportStatus.QUEUED
    )
    page = staff_client.get(url("progress", obj)).content.decode()
    assert "customers/js/import_progress.js" in page and f'data-status-url="{url("status", obj)}"' in page
    assert "onclick" not in page
    data = staff_client.get(url("status", obj)).json()
    assert data == {
        "status": "queued",
        "phase": "",
        "percent": 0,
        "rows": 0,
        "status_label": "排队中",
        "next": None,
    }


def test_the_import_page_of_history_redirects_to_its_result(staff_client, staff):
    obj = LoanBookImport.objects.create(
        file_name="x.xlsx", sha256="0", created_by=staff, as_of=AS_OF, status=ImportStatus.DONE
    )
    response = staff_client.get(f"{HISTORY}{obj.pk}/change/")
    assert response.status_code == 302 and response["Location"] == url("result", obj)
