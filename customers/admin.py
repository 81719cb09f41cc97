from __future__ import annotations

import datetime

from django import forms
from django.contrib import admin, messages
from django.db.models import Count, DecimalField, OuterRef, Q, Subquery, Sum
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from core.exceptions import ServiceError
from core.pii import show_id_number, show_mobile

from .models import (
    OVERDUE_BUCKETS,
    ZERO,
    Customer,
    Loan,
    LoanBookImport,
    LoanBookImportError,
    LoanEvent,
    LoanStatus,
)
from .phones import phone_normalize
from .services import customer_update_contact

OPEN_STATUSES = (LoanStatus.OVERDUE, LoanStatus.IN_PLAN)


def bucket_label(lower: int, upper: int | None) -> str:
    if upper is None:
        return gettext("over %(n)s days") % {"n": lower - 1}
    return gettext("%(lower)s–%(upper)s days") % {"lower": lower, "upper": upper}


def overdue_since_range(lower: int, upper: int | None, today: datetime.date) -> Q:
    """Loans whose days overdue today fall in [lower, upper] (index-friendly on overdue_since)."""
    q = Q(status__in=OPEN_STATUSES, overdue_since__lte=today - datetime.timedelta(days=lower))
    if upper is not None:
        q &= Q(overdue_since__gte=today - datetime.timedelta(days=upper))
    return q


class OverdueStageFilter(admin.SimpleListFilter):
    title = _("days overdue (today)")
    parameter_name = "stage"

    def lookups(self, request, model_admin):
        return [(f"{lo}-{hi or ''}", bucket_label(lo, hi)) for lo, hi in OVERDUE_BUCKETS]

    def queryset(self, request, queryset):
        if not self.value():
            return queryset
        try:
            lo_text, hi_text = self.value().split("-", 1)
            lo, hi = int(lo_text), (int(hi_text) if hi_text else None)
        except ValueError:
            return queryset.none()
        prefix = "" if queryset.model is Loan else "loans__"
        q = overdue_since_range(lo, hi, timezone.localdate())
        if prefix:
            ids = Loan.objects.filter(q).values("customer_id")
            return queryset.filter(pk__in=ids)
        return queryset.filter(q)


class PhoneProblemFilter(admin.SimpleListFilter):
    title = _("phone problem")
    parameter_name = "phone_problem"

    def lookups(self, request, model_admin):
        from .models import PhoneProblem

        return [("ok", _("valid mobile"))] + [(c.value, c.label) for c in PhoneProblem if c.value]

    def queryset(self, request, queryset):
        value = self.value()
        if not value:
            return queryset
        field = "phone_problem" if queryset.model is Customer else "customer__phone_problem"
        return queryset.filter(**{field: "" if value == "ok" else value})


def search_customers_q(term: str) -> Q:
    """Exact, index-friendly matches for what staff type: a mobile, a number, a name."""
    term = term.strip()
    q = Q(customer_no=term) | Q(name__startswith=term)
    mobile, problem = phone_normalize(term)
    if mobile:
        q |= Q(mobile=mobile)
    q |= Q(pk__in=Loan.objects.filter(loan_account=term).values("customer_id"))
    return q


class LoanInline(admin.TabularInline):
    model = Loan
    extra = 0
    can_delete = False
    show_change_link = True
    fields = (
        "loan_account",
        "product",
        "branch",
        "overdue_amount",
        "overdue_since",
        "days_overdue_today",
        "status",
    )
    readonly_fields = fields
    ordering = ("-overdue_amount",)

    @admin.display(description=_("days overdue (today)"))
    def days_overdue_today(self, obj: Loan) -> int:
        return obj.days_overdue

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


class CustomerContactForm(forms.ModelForm):
    class Meta:
        model = Customer
        fields = ("do_not_contact", "do_not_contact_reason", "do_not_contact_until", "deceased", "disputed")

    def clean(self):
        data = super().clean()
        if data.get("do_not_contact") and not (data.get("do_not_contact_reason") or "").strip():
            self.add_error("do_not_contact_reason", gettext("Give a reason for do-not-contact."))
        until = data.get("do_not_contact_until")
        if data.get("do_not_contact") and until and until < timezone.localdate():
            self.add_error("do_not_contact_until", gettext("The end date is in the past."))
        return data


@admin.register(Customer)
class CustomerAdmin(admin.ModelAdmin):
    form = CustomerContactForm
    list_filter = (PhoneProblemFilter, OverdueStageFilter, "do_not_contact", "deceased", "disputed")
    search_fields = ("customer_no",)  # shows the search box; the search itself is below
    search_help_text = _("Customer number, name (from the start), mobile or loan account")
    list_per_page = 50
    inlines = [LoanInline]
    readonly_fields = ("customer_no", "name", "phone_problem", "created_at", "updated_at")
    fieldsets = (
        (
            _("Customer"),
            {"fields": ("customer_no", "name", "mobile_shown", "phone_problem", "id_number_shown")},
        ),
        (
            _("Contact"),
            {
                "fields": (
                    "do_not_contact",
                    "do_not_contact_reason",
                    "do_not_contact_until",
                    "deceased",
                    "disputed",
                )
            },
        ),
        (_("Record"), {"fields": ("created_at", "updated_at")}),
    )

    def get_queryset(self, request):
        open_loans = Loan.objects.filter(customer=OuterRef("pk"), status__in=OPEN_STATUSES).order_by()
        return (
            super()
            .get_queryset(request)
            .annotate(
                open_loans=Coalesce(
                    Subquery(open_loans.values("customer").annotate(c=Count("pk")).values("c")[:1]), 0
                ),
                open_amount=Coalesce(
                    Subquery(open_loans.values("customer").annotate(s=Sum("overdue_amount")).values("s")[:1]),
                    ZERO,
                    output_field=DecimalField(max_digits=14, decimal_places=2),
                ),
            )
        )

    def get_search_results(self, request, queryset, search_term):
        if not search_term.strip():
            return queryset, False
        return queryset.filter(search_customers_q(search_term)), False

    def get_list_display(self, request):
        user = request.user

        @admin.display(description=_("mobile"))
        def mobile(obj):
            return show_mobile(obj.mobile, user) or "—"

        return (
            "customer_no",
            "name",
            mobile,
            "phone_problem",
            "open_loans_col",
            "open_amount_col",
            "contact_col",
        )

    def get_object(self, request, object_id, from_field=None):
        obj = super().get_object(request, object_id, from_field)
        if obj is not None:
            obj._viewer = request.user
        return obj

    def get_readonly_fields(self, request, obj=None):
        return (*self.readonly_fields, "mobile_shown", "id_number_shown")

    @admin.display(description=_("mobile"))
    def mobile_shown(self, obj):
        return show_mobile(obj.mobile, getattr(obj, "_viewer", None)) or "—"

    @admin.display(description=_("ID number"))
    def id_number_shown(self, obj):
        return show_id_number(obj.id_number, getattr(obj, "_viewer", None)) or "—"

    @admin.display(description=_("open loans"), ordering="open_loans")
    def open_loans_col(self, obj):
        return obj.open_loans

    @admin.display(description=_("overdue amount"), ordering="open_amount")
    def open_amount_col(self, obj):
        return f"{obj.open_amount:,.2f}"

    @admin.display(description=_("contact"))
    def contact_col(self, obj):
        flags = []
        if obj.do_not_contact_on(timezone.localdate()):
            flags.append(gettext("do not contact"))
        if obj.deceased:
            flags.append(gettext("deceased"))
        if obj.disputed:
            flags.append(gettext("disputed"))
        return "、".join(flags) if flags else "—"

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def save_model(self, request, obj, form, change):
        data = form.cleaned_data
        try:
            customer_update_contact(
                customer=obj,
                user=request.user,
                do_not_contact=data.get("do_not_contact"),
                do_not_contact_reason=data.get("do_not_contact_reason") or "",
                do_not_contact_until=data.get("do_not_contact_until"),
                deceased=data.get("deceased"),
                disputed=data.get("disputed"),
            )
        except ServiceError as exc:
            messages.error(request, exc.message)

    def log_change(self, request, obj, message):
        """The service writes the audit row; the admin's own log would duplicate it."""


class LoanEventInline(admin.TabularInline):
    model = LoanEvent
    extra = 0
    can_delete = False
    fields = ("on_date", "kind", "overdue_amount_before", "overdue_amount_after", "loan_import")
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(Loan)
class LoanAdmin(admin.ModelAdmin):
    list_display = (
        "loan_account",
        "customer_link",
        "product",
        "branch",
        "overdue_amount_col",
        "overdue_since",
        "days_overdue_today",
        "status",
    )
    list_filter = ("status", OverdueStageFilter, "branch", "product", PhoneProblemFilter)
    list_select_related = ("customer",)
    search_fields = ("loan_account",)
    search_help_text = _("Loan account, customer number, customer name (from the start) or mobile")
    list_per_page = 50
    inlines = [LoanEventInline]
    fieldsets = (
        (None, {"fields": ("loan_account", "customer", "product", "branch", "status")}),
        (
            _("Amounts"),
            {
                "fields": (
                    "principal",
                    "balance",
                    "overdue_principal",
                    "overdue_interest",
                    "overdue_penalty",
                    "overdue_amount",
                )
            },
        ),
        (
            _("Dates"),
            {"fields": ("overdue_since", "days_overdue_today", "next_due_date", "as_of", "last_import")},
        ),
    )
    readonly_fields = ("days_overdue_today",)

    def get_search_results(self, request, queryset, search_term):
        term = search_term.strip()
        if not term:
            return queryset, False
        customers = Customer.objects.filter(search_customers_q(term)).values("pk")
        return queryset.filter(Q(loan_account=term) | Q(customer_id__in=customers)), False

    @admin.display(description=_("customer"), ordering="customer__name")
    def customer_link(self, obj):
        return obj.customer.name

    @admin.display(description=_("overdue amount"), ordering="overdue_amount")
    def overdue_amount_col(self, obj):
        return f"{obj.overdue_amount:,.2f}"

    @admin.display(description=_("days overdue (today)"), ordering="-overdue_since")
    def days_overdue_today(self, obj):
        return obj.days_overdue

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(LoanEvent)
class LoanEventAdmin(admin.ModelAdmin):
    list_display = ("on_date", "loan", "kind", "overdue_amount_before", "overdue_amount_after", "loan_import")
    list_filter = ("kind", "on_date")
    list_select_related = ("loan", "loan_import")
    search_fields = ("loan__loan_account",)
    date_hierarchy = "on_date"

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class LoanBookImportErrorInline(admin.TabularInline):
    model = LoanBookImportError
    extra = 0
    can_delete = False
    fields = ("row", "column", "value", "message")
    readonly_fields = fields
    max_num = 0

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(LoanBookImport)
class LoanBookImportAdmin(admin.ModelAdmin):
    list_display = (
        "created_at",
        "file_name",
        "as_of",
        "mode",
        "status",
        "created_by",
        "created_count",
        "updated_count",
        "unchanged_count",
        "error_count",
        "cured_count",
    )
    list_filter = ("status", "mode", "as_of")
    list_select_related = ("created_by",)
    search_fields = ("file_name", "sha256")
    inlines = [LoanBookImportErrorInline]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
