"""Stages and SMS templates: the editor with its lint and live preview."""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import JsonResponse
from django.urls import path, reverse
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from core.exceptions import ServiceError

from ..models import (
    CollectionStage,
    SmsTemplate,
    SmsTemplateVersion,
    TemplatePurpose,
)
from ..placeholders import REGISTRY, placeholders_for
from ..rendering import template_renderings
from ..selectors import template_preview
from ..services import template_save
from ..services.configuration import stage_save
from ..services.templates import template_lint
from .base import ServiceSavedMixin


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
class CollectionStageAdmin(ServiceSavedMixin, admin.ModelAdmin):
    list_display = ("name", "range_col", "cadence_days", "repay_by_days", "active")
    list_editable = ("cadence_days", "repay_by_days", "active")
    inlines = [StageTemplateInline]

    @admin.display(description=_("days overdue"), ordering="min_days")
    def range_col(self, obj):
        return obj.range_label

    save_service = staticmethod(lambda obj, user: stage_save(stage=obj, user=user))

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
    list_display = (
        "name",
        "purpose",
        "stage",
        "variant",
        "weight",
        "version",
        "active",
        "parts_col",
        "updated_at",
    )
    list_filter = ("purpose", "stage", "active")
    list_select_related = ("stage",)
    search_fields = ("name", "body")
    inlines = [TemplateVersionInline]
    readonly_fields = ("version",)

    @admin.display(description=_("SMS parts (one loan / three loans)"))
    def parts_col(self, obj):
        """For typical values: a template that cannot stay within one SMS shows it here."""
        days = obj.stage.typical_days if obj.stage else None
        return " / ".join(str(r.parts) for r in template_renderings(obj.body, obj.purpose, days=days))

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
                "placeholders": [(name, p.label) for name, p in REGISTRY.items() if p.purposes],
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
        """Render a draft body as it would be sent: for a chosen customer and for typical
        values with one loan and with three, with counts and problems."""
        if not (self.has_view_permission(request) or self.has_change_permission(request)):
            raise PermissionDenied
        if request.method != "POST":
            return JsonResponse({"error": gettext("Use POST.")}, status=405)
        purpose = request.POST.get("purpose") or TemplatePurpose.OVERDUE_NOTICE
        if purpose not in TemplatePurpose.values:
            purpose = TemplatePurpose.OVERDUE_NOTICE
        stage_id = request.POST.get("stage") or ""
        stage = CollectionStage.objects.filter(pk=stage_id).first() if stage_id.isdigit() else None
        preview = template_preview(
            body=request.POST.get("body", ""),
            purpose=purpose,
            reference=request.POST.get("loan") or "",
            stage=stage,
        )
        first = preview.renderings[0]
        return JsonResponse(
            {
                "text": first["text"],
                "chars": first["chars"],
                "parts": first["parts"],
                "source": preview.source,
                "renderings": preview.renderings,
                "problems": preview.problems,
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
