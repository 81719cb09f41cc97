"""The rejected rows of an import, for the .xlsx report: each row as it was, plus the reasons.

Written through core.xlsx (text that a spreadsheet would run as a formula is neutralised).
Masked for users who may not export personal data: the phone and ID-number columns are
masked whatever their spelling (spaces, dashes, +86, full-width digits, numbers), and
mobiles and ID numbers written anywhere else in the row are masked too.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterator
from itertools import groupby

from django.utils.translation import gettext as _

from core.pii import mask_text

from ..models import LoanBookImport

_SEPARATOR = r"[\s\-–—.()（）]?"
_MOBILE_SPELLED = re.compile(
    rf"(?<![0-9])(?:(?:\+|00)?86{_SEPARATOR})?(1[3-9][0-9]){_SEPARATOR}([0-9]{{4}}){_SEPARATOR}([0-9]{{4}})(?![0-9])"
)
_ID_SPELLED = re.compile(
    rf"(?<![0-9A-Za-z])([0-9]{{6}}){_SEPARATOR}([0-9]{{8}}){_SEPARATOR}([0-9]{{3}}[0-9Xx])(?![0-9A-Za-z])"
)


def error_report_rows(loan_import: LoanBookImport, *, masked: bool) -> tuple[list[str], Iterator[list]]:
    """The report's header and its rows: the row number, the row's cells as imported,
    then why it was rejected."""
    details = loan_import.details or {}
    titles = details.get("titles") or []
    columns = details.get("columns") or {}
    personal = {title for field, title in columns.items() if field in ("mobile", "id_number") and title}
    kinds = {
        i: ("mobile" if t == columns.get("mobile") else "id") for i, t in enumerate(titles) if t in personal
    }
    headers = [_("Row"), *titles, _("Reason")]

    def rows() -> Iterator[list]:
        errors = loan_import.row_errors.order_by("row", "id").values_list("row", "column", "message", "raw")
        for row, items in groupby(errors.iterator(chunk_size=2000), key=lambda e: e[0]):
            items = list(items)
            raw = list(items[0][3] or [])[: len(titles)]  # cells under the header's columns
            raw += [None] * (len(titles) - len(raw))
            if masked:
                raw = [mask_cell(value, kinds.get(i)) for i, value in enumerate(raw)]
            reasons = "；".join(
                f"{column}: {message}" if column else message for _r, column, message, _raw in items
            )
            if masked:
                reasons = mask_cell(reasons, None)
            yield [row, *raw, reasons]

    return headers, rows()


def mask_cell(value, kind: str | None):
    """A cell with its personal numbers masked. `kind` "mobile" or "id" for the phone and
    ID-number columns (masked whatever they hold); None for any other cell."""
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    text = unicodedata.normalize("NFKC", str(value))
    if kind is not None:
        digits = "".join(ch for ch in text if ch.isdigit() or ch in "Xx")
        if not digits:
            return value
        if kind == "mobile":
            national = digits[2:] if digits.startswith("86") and len(digits) == 13 else digits
            national = national[4:] if national.startswith("0086") else national
            if len(national) <= 7:
                return "*" * len(national)
            return f"{national[:3]}{'*' * (len(national) - 7)}{national[-4:]}"
        if len(digits) <= 10:
            return "*" * len(digits)
        return f"{digits[:6]}{'*' * (len(digits) - 10)}{digits[-4:]}"
    masked = _MOBILE_SPELLED.sub(lambda m: f"{m.group(1)}****{m.group(3)}", text)
    masked = _ID_SPELLED.sub(lambda m: f"{m.group(1)}********{m.group(3)[-4:]}", masked)
    masked = mask_text(masked)
    if masked == text:
        return value
    return masked
