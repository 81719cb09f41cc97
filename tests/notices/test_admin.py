import io

import openpyxl
import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from notices.models import BatchStatus, MessageStatus, NoticeBatch, SmsMessage, SmsTemplate
from notices.services import batch_generate
from tests.factories import CustomerFactory, LoanFactory, notice_stage

pytestmark = pytest.mark.django_db
BATCHES = "/admin/notices/noticebatch/"


@pytest.fixture
def batch():
    customer = CustomerFactory(mobile="+8613812345678", name="陈静")
    LoanFactory(days=10, customer=customer)
    LoanFactory(days=40, customer=CustomerFactory(deceased=True))
    return batch_generate(as_of=timezone.localdate())


def test_staff_generate_a_batch_from_the_admin(staff_client):
    LoanFactory(days=10)
    response = staff_client.post(f"{BATCHES}generate/", {"as_of": timezone.localdate().isoformat()})
    batch = NoticeBatch.objects.get()
    assert response.status_code == 302 and response["Location"].endswith(f"/{batch.pk}/change/")
    assert batch.created_by.username == "staff1" and batch.status == BatchStatus.PENDING_APPROVAL


def test_batch_page_shows_totals_samples_masked_and_exclusions(staff_client, batch):
    body = staff_client.get(f"{BATCHES}{batch.pk}/change/").content.decode()
    assert "陈静" in body and "138****5678" in body and "13812345678" not in body
    assert "已故" in body  # exclusion reason, in Chinese
    assert SmsMessage.objects.get(batch=batch, status=MessageStatus.PENDING).body in body
    assert 'id="approve-batch"' not in body  # staff cannot approve


def test_supervisor_approves_from_the_batch_page_by_post_only(supervisor_client, batch):
    page = supervisor_client.get(f"{BATCHES}{batch.pk}/change/").content.decode()
    assert 'id="approve-batch"' in page
    assert supervisor_client.get(f"{BATCHES}{batch.pk}/approve/").status_code == 405
    response = supervisor_client.post(f"{BATCHES}{batch.pk}/approve/")
    assert response.status_code == 302
    assert NoticeBatch.objects.get(pk=batch.pk).status in (
        BatchStatus.APPROVED,
        BatchStatus.SENDING,
        BatchStatus.DONE,
    )


def test_staff_posting_approve_is_forbidden(staff_client, batch):
    assert staff_client.post(f"{BATCHES}{batch.pk}/approve/").status_code == 403
    assert NoticeBatch.objects.get(pk=batch.pk).status == BatchStatus.PENDING_APPROVAL


def test_the_author_sees_why_they_cannot_approve(client, batch, supervisor):
    NoticeBatch.objects.filter(pk=batch.pk).update(created_by=supervisor)
    client.force_login(supervisor)
    page = client.get(f"{BATCHES}{batch.pk}/change/").content.decode()
    assert 'id="approve-batch"' not in page and 'id="approval-problems"' in page
    client.post(f"{BATCHES}{batch.pk}/approve/")
    assert NoticeBatch.objects.get(pk=batch.pk).status == BatchStatus.PENDING_APPROVAL


def test_reject_without_reason_is_refused_with_a_message(supervisor_client, batch):
    response = supervisor_client.post(f"{BATCHES}{batch.pk}/reject/", {"reason": ""}, follow=True)
    assert NoticeBatch.objects.get(pk=batch.pk).status == BatchStatus.PENDING_APPROVAL
    assert "原因" in response.content.decode()


def test_export_masks_mobiles_for_staff_and_neutralises_formulas(staff, supervisor, batch):
    """Exports are whole for users with the full-data permission (and audited)."""
    from django.test import Client

    staff_client, supervisor_client = Client(), Client()
    staff_client.force_login(staff)
    supervisor_client.force_login(supervisor)
    SmsMessage.objects.filter(batch=batch, status=MessageStatus.PENDING).update(variant="=1+cmd|A0")
    response = staff_client.get(f"{BATCHES}{batch.pk}/export/")
    rows = list(openpyxl.load_workbook(io.BytesIO(b"".join(response.streaming_content))).active.values)
    flat = [str(v) for row in rows for v in row if v is not None]
    assert "138****5678" in flat and "13812345678" not in " ".join(flat)
    assert "'=1+cmd|A0" in flat
    response = supervisor_client.get(f"{BATCHES}{batch.pk}/export/")
    rows = list(openpyxl.load_workbook(io.BytesIO(b"".join(response.streaming_content))).active.values)
    assert "13812345678" in [str(v) for row in rows for v in row]


def test_supervisor_home_lists_pending_batches(supervisor_client, batch):
    body = supervisor_client.get("/admin/").content.decode()
    assert 'id="pending-batches"' in body and f"/admin/notices/noticebatch/{batch.pk}/change/" in body


def test_template_editor_refuses_forbidden_and_unknown_text(staff_client):
    template = SmsTemplate.objects.get(stage=notice_stage(20))
    url = f"/admin/notices/smstemplate/{template.pk}/change/"
    data = {
        "name": template.name,
        "purpose": template.purpose,
        "stage": template.stage_id,
        "variant": "A",
        "weight": 100,
        "active": "on",
        "body": "{customer_name}请还款，否则我们将联系您的家人。{{ settings.SECRET_KEY }}",
        "versions-TOTAL_FORMS": "0",
        "versions-INITIAL_FORMS": "0",
    }
    response = staff_client.post(url, data)
    assert response.status_code == 200
    body = response.content.decode()
    assert "家人" in body
    template.refresh_from_db()
    assert "家人" not in template.body
    # One loan's tail next to the longest days overdue: untrue for a customer with several loans.
    data["body"] = (
        "{customer_name}您好，您尾号{loan_tail}的贷款已逾期{days_overdue}天，请尽快还款。客服{hotline}"
    )
    response = staff_client.post(url, data)
    assert response.status_code == 200 and "{loan_tail}" in response.content.decode()
    data["body"] = "{customer_name}您好，您{loans}{overdue_for}，请尽快还款。客服{hotline}"
    assert staff_client.post(url, data).status_code == 302
    template.refresh_from_db()
    assert template.body == data["body"]


def test_template_preview_renders_for_a_loan_with_counts(staff_client):
    loan = LoanFactory(
        days=20,
        loan_account="6200000000004321",
        customer=CustomerFactory(name="赵敏", id_number="330102198001011248"),
    )
    response = staff_client.post(
        "/admin/notices/smstemplate/preview/",
        {
            "body": "{customer_name}，{loans}{amount_due}。客服{hotline}",
            "purpose": "overdue_notice",
            "loan": loan.loan_account,
        },
    )
    data = response.json()
    assert data["text"].endswith("赵女士，尾号4321贷款待还1,234.56元。客服00000")
    assert data["chars"] == len(data["text"]) and data["parts"] == 1 and data["problems"] == []
    # Beside the chosen customer, the typical renderings for one loan and for three.
    labels = [r["label"] for r in data["renderings"]]
    assert labels[1:] == ["one loan", "three loans"] or labels[1:] == ["一笔贷款", "三笔贷款"]
    assert "等3笔贷款" in data["renderings"][2]["text"] and data["renderings"][2]["parts"] >= 1


@pytest.mark.parametrize(
    "url",
    [
        BATCHES,
        "/admin/notices/smsmessage/",
        "/admin/notices/smsmessage/?status__exact=excluded",
        "/admin/notices/smsmessage/?q=13812345678",
        "/admin/notices/smstemplate/",
        "/admin/notices/collectionstage/",
        "/admin/notices/forbiddenexpression/",
        "/admin/notices/smstemplate/add/",
        f"{BATCHES}generate/",
    ],
)
def test_admin_smoke(admin_client, batch, url):
    assert admin_client.get(url).status_code == 200


@pytest.mark.parametrize("url", [BATCHES, "/admin/notices/smsmessage/"])
def test_changelist_queries_do_not_grow(admin_client, url):
    def count():
        with CaptureQueriesContext(connection) as ctx:
            assert admin_client.get(url).status_code == 200
        return len(ctx)

    for _ in range(5):
        LoanFactory(days=10)
    batch_generate(as_of=timezone.localdate())
    few = count()
    for _ in range(45):
        LoanFactory(days=10)
    NoticeBatch.objects.update(status=BatchStatus.CANCELLED)
    batch_generate(as_of=timezone.localdate())
    assert count() == few


def test_contact_policy_change_is_audited(admin_client):
    from core.models import AuditEvent
    from notices.models import ContactPolicy

    policy = ContactPolicy.current()
    response = admin_client.post(
        f"/admin/notices/contactpolicy/{policy.pk}/change/",
        {
            "window_start": "09:00",
            "window_end": "21:00",
            "daily_cap": 1,
            "rate_limit": 30,
            "min_overdue_amount": "20.00",
            "max_parts": 2,
            "batch_max_age_days": 1,
        },
    )
    assert response.status_code == 302
    event = AuditEvent.objects.get(action="policy.change")
    assert "08:00" in event.from_state and "09:00" in event.to_state
