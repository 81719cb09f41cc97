"""What every loan-book reader (.xlsx, .xls, CSV) shares: the refusal, the limits, the row,
and the cell values that are not plain values.

A reader hands the row rules a dict {column index: value} per row, the values being str,
int, float, bool, date/datetime, or one of the markers below for what a spreadsheet can
hold that is not a value to import as it stands.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings
from django.utils.translation import gettext as _

# Excel's own limit of characters in one cell: a longer cell was not made by a
# spreadsheet, and a loan book never needs one.
MAX_CELL_CHARS = 32_767
EXCEL_ERRORS = frozenset(
    ["#N/A", "#VALUE!", "#REF!", "#DIV/0!", "#NUM!", "#NAME?", "#NULL!", "#GETTING_DATA"]
)


class BookRefused(Exception):
    """The file cannot be imported at all (not a loan book, damaged, too big, a zip bomb…)."""

    def __init__(self, message: str, code: str):
        super().__init__(message)
        self.message = message
        self.code = code


@dataclass(frozen=True)
class Limits:
    max_bytes: int = 300 * 1024 * 1024
    max_uncompressed: int = 2048 * 1024 * 1024
    max_ratio: int = 100
    max_members: int = 2000
    max_cell_chars: int = MAX_CELL_CHARS
    max_row_bytes: int = 1024 * 1024

    @classmethod
    def from_settings(cls) -> Limits:
        return cls(
            max_bytes=getattr(settings, "LOAN_IMPORT_MAX_BYTES", cls.max_bytes),
            max_uncompressed=getattr(settings, "LOAN_IMPORT_MAX_UNCOMPRESSED_BYTES", cls.max_uncompressed),
            max_ratio=getattr(settings, "LOAN_IMPORT_MAX_COMPRESSION_RATIO", cls.max_ratio),
            max_row_bytes=getattr(settings, "LOAN_IMPORT_MAX_ROW_BYTES", cls.max_row_bytes),
        )


class Uncalculated:
    """A formula cell without a calculated value (written by a script, never opened in a
    spreadsheet, or marked "recalculate on open"): its value is unknown."""

    __slots__ = ("formula",)

    def __init__(self, formula: str):
        self.formula = formula

    def __repr__(self) -> str:
        return f"Uncalculated({self.formula!r})"

    def __str__(self) -> str:
        return "=" + self.formula


class CellError(str):
    """A spreadsheet error value (#N/A, #REF!…) instead of a value."""

    __slots__ = ()


class Scientific(float):
    """A number written or shown in scientific notation (1.39829E+10): its digits beyond
    the shown ones are lost, so it can be neither an identifier nor a phone number."""

    __slots__ = ()


SPECIAL = (Uncalculated, CellError, Scientific)


class Row:
    """One sheet row: its number in the sheet, whether it is hidden, and the values of the
    wanted columns."""

    __slots__ = ("_all", "hidden", "number", "values")

    def __init__(self, number: int, values: dict[int, object], hidden: bool = False, all_values=None):
        self.number = number
        self.values = values
        self.hidden = hidden
        self._all = all_values

    def all_values(self) -> dict[int, object]:
        """Every cell of the row, wanted or not (for the error report and totals rows)."""
        if self._all is None:
            return self.values
        if callable(self._all):
            self._all = self._all()
        return self._all


def cell_too_long(row: int) -> BookRefused:
    return BookRefused(
        _(
            "Row %(row)s holds a cell of more than %(limit)s characters, more than Excel itself allows: "
            "this is not a loan book as a spreadsheet saves it."
        )
        % {"row": row, "limit": f"{MAX_CELL_CHARS:,}"},
        "cell_too_long",
    )


def row_too_long(row: int | None, limit: int) -> BookRefused:
    where = _("Row %(row)s") % {"row": row} if row else _("A row")
    return BookRefused(
        _("%(where)s is larger than %(limit)s KB: this is not a loan book as a spreadsheet saves it.")
        % {"where": where, "limit": f"{limit // 1024:,}"},
        "row_too_long",
    )
