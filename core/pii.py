"""Personal data: masked wherever it is shown; whole only when revealed or exported.

Pages show every mobile and ID number masked, to everyone. A user with
`customers.view_full_personal_data` may *reveal* one customer's numbers (a POST that is
audited, see customers/admin.py) and gets whole numbers in exports (audited too).
"""

from __future__ import annotations

import logging
import re

FULL_PII_PERMISSION = "customers.view_full_personal_data"

_MOBILE_IN_TEXT = re.compile(r"(?<!\d)(\+?86)?(1[3-9]\d)(\d{4})(\d{4})(?!\d)")
_ID_IN_TEXT = re.compile(r"(?<![0-9A-Za-z])(\d{6})(\d{8})(\d{3}[0-9Xx])(?![0-9A-Za-z])")


def can_see_full_pii(user) -> bool:
    """May reveal whole numbers and export them (never shown whole on a page by default)."""
    return bool(user and user.is_authenticated and user.has_perm(FULL_PII_PERMISSION))


def mask_mobile(value: str | None) -> str:
    """138****5678 for a mainland mobile (with or without +86); other numbers keep 3+4."""
    if not value:
        return ""
    digits = value[3:] if value.startswith("+86") else value.lstrip("+")
    if len(digits) <= 7:
        return "*" * len(digits)
    return f"{digits[:3]}{'*' * (len(digits) - 7)}{digits[-4:]}"


def mask_id_number(value: str | None) -> str:
    """330102********123X: region code and last four only."""
    if not value:
        return ""
    if len(value) <= 10:
        return "*" * len(value)
    return f"{value[:6]}{'*' * (len(value) - 10)}{value[-4:]}"


def show_mobile(value: str | None, user, *, revealed: bool = False) -> str:
    """A mobile as a page shows it: masked, unless this user revealed it and may."""
    if revealed and can_see_full_pii(user):
        return national_mobile(value)
    return mask_mobile(value)


def show_id_number(value: str | None, user, *, revealed: bool = False) -> str:
    if revealed and can_see_full_pii(user):
        return value or ""
    return mask_id_number(value)


def national_mobile(value: str | None) -> str:
    """+8613812345678 → 13812345678 (how staff read and type mainland numbers)."""
    if not value:
        return ""
    return value[3:] if value.startswith("+86") else value


def mask_text(text: str) -> str:
    """Mask every mobile and ID number that appears inside free text (logs, messages)."""
    text = _MOBILE_IN_TEXT.sub(lambda m: f"{m.group(2)}****{m.group(4)}", text)
    return _ID_IN_TEXT.sub(lambda m: f"{m.group(1)}********{m.group(3)[-4:]}", text)


class MaskPersonalDataFilter(logging.Filter):
    """Logging filter: no mobile or ID number ever reaches a log line whole, tracebacks included."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a broken format string is the logger's problem, not ours
            return True
        masked = mask_text(message)
        if masked != message:
            record.msg, record.args = masked, None
        if record.exc_info and not record.exc_text:
            # Formatted here (as the handler's formatter would) so that an exception's
            # message, e.g. a database error quoting a row, is masked too.
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = mask_text(record.exc_text)
        if record.stack_info:
            record.stack_info = mask_text(record.stack_info)
        return True


def reveal_button(masked: str, url: str | None) -> str:
    """The masked value, and for users who may, a button that reveals it (inside a change form)."""
    from django.template.loader import render_to_string

    return render_to_string("core/reveal_button.html", {"masked": masked, "url": url})


def reveal_response(request, *, subject, back_url: str, values: list[tuple[str, str]]):
    """The page that shows whole numbers once; never cached. The caller audits it."""
    from django.contrib.admin import site
    from django.template.response import TemplateResponse
    from django.utils.cache import add_never_cache_headers
    from django.utils.translation import gettext

    context = {
        **site.each_context(request),
        "title": gettext("Personal data of %(subject)s") % {"subject": subject},
        "subject": subject,
        "back_url": back_url,
        "values": values,
    }
    response = TemplateResponse(request, "core/reveal.html", context)
    add_never_cache_headers(response)
    return response
