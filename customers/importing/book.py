"""Finding the loan book in a file: the first sheet with a header in its first rows, the
lines above the header (a title, often with the data date), and the rows below it."""

from __future__ import annotations

import datetime
import itertools
import re
from collections.abc import Iterator
from dataclasses import dataclass, field

from django.utils.translation import gettext as _

from .cells import BookRefused
from .columns import HEADER_SEARCH_ROWS, Header, describe_missing, read_header


@dataclass
class LoanBook:
    """The sheet holding the loan book, its header, and the data rows still to read."""

    reader: object
    header: Header
    rows: Iterator
    title_lines: list[tuple[int, str]] = field(default_factory=list)
    title_dates: list[datetime.date] = field(default_factory=list)

    @property
    def sheet_name(self) -> str:
        return self.reader.sheet.name

    def close(self) -> None:
        close = getattr(self.rows, "close", None)
        if close is not None:
            close()


def find_loan_book(book) -> LoanBook:
    """The first sheet with a recognisable header row within its first 10 rows.

    Refuses a file where another sheet has a loan-book header too: which one is the book
    is not for the importer to guess."""
    for position, sheet in enumerate(book.sheets):
        reader = book.reader(sheet)
        rows = reader.rows()
        buffer = _first_rows(rows)
        header = read_header(buffer, last_row=HEADER_SEARCH_ROWS)
        if header is None:
            rows.close()
            continue
        missing = header.missing_required()
        if missing:
            rows.close()
            raise BookRefused(describe_missing(missing), "missing_columns")
        for other in book.sheets[position + 1 :]:
            if _has_header(book, other):
                rows.close()
                raise BookRefused(
                    _(
                        "Sheets “%(first)s” and “%(other)s” both have a loan-book header: which one is the "
                        "book cannot be told. Keep the loan book on one sheet (or save each sheet as its own "
                        "file) and import again."
                    )
                    % {"first": sheet.name, "other": other.name},
                    "several_sheets",
                )
        reader.wanted = set(header.columns.values())
        above = [r for r in buffer if r.number < header.first_row]
        below = (r for r in buffer if r.number > header.row)
        titles, dates = [], []
        for r in above:
            for _index, value in sorted(r.values.items()):
                if isinstance(value, str) and value.strip():
                    titles.append((r.number, value.strip()))
                elif isinstance(value, datetime.datetime):
                    dates.append(value.date())
                elif isinstance(value, datetime.date):
                    dates.append(value)
        return LoanBook(
            reader=reader,
            header=header,
            rows=_chain(below, rows),
            title_lines=titles,
            title_dates=dates,
        )
    if getattr(book, "kind", "xlsx") == "csv":
        raise BookRefused(
            _(
                "This is not an Excel .xlsx file, nor a CSV loan book: no header row (贷款账号, 客户号…) "
                "in its first %(n)s lines. Export the loan book as .xlsx or .csv with its header row."
            )
            % {"n": HEADER_SEARCH_ROWS},
            "no_header",
        )
    raise BookRefused(
        _(
            "No header row found: the first %(n)s rows of every sheet were searched for the "
            "loan account and customer number columns (贷款账号, 客户号…)."
        )
        % {"n": HEADER_SEARCH_ROWS},
        "no_header",
    )


def _first_rows(rows) -> list:
    """The rows up to the first one below the search area (a sub-header may stand there)."""
    buffer = []
    for row in rows:
        buffer.append(row)
        if row.number > HEADER_SEARCH_ROWS:
            break
    return buffer


def _has_header(book, sheet) -> bool:
    rows = book.reader(sheet).rows()
    try:
        return read_header(_first_rows(rows), last_row=HEADER_SEARCH_ROWS) is not None
    except BookRefused:
        return True  # a header, if an ambiguous one
    finally:
        rows.close()


def _chain(first, rest) -> Iterator:
    try:
        yield from itertools.chain(first, rest)
    finally:
        rest.close()


# --- the data date --------------------------------------------------------------------------------
_DATE = re.compile(
    r"(?<!\d)(20\d{2})\s*(?:[-/.年])\s*(\d{1,2})\s*(?:[-/.月])\s*(\d{1,2})\s*日?(?!\d)|(?<!\d)(20\d{2})(\d{2})(\d{2})(?!\d)"
)


def dates_in(text: str) -> list[datetime.date]:
    """Every real date written in `text` (2026-11-28, 2026/11/28, 2026年11月28日, 20261128)."""
    found = []
    for m in _DATE.finditer(text):
        y, mo, d = (
            (m.group(1), m.group(2), m.group(3)) if m.group(1) else (m.group(4), m.group(5), m.group(6))
        )
        try:
            found.append(datetime.date(int(y), int(mo), int(d)))
        except ValueError:
            continue
    return found


def detect_data_date(found: LoanBook, file_name: str) -> tuple[datetime.date, str] | None:
    """The date the file says its data is as of, and where it says so: the title lines
    above the header, else the file name. None when neither names exactly one date."""
    for source, dates in (
        (
            _("the title above the header"),
            found.title_dates + [d for _r, t in found.title_lines for d in dates_in(t)],
        ),
        (_("the file name"), dates_in(file_name or "")),
    ):
        distinct = sorted(set(dates))
        if len(distinct) == 1:
            return distinct[0], source
    return None
