"""What the notices admin pages share."""

from __future__ import annotations

from collections.abc import Callable

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from core.exceptions import ServiceError


class ReasonForm(forms.Form):
    reason = forms.CharField(
        label=_("reason"),
        max_length=500,
        widget=forms.Textarea(attrs={"rows": 3, "class": "form-control"}),
        error_messages={"required": _("Write the reason: it is kept in the audit log.")},
    )


class DetailActionsMixin:
    """The buttons of a detail page: each POST runs one service on the object, reports
    the outcome with `messages` and goes back to the page (STYLE.md, Django's admin)."""

    def detail_action(
        self,
        request,
        pk,
        action: Callable,
        done_text: str = "",
        *,
        allowed: Callable | None = None,
    ) -> HttpResponseRedirect:
        obj = get_object_or_404(self.model, pk=pk)
        if allowed is not None and not allowed(obj):
            raise PermissionDenied
        try:
            action(obj)
        except ServiceError as exc:
            messages.error(request, exc.message)
        else:
            if done_text:
                messages.success(request, done_text)
        return HttpResponseRedirect(self._change_url(pk))

    def confirmed_action(
        self, request, obj, action: Callable, done_text: str, *, template: str, title: str, **context
    ) -> HttpResponse:
        """An irreversible action, as Django's `delete_selected`: GET shows what it would do,
        POST with a reason does it (`action(obj, reason)`), reports and goes back to the page."""
        form = ReasonForm(request.POST if request.method == "POST" else None)
        if form.is_valid():
            try:
                action(obj, form.cleaned_data["reason"])
            except ServiceError as exc:
                messages.error(request, exc.message)
            else:
                messages.success(request, done_text)
            return HttpResponseRedirect(self._change_url(obj.pk))
        page = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": title,
            "object": obj,
            "form": form,
            "back_url": self._change_url(obj.pk),
            **context,
        }
        return TemplateResponse(request, template, page)

    def _change_url(self, pk) -> str:
        opts = self.model._meta
        return reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=[pk])


class ServiceSavedMixin:
    """A configuration page whose rows are saved and deleted by their services (which
    audit them), including the changelist's inline edits and "delete selected"."""

    save_service: Callable | None = None  # save_service(obj, user)
    delete_service: Callable | None = None  # delete_service(obj, user)

    def save_model(self, request, obj, form, change):
        type(self).save_service(obj, request.user)

    def delete_model(self, request, obj):
        type(self).delete_service(obj, request.user)

    def delete_queryset(self, request, queryset):
        for obj in queryset:
            self.delete_model(request, obj)
