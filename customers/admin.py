from __future__ import annotations

import datetime

from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied
from django.db import connections, router
from django.db.models import Count, DecimalField, OuterRef, Q, Subquery, Sum
from django.db.models.functions import Coalesce
from django.http import Http404, JsonResponse
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_POST

from core.admin_mixins import ReadOnlyMixin, ViewerMixin
from core.changelists import EstimatedCountPaginator
from core.exceptions import ServiceError
from core.pii import (
    can_see_full_pii,
    mask_text,
    national_mobile,
    reveal_button,
    reveal_response,
    show_id_number,
    show_mobile,
)
from core.xlsx import xlsx_response

from .forms import LoanBookUploadForm
from .importing.cells import BookRefused
from .models import (
    OPEN_LOAN_STATUSES,
    OVERDUE_BUCKETS,
    ZERO,
    Customer,
    ImportStatus,
    Loan,
    LoanBookImport,
    LoanEvent,
)
from .selectors import CUSTOMER_SEARCH_HELP, customers_matching, search_customers_q
from .services import (
    customer_reveal,
    customer_set_salutation,
    customer_update_contact,
    loan_book_cancel,
    loan_book_confirm,
    loan_book_upload,
)
from .services.loan_import import (
    CONFIRM_PERMISSION,
    import_progress,
    loan_book_error_report,
    loan_book_needs_supervisor,
    previous_imports_of_same_file,
)

SHOWN_ERROR_ROWS = 50
WAITING = (ImportStatus.UPLOADED, ImportStatus.VALIDATING, ImportStatus.QUEUED, ImportStatus.RUNNING)


def bucket_label(lower: int, upper: int | None) -> str:
    if upper is None:
        return gettext("over %(n)s days") % {"n": lower - 1}
    return gettext("%(lower)s–%(upper)s days") % {"lower": lower, "upper": upper}


def overdue_since_range(lower: int, upper: int | None, today: datetime.date) -> Q:
    """Loans whose days overdue today fall in [lower, upper] (index-friendly on overdue_since)."""
    q = Q(status__in=OPEN_LOAN_STATUSES, overdue_since__lte=today - datetime.timedelta(days=lower))
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


class IndexedValuesFilter(admin.AllValuesFieldListFilter):
    """Every value of an indexed column, as Django's all-values filter lists them, found
    by walking the index (one probe per distinct value) on PostgreSQL instead of a
    DISTINCT over every row of a large table."""

    def __init__(self, field, request, params, model, model_admin, field_path):
        super().__init__(field, request, params, model, model_admin, field_path)
        connection = connections[router.db_for_read(model)]
        if connection.vendor == "postgresql" and field_path == field.name:
            self.lookup_choices = _distinct_by_index(connection, model._meta.db_table, field.column)


def _distinct_by_index(connection, table: str, column: str) -> list:
    qn = connection.ops.quote_name
    table, column = qn(table), qn(column)
    sql = (
        f"WITH RECURSIVE v(x) AS ("  # noqa: S608 (names from the model, quoted)
        f"(SELECT {column} FROM {table} WHERE {column} IS NOT NULL ORDER BY {column} LIMIT 1)"
        f" UNION ALL SELECT (SELECT {column} FROM {table} WHERE {column} > v.x ORDER BY {column} LIMIT 1)"
        f" FROM v WHERE v.x IS NOT NULL"
        f") SELECT x FROM v WHERE x IS NOT NULL"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql)
        return [row[0] for row in cursor.fetchall()]


class LoanInline(ReadOnlyMixin, admin.TabularInline):
    model = Loan
    extra = 0
    can_delete = False
    show_change_link = True
    fields = (
        "loan_account",
        "product",
        "branch",
        "overdue_amount_shown",
        "overdue_since",
        "days_overdue_today",
        "status",
    )
    readonly_fields = fields
    ordering = ("-overdue_amount",)

    @admin.display(description=_("overdue amount"))
    def overdue_amount_shown(self, obj: Loan) -> str:
        return f"{obj.overdue_amount:,.2f}"

    @admin.display(description=_("days overdue (today)"))
    def days_overdue_today(self, obj: Loan) -> int:
        return obj.days_overdue


class CustomerContactForm(forms.ModelForm):
    class Meta:
        model = Customer
        fields = (
            "salutation",
            "do_not_contact",
            "do_not_contact_reason",
            "do_not_contact_until",
            "deceased",
            "disputed",
        )

    def clean_salutation(self):
        from .salutations import salutation_problem

        value = (self.cleaned_data.get("salutation") or "").strip()
        problem = salutation_problem(value)
        if problem:
            raise forms.ValidationError(problem)
        return value

    def clean(self):
        data = super().clean()
        if data.get("do_not_contact") and not (data.get("do_not_contact_reason") or "").strip():
            self.add_error("do_not_contact_reason", gettext("Give a reason for do-not-contact."))
        until = data.get("do_not_contact_until")
        if data.get("do_not_contact") and until and until < timezone.localdate():
            self.add_error("do_not_contact_until", gettext("The end date is in the past."))
        return data


@admin.register(Customer)
class CustomerAdmin(ViewerMixin, admin.ModelAdmin):
    form = CustomerContactForm
    list_filter = (PhoneProblemFilter, OverdueStageFilter, "do_not_contact", "deceased", "disputed")
    search_fields = ("customer_no",)  # shows the search box; the search itself is below
    search_help_text = CUSTOMER_SEARCH_HELP
    list_per_page = 50
    paginator = EstimatedCountPaginator
    show_full_result_count = False
    inlines = [LoanInline]
    readonly_fields = ("customer_no", "name", "phone_problem", "created_at", "updated_at")
    fieldsets = (
        (
            _("Customer"),
            {"fields": ("customer_no", "name", "mobile_shown", "phone_problem", "id_number_shown")},
        ),
        (_("Salutation"), {"fields": ("salutation_used", "salutation")}),
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
        open_loans = Loan.objects.filter(customer=OuterRef("pk"), status__in=OPEN_LOAN_STATUSES).order_by()
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

    def get_readonly_fields(self, request, obj=None):
        return (*self.readonly_fields, "mobile_shown", "id_number_shown", "salutation_used")

    @admin.display(description=_("messages address the customer as"))
    def salutation_used(self, obj):
        return obj.honorific_name

    @admin.display(description=_("mobile"))
    def mobile_shown(self, obj):
        viewer = getattr(obj, "_viewer", None)
        masked = show_mobile(obj.mobile, viewer) or "—"
        if not (can_see_full_pii(viewer) and (obj.mobile or obj.id_number)):
            return masked
        url = reverse("admin:customers_customer_reveal", args=[obj.pk])
        return reveal_button(masked, url)

    @admin.display(description=_("ID number"))
    def id_number_shown(self, obj):
        return show_id_number(obj.id_number, getattr(obj, "_viewer", None)) or "—"

    def get_urls(self):
        return [
            path(
                "<path:object_id>/reveal/",
                self.admin_site.admin_view(require_POST(self.reveal_view)),
                name="customers_customer_reveal",
            ),
            *super().get_urls(),
        ]

    def reveal_view(self, request, object_id):
        """The whole mobile and ID number, once, for a user who may see them (audited)."""
        obj = self.get_object(request, unquote(object_id))
        if obj is None:
            raise Http404
        if not (self.has_view_permission(request, obj) and can_see_full_pii(request.user)):
            raise PermissionDenied
        customer_reveal(customer=obj, user=request.user)
        return reveal_response(
            request,
            subject=f"{obj.name} ({obj.customer_no})",
            back_url=reverse("admin:customers_customer_change", args=[obj.pk]),
            values=[(gettext("mobile"), national_mobile(obj.mobile)), (gettext("ID number"), obj.id_number)],
        )

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
            if "salutation" in form.changed_data:
                customer_set_salutation(
                    customer=obj, user=request.user, salutation=data.get("salutation", "")
                )
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


class LoanEventInline(ReadOnlyMixin, admin.TabularInline):
    model = LoanEvent
    extra = 0
    can_delete = False
    fields = ("on_date", "kind", "overdue_amount_before", "overdue_amount_after", "loan_import")
    readonly_fields = fields


@admin.register(Loan)
class LoanAdmin(ReadOnlyMixin, admin.ModelAdmin):
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
    list_filter = (
        "status",
        OverdueStageFilter,
        ("branch", IndexedValuesFilter),
        ("product", IndexedValuesFilter),
        PhoneProblemFilter,
    )
    list_select_related = ("customer",)
    paginator = EstimatedCountPaginator
    show_full_result_count = False
    search_fields = ("loan_account",)
    search_help_text = CUSTOMER_SEARCH_HELP
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
        # The loan with that account is among its customer's loans: one index-backed IN.
        return queryset.filter(customer_id__in=customers_matching(term)), False

    @admin.display(description=_("customer"), ordering="customer__name")
    def customer_link(self, obj):
        return obj.customer.name

    @admin.display(description=_("overdue amount"), ordering="overdue_amount")
    def overdue_amount_col(self, obj):
        return f"{obj.overdue_amount:,.2f}"

    @admin.display(description=_("days overdue (today)"), ordering="-overdue_since")
    def days_overdue_today(self, obj):
        return obj.days_overdue


@admin.register(LoanEvent)
class LoanEventAdmin(ReadOnlyMixin, admin.ModelAdmin):
    list_display = ("on_date", "loan", "kind", "overdue_amount_before", "overdue_amount_after", "loan_import")
    list_filter = ("kind", "on_date")
    list_select_related = ("loan", "loan_import")
    search_fields = ("loan__loan_account",)
    date_hierarchy = "on_date"


@admin.register(LoanBookImport)
class LoanBookImportAdmin(ReadOnlyMixin, admin.ModelAdmin):
    """Import history, plus the import flow as extra views: upload → preview (a dry run)
    → confirm → progress → result, and the rejected rows as an .xlsx report."""

    list_display = (
        "created_at",
        "file_link",
        "as_of",
        "mode",
        "status",
        "created_by",
        "total_rows",
        "created_count",
        "updated_count",
        "unchanged_count",
        "error_count",
        "cured_count",
    )
    list_display_links = None
    list_filter = ("status", "mode", "as_of")
    list_select_related = ("created_by",)
    search_fields = ("file_name", "sha256")
    change_list_template = "admin/customers/loanbookimport/change_list.html"

    def has_add_permission(self, request):
        return False  # imports are added through the upload view, never the add form

    def has_import_permission(self, request) -> bool:
        return request.user.has_perm("customers.add_loanbookimport")

    @admin.display(description=_("file"), ordering="file_name")
    def file_link(self, obj):
        return format_html('<a href="{}">{}</a>', self._page_url(obj), obj.file_name)

    def changelist_view(self, request, extra_context=None):
        extra_context = {**(extra_context or {}), "can_import": self.has_import_permission(request)}
        return super().changelist_view(request, extra_context)

    def change_view(self, request, object_id, form_url="", extra_context=None):
        """An import's page is its preview, progress or result page."""
        obj = self.get_object(request, unquote(object_id))
        if obj is None or not self.has_view_permission(request, obj):
            return super().change_view(request, object_id, form_url, extra_context)
        return redirect(self._page_url(obj))

    def get_urls(self):
        wrap = self.admin_site.admin_view
        name = f"{self.opts.app_label}_{self.opts.model_name}"
        return [
            path("import/", wrap(self.upload_view), name=f"{name}_upload"),
            path("<int:pk>/progress/", wrap(self.progress_view), name=f"{name}_progress"),
            path("<int:pk>/status.json", wrap(self.status_view), name=f"{name}_status"),
            path("<int:pk>/preview/", wrap(self.preview_view), name=f"{name}_preview"),
            path("<int:pk>/result/", wrap(self.result_view), name=f"{name}_result"),
            path("<int:pk>/errors.xlsx", wrap(self.error_report_view), name=f"{name}_errors"),
            *super().get_urls(),
        ]

    # --- helpers ----------------------------------------------------------------------
    def _url(self, view: str, obj=None) -> str:
        name = f"admin:{self.opts.app_label}_{self.opts.model_name}_{view}"
        return reverse(name, args=[obj.pk] if obj is not None else [])

    def _page_url(self, obj) -> str:
        if obj.status == ImportStatus.VALIDATED:
            return self._url("preview", obj)
        if obj.status in (
            ImportStatus.UPLOADED,
            ImportStatus.VALIDATING,
            ImportStatus.QUEUED,
            ImportStatus.RUNNING,
        ):
            return self._url("progress", obj)
        return self._url("result", obj)

    def _get(self, request, pk: int) -> LoanBookImport:
        if not self.has_view_permission(request):
            raise PermissionDenied
        return get_object_or_404(LoanBookImport.objects.select_related("created_by"), pk=pk)

    def _context(self, request, obj=None, **extra) -> dict:
        return {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "app_label": self.opts.app_label,
            "has_view_permission": self.has_view_permission(request),
            "can_import": self.has_import_permission(request),
            "original": obj,
            "history_url": reverse(f"admin:{self.opts.app_label}_{self.opts.model_name}_changelist"),
            "upload_url": self._url("upload"),
            "applied": obj is not None and obj.status == ImportStatus.DONE,
            "problem_count": obj.row_errors.count() if obj is not None and obj.error_count else 0,
            **extra,
        }

    def _shown_errors(self, request, obj) -> list[dict]:
        return [
            {
                "row": e.row,
                "column": e.column,
                "value": mask_text(e.value),  # pages never show whole numbers
                "message": e.message,
            }
            for e in obj.row_errors.all()[:SHOWN_ERROR_ROWS]
        ]

    # --- views ------------------------------------------------------------------------
    def upload_view(self, request):
        if not self.has_import_permission(request):
            raise PermissionDenied
        if request.method == "POST":
            form = LoanBookUploadForm(request.POST, request.FILES)
            if form.is_valid():
                try:
                    obj = loan_book_upload(
                        file=form.cleaned_data["file"],
                        as_of=form.cleaned_data["as_of"],
                        mode=form.cleaned_data["mode"],
                        user=request.user,
                    )
                except BookRefused as exc:
                    form.add_error("file", exc.message)
                else:
                    return redirect(self._url("progress", obj))
        else:
            form = LoanBookUploadForm()
        context = self._context(
            request,
            title=gettext("Import the loan book"),
            form=form,
            max_mb=settings.LOAN_IMPORT_MAX_BYTES // (1024 * 1024),
            recent=LoanBookImport.objects.select_related("created_by")[:5],
        )
        return TemplateResponse(request, "admin/customers/loanbookimport/upload.html", context)

    def progress_view(self, request, pk: int):
        """The progress bar; its script moves on to the preview or the result page."""
        obj = self._get(request, pk)
        context = self._context(
            request,
            obj,
            title=gettext("Import %(file)s") % {"file": obj.file_name},
            progress=import_progress(obj),
            status_url=self._url("status", obj),
            next_url=None if obj.status in WAITING else self._page_url(obj),
        )
        return TemplateResponse(request, "admin/customers/loanbookimport/progress.html", context)

    def status_view(self, request, pk: int):
        obj = self._get(request, pk)
        return JsonResponse(
            {
                **import_progress(obj),
                "status_label": obj.get_status_display(),
                "next": None if obj.status in WAITING else self._page_url(obj),
            }
        )

    def preview_view(self, request, pk: int):
        obj = self._get(request, pk)
        previous = list(previous_imports_of_same_file(obj)[:5])
        if request.method == "POST":
            if not self.has_import_permission(request):
                raise PermissionDenied
            action = request.POST.get("action")
            try:
                if action == "cancel":
                    loan_book_cancel(loan_import=obj, user=request.user)
                    messages.info(request, gettext("The import was cancelled; nothing was applied."))
                    return redirect(self._url("result", obj))
                if action == "confirm":
                    if previous and not request.POST.get("reimport"):
                        messages.error(
                            request,
                            gettext(
                                "This file was already imported for this date: tick the box to import it again."
                            ),
                        )
                        return redirect(self._url("preview", obj))
                    loan_book_confirm(
                        loan_import=obj,
                        user=request.user,
                        accept_safety=bool(request.POST.get("accept_safety")),
                    )
                    return redirect(self._url("progress", obj))
            except ServiceError as exc:
                messages.error(request, exc.message)
            return redirect(self._page_url(obj))
        if obj.status != ImportStatus.VALIDATED:
            return redirect(self._page_url(obj))
        context = self._context(
            request,
            obj,
            title=gettext("Check before importing: %(file)s") % {"file": obj.file_name},
            errors=self._shown_errors(request, obj),
            previous=previous,
            details=obj.details or {},
            safety=(obj.details or {}).get("safety") or {},
            needs_supervisor=loan_book_needs_supervisor(obj),
            may_confirm_unsafe=request.user.has_perm(CONFIRM_PERMISSION),
            error_report_url=self._url("errors", obj),
            shown_error_rows=SHOWN_ERROR_ROWS,
        )
        return TemplateResponse(request, "admin/customers/loanbookimport/preview.html", context)

    def result_view(self, request, pk: int):
        obj = self._get(request, pk)
        if obj.status in (
            ImportStatus.UPLOADED,
            ImportStatus.VALIDATING,
            ImportStatus.QUEUED,
            ImportStatus.RUNNING,
        ):
            return redirect(self._url("progress", obj))
        if obj.status == ImportStatus.VALIDATED:
            return redirect(self._url("preview", obj))
        context = self._context(
            request,
            obj,
            title=gettext("Import %(file)s") % {"file": obj.file_name},
            errors=self._shown_errors(request, obj),
            details=obj.details or {},
            error_report_url=self._url("errors", obj),
            shown_error_rows=SHOWN_ERROR_ROWS,
            events=obj.events.values("kind").annotate(n=Count("pk")).order_by("kind"),
        )
        return TemplateResponse(request, "admin/customers/loanbookimport/result.html", context)

    def error_report_view(self, request, pk: int):
        """The rejected rows as they were, plus the reason (audited). Whole for users who
        may export and see full personal data; with mobiles and ID numbers masked for
        everyone else."""
        obj = self._get(request, pk)
        headers, rows, _masked = loan_book_error_report(loan_import=obj, user=request.user)
        stem = obj.file_name.rsplit(".", 1)[0] or "loan-book"
        return xlsx_response(
            filename=f"{stem}-rejected-rows.xlsx",
            sheet_title=gettext("Rejected rows"),
            headers=headers,
            rows=rows,
        )
