"""Account pages outside the admin's models: setting up the second factor."""

from __future__ import annotations

import base64

from django.conf import settings
from django.contrib import messages
from django.contrib.admin import site
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.shortcuts import redirect, render
from django.template.response import TemplateResponse
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
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
