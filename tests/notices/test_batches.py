import datetime
import json
from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import call_command
from django.utils import timezone

from core.models import AuditEvent
from customers.models import LoanStatus, PhoneProblem
from notices.models import (
    BatchStatus,
    ExclusionReason,
    MessageStatus,
    NoticeBatch,
    PlanKind,
    PlanLoan,
    PlanStatus,
    RepaymentPlan,
    SmsMessage,
    SmsTemplate,
)
from notices.services import batch_approve, batch_generate
from notices.services.batches import variant_for_loan
from tests.factories import CustomerFactory, LoanFactory, notice_stage

pytestmark = pytest.mark.django_db

DAY = timezone.localdate()


def loan(days: int, *, as_of=DAY, **kwargs):
    return LoanFactory(overdue_since=as_of - datetime.timedelta(days=days), **kwargs)


def pending(batch):
    return list(SmsMessage.objects.filter(batch=batch, status=MessageStatus.PENDING))


def excluded(batch):
    return dict(
        SmsMessage.objects.filter(batch=batch, status=MessageStatus.EXCLUDED).values_list(
            "loan__loan_account", "exclusion_reason"
        )
    )


def test_an_overdue_loan_gets_one_notice_with_the_stage_template(settings):
    settings.SMS_SIGNATURE = "【民丰银行】"
    customer = CustomerFactory(name="王小明", id_number="33010219800101123X")
    the_loan = loan(5, customer=customer, loan_account="6200000000005678", overdue_amount=Decimal("2345.60"))
    batch = batch_generate(as_of=DAY)
    assert batch.status == BatchStatus.PENDING_APPROVAL
    [message] = pending(batch)
    assert message.loan == the_loan and message.stage == notice_stage(5)
    assert message.phone == customer.mobile
    assert message.body.startswith("【民丰银行】王先生您好")
    assert "5678" in message.body and "2,345.60" in message.body and "5天" in message.body
    assert message.segments == 1
    assert message.template_version.version == 1


def test_day_zero_and_current_loans_get_nothing():
    loan(0)
    LoanFactory(status=LoanStatus.CURRENT, overdue_since=None, overdue_amount=0)
    batch = batch_generate(as_of=DAY)
    assert batch.message_count == 0 and batch.excluded_count == 0
    assert batch.status == BatchStatus.DONE


def test_a_customer_with_several_loans_gets_one_message_covering_them():
    customer = CustomerFactory()
    loan(2, customer=customer, overdue_amount=Decimal("100.10"))
    loan(40, customer=customer, overdue_amount=Decimal("200.20"), loan_account="6200000000009999")
    loan(8, customer=customer, overdue_amount=Decimal("300.30"))
    batch = batch_generate(as_of=DAY)
    [message] = pending(batch)
    assert message.loan_count == 3 and message.overdue_total == Decimal("600.60")
    assert message.stage == notice_stage(40) and message.days_overdue == 40
    assert "9999" in message.body and "600.60" in message.body
    assert batch.message_count == 1 and batch.customer_count == 1 and batch.loan_count == 3


@pytest.mark.parametrize(
    ("customer_kwargs", "reason"),
    [
        ({"do_not_contact": True, "do_not_contact_reason": "律师代理"}, ExclusionReason.DO_NOT_CONTACT),
        ({"deceased": True}, ExclusionReason.DECEASED),
        ({"disputed": True}, ExclusionReason.DISPUTED),
        ({"mobile": "", "phone_problem": PhoneProblem.MISSING}, ExclusionReason.PHONE_MISSING),
        ({"mobile": "", "phone_problem": PhoneProblem.INVALID}, ExclusionReason.PHONE_INVALID),
        ({"mobile": "", "phone_problem": PhoneProblem.NOT_MOBILE}, ExclusionReason.PHONE_LANDLINE),
        ({"phone_problem": PhoneProblem.SHARED}, ExclusionReason.PHONE_SHARED),
        ({"phone_problem": PhoneProblem.WRONG_NUMBER}, ExclusionReason.PHONE_WRONG),
        ({"sms_stopped": True}, ExclusionReason.STOP_REQUEST),
    ],
)
def test_customers_who_must_not_be_messaged_are_excluded_with_the_reason(customer_kwargs, reason):
    the_loan = loan(10, customer=CustomerFactory(**customer_kwargs))
    batch = batch_generate(as_of=DAY)
    assert pending(batch) == []
    assert excluded(batch) == {the_loan.loan_account: reason}
    assert batch.excluded_by_reason == {reason.value: 1}


def test_do_not_contact_lapses_after_its_end_date():
    customer = CustomerFactory(
        do_not_contact=True, do_not_contact_reason="x", do_not_contact_until=DAY - datetime.timedelta(days=1)
    )
    loan(10, customer=customer)
    assert len(pending(batch_generate(as_of=DAY))) == 1


def test_active_plan_and_small_amounts_are_excluded(settings):
    in_plan = loan(20)
    plan = RepaymentPlan.objects.create(
        customer=in_plan.customer, kind=PlanKind.INSTALLMENTS, status=PlanStatus.ACTIVE
    )
    PlanLoan.objects.create(plan=plan, loan=in_plan, amount=in_plan.overdue_amount)
    small = loan(20, overdue_amount=Decimal("9.99"))
    batch = batch_generate(as_of=DAY)
    assert excluded(batch) == {
        in_plan.loan_account: ExclusionReason.ACTIVE_PLAN,
        small.loan_account: ExclusionReason.BELOW_MINIMUM,
    }


def test_daily_cap_counts_other_messages_of_the_day():
    the_loan = loan(10)
    SmsMessage.objects.create(
        customer=the_loan.customer,
        purpose="feedback_reply",
        phone=the_loan.customer.mobile,
        body="x",
        status=MessageStatus.SENT,
        idempotency_key="reply-1",
    )
    batch = batch_generate(as_of=timezone.localdate())
    assert excluded(batch) == {the_loan.loan_account: ExclusionReason.DAILY_CAP}


def _run(days_after: int, base=DAY):
    return batch_generate(as_of=base + datetime.timedelta(days=days_after))


def test_cadence_across_several_days_and_a_stage_change():
    # Stage 4–15 repeats every 7 days; stage 1–3 notifies once.
    the_loan = LoanFactory(overdue_since=DAY - datetime.timedelta(days=1))  # day 1 on DAY
    sent_on = []
    for offset in range(0, 16):
        batch = _run(offset)
        if pending(batch):
            sent_on.append(the_loan.days_overdue_on(batch.as_of))
            batch_approve(batch=batch, user=_approver())
        elif batch.excluded_count:
            assert excluded(batch) == {the_loan.loan_account: ExclusionReason.ALREADY_NOTIFIED}
    assert sent_on == [1, 4, 11, 16]


def _approver():
    from tests.factories import supervisor_user

    return supervisor_user(username="approver")


def test_generating_twice_for_a_date_makes_no_second_set():
    loan(10)
    first = batch_generate(as_of=DAY)
    second = batch_generate(as_of=DAY)
    assert first.pk == second.pk
    assert SmsMessage.objects.count() == 1 and NoticeBatch.objects.count() == 1


def test_after_a_rejection_the_date_can_be_generated_again():
    from notices.services import batch_reject

    loan(10)
    first = batch_generate(as_of=DAY)
    batch_reject(batch=first, user=_approver(), reason="金额有误")
    second = batch_generate(as_of=DAY)
    assert second.pk != first.pk and len(pending(second)) == 1
    assert SmsMessage.objects.get(batch=first).status == MessageStatus.CANCELLED


def test_a_newer_batch_supersedes_an_unapproved_older_one():
    loan(10)
    old = batch_generate(as_of=DAY)
    new = _run(1)
    old.refresh_from_db()
    assert old.status == BatchStatus.CANCELLED
    assert len(pending(new)) == 1  # the old pending notice no longer counts as sent


def test_a_cured_and_again_overdue_loan_starts_over():
    the_loan = loan(2)
    batch_approve(batch=batch_generate(as_of=DAY), user=_approver())
    the_loan.overdue_since = DAY + datetime.timedelta(days=5)
    the_loan.save()
    batch = _run(7)  # day 2 of the new episode, same stage as before
    assert len(pending(batch)) == 1


def test_variants_are_stable_per_loan_and_follow_weights():
    stage = notice_stage(20)
    SmsTemplate.objects.filter(stage=stage).update(weight=50)
    b = SmsTemplate.objects.create(
        name="B",
        stage=stage,
        variant="B",
        weight=50,
        body="{customer_name}，尾号{loan_tail}已逾期{days_overdue}天，请尽快还款。客服{hotline}",
    )
    loans = [loan(20) for _ in range(60)]
    first = {x.pk: variant_for_loan(x, as_of=DAY).variant for x in loans}
    again = {x.pk: variant_for_loan(x, as_of=DAY + datetime.timedelta(days=3)).variant for x in loans}
    assert first == again
    assert 15 <= list(first.values()).count("B") <= 45
    batch = batch_generate(as_of=DAY)
    by_variant = {m.loan_id: m.variant for m in pending(batch)}
    assert by_variant == first
    assert SmsMessage.objects.filter(template=b).exists()


def test_editing_a_used_template_makes_a_new_version_and_messages_keep_theirs(staff):
    from notices.services import template_save

    loan(20)
    batch = batch_generate(as_of=DAY)
    [message] = pending(batch)
    template = message.template
    old_body = message.body
    template.body = template.body.replace("客服{hotline}", "客服电话{hotline}")
    template_save(template=template, user=staff)
    template.refresh_from_db()
    assert template.version == 2
    message.refresh_from_db()
    assert message.template_version.version == 1 and message.body == old_body
    assert AuditEvent.objects.filter(action="template.change", object_id=str(template.pk)).exists()


def test_editing_an_unused_template_keeps_its_version(staff):
    from notices.services import template_save

    template = SmsTemplate.objects.get(stage=notice_stage(20))
    template.body = template.body.replace("客服{hotline}", "客服电话{hotline}")
    template_save(template=template, user=staff)
    template.refresh_from_db()
    assert template.version == 1 and template.versions.get().body == template.body


def test_generate_batch_command_prints_json(capsys):
    loan(10)
    loan(10, customer=CustomerFactory(deceased=True))
    out = StringIO()
    call_command("generate_batch", "--as-of", DAY.isoformat(), "--json", stdout=out)
    result = json.loads(out.getvalue().strip().splitlines()[-1])
    assert result["messages"] == 1 and result["excluded"] == 1
    assert result["excluded_by_reason"] == {"deceased": 1}
    assert NoticeBatch.objects.filter(pk=result["batch_id"]).exists()
    out2 = StringIO()
    call_command("generate_batch", "--as-of", DAY.isoformat(), "--json", stdout=out2)
    assert json.loads(out2.getvalue().strip().splitlines()[-1])["batch_id"] == result["batch_id"]


def test_generation_is_audited():
    loan(10)
    batch = batch_generate(as_of=DAY)
    actions = list(AuditEvent.objects.filter(object_id=str(batch.pk)).values_list("action", flat=True))
    assert "batch.generate" in actions and "batch.submit" in actions
