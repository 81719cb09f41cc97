"""Repayment plans: draft, approve, reject, cancel."""

from __future__ import annotations

import datetime
from decimal import Decimal

from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_POST

from core.exceptions import ServiceError
from customers.models import Loan

from ..models import (
    Feedback,
    Installment,
    PlanKind,
    PlanStatus,
    RepaymentPlan,
)
from ..selectors import plan_cancel_consequences
from ..services.plans import APPROVE_PERMISSION as PLAN_APPROVE_PERMISSION
from ..services.plans import (
    plan_approval_problems,
    plan_approve,
    plan_cancel,
    plan_confirmation_preview,
    plan_draft,
    plan_loan_choices,
    plan_may_cancel,
    plan_reject,
    plan_schedule,
)
from .base import DetailActionsMixin


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
class RepaymentPlanAdmin(DetailActionsMixin, admin.ModelAdmin):
    list_display = (
        "id",
        "loans_col",
        "customer_col",
        "kind",
        "status",
        "total_col",
        "requested_by",
        "approved_by",
        "created_at",
    )
    list_filter = ("status", "kind", "created_at")
    list_select_related = ("customer", "requested_by", "approved_by")
    search_fields = ("plan_loans__loan__loan_account", "customer__customer_no")
    inlines = [InstallmentInline]

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("plan_loans__loan")

    @admin.display(description=_("loans"))
    def loans_col(self, obj):
        return "、".join(link.loan.loan_account for link in obj.plan_loans.all())

    @admin.display(description=_("customer"), ordering="customer__name")
    def customer_col(self, obj):
        return obj.customer.name

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
            path("<int:pk>/cancel/", wrap(self.cancel_view), name="notices_repaymentplan_cancel"),
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
        choices = plan_loan_choices(customer) if customer else []
        if request.method == "POST":
            ticked = {int(x) for x in request.POST.getlist("loans") if x.isdigit()}
            if "loans_shown" not in request.POST and request.POST.get("loan", "").isdigit():
                ticked = {int(request.POST["loan"])}  # a single loan, as older links post it
        else:
            ticked = {loan.pk} if loan else {c.loan.pk for c in choices if c.available}
        chosen = [c.loan for c in choices if c.available and c.loan.pk in ticked]
        form = PlanDraftForm(request.POST or None)
        schedule, error = [], ""
        if request.method == "POST" and not chosen:
            error = gettext("Tick at least one overdue loan of the customer.")
        elif request.method == "POST" and form.is_valid():
            data = form.cleaned_data
            try:
                schedule = plan_schedule(
                    kind=data["kind"],
                    total=sum((x.overdue_amount for x in chosen), Decimal("0")),
                    today=timezone.localdate(),
                    new_date=data.get("new_date"),
                    count=data.get("count"),
                    first_date=data.get("first_date"),
                    dates=data.get("dates") or None,
                )
                if "submit" in request.POST:
                    plan = plan_draft(
                        loans=chosen,
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
            "customer": customer,
            "choices": choices,
            "ticked": {x.pk for x in chosen} if request.method == "POST" else ticked,
            "chosen_total": sum((x.overdue_amount for x in chosen), Decimal("0")),
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
            RepaymentPlan.objects.select_related("customer", "requested_by", "approved_by", "feedback"),
            pk=object_id,
        )
        if not self.has_view_permission(request, plan):
            raise PermissionDenied
        problems = plan_approval_problems(plan=plan, user=request.user)
        confirmation = plan_confirmation_preview(plan) if plan.status == PlanStatus.PENDING_APPROVAL else None
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": str(plan),
            "plan": plan,
            "plan_loans": plan.plan_loans.select_related("loan").order_by(
                "loan__overdue_since", "loan__loan_account"
            ),
            "installments": plan.installments.order_by("seq"),
            "can_approve": not problems,
            "approval_problems": problems if request.user.has_perm(PLAN_APPROVE_PERMISSION) else [],
            "can_cancel": plan_may_cancel(plan=plan, user=request.user),
            "plan_messages": plan.messages.order_by("created_at"),
            "confirmation": confirmation,
        }
        return TemplateResponse(request, "admin/notices/repaymentplan/detail.html", context)

    def approve_view(self, request, pk):
        if not request.user.has_perm(PLAN_APPROVE_PERMISSION):
            raise PermissionDenied
        return self.detail_action(
            request,
            pk,
            lambda plan: plan_approve(
                plan=plan, user=request.user, confirmation=request.POST.get("confirmation")
            ),
            gettext("Plan approved; the customer is sent a confirmation."),
        )

    def reject_view(self, request, pk):
        if not request.user.has_perm(PLAN_APPROVE_PERMISSION):
            raise PermissionDenied
        return self.detail_action(
            request,
            pk,
            lambda plan: plan_reject(plan=plan, user=request.user, reason=request.POST.get("reason", "")),
            gettext("Plan rejected."),
        )

    def cancel_view(self, request, pk):
        """What withdrawing the plan would do (GET), then the withdrawal with its reason (POST)."""
        plan = get_object_or_404(RepaymentPlan.objects.select_related("customer", "feedback"), pk=pk)
        if not self.has_view_permission(request, plan):
            raise PermissionDenied
        if plan.status != PlanStatus.PENDING_APPROVAL:
            messages.error(
                request,
                gettext("This plan is %(status)s: only a plan waiting for approval can be withdrawn.")
                % {"status": plan.get_status_display()},
            )
            return HttpResponseRedirect(reverse("admin:notices_repaymentplan_change", args=[plan.pk]))
        if not plan_may_cancel(plan=plan, user=request.user):
            raise PermissionDenied
        return self.confirmed_action(
            request,
            plan,
            lambda plan, reason: plan_cancel(plan=plan, user=request.user, reason=reason),
            gettext("Plan withdrawn."),
            template="admin/notices/repaymentplan/cancel.html",
            title=gettext("Withdraw %(plan)s?") % {"plan": plan},
            consequences=plan_cancel_consequences(plan),
        )
