import pytest
from django.core.management import call_command
from django.utils import timezone

from notices.models import BatchStatus, Feedback, NoticeBatch, PlanStatus, RepaymentPlan, SmsMessage
from notices.selectors import promise_figure


@pytest.mark.django_db
def test_the_demo_has_a_month_of_history_and_work_waiting(monkeypatch):
    monkeypatch.setenv("DEMO_PASSWORD", "demo-pass-123")
    call_command("seed_demo")
    today = timezone.localdate()
    assert NoticeBatch.objects.filter(status=BatchStatus.DONE).count() == 30
    assert NoticeBatch.objects.get(as_of=today).status == BatchStatus.PENDING_APPROVAL
    assert SmsMessage.objects.filter(status="delivered").count() > 100
    assert (
        Feedback.objects.filter(customer__isnull=True).exists()
        and Feedback.objects.filter(category="installment_request").exists()
    )
    assert set(RepaymentPlan.objects.values_list("status", flat=True)) == {
        PlanStatus.PENDING_APPROVAL,
        PlanStatus.ACTIVE,
    }
    week = promise_figure(today - timezone.timedelta(days=7), today - timezone.timedelta(days=1))
    assert week.total >= 5 and week.percent >= 80  # the demo keeps (nearly) every promise
    messages = SmsMessage.objects.count()
    call_command("seed_demo")
    assert SmsMessage.objects.count() == messages  # a second run adds no history


@pytest.mark.django_db
def test_the_demo_is_trustworthy(monkeypatch, settings):
    """A fictional hotline, salutations that fit the names, batches with their real totals,
    every batch made before it was approved, every text the lint would accept."""
    from decimal import Decimal

    from django.db.models import Count, Sum

    from customers.models import Customer
    from customers.salutations import id_number_sex
    from demo.management.commands.seed_demo import GIVEN
    from notices.rendering import template_problems

    monkeypatch.setenv("DEMO_PASSWORD", "demo-pass-123")
    call_command("seed_demo")
    assert settings.BANK_HOTLINE == settings.DEMO_HOTLINE == "00000"
    assert not SmsMessage.objects.filter(body__contains="95588").exists()
    sent = SmsMessage.objects.exclude(status="excluded")
    assert sent.exists() and all("00000" in m.body for m in sent)
    given_by_sex = {"先生": GIVEN[True], "女士": GIVEN[False]}
    for customer in Customer.objects.all():
        sex = id_number_sex(customer.id_number)
        assert sex is not None, customer.name  # every demo ID number is valid
        if "·" not in customer.name and customer.name != "林峰":
            assert any(customer.name.endswith(g) for g in given_by_sex[sex]), customer.name
            assert customer.honorific_name.endswith(sex)
    assert Customer.objects.get(name="林峰").honorific_name == "林先生"
    assert Customer.objects.get(name="买买提·艾力").honorific_name == "买买提·艾力"
    assert Customer.objects.filter(name__regex=r"^(欧阳|诸葛|上官|司马|慕容|东方)").exists()
    for batch in NoticeBatch.objects.filter(status=BatchStatus.DONE):
        notices = SmsMessage.objects.filter(batch=batch).exclude(status="excluded")
        totals = notices.aggregate(n=Count("pk"), loans=Sum("loan_count"), amount=Sum("overdue_total"))
        assert batch.message_count == totals["n"] > 0
        assert batch.loan_count == totals["loans"]
        assert batch.overdue_total == (totals["amount"] or Decimal("0"))
        assert batch.excluded_count == SmsMessage.objects.filter(batch=batch, status="excluded").count()
        assert batch.created_at <= batch.submitted_at <= batch.decided_at
        assert not notices.filter(created_at__gt=batch.decided_at).exists()
    several = SmsMessage.objects.filter(purpose="overdue_notice", loan_count__gt=1).exclude(status="excluded")
    assert several.exists() and all("笔贷款" in m.body for m in several)
    for version_body, purpose in (
        SmsMessage.objects.exclude(template_version=None)
        .values_list("template_version__body", "purpose")
        .distinct()
    ):
        assert template_problems(version_body, max_parts=2, purpose=purpose, phrases=[]) == [], version_body
