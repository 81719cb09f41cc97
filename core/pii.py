"""Personal data: who may see it whole, and how it is masked for everyone else."""

from __future__ import annotations

import logging
import re

FULL_PII_PERMISSION = "customers.view_full_personal_data"

_MOBILE_IN_TEXT = re.compile(r"(?<!\d)(\+?86)?(1[3-9]\d)(\d{4})(\d{4})(?!\d)")
_ID_IN_TEXT = re.compile(r"(?<![0-9A-Za-z])(\d{6})(\d{8})(\d{3}[0-9Xx])(?![0-9A-Za-z])")


def can_see_full_pii(user) -> bool:
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


def show_mobile(value: str | None, user) -> str:
    if can_see_full_pii(user):
        return national_mobile(value)
    return mask_mobile(value)


def show_id_number(value: str | None, user) -> str:
    return (value or "") if can_see_full_pii(user) else mask_id_number(value)


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
    """Logging filter: no mobile or ID number ever reaches a log line whole."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a broken format string is the logger's problem, not ours
            return True
        masked = mask_text(message)
        if masked != message:
            record.msg, record.args = masked, None
        return True
