from __future__ import annotations

import datetime

from django import forms
from django.conf import settings
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

from core.admin_mixins import ReadOnlyMixin, ViewerMixin
from core.audit import audit_record
from core.changelists import EstimatedCountPaginator, PeriodProbingQuerySet
from core.exceptions import ServiceError
from core.pii import mask_text, show_mobile
from customers.models import Customer, Loan, LoanStatus

from . import exports
from .models import (
    OPEN_FEEDBACK,
    BatchStatus,
    CollectionStage,
    ContactPolicy,
    DeliveryReceipt,
    Feedback,
    FeedbackCategory,
    FeedbackChannel,
    FeedbackSla,
    FeedbackStatus,
    ForbiddenExpression,
    InboundMessage,
    Installment,
    KeywordRule,
    MessageStatus,
    NoticeBatch,
    PlanKind,
    PlanStatus,
    RepaymentPlan,
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
from .selectors import batch_summary, batch_summary_counts, feedback_conversation, sending_window_note
from .services import batch_approve, batch_cancel, batch_generate, batch_reject, template_save
from .services.batches import APPROVE_PERMISSION, batch_approval_problems
from .services.feedback import (
    customer_phone_verify,
    customer_sms_resume,
    feedback_assign,
    feedback_link_customer,
    feedback_reclassify,
    feedback_record,
    feedback_reply,
    feedback_set_status,
    sla_state,
)
from .services.plans import APPROVE_PERMISSION as PLAN_APPROVE_PERMISSION
from .services.plans import (
    plan_approval_problems,
    plan_approve,
    plan_cancel,
    plan_draft,
    plan_reject,
    plan_schedule,
)
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


class VariantFilter(admin.SimpleListFilter):
    """The templates' A/B variants (a handful of rows), where Django's all-values filter
    would read every message for their DISTINCT variants. Same parameter, same lookups."""

    title = _("variant")
    parameter_name = "variant"

    def lookups(self, request, model_admin):
        variants = SmsTemplate.objects.order_by("variant").values_list("variant", flat=True).distinct()
        return [(variant, variant) for variant in variants]

    def queryset(self, request, queryset):
        return queryset.filter(variant=self.value()) if self.value() else queryset


class SendAttemptInline(ReadOnlyMixin, admin.TabularInline):
    model = SendAttempt
    fields = ("created_at", "outcome", "code", "latency_ms", "detail", "backend")
    readonly_fields = fields
    extra = 0
    can_delete = False
    verbose_name_plural = _("gateway calls")


class DeliveryReceiptInline(ReadOnlyMixin, admin.TabularInline):
    model = DeliveryReceipt
    fields = ("received_at", "status", "error_code", "reported_at", "applied")
    readonly_fields = fields
    extra = 0
    can_delete = False
    verbose_name_plural = _("delivery receipts")


@admin.register(SmsMessage)
class SmsMessageAdmin(ViewerMixin, ReadOnlyMixin, admin.ModelAdmin):
    inlines = [SendAttemptInline, DeliveryReceiptInline]
    actions = ["retry_failed", "cancel_unsent"]
    list_filter = (
        "status",
        "exclusion_reason",
        "purpose",
        StageFilter,
        VariantFilter,
        ("created_at", admin.DateFieldListFilter),
    )
    list_select_related = ("customer", "loan", "stage", "batch")
    search_fields = ("customer__customer_no",)
    search_help_text = _("Customer number, loan account or mobile")
    list_per_page = 50
    paginator = EstimatedCountPaginator
    show_full_result_count = False
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

    def get_queryset(self, request):
        # The date hierarchy probes the created_at index per period (see core.changelists).
        return PeriodProbingQuerySet.of(super().get_queryset(request))

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
        from customers.admin import customers_matching

        term = search_term.strip()
        if not term:
            return queryset, False
        # Ids looked up first: an OR of two id lists combines two index scans, where an OR
        # of two subqueries (or a join to the loan) makes PostgreSQL read every message.
        loans = list(Loan.objects.filter(loan_account=term).order_by().values_list("pk", flat=True))
        return queryset.filter(Q(customer_id__in=customers_matching(term)) | Q(loan_id__in=loans)), False

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


@admin.register(DeliveryReceipt)
class DeliveryReceiptAdmin(ReadOnlyMixin, admin.ModelAdmin):
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
class InboundMessageAdmin(ViewerMixin, ReadOnlyMixin, admin.ModelAdmin):
    list_select_related = ("customer",)
    list_filter = (("received_at", admin.DateFieldListFilter),)
    search_fields = ("provider_message_id", "text")
    fields = ("received_at", "sent_at", "phone_shown", "customer", "text_shown", "provider_message_id")
    readonly_fields = fields

    def get_list_display(self, request):
        user = request.user

        @admin.display(description=_("from"))
        def phone(obj):
            return show_mobile(obj.phone.replace("+86", ""), user) if obj.phone else "—"

        return ("received_at", phone, "customer", "text_shown")

    @admin.display(description=_("text"))
    def text_shown(self, obj):
        return mask_text(obj.text)  # customers type numbers into their replies

    @admin.display(description=_("from"))
    def phone_shown(self, obj):
        return show_mobile(obj.phone, getattr(obj, "_viewer", None))


# --- Feedback -------------------------------------------------------------------------


class WorklistFilter(admin.SimpleListFilter):
    title = _("worklist")
    parameter_name = "work"

    def lookups(self, request, model_admin):
        return [
            ("mine", _("my open items")),
            ("unassigned", _("unassigned")),
            ("overdue", _("past the answer-by time")),
            ("due_soon", _("due within 2 hours")),
            ("open", _("all open")),
        ]

    def queryset(self, request, queryset):
        value, now = self.value(), timezone.now()
        open_items = queryset.filter(status__in=OPEN_FEEDBACK)
        if value == "mine":
            return open_items.filter(assignee=request.user)
        if value == "unassigned":
            return open_items.filter(assignee__isnull=True)
        if value == "overdue":
            return open_items.filter(sla_due_at__lte=now)
        if value == "due_soon":
            return open_items.filter(sla_due_at__gt=now, sla_due_at__lte=now + datetime.timedelta(hours=2))
        if value == "open":
            return open_items
        return queryset


class FeedbackAddForm(forms.ModelForm):
    class Meta:
        model = Feedback
        fields = ("customer", "loan", "channel", "category", "text")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["channel"].choices = [
            (value, label)
            for value, label in FeedbackChannel.choices
            if value not in (FeedbackChannel.SMS_REPLY, FeedbackChannel.SYSTEM)
        ]
        self.fields["category"].required = False
        self.fields["category"].help_text = gettext("Leave empty to classify by the keyword rules.")

    def clean(self):
        data = super().clean()
        if not data.get("customer") and not data.get("loan"):
            self.add_error("customer", gettext("Choose the customer or the loan."))
        return data


class ReplyForm(forms.Form):
    template = forms.ModelChoiceField(
        label=_("template"),
        queryset=SmsTemplate.objects.filter(purpose=TemplatePurpose.FEEDBACK_REPLY, active=True),
        required=False,
        empty_label=_("— free text —"),
    )
    text = forms.CharField(
        label=_("text"), required=False, widget=forms.Textarea(attrs={"rows": 3}), max_length=300
    )


class StatusForm(forms.Form):
    status = forms.ChoiceField(label=_("status"), choices=FeedbackStatus.choices)
    resolution = forms.CharField(
        label=_("resolution"), required=False, widget=forms.Textarea(attrs={"rows": 2})
    )


@admin.register(Feedback)
class FeedbackAdmin(admin.ModelAdmin):
    form = FeedbackAddForm
    list_display = (
        "id",
        "created_at",
        "sla_col",
        "category",
        "channel",
        "customer_col",
        "text_short",
        "status",
        "assignee",
    )
    list_display_links = ("id", "created_at")
    list_filter = (WorklistFilter, "status", "category", "channel", "urgent")
    list_select_related = ("customer", "assignee")
    search_fields = ("text",)
    search_help_text = _("Customer number, name, mobile or words from the text")
    autocomplete_fields = ("customer", "loan")
    actions = ["take"]
    list_per_page = 50
    paginator = EstimatedCountPaginator
    show_full_result_count = False

    def get_search_results(self, request, queryset, search_term):
        from customers.admin import customers_matching

        term = search_term.strip()
        if not term:
            return queryset, False
        # A UNION of two index lookups (the text's is a trigram index on PostgreSQL, see
        # migration 0007): as an OR of them, PostgreSQL reads all the feedback.
        by_customer = Feedback.objects.filter(customer_id__in=customers_matching(term)).order_by()
        by_text = Feedback.objects.filter(text__contains=term).order_by()
        return queryset.filter(pk__in=by_customer.values("pk").union(by_text.values("pk"))), False

    @admin.display(description=_("answer by"), ordering="sla_due_at")
    def sla_col(self, obj):
        state = sla_state(obj)
        css = {"overdue": "danger", "due_soon": "warning", "on_track": "secondary", "done": "success"}[state]
        label = {
            "overdue": gettext("late"),
            "due_soon": gettext("due soon"),
            "on_track": gettext("on time"),
            "done": gettext("done"),
        }[state]
        return format_html(
            '<span class="badge text-bg-{}" data-sla="{}">{}</span> {}{}',
            css,
            state,
            label,
            timezone.localtime(obj.sla_due_at).strftime("%m-%d %H:%M"),
            format_html(' <span class="badge text-bg-danger">{}</span>', gettext("urgent"))
            if obj.urgent
            else "",
        )

    @admin.display(description=_("customer"), ordering="customer__name")
    def customer_col(self, obj):
        if obj.customer is None:
            return format_html('<span class="text-danger">{}</span>', gettext("unmatched"))
        return f"{obj.customer.name} ({obj.customer.customer_no})"

    @admin.display(description=_("what the customer said"))
    def text_short(self, obj):
        return mask_text(obj.text[:50])

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.action(description=_("Take the selected items (assign to me)"), permissions=["change"])
    def take(self, request, queryset):
        taken = 0
        for item in queryset.filter(status__in=OPEN_FEEDBACK):
            feedback_assign(feedback=item, user=request.user, assignee=request.user)
            taken += 1
        messages.success(request, gettext("%(n)s item(s) assigned to you.") % {"n": taken})

    def save_model(self, request, obj, form, change):
        data = form.cleaned_data
        try:
            created = feedback_record(
                user=request.user,
                channel=data["channel"],
                text=data["text"],
                category=data.get("category") or None,
                customer=data.get("customer"),
                loan=data.get("loan"),
            )
        except ServiceError as exc:
            messages.error(request, exc.message)
            return
        obj.pk = created.pk

    def log_addition(self, request, obj, message):
        """feedback_record writes the audit row."""

    def response_add(self, request, obj, post_url_continue=None):
        if obj.pk:
            return HttpResponseRedirect(reverse("admin:notices_feedback_change", args=[obj.pk]))
        return HttpResponseRedirect(reverse("admin:notices_feedback_changelist"))

    def get_urls(self):
        wrap = self.admin_site.admin_view
        urls = [
            path(
                f"<int:pk>/{name}/",
                wrap(require_POST(getattr(self, f"{name.replace('-', '_')}_view"))),
                name=f"notices_feedback_{name.replace('-', '_')}",
            )
            for name in ("reply", "status", "assign", "classify", "link", "verify-phone", "resume-sms")
        ]
        return urls + super().get_urls()

    def change_view(self, request, object_id, form_url="", extra_context=None):
        feedback = get_object_or_404(
            Feedback.objects.select_related("customer", "loan", "assignee", "inbound"), pk=object_id
        )
        if not self.has_view_permission(request, feedback):
            raise PermissionDenied
        from django.contrib.auth import get_user_model

        user = request.user
        conversation = feedback_conversation(feedback)
        for entry in conversation:
            entry["text"] = mask_text(entry["text"])  # pages never show whole numbers
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": str(feedback),
            "feedback": feedback,
            "sla": sla_state(feedback),
            "conversation": conversation,
            "phone_shown": show_mobile(feedback.phone.replace("+86", "") if feedback.phone else "", user),
            "customer_mobile": show_mobile(feedback.customer.mobile, user) if feedback.customer else "",
            "can_change": self.has_change_permission(request, feedback),
            "reply_form": ReplyForm(),
            "status_form": StatusForm(initial={"status": feedback.status, "resolution": feedback.resolution}),
            "categories": FeedbackCategory.choices,
            "staff_users": get_user_model()
            .objects.filter(is_active=True, is_staff=True)
            .order_by("username"),
            "plans": feedback.plans.all(),
            "can_draft_plan": bool(feedback.customer) and user.has_perm("notices.add_repaymentplan"),
        }
        return TemplateResponse(request, "admin/notices/feedback/detail.html", context)

    def _act(self, request, pk, action, done_text):
        feedback = get_object_or_404(Feedback, pk=pk)
        if not self.has_change_permission(request, feedback):
            raise PermissionDenied
        try:
            action(feedback)
        except ServiceError as exc:
            messages.error(request, exc.message)
        else:
            messages.success(request, done_text)
        return HttpResponseRedirect(reverse("admin:notices_feedback_change", args=[pk]))

    def reply_view(self, request, pk):
        form = ReplyForm(request.POST)

        def reply(feedback):
            if not form.is_valid():
                raise ServiceError(gettext("Check the reply."))
            feedback_reply(
                feedback=feedback,
                user=request.user,
                text=form.cleaned_data["text"],
                template=form.cleaned_data["template"],
            )

        return self._act(request, pk, reply, gettext("Reply queued; it is sent within the contact window."))

    def status_view(self, request, pk):
        form = StatusForm(request.POST)

        def change(feedback):
            if not form.is_valid():
                raise ServiceError(gettext("Choose a status."))
            feedback_set_status(
                feedback=feedback,
                user=request.user,
                status=form.cleaned_data["status"],
                resolution=form.cleaned_data["resolution"],
            )

        return self._act(request, pk, change, gettext("Status saved."))

    def assign_view(self, request, pk):
        from django.contrib.auth import get_user_model

        def assign(feedback):
            assignee = (
                get_user_model()
                .objects.filter(pk=request.POST.get("assignee") or request.user.pk, is_active=True)
                .first()
            )
            if assignee is None:
                raise ServiceError(gettext("Choose someone to assign it to."))
            feedback_assign(feedback=feedback, user=request.user, assignee=assignee)

        return self._act(request, pk, assign, gettext("Assigned."))

    def classify_view(self, request, pk):
        def classify(feedback):
            category = request.POST.get("category", "")
            if category not in FeedbackCategory.values:
                raise ServiceError(gettext("Choose a category."))
            feedback_reclassify(feedback=feedback, user=request.user, category=category)

        return self._act(request, pk, classify, gettext("Category changed."))

    def link_view(self, request, pk):
        def link(feedback):
            customer = Customer.objects.filter(
                customer_no=request.POST.get("customer_no", "").strip()
            ).first()
            if customer is None:
                raise ServiceError(gettext("No customer with that number."))
            feedback_link_customer(feedback=feedback, user=request.user, customer=customer)

        return self._act(request, pk, link, gettext("Linked to the customer."))

    def verify_phone_view(self, request, pk):
        def verify(feedback):
            if feedback.customer is None:
                raise ServiceError(gettext("No customer."))
            customer_phone_verify(customer=feedback.customer, user=request.user)

        return self._act(
            request, pk, verify, gettext("The mobile is marked as verified; notices may go to it again.")
        )

    def resume_sms_view(self, request, pk):
        def resume(feedback):
            if feedback.customer is None:
                raise ServiceError(gettext("No customer."))
            customer_sms_resume(customer=feedback.customer, user=request.user)

        return self._act(request, pk, resume, gettext("SMS to this customer are allowed again."))


@admin.register(KeywordRule)
class KeywordRuleAdmin(admin.ModelAdmin):
    list_display = ("priority", "category", "keywords", "active")
    list_editable = ("active",)
    list_display_links = ("priority", "category")
    list_filter = ("category", "active")

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        audit_record(
            actor=request.user,
            action="keyword_rule.change" if change else "keyword_rule.add",
            obj=obj,
            to_state=f"{obj.category}: {obj.keywords}",
        )

    def delete_model(self, request, obj):
        audit_record(
            actor=request.user,
            action="keyword_rule.delete",
            obj=obj,
            from_state=f"{obj.category}: {obj.keywords}",
        )
        super().delete_model(request, obj)


@admin.register(FeedbackSla)
class FeedbackSlaAdmin(admin.ModelAdmin):
    list_display = ("category", "within_hours", "within_working_days", "urgent")
    list_editable = ("within_hours", "within_working_days", "urgent")
    list_display_links = ("category",)

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        audit_record(
            actor=request.user,
            action="feedback_sla.change",
            obj=obj,
            to_state=f"{obj.within_hours}h / {obj.within_working_days}d",
        )


# --- Repayment plans ------------------------------------------------------------------


class PlanDraftForm(forms.Form):
    kind = forms.ChoiceField(
        label=_("kind"), choices=PlanKind.choices, widget=forms.RadioSelect, initial=PlanKind.INSTALLMENTS
    )
    new_date = forms.DateField(
        label=_("new repayment date (extension)"),
        required=False,
        widget=forms.DateInput(format="%Y-%m-%d", attrs={"type": "date"}),
    )
    count = forms.IntegerField(label=_("number of installments"), required=False, min_value=2)
    first_date = forms.DateField(
        label=_("first installment (then monthly)"),
        required=False,
        widget=forms.DateInput(format="%Y-%m-%d", attrs={"type": "date"}),
    )
    dates = forms.CharField(
        label=_("or chosen dates"),
        required=False,
        help_text=_("Dates separated by commas, e.g. 2026-12-15, 2027-01-20"),
    )
    note = forms.CharField(
        label=_("note for the approver"), required=False, widget=forms.Textarea(attrs={"rows": 2})
    )

    def clean_dates(self):
        raw = self.cleaned_data.get("dates", "").strip()
        if not raw:
            return []
        try:
            return [
                datetime.date.fromisoformat(part.strip())
                for part in raw.replace("，", ",").split(",")
                if part.strip()
            ]
        except ValueError as exc:
            raise forms.ValidationError(gettext("Write dates like 2026-12-15, separated by commas.")) from exc


class InstallmentInline(admin.TabularInline):
    model = Installment
    fields = ("seq", "due_date", "amount", "paid_on", "reminded_on")
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(RepaymentPlan)
class RepaymentPlanAdmin(admin.ModelAdmin):
    list_display = (
        "id",
        "loan",
        "customer_col",
        "kind",
        "status",
        "total_col",
        "requested_by",
        "approved_by",
        "created_at",
    )
    list_filter = ("status", "kind", "created_at")
    list_select_related = ("loan", "loan__customer", "requested_by", "approved_by")
    search_fields = ("loan__loan_account",)
    inlines = [InstallmentInline]

    @admin.display(description=_("customer"), ordering="loan__customer__name")
    def customer_col(self, obj):
        return obj.loan.customer.name

    @admin.display(description=_("amount covered"), ordering="total_amount")
    def total_col(self, obj):
        return f"{obj.total_amount:,.2f}"

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def get_urls(self):
        wrap = self.admin_site.admin_view
        return [
            path("draft/", wrap(self.draft_view), name="notices_repaymentplan_draft"),
            path(
                "<int:pk>/approve/",
                wrap(require_POST(self.approve_view)),
                name="notices_repaymentplan_approve",
            ),
            path(
                "<int:pk>/reject/", wrap(require_POST(self.reject_view)), name="notices_repaymentplan_reject"
            ),
            path(
                "<int:pk>/cancel/", wrap(require_POST(self.cancel_view)), name="notices_repaymentplan_cancel"
            ),
            *super().get_urls(),
        ]

    def draft_view(self, request):
        if not request.user.has_perm("notices.add_repaymentplan"):
            raise PermissionDenied
        source = request.POST if request.method == "POST" else request.GET
        feedback = (
            Feedback.objects.filter(pk=source.get("feedback") or 0).select_related("customer", "loan").first()
        )
        loan = Loan.objects.filter(pk=source.get("loan") or 0).select_related("customer").first()
        if loan is None and feedback is not None:
            loan = feedback.loan
        customer = loan.customer if loan else (feedback.customer if feedback else None)
        loans = (
            list(customer.loans.filter(status__in=(LoanStatus.OVERDUE, LoanStatus.IN_PLAN)))
            if customer
            else []
        )
        form = PlanDraftForm(request.POST or None)
        schedule, error = [], ""
        if request.method == "POST" and loan is None:
            error = gettext("Choose the loan.")
        elif request.method == "POST" and form.is_valid():
            data = form.cleaned_data
            try:
                schedule = plan_schedule(
                    kind=data["kind"],
                    total=loan.overdue_amount,
                    today=timezone.localdate(),
                    new_date=data.get("new_date"),
                    count=data.get("count"),
                    first_date=data.get("first_date"),
                    dates=data.get("dates") or None,
                )
                if "submit" in request.POST:
                    plan = plan_draft(
                        loan=loan,
                        user=request.user,
                        kind=data["kind"],
                        schedule=schedule,
                        feedback=feedback,
                        note=data.get("note", ""),
                    )
                    messages.success(request, gettext("Plan submitted for a supervisor's approval."))
                    return HttpResponseRedirect(reverse("admin:notices_repaymentplan_change", args=[plan.pk]))
            except ServiceError as exc:
                error = exc.message
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": gettext("Draft a repayment plan"),
            "form": form,
            "loan": loan,
            "loans": loans,
            "feedback": feedback,
            "schedule": schedule,
            "schedule_total": sum((line.amount for line in schedule), 0),
            "error": error,
            "max_installments": settings.PLAN_MAX_INSTALLMENTS,
            "max_extension_days": settings.PLAN_MAX_EXTENSION_DAYS,
        }
        return TemplateResponse(request, "admin/notices/repaymentplan/draft.html", context)

    def change_view(self, request, object_id, form_url="", extra_context=None):
        plan = get_object_or_404(
            RepaymentPlan.objects.select_related(
                "loan", "loan__customer", "requested_by", "approved_by", "feedback"
            ),
            pk=object_id,
        )
        if not self.has_view_permission(request, plan):
            raise PermissionDenied
        problems = plan_approval_problems(plan=plan, user=request.user)
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": str(plan),
            "plan": plan,
            "installments": plan.installments.order_by("seq"),
            "can_approve": not problems,
            "approval_problems": problems if request.user.has_perm(PLAN_APPROVE_PERMISSION) else [],
            "can_cancel": plan.status == PlanStatus.PENDING_APPROVAL
            and (request.user.pk == plan.requested_by_id or request.user.has_perm(PLAN_APPROVE_PERMISSION)),
            "plan_messages": plan.messages.order_by("created_at"),
        }
        return TemplateResponse(request, "admin/notices/repaymentplan/detail.html", context)

    def _act(self, request, pk, action, done_text):
        plan = get_object_or_404(RepaymentPlan, pk=pk)
        try:
            action(plan)
        except ServiceError as exc:
            messages.error(request, exc.message)
        else:
            messages.success(request, done_text)
        return HttpResponseRedirect(reverse("admin:notices_repaymentplan_change", args=[pk]))

    def approve_view(self, request, pk):
        if not request.user.has_perm(PLAN_APPROVE_PERMISSION):
            raise PermissionDenied
        return self._act(
            request,
            pk,
            lambda plan: plan_approve(plan=plan, user=request.user),
            gettext("Plan approved; the customer is sent a confirmation."),
        )

    def reject_view(self, request, pk):
        if not request.user.has_perm(PLAN_APPROVE_PERMISSION):
            raise PermissionDenied
        return self._act(
            request,
            pk,
            lambda plan: plan_reject(plan=plan, user=request.user, reason=request.POST.get("reason", "")),
            gettext("Plan rejected."),
        )

    def cancel_view(self, request, pk):
        if not self.has_view_permission(request):
            raise PermissionDenied
        return self._act(
            request, pk, lambda plan: plan_cancel(plan=plan, user=request.user), gettext("Plan cancelled.")
        )
