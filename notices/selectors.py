"""Reads shared by several pages: batch summaries, pending work."""

from __future__ import annotations

import datetime
from collections import Counter
from contextlib import contextmanager
from dataclasses import dataclass

from django.core.cache import cache
from django.core.exceptions import ImproperlyConfigured
from django.db import connections, router, transaction
from django.db.models import Case, Count, DateTimeField, Exists, OuterRef, Q, Sum, Value, When
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import gettext as _

from customers.models import Loan, LoanStatus

from .models import (
    LIVE_BATCH_STATUSES,
    BatchStatus,
    ExclusionReason,
    MessageStatus,
    NoticeBatch,
    NotifiedLoan,
    SmsMessage,
    TemplatePurpose,
)

# Reasons that mean the customer may not be contacted at all (not counted against the promise).
CONTACT_EXCLUSIONS = (
    ExclusionReason.DO_NOT_CONTACT,
    ExclusionReason.DECEASED,
    ExclusionReason.DISPUTED,
    ExclusionReason.STOP_REQUEST,
    ExclusionReason.PHONE_MISSING,
    ExclusionReason.PHONE_INVALID,
    ExclusionReason.PHONE_LANDLINE,
    ExclusionReason.PHONE_SHARED,
    ExclusionReason.PHONE_WRONG,
    ExclusionReason.ACTIVE_PLAN,
    ExclusionReason.BELOW_MINIMUM,
)

# Statuses of a message that went to the gateway (or is going): true whatever its batch became.
WENT = (
    MessageStatus.SENDING,
    MessageStatus.SENT,
    MessageStatus.DELIVERED,
    MessageStatus.FAILED,
    MessageStatus.UNKNOWN,
)


def counts_for_the_customer(prefix: str = "") -> Q:
    """Messages that tell something about the customer: one-offs, those of a batch still
    standing, and whatever went out even from a batch cancelled later. Not the exclusions
    and unsent notices of a rejected, cancelled or superseded batch."""
    return (
        Q(**{f"{prefix}batch__isnull": True})
        | Q(**{f"{prefix}batch__status__in": LIVE_BATCH_STATUSES})
        | Q(**{f"{prefix}status__in": WENT})
    )


SAMPLE_SIZE = 20
SENDABLE = (
    MessageStatus.PENDING,
    MessageStatus.QUEUED,
    MessageStatus.SENDING,
    MessageStatus.SENT,
    MessageStatus.DELIVERED,
    MessageStatus.FAILED,
    MessageStatus.UNKNOWN,
)


@dataclass
class BatchSummary:
    by_stage: list[dict]
    by_variant: list[dict]
    by_branch: list[dict]
    by_status: list[dict]
    exclusions: list[dict]
    samples: list[SmsMessage]


def batch_summary(batch: NoticeBatch) -> BatchSummary:
    """What a supervisor needs to decide: breakdowns, exclusions and sample texts."""
    messages = SmsMessage.objects.filter(batch=batch)
    sendable = messages.filter(status__in=SENDABLE)
    total = Coalesce(Sum("overdue_total"), 0, output_field=SmsMessage._meta.get_field("overdue_total"))
    by_stage = list(
        sendable.values("stage__name", "stage__min_days")
        .annotate(count=Count("pk"), amount=total, parts=Sum("segments"))
        .order_by("stage__min_days")
    )
    by_variant = list(
        sendable.values(
            "stage__name", "stage__min_days", "template__name", "variant", "template_version__version"
        )
        .annotate(count=Count("pk"), amount=total)
        .order_by("stage__min_days", "variant")
    )
    by_branch = list(
        sendable.values("loan__branch")
        .annotate(count=Count("pk"), amount=total)
        .order_by("-count", "loan__branch")
    )
    by_status = batch_summary_counts(batch)
    reasons = dict(ExclusionReason.choices)
    exclusions = [
        {"reason": reason, "label": reasons.get(reason, reason), "count": count}
        for reason, count in sorted(batch.excluded_by_reason.items(), key=lambda item: -item[1])
    ]
    return BatchSummary(by_stage, by_variant, by_branch, by_status, exclusions, batch_samples(batch))


def batch_summary_counts(batch: NoticeBatch) -> list[dict]:
    """Messages of the batch per status, in the order a message moves through them."""
    order = {status: i for i, status in enumerate(MessageStatus.values)}
    labels = dict(MessageStatus.choices)
    rows = SmsMessage.objects.filter(batch=batch).values("status").annotate(count=Count("pk")).order_by()
    return sorted(
        (
            {"status": r["status"], "label": str(labels.get(r["status"], r["status"])), "count": r["count"]}
            for r in rows
        ),
        key=lambda r: order.get(r["status"], 99),
    )


def batch_samples(batch: NoticeBatch, size: int = SAMPLE_SIZE) -> list[SmsMessage]:
    """Up to `size` messages spread over the batch's stages and variants, and within each
    over messages about one loan and about several (their wording differs), as they will go out."""
    groups = (
        SmsMessage.objects.filter(batch=batch, status__in=SENDABLE)
        .annotate(several=Case(When(loan_count__gt=1, then=Value(True)), default=Value(False)))
        .values_list("stage_id", "variant", "several")
        .distinct()
        .order_by()
    )
    groups = list(groups)
    if not groups:
        return []
    per_group = max(1, size // len(groups))
    picked: list[int] = []
    for stage_id, variant, several in groups:
        count = {"loan_count__gt": 1} if several else {"loan_count__lte": 1}
        picked += list(
            SmsMessage.objects.filter(
                batch=batch, status__in=SENDABLE, stage_id=stage_id, variant=variant, **count
            )
            .order_by("pk")
            .values_list("pk", flat=True)[:per_group]
        )
    if len(picked) < size:
        picked += list(
            SmsMessage.objects.filter(batch=batch, status__in=SENDABLE)
            .exclude(pk__in=picked)
            .order_by("pk")
            .values_list("pk", flat=True)[: size - len(picked)]
        )
    return list(
        SmsMessage.objects.filter(pk__in=picked[:size])
        .select_related("customer", "loan", "stage")
        .order_by("stage__min_days", "variant", "loan_count", "pk")
    )


def batches_waiting_for_approval():
    return (
        NoticeBatch.objects.filter(status=BatchStatus.PENDING_APPROVAL)
        .select_related("created_by")
        .order_by("as_of")
    )


# --- The 24-hour promise --------------------------------------------------------------


@dataclass
class PromiseFigure:
    kept: int
    total: int

    @property
    def percent(self) -> float | None:
        return round(100 * self.kept / self.total, 1) if self.total else None


def _first_day_start(day: datetime.date) -> datetime.datetime:
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time.min))


def _deadline(overdue_since: datetime.date) -> datetime.datetime:
    """When the 24 hours end: 00:00 of the first overdue day (the day after the missed payment) + 24 h."""
    return _first_day_start(overdue_since + datetime.timedelta(days=1)) + datetime.timedelta(hours=24)


def promise_figure(first_day_from: datetime.date, first_day_to: datetime.date) -> PromiseFigure:
    """Loans whose first overdue day fell in the range: how many got a notice within 24 hours.

    The clock starts at 00:00 (Asia/Shanghai) of the first overdue day, the day after the
    missed payment. Loans excluded from contact on that day (do-not-contact, no mobile…)
    are not counted: no notice may go to them.
    """
    days = (first_day_to - first_day_from).days + 1
    figures = promise_by_first_day([first_day_from + datetime.timedelta(days=n) for n in range(days)])
    return PromiseFigure(sum(f.kept for f in figures.values()), sum(f.total for f in figures.values()))


# A day before yesterday is settled: its messages were sent and receipted, its 24 hours
# long over. On a large book its figures are made once and kept (until they leave the
# page) rather than remade on every view of the home page: a week of a bank's new overdue
# loans is tens of thousands of loans, a few index probes each. Small books, the tests'
# among them, are always counted live. A later change to a settled day (a loan excluded
# by a later batch, a receipt dated days back) shows once its figure leaves the cache.
SETTLED_AFTER_DAYS = 2
KEEP_SETTLED_FROM_ROWS = 100_000


def keeps_settled_days(model) -> bool:
    """Whether figures of settled days over `model`'s table are worth keeping."""
    from core.changelists import estimated_rows

    rows = estimated_rows(model.objects.all())
    return rows is not None and rows >= KEEP_SETTLED_FROM_ROWS


def settled_key(name: str, model, *parts) -> str:
    database = connections[router.db_for_read(model)].settings_dict["NAME"]
    return ":".join(str(part) for part in ("notices", name, database, model._meta.label_lower, *parts))


def promise_by_first_day(first_days: list[datetime.date]) -> dict[datetime.date, PromiseFigure]:
    """The 24-hour promise per first overdue day (see `promise_figure`)."""
    if not first_days:
        return {}
    today = timezone.localdate()
    settled_until = today - datetime.timedelta(days=SETTLED_AFTER_DAYS)
    keys = {day: settled_key("promise", Loan, day) for day in first_days if day <= settled_until}
    keep = bool(keys) and keeps_settled_days(Loan)
    kept_before = cache.get_many(list(keys.values())) if keep else {}
    figures = {day: PromiseFigure(*kept_before[key]) for day, key in keys.items() if key in kept_before}
    counted = {day: PromiseFigure(0, 0) for day in first_days if day not in figures}
    if counted:
        sinces = [day - datetime.timedelta(days=1) for day in counted]
        # Two yes/no questions per loan, each a few index probes, counted per answer:
        # joining every notice of these loans to take the earliest send reads millions of rows.
        groups = (
            Loan.objects.filter(overdue_since__in=sinces, status__in=FELL_OVERDUE_STATUSES)
            .annotate(
                deadline=Case(
                    *[When(overdue_since=since, then=Value(_deadline(since))) for since in sinces],
                    output_field=DateTimeField(),
                )
            )
            .order_by()
            .values("overdue_since", excluded=_contact_excluded(), kept=_notice_sent(by=OuterRef("deadline")))
            .annotate(n=Count("pk"))
            .values_list("overdue_since", "excluded", "kept", "n")
        )
        with _without_jit(Loan):
            groups = list(groups)
        for since, excluded, notified_in_time, n in groups:
            if not excluded:
                figure = counted[since + datetime.timedelta(days=1)]
                figure.total += n
                figure.kept += n if notified_in_time else 0
    for day, figure in counted.items():
        if keep and day in keys:  # kept while the home page's last seven days show it
            cache.set(keys[day], (figure.kept, figure.total), timeout=max(1, (day - today).days + 8) * 86400)
    figures.update(counted)
    return {day: figures[day] for day in first_days}


@contextmanager
def _without_jit(model):
    """PostgreSQL prices a query of per-row subqueries high and JIT-compiles it, which takes
    about as long as running it (some 30 ms for a day's new overdue loans): off for it alone."""
    connection = connections[router.db_for_read(model)]
    if connection.vendor != "postgresql":
        yield
        return
    with transaction.atomic(using=connection.alias), connection.cursor() as cursor:
        cursor.execute("SET LOCAL jit = off")
        yield


FELL_OVERDUE_STATUSES = (LoanStatus.OVERDUE, LoanStatus.IN_PLAN, LoanStatus.CURRENT, LoanStatus.SETTLED)


def _fell_overdue(first_day_from: datetime.date, first_day_to: datetime.date):
    """Loans whose first overdue day (the day after the missed payment) is in the range."""
    return Loan.objects.filter(
        overdue_since__gte=first_day_from - datetime.timedelta(days=1),
        overdue_since__lte=first_day_to - datetime.timedelta(days=1),
        status__in=FELL_OVERDUE_STATUSES,
    )


def _contact_excluded() -> Exists:
    """The loan was excluded from contact (do-not-contact, no mobile…) after it fell overdue."""
    return Exists(
        SmsMessage.objects.filter(
            loan=OuterRef("pk"),
            status=MessageStatus.EXCLUDED,
            exclusion_reason__in=CONTACT_EXCLUSIONS,
            batch__as_of__gt=OuterRef("overdue_since"),
            batch__status__in=LIVE_BATCH_STATUSES,  # not what a cancelled batch said
        )
    )


def _notice_sent(by=None) -> Exists:
    """A notice covering the loan, from after it fell overdue, was sent (by `by`)."""
    notices = NotifiedLoan.objects.filter(
        loan=OuterRef("pk"), as_of__gt=OuterRef("overdue_since"), message__sent_at__isnull=False
    )
    if by is not None:
        notices = notices.filter(message__sent_at__lte=by)
    return Exists(notices)


def loans_at_risk(now: datetime.datetime | None = None, limit: int = 20) -> list[dict]:
    """Overdue loans whose 24 hours are still running and that have had no notice yet."""
    now = now or timezone.now()
    today = timezone.localtime(now).date()
    rows = []
    candidates = (
        _fell_overdue(today - datetime.timedelta(days=1), today)
        .filter(status=LoanStatus.OVERDUE)
        .exclude(_contact_excluded())
        .exclude(_notice_sent())
        .select_related("customer")
        .order_by("overdue_since", "pk")
    )
    loans = list(candidates[: limit * 2])
    ids = [loan.pk for loan in loans]
    # The latest message of the last days naming each loan, as its lead loan or as one it
    # covers: two index lookups (one OR across the join would read every message).
    since = today - datetime.timedelta(days=2)
    # Cancelled and rejected batches (superseded ones too) are left out: they are not the day's.
    named = SmsMessage.objects.filter(
        loan_id__in=ids, batch__as_of__gte=since, batch__status__in=LIVE_BATCH_STATUSES
    ).values_list("pk", "loan_id", "status")
    covered = NotifiedLoan.objects.filter(
        loan_id__in=ids, message__batch__as_of__gte=since, message__batch__status__in=LIVE_BATCH_STATUSES
    ).values_list("message_id", "loan_id", "message__status")
    latest: dict[int, str] = {}
    for _pk, loan_id, status in sorted([*named, *covered], key=lambda row: -row[0]):
        latest.setdefault(loan_id, status)
    for loan in loans:
        deadline = _deadline(loan.overdue_since)
        if deadline <= now:
            continue
        status = latest.get(loan.pk)
        if status is None:
            state = _("no batch yet")
        elif status == MessageStatus.PENDING:
            state = _("batch waiting for approval")
        elif status == MessageStatus.QUEUED:
            state = _("approved, waiting to be sent")
        else:
            state = dict(MessageStatus.choices).get(status, status)
        rows.append({"loan": loan, "deadline": deadline, "state": state})
        if len(rows) >= limit:
            break
    return rows


def sending_window_note(batch: NoticeBatch, now: datetime.datetime | None = None) -> str:
    """'12 messages wait for the contact window (opens 08:00)' when that is the case."""
    from .models import ContactPolicy
    from .policy import in_contact_window

    now = now or timezone.now()
    policy = ContactPolicy.current()
    queued = SmsMessage.objects.filter(batch=batch, status=MessageStatus.QUEUED).count()
    if not queued or in_contact_window(now, policy):
        return ""
    return _("%(n)s messages wait for the contact window (opens %(time)s).") % {
        "n": queued,
        "time": policy.window_start.strftime("%H:%M"),
    }


# --- What a cancellation would do ------------------------------------------------------

SHOWN_LOANS = 20
UNSENT = (MessageStatus.PENDING, MessageStatus.QUEUED)
GONE_OR_GOING = (MessageStatus.SENDING, MessageStatus.SENT, MessageStatus.DELIVERED, MessageStatus.UNKNOWN)


@dataclass
class BatchCancelConsequences:
    """What cancelling a batch now would change: shown before the supervisor confirms."""

    unsent: int  # messages that will not go
    notices: int  # of them, overdue notices
    reminders: int  # of them, plan installment reminders
    customers: int
    loan_count: int  # loans that lose their notice
    loans: list  # the first SHOWN_LOANS of them (Loan, with its customer)
    gone: int  # already with the gateway or sent: cancelling does not recall them
    unsent_url: str


def batch_cancel_consequences(batch: NoticeBatch) -> BatchCancelConsequences:
    """How many messages of the batch would not go, which loans lose their notice, and
    what cancelling cannot undo (messages already sent or being sent)."""
    from django.urls import reverse

    unsent = SmsMessage.objects.filter(batch=batch, status__in=UNSENT)
    counts = unsent.aggregate(
        total=Count("pk"),
        notices=Count("pk", filter=Q(purpose=TemplatePurpose.OVERDUE_NOTICE)),
        customers=Count("customer_id", distinct=True),
    )
    # The loans the unsent notices cover, and those of the unsent plan reminders: a UNION
    # of two index lookups (an OR across the two joins would read every loan).
    by_notice = NotifiedLoan.objects.filter(message__batch=batch, message__status__in=UNSENT)
    by_reminder = unsent.exclude(purpose=TemplatePurpose.OVERDUE_NOTICE).filter(loan__isnull=False)
    loan_ids = (
        by_notice.values_list("loan_id", flat=True)
        .order_by()
        .union(by_reminder.values_list("loan_id", flat=True).order_by())
    )
    covered = Loan.objects.filter(pk__in=loan_ids)
    gone = SmsMessage.objects.filter(batch=batch, status__in=GONE_OR_GOING).count()
    url = reverse("admin:notices_smsmessage_changelist") + f"?batch__id__exact={batch.pk}"
    status = MessageStatus.QUEUED if batch.status == BatchStatus.APPROVED else MessageStatus.PENDING
    return BatchCancelConsequences(
        unsent=counts["total"],
        notices=counts["notices"],
        reminders=counts["total"] - counts["notices"],
        customers=counts["customers"],
        loan_count=loan_ids.count(),
        loans=list(covered.select_related("customer").order_by("loan_account")[:SHOWN_LOANS]),
        gone=gone,
        unsent_url=f"{url}&status__exact={status}",
    )


@dataclass
class PlanCancelConsequences:
    """What withdrawing a plan would change: shown before its author or a supervisor confirms."""

    loans: list  # each loan the plan covers, with `days_overdue_now` and `in_next_batches`
    installments: int
    feedback: object | None  # the feedback item the plan answers, left open to answer


def plan_cancel_consequences(plan) -> PlanCancelConsequences:
    loans = list(plan.loans.order_by("loan_account"))
    for loan in loans:
        loan.days_overdue_now = loan.days_overdue
        loan.in_next_batches = loan.status == LoanStatus.OVERDUE  # gets notices as before
    feedback = plan.feedback if plan.feedback_id and plan.feedback.is_open else None
    return PlanCancelConsequences(loans=loans, installments=plan.installments.count(), feedback=feedback)


# --- Conversations and the customer's story -------------------------------------------


def feedback_conversation(feedback, limit: int = 30) -> list[dict]:
    """What the customer sent and what we sent them, oldest first."""
    from .models import InboundMessage

    entries = []
    if feedback.customer_id:
        inbound = InboundMessage.objects.filter(customer_id=feedback.customer_id)
        outbound = (
            SmsMessage.objects.filter(customer_id=feedback.customer_id)
            .filter(counts_for_the_customer())
            .exclude(status=MessageStatus.EXCLUDED)
        )
    else:
        inbound = InboundMessage.objects.filter(phone=feedback.phone)
        outbound = SmsMessage.objects.none()
    for item in inbound.order_by("-received_at")[:limit]:
        entries.append({"at": item.received_at, "direction": "in", "text": item.text, "status": ""})
    for message in outbound.order_by("-created_at")[:limit]:
        entries.append(
            {
                "at": message.sent_at or message.created_at,
                "direction": "out",
                "text": message.body,
                "status": message.get_status_display(),
                "purpose": message.get_purpose_display(),
            }
        )
    if feedback.inbound_id is None:
        entries.append(
            {
                "at": feedback.created_at,
                "direction": "note",
                "text": feedback.text,
                "status": feedback.get_channel_display(),
            }
        )
    return sorted(entries, key=lambda e: e["at"])


def customer_timeline(customer, limit: int = 200) -> list[dict]:
    """Everything that happened with a customer, newest first: loans' events, notices,
    replies, feedback, plans and audit entries."""
    from django.contrib.contenttypes.models import ContentType

    from core.models import AuditEvent
    from customers.models import LoanEvent

    from .models import Feedback, InboundMessage, RepaymentPlan

    events = []
    for event in (
        LoanEvent.objects.filter(loan__customer=customer).select_related("loan").order_by("-on_date")[:limit]
    ):
        events.append(
            {
                "at": _first_day_start(event.on_date),
                "kind": "loan",
                "title": f"{event.loan.loan_account} · {event.get_kind_display()}",
                "detail": f"{event.overdue_amount_before:,.2f} → {event.overdue_amount_after:,.2f}",
            }
        )
    for message in (
        SmsMessage.objects.filter(customer=customer)
        .filter(counts_for_the_customer())
        .select_related("loan", "stage")
        .order_by("-created_at")[:limit]
    ):
        detail = (
            message.body
            if message.status != MessageStatus.EXCLUDED
            else message.get_exclusion_reason_display()
        )
        events.append(
            {
                "at": message.sent_at or message.created_at,
                "kind": "sms",
                "title": f"{message.get_purpose_display()} · {message.get_status_display()}",
                "detail": detail,
                "status": message.status,
            }
        )
    for inbound in InboundMessage.objects.filter(customer=customer).order_by("-received_at")[:limit]:
        events.append(
            {
                "at": inbound.received_at,
                "kind": "reply",
                "title": _("SMS from the customer"),
                "detail": inbound.text,
            }
        )
    for item in Feedback.objects.filter(customer=customer).order_by("-created_at")[:limit]:
        events.append(
            {
                "at": item.created_at,
                "kind": "feedback",
                "title": f"{item} · {item.get_category_display()} · {item.get_status_display()}",
                "detail": item.resolution or item.text,
                "url_name": "admin:notices_feedback_change",
                "pk": item.pk,
            }
        )
    for plan in RepaymentPlan.objects.filter(customer=customer).order_by("-created_at")[:limit]:
        events.append(
            {
                "at": plan.decided_at or plan.created_at,
                "kind": "plan",
                "title": f"{plan} · {plan.get_status_display()}",
                "detail": f"{plan.total_amount:,.2f}",
                "url_name": "admin:notices_repaymentplan_change",
                "pk": plan.pk,
            }
        )
    customer_type = ContentType.objects.get_for_model(customer)
    for audit in AuditEvent.objects.filter(content_type=customer_type, object_id=str(customer.pk)).order_by(
        "-created_at"
    )[:limit]:
        events.append(
            {
                "at": audit.created_at,
                "kind": "audit",
                "title": f"{audit.action} · {audit.actor_label or _('system')}",
                "detail": f"{audit.from_state} → {audit.to_state}".strip(" →"),
            }
        )
    events.sort(key=lambda e: e["at"], reverse=True)
    return events[:limit]


def gateway_health(now: datetime.datetime | None = None) -> dict:
    """What the administrators see of the gateway: for a carrier link each bind (bound or
    not, since when, window in use, throughput, last error); for any gateway the last
    hour's sends and failures."""
    from .backends import get_backend
    from .models import LinkSlot, SendAttempt

    now = now or timezone.now()
    backend = get_backend()
    slots, problem = [], ""
    if backend.link:
        try:
            allowed = backend.slots
        except (ValueError, ImproperlyConfigured) as exc:  # a setting the link cannot start with
            allowed, problem = 0, str(exc)
        held = {s.slot: s for s in LinkSlot.objects.filter(link=backend.kind, slot__lt=allowed)}
        for number in range(allowed):
            slot = held.get(number)
            fresh = bool(slot and slot.holder and slot.lease_until and slot.lease_until >= now)
            slots.append(
                {
                    "number": number + 1,
                    "bound": fresh and slot.connected_since is not None,
                    "held": fresh,
                    "holder": slot.holder if fresh else "",
                    "since": slot.connected_since if fresh else None,
                    "in_flight": slot.in_flight if fresh else 0,
                    "window": slot.window if slot else 0,
                    "rate": round(slot.rate, 1) if fresh else 0,
                    "submitted": slot.submitted if slot else 0,
                    "throttled": slot.throttled if slot else 0,
                    "last_error": slot.last_error if slot else "",
                    "last_error_at": slot.last_error_at if slot else None,
                }
            )
    hour_ago = now - datetime.timedelta(hours=1)
    attempts = Counter(
        SendAttempt.objects.filter(created_at__gte=hour_ago).order_by().values_list("outcome", flat=True)
    )
    last_failure = (
        SendAttempt.objects.filter(created_at__gte=hour_ago, outcome__in=("failed", "retry", "unknown"))
        .order_by("-created_at")
        .values("created_at", "code", "detail")
        .first()
    )
    return {
        "backend": backend.name,
        "link": backend.link,
        "slots": slots,
        "bound": sum(1 for s in slots if s["bound"]),
        "problem": problem,
        "attempts": dict(attempts),
        "last_failure": last_failure,
    }


# --- The template editor's preview ----------------------------------------------------


@dataclass
class TemplatePreview:
    source: str  # what the first rendering is for
    renderings: list  # rendering.Rendering: this customer (when found), one loan, three loans
    problems: list[str]


def _customer_facts(customer, *, stage, today: datetime.date):
    """The facts of today's notice for this customer: their overdue loans, the lead's stage deadline."""
    from .models import CollectionStage
    from .placeholders import LoanFacts, MessageFacts

    loans = [
        LoanFacts(loan.loan_account, loan.overdue_amount, loan.overdue_since, loan.days_overdue_on(today))
        for loan in customer.loans.filter(
            status__in=(LoanStatus.OVERDUE, LoanStatus.IN_PLAN), overdue_since__lt=today
        ).order_by("overdue_since", "pk")
    ]
    facts = MessageFacts(salutation=customer.honorific_name, loans=tuple(loans))
    if stage is None and facts.lead is not None:
        stage = next(
            (s for s in CollectionStage.objects.filter(active=True) if s.contains(facts.lead.days_overdue)),
            None,
        )
    repay_by = stage.repay_by_on(today) if stage is not None else None
    return MessageFacts(salutation=facts.salutation, loans=facts.loans, repay_by=repay_by)


def template_preview(
    *, body: str, purpose: str, reference: str = "", stage=None, today: datetime.date | None = None
) -> TemplatePreview:
    """A draft template rendered as it would be sent: for the customer of a loan account or
    customer number when one is given, and always for typical values with one loan and
    with three (both renderings the lint checks), with the lint's problems."""
    import dataclasses

    from customers.models import Customer

    from .placeholders import InstallmentFacts, MessageFacts, sample_facts
    from .rendering import template_renderings
    from .services.templates import template_lint

    today = today or timezone.localdate()
    facts, source = None, _("sample values")
    reference = (reference or "").strip()
    if reference:
        loan = Loan.objects.select_related("customer").filter(loan_account=reference).first()
        customer = loan.customer if loan else Customer.objects.filter(customer_no=reference).first()
        if customer is None:
            source = _("no loan or customer %(ref)s; sample values") % {"ref": reference}
        else:
            facts = _customer_facts(customer, stage=stage, today=today)
            sample = sample_facts()
            facts = MessageFacts(
                salutation=facts.salutation,
                loans=facts.loans,
                repay_by=facts.repay_by or sample.repay_by,
                installment=InstallmentFacts(
                    1, today + datetime.timedelta(days=30), sample.installment.amount
                ),
            )
            if not facts.loans and purpose != "feedback_reply" and purpose != "education":
                source = _("%(ref)s has no overdue loan; sample values") % {"ref": reference}
                facts = None
            else:
                source = _("customer %(name)s, %(n)s overdue loan(s)") % {
                    "name": customer.honorific_name,
                    "n": len(facts.loans),
                }
    renderings = template_renderings(body, purpose, facts, days=stage.typical_days if stage else None)
    return TemplatePreview(
        source=source,
        renderings=[dataclasses.asdict(r) | {"chars": r.chars} for r in renderings],
        problems=template_lint(body=body, purpose=purpose) if body.strip() else [],
    )
