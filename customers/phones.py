"""Phone rules: normalise what the core system exports, and say what is wrong with it.

Only a mainland mobile (validated with `phonenumbers`) may receive SMS. Verdicts are
cached by number prefix: in the mainland plan the first seven digits of an eleven-digit
number decide whether it is a valid mobile. A cache miss matches phonenumbers' own
mainland patterns, compiled once, instead of parsing the number (a few microseconds
instead of tens), so a large book with widely spread numbers stays fast.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

import phonenumbers
from phonenumbers import PhoneMetadata, PhoneNumberType

from .models import PhoneProblem

_SEPARATORS = re.compile(r"[\s\-–—()（）.]+")
_SCIENTIFIC = re.compile(r"\d[eE][+-]?\d")
_MOBILE_TYPES = {PhoneNumberType.MOBILE, PhoneNumberType.FIXED_LINE_OR_MOBILE}


def _compiled_cn_types() -> tuple[tuple, list[tuple[int, frozenset[int], re.Pattern]], bool]:
    """phonenumbers' mainland metadata, compiled once, in the order phonenumbers tries
    the number types (see `_cn_number_type`)."""
    metadata = PhoneMetadata.metadata_for_region("CN")
    general = (
        frozenset(metadata.general_desc.possible_length or ()),
        re.compile(metadata.general_desc.national_number_pattern),
    )
    order = [
        (PhoneNumberType.PREMIUM_RATE, metadata.premium_rate),
        (PhoneNumberType.TOLL_FREE, metadata.toll_free),
        (PhoneNumberType.SHARED_COST, metadata.shared_cost),
        (PhoneNumberType.VOIP, metadata.voip),
        (PhoneNumberType.PERSONAL_NUMBER, metadata.personal_number),
        (PhoneNumberType.PAGER, metadata.pager),
        (PhoneNumberType.UAN, metadata.uan),
        (PhoneNumberType.VOICEMAIL, metadata.voicemail),
        (PhoneNumberType.FIXED_LINE, metadata.fixed_line),
        (PhoneNumberType.MOBILE, metadata.mobile),
    ]
    types = [
        (kind, frozenset(desc.possible_length or ()), re.compile(desc.national_number_pattern))
        for kind, desc in order
        if desc is not None and desc.national_number_pattern
    ]
    return general, types, bool(metadata.same_mobile_and_fixed_line_pattern)


_CN_GENERAL, _CN_TYPES, _CN_SAME_MOBILE_AND_FIXED = _compiled_cn_types()


def _cn_number_type(national: str) -> int:
    """phonenumbers.number_type() for a mainland national number, without parsing it
    first: the same patterns tried in the same order (tests compare the two)."""
    length = len(national)
    general_lengths, general = _CN_GENERAL
    if (general_lengths and length not in general_lengths) or not general.fullmatch(national):
        return PhoneNumberType.UNKNOWN

    def matches(lengths, pattern) -> bool:
        return (not lengths or length in lengths) and pattern.fullmatch(national) is not None

    mobile = fixed = False
    for kind, lengths, pattern in _CN_TYPES:
        if kind == PhoneNumberType.FIXED_LINE:
            fixed = matches(lengths, pattern)
        elif kind == PhoneNumberType.MOBILE:
            mobile = matches(lengths, pattern)
        elif matches(lengths, pattern):
            return kind
    if fixed:
        if _CN_SAME_MOBILE_AND_FIXED or mobile:
            return PhoneNumberType.FIXED_LINE_OR_MOBILE
        return PhoneNumberType.FIXED_LINE
    if mobile and not _CN_SAME_MOBILE_AND_FIXED:
        return PhoneNumberType.MOBILE
    return PhoneNumberType.UNKNOWN


@lru_cache(maxsize=65536)
def _verdict_for_prefix(prefix7: str) -> str:
    """Verdict for an 11-digit national number starting with these seven digits."""
    kind = _cn_number_type(prefix7 + "0000")
    if kind == PhoneNumberType.UNKNOWN:
        return PhoneProblem.INVALID
    if kind not in _MOBILE_TYPES:
        return PhoneProblem.NOT_MOBILE
    return PhoneProblem.NONE


def phone_normalize(raw: object) -> tuple[str, str]:
    """Return (E.164 mobile or "", problem) for a phone as a bank export spells it.

    Accepts +86, 0086 and 86 prefixes, spaces, dashes and dots, numbers stored as Excel
    numbers (13812345678.0).
    """
    if raw is None:
        return "", PhoneProblem.MISSING
    if isinstance(raw, float):
        if type(raw) is not float or not raw.is_integer():
            return "", PhoneProblem.INVALID  # scientific notation (1.39829E+10): digits are lost
        raw = int(raw)
    text = str(raw).strip()
    if not text.isascii():
        text = unicodedata.normalize("NFKC", text)
    if _SCIENTIFIC.search(text):
        return "", PhoneProblem.INVALID
    text = _SEPARATORS.sub("", text)
    if not text:
        return "", PhoneProblem.MISSING
    if not text.isascii():
        return "", PhoneProblem.INVALID
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
