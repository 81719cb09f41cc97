"""Cell values as bank exports spell them → Python values, or a ValueError whose message
tells staff what is wrong (in the active language)."""

from __future__ import annotations

import datetime
import operator
import re
import unicodedata
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from django.utils.translation import gettext as _

from .cells import EXCEL_ERRORS, Scientific

CENT = Decimal("0.01")
MAX_AMOUNT = Decimal("999999999999.99")  # what a DecimalField(max_digits=14, decimal_places=2) holds
_AMOUNT_NOISE = re.compile(r"^(?:[¥￥]|RMB|CNY)|(?:元|RMB|CNY)$", re.IGNORECASE)
_AMOUNT_PLAIN = re.compile(r"[¥￥]?((?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d{1,2})?)元?")
_AMOUNT = re.compile(r"^[+-]?(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d*)?$|^[+-]?\.\d+$")
_DATE_TEXT = re.compile(
    r"^(\d{4})\s*(?:[-/.]|年)\s*(\d{1,2})\s*(?:[-/.]|月)\s*(\d{1,2})\s*日?"
    r"(?:[T\s]+\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?)?$"
)
_DATE_COMPACT = re.compile(r"^(\d{4})(\d{2})(\d{2})$")
_DAYS_TEXT = re.compile(r"^(\d+)(?:\.0+)?\s*天?$")
# An amount part shown as a dash is zero (the accounting format's way of writing 0).
ZERO_DASHES = frozenset(["-", "--", "—", "——", "–", "−", "―"])
# Text that is a number as a spreadsheet wrote it: 3.30126E+18, 6.2e15, 61865514.0
_SCIENTIFIC_TEXT = re.compile(r"[+-]?\d+\.\d*[eE][+-]?\d+|[+-]?\d+[eE][+-]\d+")
_FLOAT_TEXT = re.compile(r"\d+\.0+")
_ID_NUMBER = re.compile(r"\d{17}[\dXx]")
_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)


def normalize_text(text: str) -> str:
    """Full-width digits, letters, comma, point and minus as their plain forms (NFKC)."""
    return text if text.isascii() else unicodedata.normalize("NFKC", text)


class StoredAsNumber(ValueError):
    """An identifier the producer kept as a number, which cannot be its exact digits."""


EXCEL_EPOCH = datetime.date(1899, 12, 30)
_INF = float("inf")


def parse_amount(value: object) -> Decimal | None:
    """12345.6, "12,345.60", "¥12,345.60", "12345.6元" → Decimal("12345.60"); blank → None."""
    if value is None:
        return None
    kind = type(value)
    if kind is float or kind is Scientific:
        if value != value or value in (_INF, -_INF):
            raise ValueError(_("Not an amount."))
        # Excel keeps amounts as binary floats (0.1 + 0.2 is 0.30000000000000004):
        # round to cents first, then the shortest repr is the decimal staff typed.
        return _checked(Decimal(repr(round(value, 2))))
    if kind is str:
        m = _AMOUNT_PLAIN.fullmatch(value)
        if m:  # the usual spellings, no rounding needed
            digits = m.group(1)
            return _checked(Decimal(digits.replace(",", "") if "," in digits else digits))
        return _amount_from_text(value)
    if kind is int:
        return _checked(Decimal(value))
    raise ValueError(_("Not an amount."))


def _amount_from_text(value: str) -> Decimal | None:
    text = normalize_text(value).strip().replace(" ", "").replace("\u3000", "")
    if not text:
        return None
    if text in EXCEL_ERRORS:
        raise ValueError(_("Not an amount."))
    text = _AMOUNT_NOISE.sub("", text)
    if text in ZERO_DASHES:
        return Decimal("0.00")
    negative = False
    if text[:1] in "(（" and text[-1:] in ")）":
        negative, text = True, _AMOUNT_NOISE.sub("", text[1:-1])
    if text[:1] in "-−":
        negative, text = True, text[1:]
    text = _AMOUNT_NOISE.sub("", text)
    if text[:1] in "-−":
        negative, text = True, text[1:]
    if not _AMOUNT.match(text):
        raise ValueError(_("Not an amount."))
    try:
        amount = Decimal(text.replace(",", ""))
    except InvalidOperation:
        raise ValueError(_("Not an amount.")) from None
    if negative and amount:
        raise ValueError(_("The amount is negative."))
    return _checked(amount.quantize(CENT, rounding=ROUND_HALF_UP))


def _checked(amount: Decimal) -> Decimal:
    if amount < 0:
        raise ValueError(_("The amount is negative."))
    if amount > MAX_AMOUNT:
        raise ValueError(_("The amount is too large."))
    return amount


_date_cache: dict[str, datetime.date] = {}


def parse_date(value: object) -> datetime.date | None:
    """An Excel date, or "2026-11-01", "2026/11/01", "20261101", "2026年11月1日"; blank → None."""
    if value is None:
        return None
    if isinstance(value, datetime.datetime):
        return value.date()
    if isinstance(value, datetime.date):
        return value
    if isinstance(value, bool):
        raise ValueError(_("Not a date."))
    if isinstance(value, int | float):
        if value != value or value in (_INF, -_INF):  # NaN or infinity: no date at all
            raise ValueError(_("Not a date."))
        number = int(value)
        if number != value:
            raise ValueError(_("Not a date."))
        if 19000101 <= number <= 29991231:
            return _compact_date(str(number))
        if 1 <= number < 2958466:  # a date stored as a plain Excel serial number
            return EXCEL_EPOCH + datetime.timedelta(days=number)
        raise ValueError(_("Not a date."))
    raw = str(value).strip()
    if not raw:
        return None
    found = _date_cache.get(raw)
    if found is not None:
        return found
    text = normalize_text(raw)
    m = _DATE_TEXT.match(text)
    if m:
        try:
            found = datetime.date(int(m.group(1)), int(m.group(2)), int(m.group(3)))
        except ValueError:
            raise ValueError(_("This date does not exist.")) from None
    elif _DATE_COMPACT.match(text):
        found = _compact_date(text)
    else:
        raise ValueError(_("Not a date."))
    if len(_date_cache) < 50_000:
        _date_cache[raw] = found
    return found


def _compact_date(text: str) -> datetime.date:
    try:
        return datetime.date(int(text[:4]), int(text[4:6]), int(text[6:8]))
    except ValueError:
        raise ValueError(_("This date does not exist.")) from None


def parse_days(value: object) -> int | None:
    """Days overdue: a whole number ≥ 0 (12, 12.0, "12", "12天"); blank → None."""
    if value is None:
        return None
    if isinstance(value, bool | datetime.date):
        raise ValueError(_("Days overdue must be a whole number, 0 or more."))
    if isinstance(value, int | float):
        if value != value or value in (_INF, -_INF) or value != int(value) or value < 0:
            raise ValueError(_("Days overdue must be a whole number, 0 or more."))
        return int(value)
    text = normalize_text(str(value)).strip()
    if not text:
        return None
    m = _DAYS_TEXT.match(text)
    if not m:
        raise ValueError(_("Days overdue must be a whole number, 0 or more."))
    return int(m.group(1))


def parse_text(value: object, max_length: int) -> str:
    """A code or name: numbers stored by Excel as 6.2e15 come back as their digits."""
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    elif isinstance(value, datetime.datetime | datetime.date):
        value = value.isoformat()
    text = str(value).strip()
    if len(text) > max_length:
        raise ValueError(_("Too long (at most %(n)s characters).") % {"n": max_length})
    return text


def display_value(value: object) -> str:
    """A cell value as staff would read it in Excel (for error messages and reports)."""
    if value is None:
        return ""
    if type(value) is Scientific:
        return f"{value:.15G}"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, datetime.datetime):
        return value.isoformat(sep=" ")
    if isinstance(value, datetime.date):
        return value.isoformat()
    return str(value)


def parse_identifier(value: object) -> tuple[str, bool]:
    """A loan account, customer number or ID number as text, and whether the file held it
    as a number. Identifiers are text: a number is accepted as its digits only when it
    can be them exactly (a whole number of at most 15 digits); a float, scientific
    notation (3.30126E+18) or 16 digits and more are StoredAsNumber. Surrounding spaces
    and a leading apostrophe (Excel's "this is text" mark) are dropped."""
    if value is None:
        return "", False
    kind = type(value)
    if kind is str:
        text = normalize_text(value).strip()
        if text[:1] in ("'", "\u2018", "\u2019"):
            text = text[1:].strip()
        if text and text[0].isdigit() and (_SCIENTIFIC_TEXT.fullmatch(text) or _FLOAT_TEXT.fullmatch(text)):
            raise StoredAsNumber(text)
        if text in EXCEL_ERRORS:
            raise ValueError(_("The cell holds a spreadsheet error (%(error)s).") % {"error": text})
        return text, False
    if kind is bool or isinstance(value, datetime.date):
        raise ValueError(_("Not an identifier."))
    if kind is Scientific:
        raise StoredAsNumber(display_value(value))
    if kind is float:
        if value != value or value in (_INF, -_INF) or not value.is_integer():
            raise StoredAsNumber(display_value(value))
        value = int(value)
    if isinstance(value, int):
        if value < 0:
            raise ValueError(_("Not an identifier."))
        digits = str(value)
        if len(digits) >= 16:
            raise StoredAsNumber(digits)
        return digits, True
    return parse_text(value, 1 << 30), False


def id_number_check_fails(id_number: str) -> bool:
    """Whether an 18-character resident ID number's last character (its check digit,
    GB 11643) disagrees with the other seventeen. Other documents are not judged."""
    if len(id_number) != 18 or not _ID_NUMBER.fullmatch(id_number):
        return False
    total = sum(map(operator.mul, map(int, id_number[:17]), _ID_WEIGHTS))
    return "10X98765432"[total % 11] != id_number[17].upper()
