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
