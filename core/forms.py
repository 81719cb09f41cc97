"""The admin sign-in form: password, then the one-time code for users who set one up."""

from __future__ import annotations

from django import forms
from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth.signals import user_login_failed
from django.utils.translation import gettext_lazy as _

from .otp import confirmed_devices, device_matching


class AdminLoginForm(AdminAuthenticationForm):
    otp_token = forms.CharField(
        label=_("One-time code"),
        required=False,
        max_length=16,
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "inputmode": "numeric"}),
    )

    error_messages = {
        **AdminAuthenticationForm.error_messages,
        "otp_required": _("Enter the one-time code from your authenticator app."),
        "otp_invalid": _("The one-time code is wrong or has expired."),
    }

    def clean(self):
        cleaned = super().clean()  # the password (django-axes counts failures there)
        user = self.get_user()
        if user is not None and confirmed_devices(user):
            token = self.cleaned_data.get("otp_token") or ""
            device = device_matching(user, token)
            if device is None:
                # A wrong code counts as a failed sign-in: the lockout covers guessing it.
                user_login_failed.send(
                    sender=__name__, credentials={"username": user.get_username()}, request=self.request
                )
                code = "otp_invalid" if token.strip() else "otp_required"
                raise forms.ValidationError(self.error_messages[code], code=code)
            user.otp_device = device  # django-otp marks the session verified at login
        return cleaned


class OtpConfirmForm(forms.Form):
    token = forms.CharField(
        label=_("Code shown by the app"),
        max_length=16,
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "inputmode": "numeric"}),
    )
