"""A batch says what is true: of several loans as several, with the stage's deadline, never
with a text that is true of one loan only, and of the latest loan-book data."""

import datetime
import json
from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from core.exceptions import ServiceError
from core.models import AuditEvent
from customers.models import ImportStatus, LoanBookImport
from notices.models import BatchStatus, ExclusionReason, MessageStatus, NoticeBatch, SmsMessage, SmsTemplate
from notices.selectors import batch_samples
from notices.services import batch_approve, batch_generate
from notices.services.batches import batch_approval_problems, batch_newer_import, batch_replace
from tests.factories import CustomerFactory, LoanFactory, notice_stage, staff_user, supervisor_user

pytestmark = pytest.mark.django_db
DAY = timezone.localdate()


@pytest.fixture(autouse=True)
def _bank(settings):
    settings.SMS_SIGNATURE, settings.BANK_HOTLINE, settings.BANK_REPAY_METHODS = (
        "【民丰银行】",
        "00000",
        "手机银行或网点",
    )


def loan(days, **kwargs):
    return LoanFactory(overdue_since=DAY - datetime.timedelta(days=days), **kwargs)


def notice(batch, customer):
    return SmsMessage.objects.get(batch=batch, customer=customer, status=MessageStatus.PENDING)


def test_a_customer_with_two_loans_is_told_of_both_with_their_total():
    customer = CustomerFactory(name="林峰", id_number="33010219800101123X")
    loan(96, customer=customer, loan_account="6228480012342603", overdue_amount=Decimal("8313.45"))
    loan(40, customer=customer, loan_account="6228480012342740", overdue_amount=Decimal("48246.56"))
    message = notice(batch_generate(as_of=DAY), customer)
    deadline = notice_stage(96).repay_by_on(DAY)
    assert message.body == (
        "【民丰银行】林先生，尾号2603等2笔贷款最长已逾期96天，合计待还56,560.01元，"
        f"请于{deadline.month}月{deadline.day}日前用手机银行或网点还款。如需分期请致电00000"
    )
    assert message.loan_count == 2 and message.overdue_total == Decimal("56560.01")
    assert message.covered_loans.count() == 2


def test_three_loans_compound_surname_and_the_stage_s_deadline():
    stage = notice_stage(20)
    stage.repay_by_days = 7
    stage.save()
    customer = CustomerFactory(name="欧阳明", id_number="33010219800101123X")
    for account, amount in (("6200000000001111", "100.00"), ("6200000000002222", "200.00")):
        loan(18, customer=customer, loan_account=account, overdue_amount=Decimal(amount))
    loan(20, customer=customer, loan_account="6200000000003333", overdue_amount=Decimal("300.00"))
    body = notice(batch_generate(as_of=DAY), customer).body
    deadline = DAY + datetime.timedelta(days=7)
    assert body.startswith("【民丰银行】欧阳先生，尾号3333等3笔贷款最长已逾期20天，合计待还600.00元")
    assert f"{deadline.month}月{deadline.day}日前" in body


def test_a_text_true_of_one_loan_only_is_never_sent_to_a_customer_with_several():
    """A template saved before the rules (straight into the database) still holds one tail
    next to the total: single-loan customers may get it, customers with several never."""
    stage = notice_stage(20)
    legacy = "{customer_name}您好，您尾号{loan_tail}的贷款待还{overdue_amount}元，请还款。客服{hotline}"
    SmsTemplate.objects.filter(stage=stage).update(body=legacy)
    SmsTemplate.objects.get(stage=stage).versions.update(body=legacy)
    single = loan(20, loan_account="6200000000009999")
    several = CustomerFactory()
    loan(20, customer=several)
    loan(25, customer=several)
    batch = batch_generate(as_of=DAY)
    assert "尾号9999的贷款待还1,234.56元" in notice(batch, single.customer).body
    reasons = set(
        SmsMessage.objects.filter(batch=batch, customer=several).values_list("exclusion_reason", flat=True)
    )
    assert reasons == {ExclusionReason.NO_MULTI_LOAN_TEMPLATE}


def test_the_supervisor_s_samples_include_a_message_about_several_loans():
    for _ in range(30):
        loan(20)
    customer = CustomerFactory(name="林峰", id_number="33010219800101123X")
    loan(20, customer=customer)
    loan(22, customer=customer)
    samples = batch_samples(batch_generate(as_of=DAY), size=4)
    assert any(m.loan_count == 2 and "等2笔贷款" in m.body for m in samples)
    assert any(m.loan_count == 1 for m in samples)


def made_an_hour_ago(batch):
    NoticeBatch.objects.filter(pk=batch.pk).update(created_at=timezone.now() - datetime.timedelta(hours=1))
    batch.refresh_from_db()
    return batch


def imported(minutes_ago, *, changed=True):
    return LoanBookImport.objects.create(
        file_name="逾期清单-下午.xlsx",
        sha256="1" * 64,
        as_of=DAY,
        status=ImportStatus.DONE,
        updated_count=1 if changed else 0,
        unchanged_count=0 if changed else 5,
        finished_at=timezone.now() - datetime.timedelta(minutes=minutes_ago),
    )


def test_a_batch_made_before_the_latest_import_says_so_cannot_be_approved_and_is_replaced():
    staff = staff_user(username="wang")
    first = loan(10)
    batch = made_an_hour_ago(batch_generate(as_of=DAY, user=staff))
    imported(90)  # before the batch
    assert batch_newer_import(batch) is None
    imported(20, changed=False)  # changed nothing
    assert batch_newer_import(batch) is None
    newer = imported(10)
    assert batch_newer_import(batch) == newer
    boss = supervisor_user(username="zhao")
    assert any("逾期清单-下午.xlsx" in p for p in batch_approval_problems(batch=batch, user=boss))
    with pytest.raises(ServiceError):
        batch_approve(batch=batch, user=boss)
    assert batch_generate(as_of=DAY, user=staff).pk == batch.pk  # still returned as it is
    type(first).objects.filter(pk=first.pk).update(overdue_amount=Decimal("99.00"))
    replacement = batch_replace(batch=batch, user=staff)
    batch.refresh_from_db()
    assert batch.status == BatchStatus.CANCELLED and "逾期清单-下午.xlsx" in batch.reason
    assert not SmsMessage.objects.filter(batch=batch, status=MessageStatus.PENDING).exists()
    assert replacement.pk != batch.pk and replacement.status == BatchStatus.PENDING_APPROVAL
    assert "99.00" in SmsMessage.objects.get(batch=replacement, status=MessageStatus.PENDING).body
    assert AuditEvent.objects.filter(action="batch.replace", object_id=str(batch.pk)).exists()
    with pytest.raises(ServiceError):
        batch_replace(batch=replacement, user=staff)  # of the latest data: nothing to replace


def test_an_approved_batch_is_never_replaced():
    loan(10)
    batch = batch_generate(as_of=DAY, user=staff_user(username="wang"))
    batch_approve(batch=batch, user=supervisor_user(username="zhao"))
    made_an_hour_ago(batch)
    imported(10)
    with pytest.raises(ServiceError) as caught:
        batch_replace(batch=batch, user=staff_user(username="wang"))
    assert caught.value.code == "wrong_state"


def test_the_generate_page_says_the_batch_exists_and_is_stale_and_offers_to_replace_it(staff_client):
    loan(10)
    batch = made_an_hour_ago(batch_generate(as_of=DAY, user=staff_user(username="wang")))
    url = "/admin/notices/noticebatch/generate/"
    page = staff_client.post(url, {"as_of": DAY.isoformat()}).content.decode()
    assert 'id="existing-batch"' in page and 'id="replace-batch"' not in page  # of the latest data
    imported(10)
    page = staff_client.post(url, {"as_of": DAY.isoformat()}).content.decode()
    assert 'id="batch-stale"' in page and 'id="replace-batch"' in page
    response = staff_client.post(url, {"as_of": DAY.isoformat(), "replace": str(batch.pk)})
    assert response.status_code == 302
    assert NoticeBatch.objects.get(pk=batch.pk).status == BatchStatus.CANCELLED
    assert NoticeBatch.objects.filter(as_of=DAY, status=BatchStatus.PENDING_APPROVAL).count() == 1


def test_the_command_says_a_stale_batch_and_replaces_it_when_asked():
    loan(10)
    batch = made_an_hour_ago(batch_generate(as_of=DAY))
    imported(10)
    out = StringIO()
    with pytest.raises(CommandError):
        call_command("generate_batch", "--json", stdout=out)
    result = json.loads(out.getvalue().strip().splitlines()[-1])
    assert result["existing"] and result["stale"] and result["batch_id"] == batch.pk
    out = StringIO()
    call_command("generate_batch", "--json", "--replace", stdout=out)
    result = json.loads(out.getvalue().strip().splitlines()[-1])
    assert result["replaced"] == batch.pk and result["batch_id"] != batch.pk and not result["stale"]
