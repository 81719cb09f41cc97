"""Effectiveness and downloadable reports (.xlsx), behind the admin login."""

from __future__ import annotations

import datetime

from django import forms
from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.template.response import TemplateResponse
from django.urls import path
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, pgettext_lazy

from core.audit import audit_record
from core.pii import can_see_full_pii, mask_mobile, mask_text, national_mobile
from core.xlsx import xlsx_response

from .effectiveness import MIN_SAMPLE, WINDOWS, cure_rates, roll_rates
from .models import (
    BatchStatus,
    ExclusionReason,
    Feedback,
    FeedbackCategory,
    FeedbackChannel,
    FeedbackStatus,
    MessageStatus,
    NoticeBatch,
    PlanKind,
    PlanStatus,
    RepaymentPlan,
    SmsMessage,
    TemplatePurpose,
)

EXPORT_PERMISSION = "customers.export_data"
EXPORT_CHUNK = 2000  # rows fetched at a time: the export holds no more than this in memory


class RangeForm(forms.Form):
    date_from = forms.DateField(
        label=pgettext_lazy("start of a date range", "from"),
        widget=forms.DateInput(format="%Y-%m-%d", attrs={"type": "date", "class": "form-control"}),
    )
    date_to = forms.DateField(
        label=pgettext_lazy("end of a date range", "to"),
        widget=forms.DateInput(format="%Y-%m-%d", attrs={"type": "date", "class": "form-control"}),
    )

    def clean(self):
        data = super().clean()
        if data.get("date_from") and data.get("date_to") and data["date_from"] > data["date_to"]:
            raise forms.ValidationError(_("The start date is after the end date."))
        return data


def _bounds(form: RangeForm) -> tuple[datetime.datetime, datetime.datetime]:
    start = timezone.make_aware(datetime.datetime.combine(form.cleaned_data["date_from"], datetime.time.min))
    end = timezone.make_aware(
        datetime.datetime.combine(
            form.cleaned_data["date_to"] + datetime.timedelta(days=1), datetime.time.min
        )
    )
    return start, end


def _local(value):
    return timezone.localtime(value) if value else None


# --- The reports ----------------------------------------------------------------------


def _send_log(start, end, full):
    statuses, reasons, purposes = (
        dict(MessageStatus.choices),
        dict(ExclusionReason.choices),
        dict(TemplatePurpose.choices),
    )
    headers = [
        _("Message"), _("Created"), _("Batch"), _("Purpose"), _("Customer number"), _("Name"), _("Mobile"), _("Loan account"),
        _("Stage"), _("Variant"), _("Status"), _("Exclusion reason"), _("Error code"), _("Sent"), _("Delivered"),
        _("Overdue amount"), _("SMS parts"), _("Text"),
    ]  # fmt: skip
    rows = (
        SmsMessage.objects.filter(created_at__gte=start, created_at__lt=end)
        .order_by("pk")
        .values_list(
            "pk",
            "created_at",
            "batch_id",
            "purpose",
            "customer__customer_no",
            "customer__name",
            "phone",
            "loan__loan_account",
            "stage__name",
            "variant",
            "status",
            "exclusion_reason",
            "error_code",
            "sent_at",
            "delivered_at",
            "overdue_total",
            "segments",
            "body",
        )  # fmt: skip
    )

    def generate():
        for (pk, created, batch, purpose, no, name, phone, account, stage, variant, status, reason, code, sent, delivered, amount, parts, body) in rows.iterator(chunk_size=EXPORT_CHUNK):  # fmt: skip
            yield [
                pk, _local(created), batch, purposes.get(purpose, purpose), no, name,
                national_mobile(phone) if full else mask_mobile(phone), account, stage, variant,
                statuses.get(status, status), reasons.get(reason, reason), code, _local(sent), _local(delivered),
                amount, parts, body,
            ]  # fmt: skip

    return headers, generate()


def _batches(start, end, full):
    statuses = dict(BatchStatus.choices)
    headers = [
        _("Batch"), _("As of"), _("Status"), _("Created by"), _("Created"), _("Submitted"), _("Approved or rejected by"),
        _("Decided"), _("Reason"), _("Messages"), _("Customers"), _("Loans"), _("Overdue amount"), _("Excluded"),
        _("Content hash"),
    ]  # fmt: skip
    query = (
        NoticeBatch.objects.filter(created_at__gte=start, created_at__lt=end)
        .select_related("created_by", "approved_by")
        .order_by("pk")
    )

    def generate():
        for b in query.iterator(chunk_size=500):
            yield [
                b.pk, b.as_of, statuses.get(b.status, b.status), b.created_by.get_username() if b.created_by else _("system"),
                _local(b.created_at), _local(b.submitted_at), b.approved_by.get_username() if b.approved_by else "",
                _local(b.decided_at), b.reason, b.message_count, b.customer_count, b.loan_count, b.overdue_total,
                b.excluded_count, b.content_hash,
            ]  # fmt: skip

    return headers, generate()


def _feedback(start, end, full):
    channels, categories, statuses = (
        dict(FeedbackChannel.choices),
        dict(FeedbackCategory.choices),
        dict(FeedbackStatus.choices),
    )
    headers = [
        _("Feedback"), _("Received"), _("Channel"), _("Category"), _("Status"), _("Customer number"), _("Name"), _("From"),
        _("Loan account"), _("What the customer said"), _("Assignee"), _("Answer by"), _("Resolved"), _("Resolution"),
    ]  # fmt: skip
    query = (
        Feedback.objects.filter(created_at__gte=start, created_at__lt=end)
        .select_related("customer", "loan", "assignee")
        .order_by("pk")
    )

    def generate():
        for f in query.iterator(chunk_size=1000):
            yield [
                f.pk, _local(f.created_at), channels.get(f.channel), categories.get(f.category), statuses.get(f.status),
                f.customer.customer_no if f.customer else "", f.customer.name if f.customer else "",
                national_mobile(f.phone) if full else mask_mobile(f.phone), f.loan.loan_account if f.loan else "",
                f.text if full else mask_text(f.text), f.assignee.get_username() if f.assignee else "",
                _local(f.sla_due_at), _local(f.resolved_at), f.resolution if full else mask_text(f.resolution),
            ]  # fmt: skip

    return headers, generate()


def _plans(start, end, full):
    kinds, statuses = dict(PlanKind.choices), dict(PlanStatus.choices)
    headers = [
        _("Plan"), _("Created"), _("Loan accounts"), _("Customer number"), _("Name"), _("Kind"), _("Status"),
        _("Amount covered"), _("Installments"), _("Paid installments"), _("Requested by"), _("Approved or rejected by"),
        _("Decided"), _("Reason"),
    ]  # fmt: skip
    query = (
        RepaymentPlan.objects.filter(created_at__gte=start, created_at__lt=end)
        .select_related("customer", "requested_by", "approved_by")
        .prefetch_related("installments", "plan_loans__loan")
        .order_by("pk")
    )

    def generate():
        for p in query.iterator(chunk_size=500):
            installments = list(p.installments.all())
            yield [
                p.pk, _local(p.created_at), "、".join(x.loan.loan_account for x in p.plan_loans.all()),
                p.customer.customer_no, p.customer.name,
                kinds.get(p.kind), statuses.get(p.status), p.total_amount, len(installments),
                sum(1 for i in installments if i.paid_on), p.requested_by.get_username() if p.requested_by else "",
                p.approved_by.get_username() if p.approved_by else "", _local(p.decided_at), p.reason,
            ]  # fmt: skip

    return headers, generate()


def _effectiveness(start, end, full):
    headers = [_("Stage"), _("Variant"), _("Champion")]
    for window in WINDOWS:
        headers += [
            _("Loans (%(n)s days)") % {"n": window},
            _("Cured within %(n)s days") % {"n": window},
            _("Cure rate %(n)s days (%%)") % {"n": window},
            _("95%% interval low (%(n)s days)") % {"n": window},
            _("95%% interval high (%(n)s days)") % {"n": window},
        ]
    headers.append(_("Verdict"))
    today = min(end.date(), timezone.localdate())

    def generate():
        for row in cure_rates(today=today, lookback_days=max(1, (end - start).days)):
            line = [row.stage.name, row.variant, _("yes") if row.champion else ""]
            for window in WINDOWS:
                rate = row.windows[window]
                low, high = rate.interval_percent
                line += [
                    rate.total,
                    rate.cured,
                    rate.percent,
                    low if rate.total else None,
                    high if rate.total else None,
                ]
            line.append(row.verdict)
            yield line

    return headers, generate()


REPORTS = {
    "send_log": (gettext_lazy("Send log"), _send_log),
    "batches": (gettext_lazy("Batches and approvals"), _batches),
    "feedback": (gettext_lazy("Feedback"), _feedback),
    "plans": (gettext_lazy("Repayment plans"), _plans),
    "effectiveness": (gettext_lazy("Effectiveness"), _effectiveness),
}


def report_export(*, kind: str, date_from: datetime.date, date_to: datetime.date, user):
    """Stream one report as .xlsx (masked unless the user may see full data). Audited."""
    if kind not in REPORTS:
        raise Http404
    form = RangeForm({"date_from": date_from, "date_to": date_to})
    if not form.is_valid():
        raise ValueError(form.errors.as_text())
    start, end = _bounds(form)
    title, build = REPORTS[kind]
    full = can_see_full_pii(user)
    headers, rows = build(start, end, full)
    audit_record(
        actor=user,
        action=f"export.{kind}",
        note=f"{date_from}..{date_to} {'full' if full else 'masked'}",
    )
    return xlsx_response(
        filename=f"{kind}-{date_from:%Y%m%d}-{date_to:%Y%m%d}.xlsx",
        sheet_title=str(title),
        headers=headers,
        rows=rows,
    )


# --- Views ----------------------------------------------------------------------------


def reports_view(request):
    if not request.user.has_perm(EXPORT_PERMISSION):
        raise PermissionDenied
    today = timezone.localdate()
    form = RangeForm(
        request.GET or None, initial={"date_from": today - datetime.timedelta(days=30), "date_to": today}
    )
    kind = request.GET.get("report")
    if kind and form.is_valid():
        return report_export(
            kind=kind,
            date_from=form.cleaned_data["date_from"],
            date_to=form.cleaned_data["date_to"],
            user=request.user,
        )
    context = {
        **admin.site.each_context(request),
        "title": _("Reports"),
        "form": form,
        "reports": [(key, title) for key, (title, _build) in REPORTS.items()],
        "full": can_see_full_pii(request.user),
    }
    return TemplateResponse(request, "admin/notices/reports.html", context)


def effectiveness_view(request):
    if not request.user.has_perm("notices.view_smsmessage"):
        raise PermissionDenied
    context = {
        **admin.site.each_context(request),
        "title": _("Effectiveness"),
        "rates": cure_rates(),
        "windows": WINDOWS,
        "min_sample": MIN_SAMPLE,
        "roll": roll_rates(),
    }
    return TemplateResponse(request, "admin/notices/effectiveness.html", context)


urlpatterns = [
    path("", admin.site.admin_view(reports_view), name="notices_reports"),
    path("effectiveness/", admin.site.admin_view(effectiveness_view), name="notices_effectiveness"),
]
