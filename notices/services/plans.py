"""Repayment plans: drafted by staff, approved by another supervisor, kept by the imports."""

from __future__ import annotations

import calendar
import datetime
from dataclasses import dataclass
from decimal import ROUND_DOWN, Decimal

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from core.audit import audit_record
from core.exceptions import ServiceError
from core.transitions import status_transition
from customers.models import OPEN_LOAN_STATUSES, Loan, LoanStatus

from ..models import (
    Feedback,
    FeedbackCategory,
    FeedbackChannel,
    FeedbackStatus,
    Installment,
    MessageStatus,
    PlanKind,
    PlanStatus,
    RepaymentPlan,
    SmsMessage,
    SmsTemplate,
    TemplatePurpose,
)
from ..outbox import compose, message_add
from ..rendering import bank_context, money, short_date

APPROVE_PERMISSION = "notices.approve_repaymentplan"
CENT = Decimal("0.01")


# --- Schedules ------------------------------------------------------------------------


@dataclass(frozen=True)
class ScheduleLine:
    seq: int
    due_date: datetime.date
    amount: Decimal


def add_months(day: datetime.date, months: int) -> datetime.date:
    """The same day `months` later, or the month's last day (1-31 → 2-28)."""
    month_index = day.month - 1 + months
    year, month = day.year + month_index // 12, month_index % 12 + 1
    return datetime.date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def split_amount(total: Decimal, parts: int) -> list[Decimal]:
    """Equal parts to the cent, the remainder on the last."""
    each = (total / parts).quantize(CENT, rounding=ROUND_DOWN)
    return [each] * (parts - 1) + [total - each * (parts - 1)]


def plan_schedule(
    *,
    kind: str,
    total: Decimal,
    today: datetime.date,
    new_date: datetime.date | None = None,
    count: int | None = None,
    first_date: datetime.date | None = None,
    dates: list[datetime.date] | None = None,
) -> list[ScheduleLine]:
    """The installments of a plan, checked against the configured limits."""
    total = Decimal(total).quantize(CENT)
    if total <= 0:
        raise ServiceError(_("The loan has nothing overdue to plan."), code="nothing_due")
    if kind == PlanKind.EXTENSION:
        if new_date is None:
            raise ServiceError(_("Choose the new repayment date."), code="date_required")
        if new_date <= today:
            raise ServiceError(_("The new date must be in the future."), code="date_past")
        limit = settings.PLAN_MAX_EXTENSION_DAYS
        if (new_date - today).days > limit:
            raise ServiceError(
                _("An extension may be at most %(days)s days.") % {"days": limit}, code="too_far"
            )
        return [ScheduleLine(1, new_date, total)]
    if kind != PlanKind.INSTALLMENTS:
        raise ServiceError(_("Unknown plan kind."), code="kind")
    if dates:
        dates = sorted(dates)
        count = len(dates)
    maximum = settings.PLAN_MAX_INSTALLMENTS
    if count is None or not 2 <= count <= maximum:
        raise ServiceError(
            _("An installment plan has from 2 to %(max)s installments.") % {"max": maximum}, code="count"
        )
    if not dates:
        first = first_date or add_months(today, 1)
        dates = [add_months(first, i) for i in range(count)]
    if dates[0] <= today:
        raise ServiceError(_("The first installment must be after today."), code="date_past")
    if len(set(dates)) != len(dates):
        raise ServiceError(_("Two installments fall on the same date."), code="dates")
    if total / count < CENT:
        raise ServiceError(_("The amount is too small to split."), code="too_small")
    return [
        ScheduleLine(i + 1, d, a)
        for i, (d, a) in enumerate(zip(dates, split_amount(total, count), strict=True))
    ]


# --- Drafting and deciding ------------------------------------------------------------


def plan_draft(
    *,
    loan: Loan,
    user,
    kind: str,
    schedule: list[ScheduleLine],
    feedback: Feedback | None = None,
    note: str = "",
) -> RepaymentPlan:
    """A plan waiting for a supervisor's approval."""
    if loan.status not in OPEN_LOAN_STATUSES:
        raise ServiceError(_("Only an overdue loan can get a repayment plan."), code="not_overdue")
    try:
        with transaction.atomic():
            plan = RepaymentPlan.objects.create(
                loan=loan,
                kind=kind,
                total_amount=sum((line.amount for line in schedule), Decimal("0")),
                feedback=feedback,
                note=note,
                requested_by=user,
            )
            Installment.objects.bulk_create(
                Installment(plan=plan, seq=line.seq, due_date=line.due_date, amount=line.amount)
                for line in schedule
            )
            audit_record(
                actor=user,
                action="plan.draft",
                obj=plan,
                to_state=PlanStatus.PENDING_APPROVAL,
                note="; ".join(f"{line.due_date} {line.amount}" for line in schedule),
            )
            if feedback is not None and feedback.status == FeedbackStatus.NEW:
                Feedback.objects.filter(pk=feedback.pk).update(
                    status=FeedbackStatus.IN_PROGRESS, assignee=user
                )
    except IntegrityError as exc:
        raise ServiceError(_("This loan already has a plan waiting or running."), code="duplicate") from exc
    return plan


def plan_approval_problems(*, plan: RepaymentPlan, user) -> list[str]:
    problems = []
    if not user.has_perm(APPROVE_PERMISSION):
        problems.append(_("You do not have permission to approve plans."))
    if user.pk == plan.requested_by_id:
        problems.append(_("You drafted this plan; another supervisor must approve it."))
    if plan.status != PlanStatus.PENDING_APPROVAL:
        problems.append(
            _("This plan is %(status)s, not waiting for approval.") % {"status": plan.get_status_display()}
        )
    return problems


def plan_approve(*, plan: RepaymentPlan, user) -> RepaymentPlan:
    """Four eyes: activate the plan and confirm it to the customer by SMS."""
    problems = plan_approval_problems(plan=plan, user=user)
    if problems:
        raise ServiceError(" ".join(problems), code="not_allowed")
    with transaction.atomic():
        loan = Loan.objects.select_for_update().get(pk=plan.loan_id)
        now = timezone.now()
        if not status_transition(
            plan,
            PlanStatus.PENDING_APPROVAL,
            PlanStatus.ACTIVE,
            approved_by=user,
            decided_at=now,
            baseline_overdue=loan.overdue_amount,
        ):
            raise ServiceError(_("Someone else has already decided on this plan."), code="wrong_state")
        Loan.objects.filter(pk=loan.pk).update(status=LoanStatus.IN_PLAN, updated_at=now)
        audit_record(
            actor=user,
            action="plan.approve",
            obj=plan,
            from_state=PlanStatus.PENDING_APPROVAL,
            to_state=PlanStatus.ACTIVE,
        )
        first = plan.installments.order_by("seq").first()
        _plan_message(
            plan=plan, loan=loan, installment=first, purpose=TemplatePurpose.PLAN_CONFIRMATION, user=user
        )
    return plan


def plan_reject(*, plan: RepaymentPlan, user, reason: str) -> RepaymentPlan:
    reason = (reason or "").strip()
    if not reason:
        raise ServiceError(_("A rejection needs a reason."), code="reason_required")
    problems = plan_approval_problems(plan=plan, user=user)
    if problems:
        raise ServiceError(" ".join(problems), code="not_allowed")
    with transaction.atomic():
        if not status_transition(
            plan,
            PlanStatus.PENDING_APPROVAL,
            PlanStatus.REJECTED,
            approved_by=user,
            decided_at=timezone.now(),
            reason=reason,
        ):
            raise ServiceError(_("Someone else has already decided on this plan."), code="wrong_state")
        audit_record(
            actor=user,
            action="plan.reject",
            obj=plan,
            from_state=PlanStatus.PENDING_APPROVAL,
            to_state=PlanStatus.REJECTED,
            note=reason,
        )
    return plan


def plan_may_cancel(*, plan: RepaymentPlan, user) -> bool:
    """Whether this user may withdraw this plan now: its author or a supervisor, before approval."""
    return plan.status == PlanStatus.PENDING_APPROVAL and (
        user.pk == plan.requested_by_id or user.has_perm(APPROVE_PERMISSION)
    )


def plan_cancel(*, plan: RepaymentPlan, user, reason: str) -> RepaymentPlan:
    """Withdraw a plan not yet approved (its author or a supervisor), with a reason."""
    reason = (reason or "").strip()
    if not reason:
        raise ServiceError(_("Withdrawing a plan needs a reason."), code="reason_required")
    if plan.status == PlanStatus.PENDING_APPROVAL and not plan_may_cancel(plan=plan, user=user):
        raise ServiceError(_("Only the author or a supervisor can cancel this plan."), code="not_allowed")
    with transaction.atomic():
        if not status_transition(plan, PlanStatus.PENDING_APPROVAL, PlanStatus.CANCELLED, reason=reason):
            raise ServiceError(_("Only a plan waiting for approval can be cancelled."), code="wrong_state")
        audit_record(
            actor=user,
            action="plan.cancel",
            obj=plan,
            from_state=PlanStatus.PENDING_APPROVAL,
            to_state=PlanStatus.CANCELLED,
            note=reason,
        )
    return plan


def _plan_message(
    *, plan, loan, installment, purpose, user, batch=None, status=MessageStatus.QUEUED
) -> SmsMessage | None:
    """The confirmation (or a reminder) of a plan, as a one-off message through the outbox."""
    customer = loan.customer
    template = SmsTemplate.objects.filter(purpose=purpose, active=True).order_by("variant", "pk").first()
    if template is None or installment is None:
        return None
    from .templates import template_current_version

    version = template_current_version(template)
    context = {
        **bank_context(),
        "customer_name": customer.honorific_name,
        "loan_tail": loan.loan_tail,
        "loan_count": "1",
        "overdue_amount": money(loan.overdue_amount),
        "first_due_date": short_date(installment.due_date),
        "first_due_amount": money(installment.amount),
    }
    kind = "c" if purpose == TemplatePurpose.PLAN_CONFIRMATION else "m"
    return message_add(
        customer=customer,
        purpose=purpose,
        composed=compose(version.body, context),
        idempotency_key=f"{kind}-{plan.pk}-{installment.seq}",
        dedupe_key=f"plan:{kind}:{plan.pk}:{installment.seq}",
        status=status,
        loan=loan,
        template=template,
        template_version=version,
        batch=batch,
        plan=plan,
        user=user,
        overdue_total=installment.amount,
    )


# --- Progress from the imports --------------------------------------------------------


def plans_progress(*, as_of: datetime.date, user=None) -> dict:
    """After an import: mark installments paid, complete kept plans, break missed ones."""
    stats = {"paid": 0, "completed": 0, "broken": 0}
    grace = datetime.timedelta(days=settings.PLAN_GRACE_DAYS)
    for plan in RepaymentPlan.objects.filter(status=PlanStatus.ACTIVE).select_related(
        "loan", "loan__customer"
    ):
        with transaction.atomic():
            loan = Loan.objects.select_for_update().get(pk=plan.loan_id)
            baseline = plan.baseline_overdue if plan.baseline_overdue is not None else plan.total_amount
            repaid = max(Decimal("0"), baseline - loan.overdue_amount)
            if loan.overdue_amount <= 0:
                repaid = max(repaid, plan.total_amount)
            cumulative = Decimal("0")
            installments = list(plan.installments.order_by("seq"))
            for installment in installments:
                cumulative += installment.amount
                if installment.paid_on is None and repaid >= cumulative:
                    installment.paid_on = as_of
                    installment.save(update_fields=["paid_on"])
                    stats["paid"] += 1
            if all(i.paid_on for i in installments):
                status_transition(plan, PlanStatus.ACTIVE, PlanStatus.COMPLETED, ended_at=timezone.now())
                Loan.objects.filter(pk=loan.pk, status=LoanStatus.IN_PLAN).update(
                    status=LoanStatus.OVERDUE if loan.overdue_amount > 0 else LoanStatus.CURRENT
                )
                audit_record(
                    actor=user,
                    action="plan.complete",
                    obj=plan,
                    from_state=PlanStatus.ACTIVE,
                    to_state=PlanStatus.COMPLETED,
                )
                stats["completed"] += 1
                continue
            missed = [i for i in installments if i.paid_on is None and i.due_date + grace < as_of]
            if missed:
                status_transition(plan, PlanStatus.ACTIVE, PlanStatus.BROKEN, ended_at=timezone.now())
                Loan.objects.filter(pk=loan.pk, status=LoanStatus.IN_PLAN).update(
                    status=LoanStatus.OVERDUE if loan.overdue_amount > 0 else LoanStatus.CURRENT
                )
                note = _("Installment %(seq)s of %(amount)s due %(date)s was not paid.") % {
                    "seq": missed[0].seq,
                    "amount": money(missed[0].amount),
                    "date": missed[0].due_date,
                }
                audit_record(
                    actor=user,
                    action="plan.break",
                    obj=plan,
                    from_state=PlanStatus.ACTIVE,
                    to_state=PlanStatus.BROKEN,
                    note=note,
                )
                from .feedback import _create

                _create(
                    customer=loan.customer,
                    loan=loan,
                    channel=FeedbackChannel.SYSTEM,
                    category=FeedbackCategory.PLAN_BROKEN,
                    text=note,
                    assignee=plan.requested_by,
                    status=FeedbackStatus.NEW,
                )
                stats["broken"] += 1
    return stats


def plan_reminders_due(as_of: datetime.date) -> list[Installment]:
    """Unpaid installments of active plans due PLAN_REMINDER_DAYS days after `as_of`."""
    due = as_of + datetime.timedelta(days=settings.PLAN_REMINDER_DAYS)
    return list(
        Installment.objects.filter(
            plan__status=PlanStatus.ACTIVE, due_date=due, paid_on__isnull=True
        ).select_related("plan", "plan__loan", "plan__loan__customer")
    )
