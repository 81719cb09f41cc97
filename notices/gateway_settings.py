"""Reading a gateway's settings: a bad value is one line naming the setting, the value and
the form expected (`SMS_SMPP_WINDOW='ten': expected a whole number from 1 to 1000`),
never a traceback. Used by the backends, the carrier links and the system check."""

from __future__ import annotations

from urllib.parse import urlsplit

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured


class SettingError(ImproperlyConfigured):
    """One setting has a value this gateway cannot use; the message says which and why."""


def _raw(name: str):
    return getattr(settings, name, None)


def _shown(name: str, value, secret: bool) -> str:
    if secret:
        return f"{name} (hidden, {len(str(value))} characters)"
    return f"{name}={value!r}"


def setting_int(name: str, *, minimum: int, maximum: int, default: int | None = None) -> int:
    value = _raw(name)
    if value in (None, "") and default is not None:
        return default
    try:
        number = int(str(value).strip())
    except (TypeError, ValueError):
        number = None
    if number is None or isinstance(value, bool) or not minimum <= number <= maximum:
        raise SettingError(
            f"{_shown(name, value, False)}: expected a whole number from {minimum} to {maximum}"
        )
    return number


def setting_float(name: str, *, minimum: float, maximum: float, default: float) -> float:
    value = _raw(name)
    if value in (None, ""):
        return default
    try:
        number = float(str(value).strip())
    except (TypeError, ValueError):
        number = None
    if number is None or number != number or not minimum <= number <= maximum:
        raise SettingError(
            f"{_shown(name, value, False)}: expected a number of seconds from {minimum:g} to {maximum:g}"
        )
    return number


def setting_text(
    name: str,
    *,
    required: bool = False,
    max_length: int | None = None,
    ascii_only: bool = False,
    secret: bool = False,
) -> str:
    value = _raw(name)
    text = "" if value is None else str(value)
    form = []
    if required:
        form.append("required")
    if max_length:
        form.append(f"at most {max_length} characters")
    if ascii_only:
        form.append("printable ASCII")
    problem = (
        (required and not text.strip())
        or (max_length is not None and len(text) > max_length)
        or (ascii_only and not all(" " <= ch <= "~" for ch in text))
    )
    if problem:
        raise SettingError(f"{_shown(name, text, secret)}: expected {', '.join(form) or 'text'}")
    return text


def setting_url(name: str, *, required: bool = True) -> str:
    value = _raw(name)
    text = "" if value is None else str(value).strip()
    if not text and not required:
        return ""
    parts = urlsplit(text)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise SettingError(f"{_shown(name, text, False)}: expected an http:// or https:// URL")
    return text
