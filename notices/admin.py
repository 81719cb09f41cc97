from __future__ import annotations

import datetime

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import Q
from django.http import HttpResponseRedirect, JsonResponse
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_POST

from core.audit import audit_record
from core.exceptions import ServiceError
from core.pii import show_mobile
from customers.models import Customer, Loan

from . import exports
from .models import (
    BatchStatus,
    CollectionStage,
    ContactPolicy,
    DeliveryReceipt,
    ForbiddenExpression,
    InboundMessage,
    MessageStatus,
    NoticeBatch,
    SendAttempt,
    SmsMessage,
    SmsTemplate,
    SmsTemplateVersion,
    TemplatePurpose,
)
from .rendering import (
    PLACEHOLDERS,
    LoanFacts,
    notice_context,
    render,
    sample_context,
    segments,
    with_signature,
)
from .selectors import batch_summary, batch_summary_counts, sending_window_note
from .services import batch_approve, batch_cancel, batch_generate, batch_reject, template_save
from .services.batches import APPROVE_PERMISSION, batch_approval_problems
from .services.sending import message_cancel, message_retry
from .services.templates import placeholders_for, template_lint

# --- Contact policy and forbidden expressions -----------------------------------------


@admin.register(ContactPolicy)
class ContactPolicyAdmin(admin.ModelAdmin):
    fieldsets = (
        (_("When"), {"fields": ("window_start", "window_end")}),
        (_("How much"), {"fields": ("daily_cap", "rate_limit", "min_overdue_amount")}),
        (_("Templates and batches"), {"fields": ("max_parts", "batch_max_age_days")}),
    )

    def changelist_view(self, request, extra_context=None):
        policy = ContactPolicy.current()
        return HttpResponseRedirect(reverse("admin:notices_contactpolicy_change", args=[policy.pk]))

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def save_model(self, request, obj, form, change):
        before = ContactPolicy.objects.get(pk=obj.pk)
        changed = {name: (getattr(before, name), getattr(obj, name)) for name in form.changed_data}
        obj.save()
        audit_record(
            actor=request.user,
            action="policy.change",
            obj=obj,
            from_state="; ".join(f"{k}={v[0]}" for k, v in changed.items()),
            to_state="; ".join(f"{k}={v[1]}" for k, v in changed.items()),
        )

    def log_change(self, request, obj, message):
        """Audited by save_model."""


@admin.register(ForbiddenExpression)
class ForbiddenExpressionAdmin(admin.ModelAdmin):
    list_display = ("phrase", "category", "active")
    list_filter = ("category", "active")
    list_editable = ("active",)
    search_fields = ("phrase",)

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        audit_record(
            actor=request.user,
            action="forbidden_expression.change" if change else "forbidden_expression.add",
            obj=obj,
            to_state=f"{obj.phrase} ({'on' if obj.active else 'off'})",
        )

    def delete_model(self, request, obj):
        audit_record(actor=request.user, action="forbidden_expression.delete", obj=obj, from_state=obj.phrase)
        super().delete_model(request, obj)


# --- Stages and templates -------------------------------------------------------------


class StageTemplateInline(admin.TabularInline):
    model = SmsTemplate
    fields = ("name", "variant", "weight", "version", "active", "body")
    readonly_fields = fields
    extra = 0
    can_delete = False
    show_change_link = True

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(CollectionStage)
class CollectionStageAdmin(admin.ModelAdmin):
    list_display = ("name", "range_col", "cadence_days", "active")
    list_editable = ("cadence_days", "active")
    inlines = [StageTemplateInline]

    @admin.display(description=_("days overdue"), ordering="min_days")
    def range_col(self, obj):
        return obj.range_label

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        audit_record(
            actor=request.user,
            action="stage.change" if change else "stage.add",
            obj=obj,
            to_state=f"{obj.range_label}, cadence {obj.cadence_days}, {'active' if obj.active else 'inactive'}",
        )

    def has_delete_permission(self, request, obj=None):
        return False


class SmsTemplateForm(forms.ModelForm):
    class Meta:
        model = SmsTemplate
        fields = ("name", "purpose", "stage", "variant", "weight", "active", "body")
        widgets = {
            "body": forms.Textarea(attrs={"rows": 4, "class": "form-control sms-body", "data-sms-body": "1"})
        }

    def clean(self):
        data = super().clean()
        purpose, stage = data.get("purpose"), data.get("stage")
        if purpose == TemplatePurpose.OVERDUE_NOTICE and not stage:
            self.add_error("stage", gettext("An overdue notice belongs to a stage."))
        if purpose != TemplatePurpose.OVERDUE_NOTICE and stage:
            self.add_error("stage", gettext("Only overdue notices belong to a stage."))
        body = data.get("body")
        if body and purpose:
            for problem in template_lint(body=body, purpose=purpose):
                self.add_error("body", problem)
        return data


class TemplateVersionInline(admin.TabularInline):
    model = SmsTemplateVersion
    fields = ("version", "body", "created_by", "created_at")
    readonly_fields = fields
    extra = 0
    can_delete = False
    ordering = ("-version",)
    verbose_name_plural = _("version history")

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(SmsTemplate)
class SmsTemplateAdmin(admin.ModelAdmin):
    form = SmsTemplateForm
    change_form_template = "admin/notices/smstemplate/change_form.html"
    list_display = ("name", "purpose", "stage", "variant", "weight", "version", "active", "updated_at")
    list_filter = ("purpose", "stage", "active")
    list_select_related = ("stage",)
    search_fields = ("name", "body")
    inlines = [TemplateVersionInline]
    readonly_fields = ("version",)

    def get_urls(self):
        return [
            path(
                "preview/", self.admin_site.admin_view(self.preview_view), name="notices_smstemplate_preview"
            ),
            *super().get_urls(),
        ]

    def has_delete_permission(self, request, obj=None):
        return False

    def render_change_form(self, request, context, add=False, change=False, form_url="", obj=None):
        purpose = (obj.purpose if obj else None) or TemplatePurpose.OVERDUE_NOTICE
        context.update(
            {
                "placeholders": [(name, PLACEHOLDERS[name]) for name in PLACEHOLDERS],
                "placeholders_by_purpose": {p: placeholders_for(p) for p, _label in TemplatePurpose.choices},
                "current_placeholders": placeholders_for(purpose),
                "signature": self._signature(),
                "preview_url": reverse("admin:notices_smstemplate_preview"),
            }
        )
        return super().render_change_form(request, context, add, change, form_url, obj)

    @staticmethod
    def _signature():
        from django.conf import settings

        return settings.SMS_SIGNATURE

    def preview_view(self, request):
        """Render a draft body for a chosen loan (or a sample), with counts and problems."""
        if not (self.has_view_permission(request) or self.has_change_permission(request)):
            raise PermissionDenied
        if request.method != "POST":
            return JsonResponse({"error": gettext("Use POST.")}, status=405)
        body = request.POST.get("body", "")
        purpose = request.POST.get("purpose") or TemplatePurpose.OVERDUE_NOTICE
        if purpose not in TemplatePurpose.values:
            purpose = TemplatePurpose.OVERDUE_NOTICE
        loan_ref = (request.POST.get("loan") or "").strip()
        context, source = sample_context(), gettext("sample values")
        if loan_ref:
            loan = Loan.objects.select_related("customer").filter(loan_account=loan_ref).first()
            if loan is None:
                customer = Customer.objects.filter(customer_no=loan_ref).first()
                loan = customer.loans.order_by("overdue_since").first() if customer else None
            if loan is not None:
                today = timezone.localdate()
                context = {
                    **sample_context(),
                    **notice_context(
                        honorific_name=loan.customer.honorific_name,
                        loans=[
                            LoanFacts(
                                loan.loan_account,
                                loan.overdue_amount,
                                loan.overdue_since,
                                loan.days_overdue_on(today),
                            )
                        ],
                        as_of=today,
                    ),
                }
                source = gettext("loan %(account)s") % {"account": loan.loan_account}
            else:
                source = gettext("no loan or customer %(ref)s; sample values") % {"ref": loan_ref}
        text = with_signature(render(body, context))
        return JsonResponse(
            {
                "text": text,
                "chars": len(text),
                "parts": segments(text),
                "source": source,
                "problems": template_lint(body=body, purpose=purpose) if body.strip() else [],
            }
        )

    def save_model(self, request, obj, form, change):
        try:
            template_save(template=obj, user=request.user)
        except ServiceError as exc:  # the form already linted; this is the last guard
            messages.error(request, exc.message)

    def save_related(self, request, form, formsets, change):
        """Versions are written by template_save; nothing else is edited here."""

    def construct_change_message(self, request, form, formsets, add=False):
        return []

    def log_change(self, request, obj, message):
        """template_save writes the audit row."""

    def log_addition(self, request, obj, message):
        """template_save writes the audit row."""


# --- Batches --------------------------------------------------------------------------


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
class NoticeBatchAdmin(admin.ModelAdmin):
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
            path("<int:pk>/cancel/", wrap(require_POST(self.cancel_view)), name="notices_noticebatch_cancel"),
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
        if request.method == "POST" and form.is_valid():
            try:
                batch = batch_generate(as_of=form.cleaned_data["as_of"], user=request.user)
            except ServiceError as exc:
                messages.error(request, exc.message)
            else:
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
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": gettext("Generate notice batch"),
            "form": form,
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
            "can_cancel": batch.status
            in (BatchStatus.DRAFT, BatchStatus.PENDING_APPROVAL, BatchStatus.APPROVED)
            and (user.has_perm(APPROVE_PERMISSION) or user.pk == batch.created_by_id),
            "reject_form": RejectForm(),
            "window_note": sending_window_note(batch),
            "messages_url": reverse("admin:notices_smsmessage_changelist") + f"?batch__id__exact={batch.pk}",
        }
        return TemplateResponse(request, "admin/notices/noticebatch/detail.html", context)

    def _act(self, request, pk, action):
        batch = get_object_or_404(NoticeBatch, pk=pk)
        try:
            action(batch)
        except ServiceError as exc:
            messages.error(request, exc.message)
        return HttpResponseRedirect(reverse("admin:notices_noticebatch_change", args=[pk]))

    def approve_view(self, request, pk):
        if not self.has_approve_permission(request):
            raise PermissionDenied

        def approve(batch):
            batch_approve(batch=batch, user=request.user)
            messages.success(request, gettext("Batch approved; sending starts within the contact window."))

        return self._act(request, pk, approve)

    def reject_view(self, request, pk):
        if not self.has_approve_permission(request):
            raise PermissionDenied
        form = RejectForm(request.POST)

        def reject(batch):
            if not form.is_valid():
                raise ServiceError(gettext("A rejection needs a reason."))
            batch_reject(batch=batch, user=request.user, reason=form.cleaned_data["reason"])
            messages.success(request, gettext("Batch rejected."))

        return self._act(request, pk, reject)

    def cancel_view(self, request, pk):
        batch = get_object_or_404(NoticeBatch, pk=pk)
        if not (self.has_approve_permission(request) or request.user.pk == batch.created_by_id):
            raise PermissionDenied

        def cancel(batch):
            batch_cancel(batch=batch, user=request.user, reason=request.POST.get("reason", ""))
            messages.success(request, gettext("Batch cancelled."))

        return self._act(request, pk, cancel)

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


# --- Messages -------------------------------------------------------------------------


class StageFilter(admin.SimpleListFilter):
    title = _("stage")
    parameter_name = "stage"

    def lookups(self, request, model_admin):
        return [(str(s.pk), str(s)) for s in CollectionStage.objects.order_by("min_days")]

    def queryset(self, request, queryset):
        return queryset.filter(stage_id=self.value()) if self.value() else queryset


class SendAttemptInline(admin.TabularInline):
    model = SendAttempt
    fields = ("created_at", "outcome", "code", "latency_ms", "detail", "backend")
    readonly_fields = fields
    extra = 0
    can_delete = False
    verbose_name_plural = _("gateway calls")

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


class DeliveryReceiptInline(admin.TabularInline):
    model = DeliveryReceipt
    fields = ("received_at", "status", "error_code", "reported_at", "applied")
    readonly_fields = fields
    extra = 0
    can_delete = False
    verbose_name_plural = _("delivery receipts")

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(SmsMessage)
class SmsMessageAdmin(admin.ModelAdmin):
    inlines = [SendAttemptInline, DeliveryReceiptInline]
    actions = ["retry_failed", "cancel_unsent"]
    list_filter = (
        "status",
        "exclusion_reason",
        "purpose",
        StageFilter,
        "variant",
        ("created_at", admin.DateFieldListFilter),
    )
    list_select_related = ("customer", "loan", "stage", "batch")
    search_fields = ("customer__customer_no",)
    search_help_text = _("Customer number, loan account or mobile")
    list_per_page = 50
    date_hierarchy = "created_at"
    readonly_fields = (
        "batch",
        "purpose",
        "customer",
        "loan",
        "stage",
        "template",
        "template_version",
        "variant",
        "phone_shown",
        "body",
        "segments",
        "loan_count",
        "overdue_total",
        "days_overdue",
        "status",
        "exclusion_reason",
        "idempotency_key",
        "provider_message_id",
        "attempts",
        "error_code",
        "last_error",
        "not_before",
        "created_at",
        "claimed_at",
        "sent_at",
        "delivered_at",
        "failed_at",
    )
    fieldsets = (
        (None, {"fields": ("status", "exclusion_reason", "error_code", "last_error", "body", "segments")}),
        (
            _("Who and why"),
            {
                "fields": (
                    "customer",
                    "phone_shown",
                    "loan",
                    "loan_count",
                    "overdue_total",
                    "days_overdue",
                    "batch",
                    "purpose",
                    "stage",
                    "template",
                    "template_version",
                    "variant",
                )
            },
        ),
        (
            _("Timeline"),
            {
                "fields": (
                    "created_at",
                    "not_before",
                    "claimed_at",
                    "sent_at",
                    "delivered_at",
                    "failed_at",
                    "attempts",
                    "idempotency_key",
                    "provider_message_id",
                )
            },
        ),
    )

    def get_list_display(self, request):
        user = request.user

        @admin.display(description=_("mobile"))
        def phone(obj):
            return show_mobile(obj.phone, user) or "—"

        return (
            "id",
            "created_at",
            "customer_col",
            phone,
            "stage",
            "variant",
            "status_col",
            "body_short",
            "batch_col",
        )

    def get_object(self, request, object_id, from_field=None):
        obj = super().get_object(request, object_id, from_field)
        if obj is not None:
            obj._viewer = request.user
        return obj

    @admin.display(description=_("mobile"))
    def phone_shown(self, obj):
        return show_mobile(obj.phone, getattr(obj, "_viewer", None)) or "—"

    @admin.display(description=_("customer"), ordering="customer__customer_no")
    def customer_col(self, obj):
        return f"{obj.customer.name} ({obj.customer.customer_no})"

    @admin.display(description=_("status"), ordering="status")
    def status_col(self, obj):
        if obj.status == MessageStatus.EXCLUDED:
            return format_html("{}: {}", obj.get_status_display(), obj.get_exclusion_reason_display())
        return obj.get_status_display()

    @admin.display(description=_("text"))
    def body_short(self, obj):
        return (obj.body[:40] + "…") if len(obj.body) > 40 else obj.body

    @admin.display(description=_("batch"), ordering="batch_id")
    def batch_col(self, obj):
        return f"#{obj.batch_id}" if obj.batch_id else "—"

    def get_search_results(self, request, queryset, search_term):
        from customers.admin import search_customers_q

        term = search_term.strip()
        if not term:
            return queryset, False
        customers = Customer.objects.filter(search_customers_q(term)).values("pk")
        return queryset.filter(Q(customer_id__in=customers) | Q(loan__loan_account=term)), False

    def get_list_filter(self, request):
        return (*self.list_filter, "batch")

    def has_resend_permission(self, request):
        return request.user.has_perm("notices.change_smsmessage")

    @admin.action(description=_("Retry the selected failed messages"), permissions=["resend"])
    def retry_failed(self, request, queryset):
        self._each(request, queryset, message_retry, gettext("%(n)s message(s) queued again."))

    @admin.action(description=_("Cancel the selected messages not yet sent"), permissions=["resend"])
    def cancel_unsent(self, request, queryset):
        self._each(request, queryset, message_cancel, gettext("%(n)s message(s) cancelled."))

    def _each(self, request, queryset, service, done_text):
        done, refused = 0, 0
        for message in queryset:
            try:
                service(message=message, user=request.user)
                done += 1
            except ServiceError:
                refused += 1
        if done:
            messages.success(request, done_text % {"n": done})
        if refused:
            messages.warning(
                request, gettext("%(n)s message(s) were not in a state that allows this.") % {"n": refused}
            )

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class ReadOnlyLogAdmin(admin.ModelAdmin):
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(DeliveryReceipt)
class DeliveryReceiptAdmin(ReadOnlyLogAdmin):
    list_display = ("received_at", "client_ref", "provider_message_id", "status", "error_code", "applied")
    list_filter = ("status", "applied")
    search_fields = ("client_ref", "provider_message_id")
    readonly_fields = (
        "message",
        "provider_message_id",
        "client_ref",
        "status",
        "error_code",
        "reported_at",
        "payload",
        "applied",
        "received_at",
    )


@admin.register(InboundMessage)
class InboundMessageAdmin(ReadOnlyLogAdmin):
    list_select_related = ("customer",)
    list_filter = (("received_at", admin.DateFieldListFilter),)
    search_fields = ("provider_message_id", "text")
    fields = ("received_at", "sent_at", "phone_shown", "customer", "text", "provider_message_id")
    readonly_fields = fields

    def get_list_display(self, request):
        user = request.user

        @admin.display(description=_("from"))
        def phone(obj):
            return show_mobile(obj.phone.replace("+86", ""), user) if obj.phone else "—"

        return ("received_at", phone, "customer", "text")

    def get_object(self, request, object_id, from_field=None):
        obj = super().get_object(request, object_id, from_field)
        if obj is not None:
            obj._viewer = request.user
        return obj

    @admin.display(description=_("from"))
    def phone_shown(self, obj):
        return show_mobile(obj.phone, getattr(obj, "_viewer", None))
