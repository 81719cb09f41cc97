import datetime
import io
import tracemalloc

import openpyxl
import pytest
from django.contrib.auth.models import Permission
from django.test import Client
from django.utils import timezone

from core.models import AuditEvent
from core.xlsx import FORMULA_TRIGGERS, neutralise
from notices.models import MessageStatus, SmsMessage
from notices.reports import report_export
from tests.factories import CustomerFactory, UserFactory, staff_user

pytestmark = pytest.mark.django_db
TODAY = timezone.localdate()


@pytest.mark.parametrize("trigger", FORMULA_TRIGGERS)
def test_each_formula_trigger_is_neutralised(trigger):
    assert neutralise(f"{trigger}SUM(A1:A9)") == f"'{trigger}SUM(A1:A9)"
    assert neutralise(f"a{trigger}b") == f"a{trigger}b"


def exporter(full=False):
    user = UserFactory(username="auditor")
    user.user_permissions.add(Permission.objects.get(codename="export_data"))
    if full:
        user.user_permissions.add(Permission.objects.get(codename="view_full_personal_data"))
    return user


def rows_of(response):
    workbook = openpyxl.load_workbook(io.BytesIO(b"".join(response.streaming_content)))
    return list(workbook.active.iter_rows(values_only=True)), workbook.active


def message(**kwargs):
    customer = kwargs.pop("customer", None) or CustomerFactory(
        mobile="+8613812345678", name='=HYPERLINK("x")'
    )
    return SmsMessage.objects.create(
        customer=customer, phone=customer.mobile, body="@evil", status=MessageStatus.DELIVERED,
        idempotency_key=f"k{SmsMessage.objects.count()}", overdue_total="1234.5",
        sent_at=timezone.now(), **kwargs,
    )  # fmt: skip


def test_send_log_is_masked_typed_and_safe():
    message()
    response = report_export(kind="send_log", date_from=TODAY, date_to=TODAY, user=exporter())
    rows, sheet = rows_of(response)
    header, line = rows[0], rows[1]
    assert header[0] == "短信编号" and "手机号" in header
    values = dict(zip(header, line, strict=True))
    assert values["手机号"] == "138****5678"
    assert values["姓名"] == '\'=HYPERLINK("x")' and values["短信内容"] == "'@evil"
    assert (
        values["逾期金额"] == 1234.5
        and sheet.cell(row=2, column=header.index("逾期金额") + 1).number_format == "#,##0.00"
    )
    assert isinstance(values["发送时间"], datetime.datetime)
    assert AuditEvent.objects.filter(action="export.send_log", actor__username="auditor").exists()


def test_full_data_only_for_those_allowed():
    message()
    rows, _sheet = rows_of(
        report_export(kind="send_log", date_from=TODAY, date_to=TODAY, user=exporter(full=True))
    )
    assert "13812345678" in rows[1]


@pytest.mark.parametrize("kind", ["batches", "feedback", "plans", "effectiveness"])
def test_every_report_downloads(kind):
    rows, _sheet = rows_of(
        report_export(
            kind=kind, date_from=TODAY - datetime.timedelta(days=30), date_to=TODAY, user=exporter()
        )
    )
    assert rows and all(isinstance(h, str) and h for h in rows[0])


def test_reports_page_needs_the_export_permission():
    client = Client()
    client.force_login(staff_user(username="clerk"))
    assert client.get("/admin/reports/").status_code == 403
    client.force_login(exporter())
    assert client.get("/admin/reports/").status_code == 200
    response = client.get(
        "/admin/reports/",
        {"report": "send_log", "date_from": TODAY.isoformat(), "date_to": TODAY.isoformat()},
    )
    assert response["Content-Type"].startswith("application/vnd.openxmlformats")


def _export_peak(n: int, user) -> int:
    customer = CustomerFactory()
    SmsMessage.objects.bulk_create(
        SmsMessage(
            customer=customer,
            phone=customer.mobile,
            body="【民丰银行】" + "您好" * 30,
            status=MessageStatus.SENT,
            idempotency_key=f"bulk-{n}-{i}",
        )  # fmt: skip
        for i in range(n)
    )
    tracemalloc.start()
    response = report_export(kind="send_log", date_from=TODAY, date_to=TODAY, user=user)
    for _chunk in response.streaming_content:
        pass
    _current, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    SmsMessage.objects.all().delete()
    return peak


def test_export_memory_does_not_grow_with_the_rows(monkeypatch):
    monkeypatch.setattr("notices.reports.EXPORT_CHUNK", 100)
    user = exporter()
    # Both well past the fetch chunk: past it, a longer log costs no more memory.
    small = _export_peak(500, user)
    large = _export_peak(2_500, user)
    assert large < small * 1.5, (small, large)


@pytest.mark.parametrize(
    ("language", "start", "end"), [("zh-hans", "起始日期", "截止日期"), ("en", "from", "to")]
)
def test_the_reports_page_labels_its_dates_as_a_range(language, start, end):
    client = Client()
    client.force_login(exporter())
    client.cookies["django_language"] = language
    page = client.get("/admin/reports/").content.decode()
    labels = [label.split(">")[-1] for label in page.split("</label>")[:-1]]
    assert labels[:2] == [start, end]
    assert "原状态" not in page and "新状态" not in page
