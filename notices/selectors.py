"""Reads shared by several pages: batch summaries, pending work."""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Count, Sum
from django.db.models.functions import Coalesce

from .models import BatchStatus, ExclusionReason, MessageStatus, NoticeBatch, SmsMessage

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
