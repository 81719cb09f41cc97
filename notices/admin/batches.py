"""Notice batches: generate, review, approve, reject, cancel, follow the sending."""

from __future__ import annotations

import datetime

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import HttpResponseRedirect, JsonResponse
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_POST

from core.exceptions import ServiceError
from core.pii import show_mobile

from .. import exports
from ..models import (
    BatchStatus,
    MessageStatus,
    NoticeBatch,
)
from ..selectors import batch_cancel_consequences, batch_summary, batch_summary_counts, sending_window_note
from ..services import batch_approve, batch_cancel, batch_generate, batch_reject
from ..services.batches import (
    APPROVE_PERMISSION,
    CANCELLABLE,
    batch_approval_problems,
    batch_may_cancel,
    batch_may_replace,
    batch_newer_import,
    batch_open_for,
    batch_replace,
)
from .base import DetailActionsMixin


class GenerateBatchForm(forms.Form):
    as_of = forms.DateField(
        label=_("as of"),
        widget=forms.DateInput(format="%Y-%m-%d", attrs={"type": "date", "class": "form-control"}),
    )


class RejectForm(forms.Form):
    reason = forms.CharField(
        label=_("reason"), widget=forms.Textarea(attrs={"rows": 2, "class": "form-control"}), max_length=500
    )


@admin.register(NoticeBatch)
class NoticeBatchAdmin(DetailActionsMixin, admin.ModelAdmin):
    list_display = (
        "id",
        "as_of",
        "status",
        "message_count",
        "customer_count",
        "overdue_total_col",
        "excluded_count",
        "created_by_col",
        "approved_by",
        "created_at",
    )
    list_display_links = ("id", "as_of")
    list_filter = ("status", "as_of")
    list_select_related = ("created_by", "approved_by")
    date_hierarchy = "as_of"
    change_list_template = "admin/notices/noticebatch/change_list.html"

    @admin.display(description=_("overdue amount"), ordering="overdue_total")
    def overdue_total_col(self, obj):
        return f"{obj.overdue_total:,.2f}"

    @admin.display(description=_("created by"), ordering="created_by__username")
    def created_by_col(self, obj):
        return obj.created_by or gettext("system (schedule)")

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def has_approve_permission(self, request, obj=None):
        return request.user.has_perm(APPROVE_PERMISSION)

    def has_generate_permission(self, request):
        return request.user.has_perm("notices.add_noticebatch")

    def get_urls(self):
        wrap = self.admin_site.admin_view
        return [
            path("generate/", wrap(self.generate_view), name="notices_noticebatch_generate"),
            path(
                "<int:pk>/approve/", wrap(require_POST(self.approve_view)), name="notices_noticebatch_approve"
            ),
            path("<int:pk>/reject/", wrap(require_POST(self.reject_view)), name="notices_noticebatch_reject"),
            path("<int:pk>/cancel/", wrap(self.cancel_view), name="notices_noticebatch_cancel"),
            path("<int:pk>/export/", wrap(self.export_view), name="notices_noticebatch_export"),
            path("<int:pk>/progress/", wrap(self.progress_view), name="notices_noticebatch_progress"),
            *super().get_urls(),
        ]

    def changelist_view(self, request, extra_context=None):
        extra_context = {**(extra_context or {}), "can_generate": self.has_generate_permission(request)}
        return super().changelist_view(request, extra_context)

    def generate_view(self, request):
        if not self.has_generate_permission(request):
            raise PermissionDenied
        form = GenerateBatchForm(request.POST or None, initial={"as_of": timezone.localdate()})
        existing = newer = None
        if request.method == "POST" and form.is_valid():
            as_of = form.cleaned_data["as_of"]
            existing = batch_open_for(as_of)
            try:
                if existing is not None and request.POST.get("replace") == str(existing.pk):
                    old = existing
                    batch = batch_replace(batch=existing, user=request.user)
                    messages.success(
                        request,
                        gettext(
                            "Batch #%(old)s was made before the latest import and is cancelled. "
                            "New batch #%(id)s for %(date)s: %(messages)s messages, %(excluded)s excluded."
                        )
                        % {
                            "old": old.pk,
                            "id": batch.pk,
                            "date": batch.as_of,
                            "messages": batch.message_count,
                            "excluded": batch.excluded_count,
                        },
                    )
                    return HttpResponseRedirect(reverse("admin:notices_noticebatch_change", args=[batch.pk]))
                if existing is None:
                    batch = batch_generate(as_of=as_of, user=request.user)
                    messages.success(
                        request,
                        gettext("Batch #%(id)s for %(date)s: %(messages)s messages, %(excluded)s excluded.")
                        % {
                            "id": batch.pk,
                            "date": batch.as_of,
                            "messages": batch.message_count,
                            "excluded": batch.excluded_count,
                        },
                    )
                    return HttpResponseRedirect(reverse("admin:notices_noticebatch_change", args=[batch.pk]))
                newer = batch_newer_import(existing)
            except ServiceError as exc:
                messages.error(request, exc.message)
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": gettext("Generate notice batch"),
            "form": form,
            "existing": existing,
            "newer_import": newer,
            "can_replace": existing is not None and newer is not None and batch_may_replace(batch=existing),
        }
        return TemplateResponse(request, "admin/notices/noticebatch/generate.html", context)

    def change_view(self, request, object_id, form_url="", extra_context=None):
        batch = get_object_or_404(
            NoticeBatch.objects.select_related("created_by", "submitted_by", "approved_by"), pk=object_id
        )
        if not self.has_view_permission(request, batch):
            raise PermissionDenied
        summary = batch_summary(batch)
        problems = batch_approval_problems(batch=batch, user=request.user)
        newer = (
            batch_newer_import(batch)
            if batch.status
            in (BatchStatus.DRAFT, BatchStatus.PENDING_APPROVAL, BatchStatus.APPROVED, BatchStatus.SENDING)
            or batch_may_replace(batch=batch)
            else None
        )
        user = request.user
        for message in summary.samples:
            message.phone_shown = show_mobile(message.phone, user)
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": str(batch),
            "batch": batch,
            "summary": summary,
            "can_approve": not problems,
            "approval_problems": problems if user.has_perm(APPROVE_PERMISSION) else [],
            "is_approver": user.has_perm(APPROVE_PERMISSION),
            "can_cancel": batch_may_cancel(batch=batch, user=user),
            "reject_form": RejectForm(),
            "window_note": sending_window_note(batch),
            "newer_import": newer,
            "can_replace": newer is not None
            and batch_may_replace(batch=batch)
            and self.has_generate_permission(request),
            "messages_url": reverse("admin:notices_smsmessage_changelist") + f"?batch__id__exact={batch.pk}",
        }
        return TemplateResponse(request, "admin/notices/noticebatch/detail.html", context)

    def approve_view(self, request, pk):
        if not self.has_approve_permission(request):
            raise PermissionDenied
        return self.detail_action(
            request,
            pk,
            lambda batch: batch_approve(batch=batch, user=request.user),
            gettext("Batch approved; sending starts within the contact window."),
        )

    def reject_view(self, request, pk):
        if not self.has_approve_permission(request):
            raise PermissionDenied
        form = RejectForm(request.POST)

        def reject(batch):
            if not form.is_valid():
                raise ServiceError(gettext("A rejection needs a reason."))
            batch_reject(batch=batch, user=request.user, reason=form.cleaned_data["reason"])

        return self.detail_action(request, pk, reject, gettext("Batch rejected."))

    def cancel_view(self, request, pk):
        """What cancelling would do (GET), then the cancellation with its reason (POST)."""
        batch = get_object_or_404(NoticeBatch.objects.select_related("created_by"), pk=pk)
        if batch.status not in CANCELLABLE:
            messages.error(
                request,
                gettext("This batch is %(status)s: it can no longer be cancelled.")
                % {"status": batch.get_status_display()},
            )
            return HttpResponseRedirect(reverse("admin:notices_noticebatch_change", args=[batch.pk]))
        if not batch_may_cancel(batch=batch, user=request.user):
            raise PermissionDenied
        return self.confirmed_action(
            request,
            batch,
            lambda batch, reason: batch_cancel(batch=batch, user=request.user, reason=reason),
            gettext("Batch cancelled: its unsent messages will not go."),
            template="admin/notices/noticebatch/cancel.html",
            title=gettext("Cancel %(batch)s?") % {"batch": batch},
            consequences=batch_cancel_consequences(batch),
        )

    def progress_view(self, request, pk):
        batch = get_object_or_404(NoticeBatch, pk=pk)
        if not self.has_view_permission(request, batch):
            raise PermissionDenied
        summary_rows = batch_summary_counts(batch)
        return JsonResponse(
            {
                "status": batch.status,
                "status_label": str(batch.get_status_display()),
                "poll_ms": self._poll_interval(batch, summary_rows),
                "counts": summary_rows,
                "note": sending_window_note(batch),
                "messages_url": reverse("admin:notices_smsmessage_changelist")
                + f"?batch__id__exact={batch.pk}",
            }
        )

    @staticmethod
    def _poll_interval(batch, rows) -> int:
        """How soon the page should ask again: while sending, and while receipts may come."""
        if batch.status in (BatchStatus.APPROVED, BatchStatus.SENDING):
            return 2000
        awaiting_receipts = any(r["status"] == MessageStatus.SENT and r["count"] for r in rows)
        recent = batch.decided_at and timezone.now() - batch.decided_at < datetime.timedelta(hours=2)
        return 5000 if awaiting_receipts and recent else 0

    def export_view(self, request, pk):
        batch = get_object_or_404(NoticeBatch, pk=pk)
        if not self.has_view_permission(request, batch):
            raise PermissionDenied
        return exports.batch_messages_xlsx(batch=batch, user=request.user)
