"""Audit rows for sign-ins, sign-outs, failed attempts and lockouts (records only)."""

from __future__ import annotations

import time

from axes.signals import user_locked_out
from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
from django.dispatch import receiver

from .audit import audit_record
from .middleware import LAST_SEEN, OTP_REQUIRED
from .net import client_ip
from .otp import otp_required_for
from .pii import mask_text


def _where(request) -> str:
    return f"ip {client_ip(request)}" if request is not None else ""


@receiver(user_logged_in, dispatch_uid="core.audit_login")
def audit_login(sender, request, user, **kwargs):
    device = getattr(user, "otp_device", None)
    note = _where(request) + (" · one-time code" if device is not None else "")
    audit_record(actor=user, action="auth.login", obj=user, note=note)
    if request is not None and hasattr(request, "session"):
        request.session[LAST_SEEN] = int(time.time())  # the idle clock starts now
        if otp_required_for(user):
            request.session[OTP_REQUIRED] = True


@receiver(user_logged_out, dispatch_uid="core.audit_logout")
def audit_logout(sender, request, user, **kwargs):
    if user is None:
        return
    idle = getattr(request, "idle_timeout", False)
    audit_record(
        actor=user, action="auth.logout", obj=user, note=_where(request) + (" · idle timeout" if idle else "")
    )


@receiver(user_login_failed, dispatch_uid="core.audit_login_failed")
def audit_login_failed(sender, credentials, request=None, **kwargs):
    username = mask_text(str((credentials or {}).get("username", "")))[:150]
    audit_record(actor=None, action="auth.login_failed", to_state=username, note=_where(request))


@receiver(user_locked_out, dispatch_uid="core.audit_lockout")
def audit_lockout(sender, request, username, ip_address, **kwargs):
    audit_record(
        actor=None,
        action="auth.lockout",
        to_state=mask_text(str(username or ""))[:150],
        note=f"ip {ip_address}",
    )
