"""Administrators' rules: the contact policy and the forbidden expressions."""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.http import HttpResponseRedirect
from django.urls import reverse
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from ..models import (
    ContactPolicy,
    ForbiddenExpression,
)
from ..policy import environment_differences
from ..services.configuration import (
    contact_policy_update,
    forbidden_expression_delete,
    forbidden_expression_save,
)
from .base import ServiceSavedMixin


class ContactPolicyForm(forms.ModelForm):
    class Meta:
        model = ContactPolicy
        fields = ContactPolicy.SETTINGS_FIELDS
        help_texts = {
            "window_end": _(
                "The same time as the opening (e.g. 00:00 and 00:00) keeps the window open all day."
            ),
        }


@admin.register(ContactPolicy)
class ContactPolicyAdmin(admin.ModelAdmin):
    form = ContactPolicyForm
    fieldsets = (
        (_("When"), {"fields": ("window_start", "window_end")}),
        (_("How much"), {"fields": ("daily_cap", "rate_limit", "min_overdue_amount")}),
        (_("Templates and batches"), {"fields": ("max_parts", "batch_max_age_days")}),
    )

    def changelist_view(self, request, extra_context=None):
        policy = ContactPolicy.current()
        return HttpResponseRedirect(reverse("admin:notices_contactpolicy_change", args=[policy.pk]))

    def change_view(self, request, object_id, form_url="", extra_context=None):
        if request.method == "GET":
            policy = ContactPolicy.current()
            for name, environment, stored in environment_differences(policy):
                messages.info(
                    request,
                    gettext(
                        "%(field)s: the environment says %(environment)s, this policy says %(stored)s. "
                        "The policy applies; the environment only sets its first values."
                    )
                    % {
                        "field": ContactPolicy._meta.get_field(name).verbose_name,
                        "environment": environment,
                        "stored": stored,
                    },
                )
        return super().change_view(request, object_id, form_url, extra_context)

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def save_model(self, request, obj, form, change):
        contact_policy_update(
            user=request.user, **{name: form.cleaned_data[name] for name in form.changed_data}
        )

    def log_change(self, request, obj, message):
        """Audited by save_model."""


@admin.register(ForbiddenExpression)
class ForbiddenExpressionAdmin(ServiceSavedMixin, admin.ModelAdmin):
    list_display = ("phrase", "category", "active")
    list_filter = ("category", "active")
    list_editable = ("active",)
    search_fields = ("phrase",)

    save_service = staticmethod(lambda obj, user: forbidden_expression_save(expression=obj, user=user))
    delete_service = staticmethod(lambda obj, user: forbidden_expression_delete(expression=obj, user=user))
