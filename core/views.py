"""Pages outside the admin's models: setting up the second factor, the error pages."""

from __future__ import annotations

import base64

from django.conf import settings
from django.contrib import messages
from django.contrib.admin import site
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.http import HttpResponse, HttpResponseServerError
from django.shortcuts import redirect, render
from django.template.response import TemplateResponse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import requires_csrf_token
from django_otp import login as otp_login
from django_otp.plugins.otp_totp.models import TOTPDevice

from .audit import audit_record
from .forms import OtpConfirmForm


@never_cache
@login_required
def two_factor_setup(request):
    """Add an authenticator app (TOTP): scan or type the key, then confirm with a code."""
    user = request.user
    if not user.is_staff:
        raise PermissionDenied
    confirmed = TOTPDevice.objects.filter(user=user, confirmed=True).first()
    pending = None
    form = OtpConfirmForm(request.POST or None)
    if confirmed is None:
        pending = TOTPDevice.objects.filter(user=user, confirmed=False).order_by("pk").first()
        if pending is None:
            pending = TOTPDevice.objects.create(user=user, name=_("authenticator app"), confirmed=False)
        if request.method == "POST" and form.is_valid():
            if pending.verify_token("".join(form.cleaned_data["token"].split())):
                with transaction.atomic():
                    TOTPDevice.objects.filter(pk=pending.pk).update(confirmed=True)
                    pending.confirmed = True
                    audit_record(actor=user, action="auth.otp_enabled", obj=user, note=pending.name)
                otp_login(request, pending)
                messages.success(request, _("Two-step sign-in is on: from now on you sign in with a code."))
                return redirect("admin:index")
            form.add_error("token", _("That code is wrong or has expired: try the next one."))
    context = {
        **site.each_context(request),
        "title": _("Two-step sign-in"),
        "confirmed": confirmed,
        "pending": pending,
        "secret": base64.b32encode(pending.bin_key).decode() if pending else "",
        "config_url": pending.config_url if pending else "",
        "form": form,
        "required": bool(request.session.get("otp_required")),
    }
    return TemplateResponse(request, "core/two_factor_setup.html", context)


def locked_out(request, original_response=None, credentials=None):
    """What django-axes answers while a username is locked for this address (429)."""
    minutes = int(settings.AXES_COOLOFF_TIME.total_seconds() // 60)
    return render(request, "core/locked_out.html", {"minutes": minutes}, status=429)


# --- Error pages ----------------------------------------------------------------------
# In the app's layout and the reader's language: the admin's, with its side menu, for a
# signed-in member of staff; the sign-in page's box for anyone else. The 500 page stands
# alone (errors/500.html): whatever failed may fail again while drawing the full layout.

ERRORS = {
    400: (
        gettext_lazy("The request could not be understood"),
        gettext_lazy("Go back and try again, or start from the home page."),
    ),
    403: (
        gettext_lazy("You may not open this page"),
        gettext_lazy("Your role does not include it. Ask an administrator if you need it."),
    ),
    404: (
        gettext_lazy("This page does not exist"),
        gettext_lazy("The address may be mistyped, or what it showed has been removed."),
    ),
}


def _error_page(request, status: int, detail: str = "") -> HttpResponse:
    title, hint = ERRORS[status]
    user = getattr(request, "user", None)
    signed_in = bool(user is not None and user.is_authenticated and user.is_staff)
    context = {
        **(site.each_context(request) if signed_in else {}),
        "layout": "admin/base_site.html" if signed_in else "registration/base.html",
        "title": title,
        "hint": hint,
        "detail": detail,
        "status": status,
    }
    return render(request, "errors/error.html", context, status=status)


def bad_request(request, exception=None):
    return _error_page(request, 400)


def permission_denied(request, exception=None):
    return _error_page(request, 403)


def page_not_found(request, exception=None):
    return _error_page(request, 404)


def csrf_failure(request, reason=""):
    """A form sent without its security token (an expired page, cookies off): a 403 that says so."""
    return _error_page(
        request, 403, _("The form had expired or cookies are blocked: reload the page and send it again.")
    )


@requires_csrf_token
def server_error(request):
    try:
        return render(request, "errors/500.html", {"title": _("Something went wrong")}, status=500)
    except Exception:  # noqa: BLE001 (the error page must not fail in turn)
        return HttpResponseServerError(
            _("Something went wrong. Try again in a moment."), content_type="text/plain"
        )
