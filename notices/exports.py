"""Downloads of notice data (.xlsx), masked for users without full-data permission."""

from __future__ import annotations

from django.utils import timezone
from django.utils.translation import gettext as _

from core.audit import audit_record
from core.pii import can_see_full_pii, mask_mobile, national_mobile
from core.xlsx import xlsx_response

from .models import ExclusionReason, MessageStatus, NoticeBatch, SmsMessage


def batch_messages_xlsx(*, batch: NoticeBatch, user):
    """Every message and exclusion of a batch, one row each. Audited."""
    full = can_see_full_pii(user)
    statuses = dict(MessageStatus.choices)
    reasons = dict(ExclusionReason.choices)
    rows = (
        SmsMessage.objects.filter(batch=batch)
        .order_by("pk")
        .values_list(
            "pk",
            "customer__customer_no",
            "customer__name",
            "phone",
            "loan__loan_account",
            "loan__branch",
            "stage__name",
            "variant",
            "days_overdue",
            "loan_count",
            "overdue_total",
            "status",
            "exclusion_reason",
            "segments",
            "body",
        )
    )

    def generate():
        for row in rows.iterator(chunk_size=2000):
            (
                *head,
                phone,
                account,
                branch,
                stage,
                variant,
                days,
                count,
                total,
                status,
                reason,
                parts,
                body,
            ) = row
            yield [
                *head,
                national_mobile(phone) if full else mask_mobile(phone),
                account,
                branch,
                stage,
                variant,
                days,
                count,
                total,
                statuses.get(status, status),
                reasons.get(reason, reason),
                parts,
                body,
            ]

    audit_record(
        actor=user, action="export.batch_messages", obj=batch, note=_("full data") if full else _("masked")
    )
    headers = [
        _("Message"),
        _("Customer number"),
        _("Name"),
        _("Mobile"),
        _("Loan account"),
        _("Branch"),
        _("Stage"),
        _("Variant"),
        _("Days overdue"),
        _("Loans"),
        _("Overdue amount"),
        _("Status"),
        _("Exclusion reason"),
        _("SMS parts"),
        _("Text"),
    ]
    stamp = timezone.localtime().strftime("%Y%m%d%H%M")
    return xlsx_response(
        filename=f"batch-{batch.pk}-{batch.as_of:%Y%m%d}-{stamp}.xlsx",
        sheet_title=_("Messages"),
        headers=headers,
        rows=generate(),
    )
