"""Session rules: sign out after idle time, and a second factor where a role needs one."""

from __future__ import annotations

import time

from django.conf import settings
from django.contrib.auth import logout
from django.shortcuts import redirect
from django.urls import reverse

LAST_SEEN = "last_seen"
IDLE_SIGNED_OUT = "signed_out_idle"
OTP_REQUIRED = "otp_required"
# The last-seen time is written at most this often (each write also renews the cookie).
TOUCH_EVERY = 60


class IdleSessionTimeoutMiddleware:
    """Sign a user out once SESSION_IDLE_TIMEOUT seconds pass without a request."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            now = int(time.time())
            last = request.session.get(LAST_SEEN)
            if last is not None and now - last > settings.SESSION_IDLE_TIMEOUT:
                request.idle_timeout = True  # for the logout audit row
                logout(request)
                request.session[IDLE_SIGNED_OUT] = True
            elif last is None or now - last >= min(TOUCH_EVERY, settings.SESSION_IDLE_TIMEOUT // 2):
                request.session[LAST_SEEN] = now
        return self.get_response(request)


class SecondFactorRequiredMiddleware:
    """Users whose role needs a second factor may only set one up until they have."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = getattr(request, "user", None)
        if (
            user is not None
            and user.is_authenticated
            and request.session.get(OTP_REQUIRED)
            and not user.is_verified()
            and not self._allowed(request.path_info)
        ):
            return redirect("two_factor_setup")
        return self.get_response(request)

    @staticmethod
    def _allowed(path: str) -> bool:
        allowed = (
            reverse("two_factor_setup"),
            reverse("admin:logout"),
            reverse("admin:login"),
            reverse("set_language"),
            "/" + settings.STATIC_URL.lstrip("/"),
        )
        return path.startswith(allowed)
