"""The rejected rows of an import as an .xlsx file: each row as it was, plus the reasons."""

from __future__ import annotations

import io
from itertools import groupby

from django.utils.translation import gettext as _
from openpyxl import Workbook

from core.pii import mask_text

from ..models import LoanBookImport


def error_report_xlsx(loan_import: LoanBookImport, *, masked: bool) -> bytes:
    """One sheet: the row number, the row's cells as imported, then why it was rejected.

    `masked` replaces every mobile and ID number in the cells with its masked form (for
    users who may not export personal data)."""
    titles = (loan_import.details or {}).get("titles") or []
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(_("Rejected rows"))
    sheet.append([_("Row"), *titles, _("Reason")])
    errors = loan_import.row_errors.order_by("row", "id").values_list("row", "column", "message", "raw")
    for row, items in groupby(errors.iterator(chunk_size=2000), key=lambda e: e[0]):
        items = list(items)
        raw = list(items[0][3] or [])[: len(titles)]  # cells under the header's columns
        raw += [None] * (len(titles) - len(raw))
        if masked:
            raw = [_mask(value) for value in raw]
        reasons = "；".join(
            f"{column}: {message}" if column else message for _r, column, message, _raw in items
        )
        sheet.append([row, *raw, reasons])
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def _mask(value):
    if value is None or isinstance(value, bool):
        return value
    text = str(value)
    masked = mask_text(text)
    return masked if masked != text else value
