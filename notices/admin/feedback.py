"""The feedback worklist, its keyword rules and answer-by times."""

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
from django.utils.html import format_html
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_POST

from core.changelists import EstimatedCountPaginator
from core.exceptions import ServiceError
from core.pii import mask_text, show_mobile
from core.workdays import calendar_published, calendar_version
from customers.models import Customer
from customers.selectors import customers_matching
from customers.services import customer_phone_verify, customer_sms_resume

from ..models import (
    OPEN_FEEDBACK,
    Feedback,
    FeedbackCategory,
    FeedbackChannel,
    FeedbackSla,
    FeedbackStatus,
    KeywordRule,
    SmsTemplate,
    TemplatePurpose,
)
from ..outbox import compose
from ..rendering import segments, text_problems
from ..selectors import feedback_conversation
from ..services.configuration import feedback_sla_save, keyword_rule_delete, keyword_rule_save
from ..services.feedback import (
    answer_by_rule,
    feedback_assign,
    feedback_link_customer,
    feedback_reclassify,
    feedback_record,
    feedback_reply,
    feedback_reply_text,
    feedback_set_status,
    reply_sending_note,
    sla_state,
)
from .base import DetailActionsMixin, ServiceSavedMixin


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
        label=_("start from a template"),
        queryset=SmsTemplate.objects.filter(purpose=TemplatePurpose.FEEDBACK_REPLY, active=True),
        required=False,
        empty_label=_("— write my own —"),
        widget=forms.Select(attrs={"class": "form-select"}),
    )
    text = forms.CharField(
        label=_("text to send"),
        max_length=300,
        widget=forms.Textarea(attrs={"rows": 4, "class": "form-control", "maxlength": 300}),
        error_messages={"required": _("The reply is empty.")},
    )


class StatusForm(forms.Form):
    status = forms.ChoiceField(label=_("status"), choices=FeedbackStatus.choices)
    resolution = forms.CharField(
        label=_("resolution"), required=False, widget=forms.Textarea(attrs={"rows": 2})
    )


@admin.register(Feedback)
class FeedbackAdmin(DetailActionsMixin, admin.ModelAdmin):
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
    search_help_text = _(
        "Customer number, name (from the start), mobile, ID number or loan account, the last four "
        "digits of a mobile, ID number or loan account, or words from the text"
    )
    autocomplete_fields = ("customer", "loan")
    actions = ["take"]
    list_per_page = 50
    paginator = EstimatedCountPaginator
    show_full_result_count = False

    def get_search_results(self, request, queryset, search_term):
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
        if obj.received_count > 1:
            return format_html(
                '{} <span class="badge text-bg-warning received-count">{}</span>',
                mask_text(obj.text[:50]),
                gettext("received %(n)s times") % {"n": obj.received_count},
            )
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
            for name in (
                "reply",
                "reply-preview",
                "status",
                "assign",
                "classify",
                "link",
                "verify-phone",
                "resume-sms",
            )
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
            "answer_by_rule": answer_by_rule(),
            "reply_when": gettext("Sent now, %(when)s.") % {"when": reply_sending_note(timezone.now())},
            "status_form": StatusForm(initial={"status": feedback.status, "resolution": feedback.resolution}),
            "categories": FeedbackCategory.choices,
            "staff_users": get_user_model()
            .objects.filter(is_active=True, is_staff=True)
            .order_by("username"),
            "plans": feedback.plans.all(),
            "can_draft_plan": bool(feedback.customer) and user.has_perm("notices.add_repaymentplan"),
        }
        return TemplateResponse(request, "admin/notices/feedback/detail.html", context)

    def _act(self, request, pk, action, done_text=""):
        return self.detail_action(
            request, pk, action, done_text, allowed=lambda item: self.has_change_permission(request, item)
        )

    def reply_view(self, request, pk):
        """Send exactly what the reply box holds; the template only says where it started."""
        form = ReplyForm(request.POST)

        def reply(feedback):
            if not form.is_valid():
                raise ServiceError(" ".join(e for errors in form.errors.values() for e in errors))
            message = feedback_reply(
                feedback=feedback,
                user=request.user,
                text=form.cleaned_data["text"],
                template=form.cleaned_data["template"],
            )
            messages.success(
                request, gettext("Reply queued: %(when)s.") % {"when": reply_sending_note(message.created_at)}
            )

        return self._act(request, pk, reply)

    def reply_preview_view(self, request, pk):
        """The reply box, live: a chosen template's text for this customer (`fill`), and
        exactly what would be sent for the box's text, its characters, SMS parts, problems
        and when it would go."""
        feedback = get_object_or_404(Feedback.objects.select_related("customer", "loan"), pk=pk)
        if not self.has_change_permission(request, feedback):
            raise PermissionDenied
        answer = {}
        template_id = request.POST.get("template", "")
        if template_id.isdigit():
            template = ReplyForm.base_fields["template"].queryset.filter(pk=template_id).first()
            if template is not None:
                answer["fill"] = feedback_reply_text(feedback=feedback, template=template)
        text = request.POST.get("text", "").strip()
        body = compose(text).body
        problems = text_problems(body) if text else []
        return JsonResponse(
            {
                **answer,
                "text": body,
                "chars": len(body),
                "parts": segments(body),
                "problems": problems,
                "when": gettext("Sent now, %(when)s.") % {"when": reply_sending_note(timezone.now())},
            }
        )

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
class KeywordRuleAdmin(ServiceSavedMixin, admin.ModelAdmin):
    list_display = ("priority", "category", "keywords", "active")
    list_editable = ("active",)
    list_display_links = ("priority", "category")
    list_filter = ("category", "active")

    save_service = staticmethod(lambda obj, user: keyword_rule_save(rule=obj, user=user))
    delete_service = staticmethod(lambda obj, user: keyword_rule_delete(rule=obj, user=user))


@admin.register(FeedbackSla)
class FeedbackSlaAdmin(ServiceSavedMixin, admin.ModelAdmin):
    list_display = ("category", "within_hours", "within_working_days", "urgent")
    list_editable = ("within_hours", "within_working_days", "urgent")
    list_display_links = ("category",)

    change_list_template = "admin/notices/feedbacksla/change_list.html"

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    save_service = staticmethod(lambda obj, user: feedback_sla_save(sla=obj, user=user))

    def changelist_view(self, request, extra_context=None):
        """With the rule the times follow, and any year the installed calendar does not know."""
        today = timezone.localdate()
        # Next year's notice comes out in November: from December on, its absence matters.
        years = (today.year, today.year + 1) if today.month == 12 else (today.year,)
        extra_context = {
            **(extra_context or {}),
            "answer_by_rule": answer_by_rule(),
            "calendar_version": calendar_version(),
            "calendar_missing": [year for year in years if not calendar_published(year)],
        }
        return super().changelist_view(request, extra_context)
