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
from customers.models import OPEN_LOAN_STATUSES, Customer, Loan, LoanStatus

from ..models import (
    Feedback,
    FeedbackCategory,
    FeedbackChannel,
    FeedbackStatus,
    Installment,
    MessageStatus,
    PlanKind,
    PlanLoan,
    PlanStatus,
    RepaymentPlan,
    SmsMessage,
    SmsTemplate,
    SmsTemplateVersion,
    TemplatePurpose,
)
from ..outbox import Composed, compose, message_add
from ..placeholders import InstallmentFacts, LoanFacts, MessageFacts, context_for, money
from ..rendering import TOKEN

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


@dataclass(frozen=True)
class LoanChoice:
    """A loan of the customer's the draft page offers: free, or already in an open plan."""

    loan: Loan
    open_plan: RepaymentPlan | None

    @property
    def available(self) -> bool:
        return self.open_plan is None


def plan_loan_choices(customer) -> list[LoanChoice]:
    """The customer's overdue loans, most overdue first, each free or in an open plan."""
    loans = list(
        customer.loans.filter(status__in=OPEN_LOAN_STATUSES, overdue_amount__gt=0).order_by(
            "overdue_since", "pk"
        )
    )
    taken = {
        link.loan_id: link.plan
        for link in PlanLoan.objects.filter(loan__in=loans, open=True).select_related("plan")
    }
    return [LoanChoice(loan, taken.get(loan.pk)) for loan in loans]


def plan_draft(
    *,
    loans: list[Loan],
    user,
    kind: str,
    schedule: list[ScheduleLine],
    feedback: Feedback | None = None,
    note: str = "",
) -> RepaymentPlan:
    """A plan for one or more overdue loans of one customer, waiting for a supervisor.

    Each loan's share is its overdue amount now; the schedule covers their sum.
    """
    ids = {loan.pk for loan in loans}
    if not ids:
        raise ServiceError(_("Choose at least one overdue loan."), code="no_loans")
    try:
        with transaction.atomic():
            # The loans as they are now (an import may have run since the page was shown).
            loans = list(Loan.objects.select_for_update().filter(pk__in=ids).order_by("pk"))
            if len(loans) != len(ids):
                raise ServiceError(_("Choose at least one overdue loan."), code="no_loans")
            if len({loan.customer_id for loan in loans}) > 1:
                raise ServiceError(_("A plan covers loans of one customer only."), code="several_customers")
            if any(loan.status not in OPEN_LOAN_STATUSES or loan.overdue_amount <= 0 for loan in loans):
                raise ServiceError(_("Only an overdue loan can get a repayment plan."), code="not_overdue")
            total = sum((loan.overdue_amount for loan in loans), Decimal("0"))
            scheduled = sum((line.amount for line in schedule), Decimal("0"))
            if scheduled != total:
                raise ServiceError(
                    _("The schedule adds up to %(scheduled)s, but the loans owe %(total)s.")
                    % {"scheduled": money(scheduled), "total": money(total)},
                    code="schedule_total",
                )
            plan = RepaymentPlan.objects.create(
                customer_id=loans[0].customer_id,
                kind=kind,
                total_amount=total,
                feedback=feedback,
                note=note,
                requested_by=user,
            )
            PlanLoan.objects.bulk_create(
                PlanLoan(plan=plan, loan=loan, amount=loan.overdue_amount) for loan in loans
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
                note="; ".join(
                    [f"{loan.loan_account} {loan.overdue_amount}" for loan in loans]
                    + [f"{line.due_date} {line.amount}" for line in schedule]
                ),
            )
            if feedback is not None and feedback.status == FeedbackStatus.NEW:
                Feedback.objects.filter(pk=feedback.pk).update(
                    status=FeedbackStatus.IN_PROGRESS, assignee=user
                )
    except IntegrityError as exc:
        raise ServiceError(
            _("One of these loans already has a plan waiting or running."), code="duplicate"
        ) from exc
    return plan


def _close_links(plan: RepaymentPlan) -> None:
    """The plan no longer waits or runs: its loans may be in another plan."""
    PlanLoan.objects.filter(plan=plan, open=True).update(open=False)


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


def plan_approve(*, plan: RepaymentPlan, user, confirmation: str | None = None) -> RepaymentPlan:
    """Four eyes: activate the plan and confirm it to the customer by SMS.

    `confirmation` is the SMS text the approver was shown (plan_confirmation_preview);
    when given, approval goes through only if exactly that text is what is sent.
    """
    problems = plan_approval_problems(plan=plan, user=user)
    if problems:
        raise ServiceError(" ".join(problems), code="not_allowed")
    with transaction.atomic():
        links = list(PlanLoan.objects.filter(plan=plan).select_related("loan"))
        loans = {
            loan.pk: loan
            for loan in Loan.objects.select_for_update().filter(pk__in=[x.loan_id for x in links])
        }
        now = timezone.now()
        if not status_transition(
            plan,
            PlanStatus.PENDING_APPROVAL,
            PlanStatus.ACTIVE,
            approved_by=user,
            decided_at=now,
            baseline_overdue=sum((loan.overdue_amount for loan in loans.values()), Decimal("0")),
        ):
            raise ServiceError(_("Someone else has already decided on this plan."), code="wrong_state")
        for link in links:
            PlanLoan.objects.filter(pk=link.pk).update(baseline_overdue=loans[link.loan_id].overdue_amount)
        Loan.objects.filter(pk__in=loans).update(status=LoanStatus.IN_PLAN, updated_at=now)
        audit_record(
            actor=user,
            action="plan.approve",
            obj=plan,
            from_state=PlanStatus.PENDING_APPROVAL,
            to_state=PlanStatus.ACTIVE,
        )
        message = _plan_message(
            plan=plan,
            installment=plan.installments.order_by("seq").first(),
            purpose=TemplatePurpose.PLAN_CONFIRMATION,
            user=user,
        )
        if confirmation is not None and (message.body if message else "") != confirmation:
            raise ServiceError(
                _(
                    "The confirmation SMS changed since the page showed it; look at it again before approving."
                ),
                code="confirmation_changed",
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
        _close_links(plan)
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
        _close_links(plan)
        audit_record(
            actor=user,
            action="plan.cancel",
            obj=plan,
            from_state=PlanStatus.PENDING_APPROVAL,
            to_state=PlanStatus.CANCELLED,
            note=reason,
        )
    return plan


@dataclass(frozen=True)
class PlanText:
    """A plan message as it will be sent: the template and version it comes from, the text."""

    template: SmsTemplate
    version: SmsTemplateVersion
    composed: Composed


def plan_facts(plan: RepaymentPlan, installment: Installment) -> MessageFacts:
    """What a plan message may say: the customer, each loan with its share, the installment."""
    links = list(plan.plan_loans.select_related("loan"))
    customer = Customer.objects.get(pk=plan.customer_id)  # as it is now, not as first read
    return MessageFacts(
        salutation=customer.honorific_name,
        loans=tuple(
            LoanFacts(
                link.loan.loan_account,
                link.amount,
                link.loan.overdue_since,
                link.loan.days_overdue_on(timezone.localdate()),
            )
            for link in links
        ),
        installment=InstallmentFacts(installment.seq, installment.due_date, installment.amount),
    )


def plan_text(*, plan: RepaymentPlan, installment: Installment | None, purpose: str) -> PlanText | None:
    """The confirmation (or a reminder) of a plan exactly as it would be sent now; None
    when no active template of that purpose exists."""
    template = SmsTemplate.objects.filter(purpose=purpose, active=True).order_by("variant", "pk").first()
    if template is None or installment is None:
        return None
    from .templates import template_current_version

    version = template_current_version(template)
    facts = plan_facts(plan, installment)
    return PlanText(template, version, compose(version.body, context_for(facts, TOKEN.findall(version.body))))


def plan_lead_loan(plan: RepaymentPlan) -> Loan | None:
    """The loan a plan's messages are filed under: its most overdue (the one they name first)."""
    links = list(plan.plan_loans.select_related("loan"))
    if not links:
        return None
    return min(
        links, key=lambda x: (x.loan.overdue_since or datetime.date.max, -x.amount, x.loan.loan_account)
    ).loan


def plan_confirmation_preview(plan: RepaymentPlan) -> PlanText | None:
    """The confirmation SMS approving this plan would send, for the plan page."""
    return plan_text(
        plan=plan,
        installment=plan.installments.order_by("seq").first(),
        purpose=TemplatePurpose.PLAN_CONFIRMATION,
    )


def _plan_message(
    *, plan, installment, purpose, user, batch=None, status=MessageStatus.QUEUED
) -> SmsMessage | None:
    """The confirmation (or a reminder) of a plan, as a one-off message through the outbox."""
    text = plan_text(plan=plan, installment=installment, purpose=purpose)
    if text is None:
        return None
    lead = plan_lead_loan(plan)
    kind = "c" if purpose == TemplatePurpose.PLAN_CONFIRMATION else "m"
    return message_add(
        customer=plan.customer,
        purpose=purpose,
        composed=text.composed,
        idempotency_key=f"{kind}-{plan.pk}-{installment.seq}",
        dedupe_key=f"plan:{kind}:{plan.pk}:{installment.seq}",
        status=status,
        loan=lead,
        template=text.template,
        template_version=text.version,
        batch=batch,
        plan=plan,
        user=user,
        overdue_total=installment.amount,
        loan_count=plan.plan_loans.count(),
    )


# --- Progress from the imports --------------------------------------------------------


def _end(plan: RepaymentPlan, loans: dict, to: str) -> None:
    """The plan completed or broke: its loans return to their own status."""
    status_transition(plan, PlanStatus.ACTIVE, to, ended_at=timezone.now())
    _close_links(plan)
    for loan in loans.values():
        Loan.objects.filter(pk=loan.pk, status=LoanStatus.IN_PLAN).update(
            status=LoanStatus.OVERDUE if loan.overdue_amount > 0 else LoanStatus.CURRENT
        )


def plans_progress(*, as_of: datetime.date, user=None) -> dict:
    """After an import: each loan's repaid share, installments paid, kept plans completed,
    missed ones broken.

    A loan's repaid share is how far its overdue amount fell below what it was when the
    plan began, at most its share (all of it once the loan owes nothing); the plan's
    installments are paid in order while the loans' repaid shares add up to them.
    """
    stats = {"paid": 0, "completed": 0, "broken": 0}
    grace = datetime.timedelta(days=settings.PLAN_GRACE_DAYS)
    for plan in RepaymentPlan.objects.filter(status=PlanStatus.ACTIVE).select_related("customer"):
        with transaction.atomic():
            links = list(PlanLoan.objects.filter(plan=plan))
            loans = {
                loan.pk: loan
                for loan in Loan.objects.select_for_update().filter(pk__in=[x.loan_id for x in links])
            }
            repaid = Decimal("0")
            for link in links:
                loan = loans[link.loan_id]
                baseline = link.baseline_overdue if link.baseline_overdue is not None else link.amount
                share = min(link.amount, max(Decimal("0"), baseline - loan.overdue_amount))
                if loan.overdue_amount <= 0:
                    share = link.amount
                if share != link.repaid:
                    PlanLoan.objects.filter(pk=link.pk).update(repaid=share)
                repaid += share
            cumulative = Decimal("0")
            installments = list(plan.installments.order_by("seq"))
            for installment in installments:
                cumulative += installment.amount
                if installment.paid_on is None and repaid >= cumulative:
                    installment.paid_on = as_of
                    installment.save(update_fields=["paid_on"])
                    stats["paid"] += 1
            if all(i.paid_on for i in installments):
                _end(plan, loans, PlanStatus.COMPLETED)
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
                _end(plan, loans, PlanStatus.BROKEN)
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

                lead = max(loans.values(), key=lambda x: (x.overdue_amount, -x.pk), default=None)
                _create(
                    customer=plan.customer,
                    loan=lead,
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
        ).select_related("plan", "plan__customer")
    )
