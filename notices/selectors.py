"""Reads shared by several pages: batch summaries, pending work."""

from __future__ import annotations

import datetime
from dataclasses import dataclass

from django.db.models import Count, Exists, F, Min, OuterRef, Q, Sum
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import gettext as _

from customers.models import Loan, LoanStatus

from .models import BatchStatus, ExclusionReason, MessageStatus, NoticeBatch, SmsMessage

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
    """Up to `size` messages spread over the batch's stages and variants, as they will go out."""
    groups = (
        SmsMessage.objects.filter(batch=batch, status__in=SENDABLE)
        .values_list("stage_id", "variant")
        .distinct()
        .order_by()
    )
    groups = list(groups)
    if not groups:
        return []
    per_group = max(1, size // len(groups))
    picked: list[int] = []
    for stage_id, variant in groups:
        picked += list(
            SmsMessage.objects.filter(batch=batch, status__in=SENDABLE, stage_id=stage_id, variant=variant)
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
        .order_by("stage__min_days", "variant", "pk")
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


def promise_figure(first_day_from: datetime.date, first_day_to: datetime.date) -> PromiseFigure:
    """Loans whose first overdue day fell in the range: how many got a notice within 24 hours.

    The clock starts at 00:00 (Asia/Shanghai) of the first overdue day, the day after the
    missed payment. Loans excluded from contact on that day (do-not-contact, no mobile…)
    are not counted: no notice may go to them.
    """
    loans = _fell_overdue(first_day_from, first_day_to)
    total = kept = 0
    for since, first_sent in loans.values_list("overdue_since", "first_sent"):
        total += 1
        deadline = _first_day_start(since + datetime.timedelta(days=1)) + datetime.timedelta(hours=24)
        if first_sent is not None and first_sent <= deadline:
            kept += 1
    return PromiseFigure(kept, total)


def _fell_overdue(first_day_from: datetime.date, first_day_to: datetime.date):
    excluded = SmsMessage.objects.filter(
        loan=OuterRef("pk"),
        status=MessageStatus.EXCLUDED,
        exclusion_reason__in=CONTACT_EXCLUSIONS,
        batch__as_of__gt=OuterRef("overdue_since"),
    )
    return (
        Loan.objects.filter(
            overdue_since__gte=first_day_from - datetime.timedelta(days=1),
            overdue_since__lte=first_day_to - datetime.timedelta(days=1),
            status__in=(LoanStatus.OVERDUE, LoanStatus.IN_PLAN, LoanStatus.CURRENT, LoanStatus.SETTLED),
        )
        .exclude(Exists(excluded))
        .annotate(
            first_sent=Min(
                "notices__message__sent_at",
                filter=Q(notices__as_of__gt=F("overdue_since"), notices__message__sent_at__isnull=False),
            )
        )
    )


def loans_at_risk(now: datetime.datetime | None = None, limit: int = 20) -> list[dict]:
    """Overdue loans whose 24 hours are still running and that have had no notice yet."""
    now = now or timezone.now()
    today = timezone.localtime(now).date()
    rows = []
    candidates = (
        _fell_overdue(today - datetime.timedelta(days=1), today)
        .filter(status=LoanStatus.OVERDUE, first_sent__isnull=True)
        .select_related("customer")
        .order_by("overdue_since", "pk")
    )
    loans = list(candidates[: limit * 2])
    latest: dict[int, str] = {}
    ids = [loan.pk for loan in loans]
    recent = (
        SmsMessage.objects.filter(Q(loan_id__in=ids) | Q(covered_loans__loan_id__in=ids))
        .filter(batch__as_of__gte=today - datetime.timedelta(days=2))
        .order_by("-pk")
        .values_list("loan_id", "covered_loans__loan_id", "status")
    )
    for loan_id, covered_id, status in recent:
        for key in {loan_id, covered_id} - {None}:
            latest.setdefault(key, status)
    for loan in loans:
        deadline = _first_day_start(loan.overdue_since + datetime.timedelta(days=1)) + datetime.timedelta(
            hours=24
        )
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
    from .services.sending import in_contact_window

    now = now or timezone.now()
    policy = ContactPolicy.current()
    queued = SmsMessage.objects.filter(batch=batch, status=MessageStatus.QUEUED).count()
    if not queued or in_contact_window(now, policy):
        return ""
    return _("%(n)s messages wait for the contact window (opens %(time)s).") % {
        "n": queued,
        "time": policy.window_start.strftime("%H:%M"),
    }


# --- Conversations and the customer's story -------------------------------------------


def feedback_conversation(feedback, limit: int = 30) -> list[dict]:
    """What the customer sent and what we sent them, oldest first."""
    from .models import InboundMessage

    entries = []
    if feedback.customer_id:
        inbound = InboundMessage.objects.filter(customer_id=feedback.customer_id)
        outbound = SmsMessage.objects.filter(customer_id=feedback.customer_id).exclude(
            status=MessageStatus.EXCLUDED
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
    for plan in (
        RepaymentPlan.objects.filter(loan__customer=customer)
        .select_related("loan")
        .order_by("-created_at")[:limit]
    ):
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
