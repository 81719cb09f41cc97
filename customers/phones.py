"""Phone rules: normalise what the core system exports, and say what is wrong with it.

Only a mainland mobile (validated with `phonenumbers`) may receive SMS. Verdicts are
cached by number prefix: in the mainland plan the first seven digits of an eleven-digit
number decide whether it is a valid mobile, so a 100,000-row book asks phonenumbers a
few thousand times, not 100,000.
"""

from __future__ import annotations

import re
from functools import lru_cache

import phonenumbers
from phonenumbers import PhoneNumberType

from .models import PhoneProblem

_SEPARATORS = re.compile(r"[\s\-–—()（）.]+")
_MOBILE_TYPES = {PhoneNumberType.MOBILE, PhoneNumberType.FIXED_LINE_OR_MOBILE}


@lru_cache(maxsize=65536)
def _verdict_for_prefix(prefix7: str) -> str:
    """Verdict for an 11-digit national number starting with these seven digits."""
    try:
        number = phonenumbers.parse(prefix7 + "0000", "CN")
    except phonenumbers.NumberParseException:
        return PhoneProblem.INVALID
    if not phonenumbers.is_valid_number(number):
        return PhoneProblem.INVALID
    if phonenumbers.number_type(number) not in _MOBILE_TYPES:
        return PhoneProblem.NOT_MOBILE
    return PhoneProblem.NONE


def phone_normalize(raw: object) -> tuple[str, str]:
    """Return (E.164 mobile or "", problem) for a phone as a bank export spells it.

    Accepts +86, 0086 and 86 prefixes, spaces, dashes and dots, numbers stored as Excel
    numbers (13812345678.0).
    """
    if raw is None:
        return "", PhoneProblem.MISSING
    if isinstance(raw, float) and raw.is_integer():
        raw = int(raw)
    text = _SEPARATORS.sub("", str(raw).strip())
    if not text:
        return "", PhoneProblem.MISSING
    if text.startswith("+"):
        digits = text[1:]
        if not digits.isdigit():
            return "", PhoneProblem.INVALID
        if not digits.startswith("86"):
            return "", PhoneProblem.NOT_MOBILE if _valid_foreign(text) else PhoneProblem.INVALID
        national = digits[2:]
    elif not text.isdigit():
        return "", PhoneProblem.INVALID
    elif text.startswith("0086"):
        national = text[4:]
    elif text.startswith("86") and len(text) == 13:
        national = text[2:]
    else:
        national = text
    if len(national) == 11 and national[0] == "1":
        problem = _verdict_for_prefix(national[:7])
        return ("+86" + national, problem) if problem == PhoneProblem.NONE else ("", problem)
    return "", _landline_or_invalid(national)


@lru_cache(maxsize=4096)
def _landline_or_invalid(national: str) -> str:
    try:
        number = phonenumbers.parse(national, "CN")
    except phonenumbers.NumberParseException:
        return PhoneProblem.INVALID
    if not phonenumbers.is_valid_number(number):
        return PhoneProblem.INVALID
    if phonenumbers.number_type(number) in _MOBILE_TYPES:
        # A valid mobile that is not 11 digits starting with 1 does not exist in CN.
        return PhoneProblem.INVALID
    return PhoneProblem.NOT_MOBILE


def _valid_foreign(text: str) -> bool:
    try:
        return phonenumbers.is_valid_number(phonenumbers.parse(text, None))
    except phonenumbers.NumberParseException:
        return False
