"""What the notices admin pages share."""

from __future__ import annotations

from collections.abc import Callable

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.urls import reverse

from core.exceptions import ServiceError


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
        opts = self.model._meta
        return HttpResponseRedirect(reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=[pk]))


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
