"""One plan over several loans of a customer: the shares, one confirmation SMS true for all
of them, previewed before approval, progress per loan after each import, the loans kept
out of notices while the plan runs."""

import datetime
import io
from decimal import Decimal

import pytest
from django.db import IntegrityError, transaction
from django.utils import timezone

from core.exceptions import ServiceError
from customers.models import Loan, LoanStatus
from notices.models import (
    ExclusionReason,
    MessageStatus,
    PlanKind,
    PlanLoan,
    PlanStatus,
    RepaymentPlan,
    SmsMessage,
)
from notices.services import batch_generate
from notices.services.plans import (
    plan_approve,
    plan_cancel,
    plan_confirmation_preview,
    plan_draft,
    plan_schedule,
    plans_progress,
)
from tests.factories import CustomerFactory, LoanFactory, staff_user, supervisor_user

pytestmark = pytest.mark.django_db
TODAY = timezone.localdate()


@pytest.fixture
def lin(settings):
    settings.SMS_SIGNATURE, settings.BANK_HOTLINE = "【民丰银行】", "00000"
    customer = CustomerFactory(name="林峰", id_number="33010219800101123X")
    first = LoanFactory(
        customer=customer, loan_account="6228480012342603", days=96, overdue_amount=Decimal("8313.45")
    )
    second = LoanFactory(
        customer=customer, loan_account="6228480012342740", days=20, overdue_amount=Decimal("48246.56")
    )
    return customer, first, second


def draft(loans, count=3, user=None):
    total = sum((x.overdue_amount for x in loans), Decimal("0"))
    schedule = plan_schedule(kind=PlanKind.INSTALLMENTS, total=total, today=TODAY, count=count)
    return plan_draft(
        loans=loans, user=user or staff_user(username="clerk"), kind=PlanKind.INSTALLMENTS, schedule=schedule
    )


def test_a_plan_covers_two_loans_with_their_shares_and_one_true_confirmation(lin):
    customer, first, second = lin
    plan = draft([first, second])
    assert plan.customer == customer and plan.total_amount == Decimal("56560.01")
    shares = dict(plan.plan_loans.values_list("loan__loan_account", "amount"))
    assert shares == {"6228480012342603": Decimal("8313.45"), "6228480012342740": Decimal("48246.56")}
    preview = plan_confirmation_preview(plan)
    first_due = plan.installments.get(seq=1)
    assert "尾号2603等2笔贷款的还款计划已生效" in preview.composed.body
    assert f"{first_due.due_date.month}月{first_due.due_date.day}日应还18,853.33元" in preview.composed.body
    plan_approve(plan=plan, user=supervisor_user(username="boss"), confirmation=preview.composed.body)
    [confirmation] = SmsMessage.objects.filter(plan=plan, purpose="plan_confirmation")
    assert confirmation.body == preview.composed.body  # exactly what the page showed
    assert confirmation.loan_count == 2 and confirmation.status == MessageStatus.QUEUED
    assert set(Loan.objects.filter(customer=customer).values_list("status", flat=True)) == {
        LoanStatus.IN_PLAN
    }
    plan.refresh_from_db()
    assert plan.baseline_overdue == Decimal("56560.01")


def test_approval_refuses_when_the_confirmation_changed_since_it_was_shown(lin):
    _customer, first, second = lin
    plan = draft([first, second])
    shown = plan_confirmation_preview(plan).composed.body
    first.customer.salutation = "林老师"
    first.customer.save()
    with pytest.raises(ServiceError) as caught:
        plan_approve(plan=plan, user=supervisor_user(username="boss"), confirmation=shown)
    assert caught.value.code == "confirmation_changed"
    plan.refresh_from_db()
    assert plan.status == PlanStatus.PENDING_APPROVAL and not SmsMessage.objects.filter(plan=plan).exists()


def test_loans_of_two_customers_or_a_schedule_that_does_not_add_up_are_refused(lin):
    _customer, first, second = lin
    other = LoanFactory(days=20)
    with pytest.raises(ServiceError):
        draft([first, other])
    schedule = plan_schedule(kind=PlanKind.INSTALLMENTS, total=first.overdue_amount, today=TODAY, count=2)
    with pytest.raises(ServiceError) as caught:
        plan_draft(loans=[first, second], user=staff_user(), kind=PlanKind.INSTALLMENTS, schedule=schedule)
    assert caught.value.code == "schedule_total"


def test_a_loan_is_in_one_open_plan_at_a_time_and_free_again_once_it_ends(lin):
    _customer, first, second = lin
    plan = draft([first, second])
    with pytest.raises(ServiceError):
        draft([second])
    with pytest.raises(IntegrityError), transaction.atomic():
        other = RepaymentPlan.objects.create(customer=first.customer, kind=PlanKind.EXTENSION)
        PlanLoan.objects.create(plan=other, loan=second, amount=1)  # the database says no too
    plan_cancel(plan=plan, user=plan.requested_by, reason="客户改主意")
    assert draft([second]).plan_loans.get().loan == second


def test_progress_is_counted_per_loan_and_the_installments_of_the_plan(lin):
    _customer, first, second = lin
    plan = draft([first, second], count=2)  # 28,280.00 and 28,280.01
    plan_approve(plan=plan, user=supervisor_user(username="boss"))
    one, two = plan.installments.order_by("seq")
    Loan.objects.filter(pk=first.pk).update(overdue_amount=Decimal("0.00"))  # 8,313.45 repaid
    Loan.objects.filter(pk=second.pk).update(overdue_amount=Decimal("28000.00"))  # 20,246.56 repaid
    plans_progress(as_of=one.due_date)
    repaid = dict(plan.plan_loans.values_list("loan_id", "repaid"))
    assert repaid == {first.pk: Decimal("8313.45"), second.pk: Decimal("20246.56")}
    assert plan.installments.get(seq=1).paid_on == one.due_date  # 28,560.01 ≥ 28,280.00
    assert plan.installments.get(seq=2).paid_on is None
    Loan.objects.filter(pk=second.pk).update(overdue_amount=Decimal("0.00"))
    plans_progress(as_of=two.due_date)
    plan.refresh_from_db()
    assert plan.status == PlanStatus.COMPLETED
    assert set(Loan.objects.filter(pk__in=[first.pk, second.pk]).values_list("status", flat=True)) == {
        LoanStatus.CURRENT
    }
    assert not PlanLoan.objects.filter(plan=plan, open=True).exists()


def test_a_missed_installment_breaks_the_plan_and_returns_every_loan_to_collections(lin, settings):
    settings.PLAN_GRACE_DAYS = 3
    _customer, first, second = lin
    plan = draft([first, second])
    plan_approve(plan=plan, user=supervisor_user(username="boss"))
    plans_progress(as_of=plan.installments.get(seq=1).due_date + datetime.timedelta(days=4))
    plan.refresh_from_db()
    assert plan.status == PlanStatus.BROKEN
    assert set(Loan.objects.filter(pk__in=[first.pk, second.pk]).values_list("status", flat=True)) == {
        LoanStatus.OVERDUE
    }


def test_both_loans_of_an_active_plan_are_kept_out_of_the_notices(lin):
    _customer, first, second = lin
    plan_approve(plan=draft([first, second]), user=supervisor_user(username="boss"))
    batch = batch_generate(as_of=TODAY)
    excluded = dict(SmsMessage.objects.filter(batch=batch).values_list("loan_id", "exclusion_reason"))
    assert excluded == {first.pk: ExclusionReason.ACTIVE_PLAN, second.pk: ExclusionReason.ACTIVE_PLAN}


def test_progress_follows_a_real_import_of_both_loans(lin, django_capture_on_commit_callbacks):
    from customers.services.loan_import import loan_book_import
    from tests.customers import xlsx

    customer, first, second = lin
    plan = draft([first, second], count=2)
    plan_approve(plan=plan, user=supervisor_user(username="boss"))
    due = plan.installments.get(seq=1).due_date

    def row(loan, amount):
        return xlsx.loan(
            customer_no=customer.customer_no,
            customer_name=customer.name,
            id_number=customer.id_number,
            mobile=customer.mobile[3:],
            loan_account=loan.loan_account,
            overdue_principal=amount,
            overdue_interest=0,
            penalty=0,
            overdue_amount=amount,
            overdue_since=loan.overdue_since if amount else None,
        )

    book = xlsx.book([row(first, 0), row(second, 20000.0)])
    with django_capture_on_commit_callbacks(execute=True):
        loan_book_import(path_or_file=io.BytesIO(book), as_of=due, user=None)
    assert dict(plan.plan_loans.values_list("loan_id", "repaid")) == {
        first.pk: Decimal("8313.45"),
        second.pk: Decimal("28246.56"),
    }
    assert plan.installments.get(seq=1).paid_on == due


def test_the_draft_page_lets_staff_tick_the_customer_s_overdue_loans(lin, staff_client):
    _customer, first, second = lin
    url = "/admin/notices/repaymentplan/draft/"
    page = staff_client.get(f"{url}?loan={first.pk}").content.decode()
    assert f'value="{first.pk}" id="plan-loan-{first.pk}"' in page and "6228480012342740" in page
    data = {
        "loan": first.pk,
        "loans_shown": "1",
        "loans": [first.pk, second.pk],
        "kind": "installments",
        "count": 2,
    }
    page = staff_client.post(url, {**data, "preview": "1"}).content.decode()
    assert "28,280.00" in page and "28,280.01" in page
    assert staff_client.post(url, {**data, "submit": "1"}).status_code == 302
    plan = RepaymentPlan.objects.get()
    assert set(plan.loans.all()) == {first, second}
    # Nothing ticked: the page says so and nothing is drafted.
    page = staff_client.post(
        url, {"loan": first.pk, "loans_shown": "1", "kind": "installments", "count": 2, "preview": "1"}
    )
    assert "plan-error" in page.content.decode()


def test_the_plan_page_previews_the_confirmation_before_approval(lin, staff_client):
    _customer, first, second = lin
    plan = draft([first, second])
    page = staff_client.get(f"/admin/notices/repaymentplan/{plan.pk}/change/").content.decode()
    assert 'id="confirmation-text"' in page and "尾号2603等2笔贷款的还款计划已生效" in page
    assert "6228480012342740" in page  # both loans listed with their shares
