import datetime
import io
from decimal import Decimal

import pytest
from django.utils import timezone

from core.exceptions import ServiceError
from core.models import AuditEvent
from customers.models import Loan, LoanStatus
from notices.models import Feedback, FeedbackCategory, MessageStatus, PlanKind, PlanStatus, SmsMessage
from notices.services.plans import (
    add_months,
    plan_approve,
    plan_draft,
    plan_reject,
    plan_schedule,
    plans_progress,
    split_amount,
)
from tests.factories import CustomerFactory, LoanFactory, staff_user, supervisor_user

pytestmark = pytest.mark.django_db
TODAY = timezone.localdate()


@pytest.mark.parametrize(
    ("total", "parts", "expected"),
    [
        ("1000.00", 3, ["333.33", "333.33", "333.34"]),
        ("100.00", 6, ["16.66"] * 5 + ["16.70"]),
        ("1234.56", 2, ["617.28", "617.28"]),
        ("0.05", 2, ["0.02", "0.03"]),
        ("10000.01", 12, ["833.33"] * 11 + ["833.38"]),
    ],
)
def test_installments_are_cent_exact_with_the_remainder_on_the_last(total, parts, expected):
    amounts = split_amount(Decimal(total), parts)
    assert [str(a) for a in amounts] == expected and sum(amounts) == Decimal(total)


def test_monthly_dates_keep_the_day_or_the_month_end():
    assert add_months(datetime.date(2027, 1, 31), 1) == datetime.date(2027, 2, 28)
    assert add_months(datetime.date(2027, 1, 31), 2) == datetime.date(2027, 3, 31)
    assert add_months(datetime.date(2026, 12, 15), 1) == datetime.date(2027, 1, 15)


def test_schedule_rules(settings):
    settings.PLAN_MAX_INSTALLMENTS, settings.PLAN_MAX_EXTENSION_DAYS = 12, 30
    today = datetime.date(2026, 11, 28)
    lines = plan_schedule(
        kind=PlanKind.INSTALLMENTS,
        total=Decimal("600"),
        today=today,
        count=6,
        first_date=datetime.date(2026, 12, 31),
    )
    assert [line.due_date for line in lines][:3] == [
        datetime.date(2026, 12, 31),
        datetime.date(2027, 1, 31),
        datetime.date(2027, 2, 28),
    ]
    chosen = plan_schedule(
        kind=PlanKind.INSTALLMENTS,
        total=Decimal("100"),
        today=today,
        dates=[datetime.date(2027, 1, 5), datetime.date(2026, 12, 5)],
    )
    assert [(line.seq, line.due_date, line.amount) for line in chosen] == [
        (1, datetime.date(2026, 12, 5), Decimal("50.00")),
        (2, datetime.date(2027, 1, 5), Decimal("50.00")),
    ]
    extension = plan_schedule(
        kind=PlanKind.EXTENSION, total=Decimal("99.99"), today=today, new_date=datetime.date(2026, 12, 28)
    )
    assert [(line.due_date, line.amount) for line in extension] == [
        (datetime.date(2026, 12, 28), Decimal("99.99"))
    ]
    for bad in (
        {"kind": PlanKind.EXTENSION, "new_date": datetime.date(2026, 12, 29)},  # 31 days
        {"kind": PlanKind.EXTENSION, "new_date": today},
        {"kind": PlanKind.INSTALLMENTS, "count": 1},
        {"kind": PlanKind.INSTALLMENTS, "count": 13},
        {"kind": PlanKind.INSTALLMENTS, "dates": [today, datetime.date(2027, 1, 1)]},
    ):
        with pytest.raises(ServiceError):
            plan_schedule(total=Decimal("100"), today=today, **bad)


def draft(loan, user, count=3):
    schedule = plan_schedule(kind=PlanKind.INSTALLMENTS, total=loan.overdue_amount, today=TODAY, count=count)
    return plan_draft(loans=[loan], user=user, kind=PlanKind.INSTALLMENTS, schedule=schedule)


def test_four_eyes_and_activation_with_a_confirmation_sms(settings):
    settings.SMS_SIGNATURE = "【民丰银行】"
    author = supervisor_user(username="author")
    loan = LoanFactory(
        days=20,
        overdue_amount=Decimal("900.00"),
        customer=CustomerFactory(name="李丽", id_number="330102198001011248"),
    )
    plan = draft(loan, author)
    with pytest.raises(ServiceError):
        plan_approve(plan=plan, user=author)
    with pytest.raises(ServiceError):
        plan_approve(plan=plan, user=staff_user(username="clerk"))
    with pytest.raises(ServiceError):
        draft(loan, author)  # one open plan per loan
    approver = supervisor_user(username="approver")
    plan_approve(plan=plan, user=approver)
    plan.refresh_from_db()
    assert (
        plan.status == PlanStatus.ACTIVE
        and plan.approved_by == approver
        and plan.baseline_overdue == Decimal("900.00")
    )
    assert Loan.objects.get(pk=loan.pk).status == LoanStatus.IN_PLAN
    confirmation = SmsMessage.objects.get(plan=plan, purpose="plan_confirmation")
    first = plan.installments.get(seq=1)
    assert confirmation.status == MessageStatus.QUEUED
    assert confirmation.body.startswith("【民丰银行】李女士您好")
    assert (
        f"{first.due_date.month}月{first.due_date.day}日" in confirmation.body
        and "300.00" in confirmation.body
    )
    assert AuditEvent.objects.filter(action="plan.approve", actor=approver).exists()


def test_reject_needs_a_reason(supervisor):
    plan = draft(LoanFactory(days=20), staff_user(username="clerk"))
    with pytest.raises(ServiceError):
        plan_reject(plan=plan, user=supervisor, reason="")
    plan_reject(plan=plan, user=supervisor, reason="收入证明不足")
    plan.refresh_from_db()
    assert plan.status == PlanStatus.REJECTED and plan.reason == "收入证明不足"


def active_plan(amount="900.00", count=3):
    loan = LoanFactory(days=20, overdue_amount=Decimal(amount))
    plan = draft(loan, staff_user(username=f"clerk{loan.pk}"), count=count)
    plan_approve(plan=plan, user=supervisor_user(username=f"boss{loan.pk}"))
    return plan, loan


def pay(loan, new_amount):
    Loan.objects.filter(pk=loan.pk).update(overdue_amount=Decimal(new_amount))


def test_installments_are_paid_as_the_overdue_amount_goes_down_and_the_plan_completes():
    plan, loan = active_plan()
    first, second, third = plan.installments.order_by("seq")
    pay(loan, "600.00")
    plans_progress(as_of=first.due_date)
    assert [i.paid_on for i in plan.installments.order_by("seq")] == [first.due_date, None, None]
    pay(loan, "350.00")  # not enough for the second
    plans_progress(as_of=second.due_date)
    assert plan.installments.get(seq=2).paid_on is None
    pay(loan, "0.00")
    plans_progress(as_of=second.due_date + datetime.timedelta(days=1))
    plan.refresh_from_db()
    assert plan.status == PlanStatus.COMPLETED
    assert Loan.objects.get(pk=loan.pk).status == LoanStatus.CURRENT


def test_an_installment_unpaid_past_the_grace_days_breaks_the_plan(settings):
    settings.PLAN_GRACE_DAYS = 3
    plan, loan = active_plan()
    first = plan.installments.get(seq=1)
    plans_progress(as_of=first.due_date + datetime.timedelta(days=3))
    plan.refresh_from_db()
    assert plan.status == PlanStatus.ACTIVE  # still inside the grace days
    plans_progress(as_of=first.due_date + datetime.timedelta(days=4))
    plan.refresh_from_db()
    assert plan.status == PlanStatus.BROKEN
    assert Loan.objects.get(pk=loan.pk).status == LoanStatus.OVERDUE
    owner_item = Feedback.objects.get(category=FeedbackCategory.PLAN_BROKEN)
    assert owner_item.assignee == plan.requested_by and owner_item.loan == loan
    assert AuditEvent.objects.filter(action="plan.break", object_id=str(plan.pk)).exists()


def test_progress_follows_real_imports(django_capture_on_commit_callbacks):
    """Two imports of the loan book: the first pays installment 1, the second clears the loan."""
    from customers.services.loan_import import loan_book_import
    from tests.customers import xlsx

    loan = LoanFactory(days=20, overdue_amount=Decimal("900.00"), loan_account="620000000077")
    plan = draft(loan, staff_user(username="clerk"))
    plan_approve(plan=plan, user=supervisor_user(username="boss"))
    row = {
        "customer_no": loan.customer.customer_no,
        "customer_name": loan.customer.name,
        "mobile": loan.customer.mobile[3:],
        "loan_account": loan.loan_account,
        "overdue_principal": 600.0,
        "overdue_interest": 0,
        "penalty": 0,
        "overdue_amount": 600.0,
        "overdue_since": loan.overdue_since,
    }
    first_due = plan.installments.get(seq=1).due_date
    with django_capture_on_commit_callbacks(execute=True):
        loan_book_import(path_or_file=io.BytesIO(xlsx.book([xlsx.loan(**row)])), as_of=first_due, user=None)
    assert plan.installments.get(seq=1).paid_on == first_due
    assert Loan.objects.get(pk=loan.pk).status == LoanStatus.IN_PLAN
    row.update(overdue_principal=0, overdue_amount=0, overdue_since=None)
    with django_capture_on_commit_callbacks(execute=True):
        loan_book_import(
            path_or_file=io.BytesIO(xlsx.book([xlsx.loan(**row)])),
            as_of=first_due + datetime.timedelta(days=5),
            user=None,
        )
    plan.refresh_from_db()
    assert plan.status == PlanStatus.COMPLETED


def test_draft_page_previews_then_submits(staff_client):
    loan = LoanFactory(days=20, overdue_amount=Decimal("1000.00"))
    url = f"/admin/notices/repaymentplan/draft/?loan={loan.pk}"
    assert staff_client.get(url).status_code == 200
    data = {"loan": loan.pk, "kind": "installments", "count": 6, "preview": "1"}
    page = staff_client.post("/admin/notices/repaymentplan/draft/", data).content.decode()
    assert "166.66" in page and "166.70" in page and 'id="submit-plan"' in page
    data.pop("preview")
    data["submit"] = "1"
    response = staff_client.post("/admin/notices/repaymentplan/draft/", data)
    assert response.status_code == 302
    assert loan.plans.get().installments.count() == 6


def test_the_daily_batch_reminds_three_days_before_an_installment(settings):
    from notices.models import NoticeBatch
    from notices.services import batch_approve, batch_generate

    settings.PLAN_REMINDER_DAYS = 3
    plan, loan = active_plan(amount="900.00")
    first = plan.installments.get(seq=1)
    early = batch_generate(as_of=first.due_date - datetime.timedelta(days=4))
    assert not SmsMessage.objects.filter(batch=early, purpose="plan_reminder").exists()
    day = first.due_date - datetime.timedelta(days=3)
    batch = batch_generate(as_of=day)
    reminder = SmsMessage.objects.get(batch=batch, purpose="plan_reminder")
    assert reminder.status == MessageStatus.PENDING and reminder.plan == plan
    assert f"{first.due_date.month}月{first.due_date.day}日" in reminder.body and "300.00" in reminder.body
    assert (
        SmsMessage.objects.get(batch=batch, loan=loan, purpose="overdue_notice").exclusion_reason
        == "active_plan"
    )
    assert batch.message_count == 1 and NoticeBatch.objects.get(pk=batch.pk).status == "pending_approval"
    batch_approve(batch=batch, user=supervisor_user(username="approver2"))
    again = batch_generate(as_of=day + datetime.timedelta(days=1))
    assert not SmsMessage.objects.filter(batch=again, purpose="plan_reminder").exists()
