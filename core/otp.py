"""The optional second factor (TOTP, django-otp): who needs one, and checking a code."""

from __future__ import annotations

from django.conf import settings
from django_otp import devices_for_user

from . import roles

ROLE_KEYS = {"staff": roles.STAFF, "supervisor": roles.SUPERVISOR, "administrator": roles.ADMINISTRATOR}


def required_role_names() -> set[str]:
    """OTP_REQUIRED_FOR_ROLES as group names (it accepts staff/supervisor/administrator or the names)."""
    return {
        ROLE_KEYS.get(key.strip().lower(), key.strip())
        for key in settings.OTP_REQUIRED_FOR_ROLES
        if key.strip()
    }


def otp_required_for(user) -> bool:
    wanted = required_role_names()
    if not wanted or not getattr(user, "pk", None):
        return False
    return user.is_superuser or user.groups.filter(name__in=wanted).exists()


def confirmed_devices(user) -> list:
    return list(devices_for_user(user, confirmed=True))


def device_matching(user, token: str):
    """The user's confirmed device that accepts this code, or None (throttling respected)."""
    token = "".join(token.split())
    if not token:
        return None
    for device in confirmed_devices(user):
        allowed, _detail = device.verify_is_allowed()
        if allowed and device.verify_token(token):
            return device
    return None
