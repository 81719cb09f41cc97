"""Messages, delivery receipts and inbound SMS (read-only; actions through services)."""

from __future__ import annotations

from django.contrib import admin, messages
from django.db.models import Q
from django.utils.html import format_html
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from core.admin_mixins import ReadOnlyMixin, ViewerMixin
from core.changelists import EstimatedCountPaginator, PeriodProbingQuerySet
from core.exceptions import ServiceError
from core.pii import mask_text, show_mobile
from customers.models import Loan
from customers.selectors import CUSTOMER_SEARCH_HELP, customers_matching

from ..models import (
    CollectionStage,
    DeliveryReceipt,
    InboundMessage,
    MessagePart,
    MessageStatus,
    SendAttempt,
    SmsMessage,
    SmsTemplate,
)
from ..services.sending import message_cancel, message_retry, message_settle


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


class MessagePartInline(ReadOnlyMixin, admin.TabularInline):
    model = MessagePart
    fields = ("seq", "total", "link", "provider_id", "status", "stat", "err", "submitted_at", "done_at")
    readonly_fields = fields
    extra = 0
    can_delete = False
    verbose_name_plural = _("parts as the carrier took them")


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
    inlines = [MessagePartInline, SendAttemptInline, DeliveryReceiptInline]
    actions = ["retry_failed", "cancel_unsent", "settle_delivered", "settle_not_delivered"]
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
    search_help_text = CUSTOMER_SEARCH_HELP
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

    @admin.action(description=_("Settle the selected unknown messages as delivered"), permissions=["resend"])
    def settle_delivered(self, request, queryset):
        self._each(
            request,
            queryset,
            lambda **kw: message_settle(delivered=True, **kw),
            gettext("%(n)s message(s) settled as delivered."),
        )

    @admin.action(
        description=_("Settle the selected unknown messages as not delivered"), permissions=["resend"]
    )
    def settle_not_delivered(self, request, queryset):
        self._each(
            request,
            queryset,
            lambda **kw: message_settle(delivered=False, **kw),
            gettext("%(n)s message(s) settled as not delivered."),
        )

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
    list_display = (
        "received_at",
        "client_ref",
        "provider_message_id",
        "status",
        "error_code",
        "applied",
        "needs_review",
    )
    list_filter = ("needs_review", "status", "applied")
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
        "needs_review",
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
