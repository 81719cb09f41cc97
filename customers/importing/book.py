"""Finding the loan book in a workbook: the first sheet with a header row in its first rows."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from django.utils.translation import gettext as _

from .columns import HEADER_SEARCH_ROWS, Header, describe_missing, match_header
from .xlsx import BookRefused, Row, SheetReader, XlsxBook


@dataclass
class LoanBook:
    """The sheet holding the loan book, its header, and the data rows still to read."""

    reader: SheetReader
    header: Header
    rows: Iterator[Row]

    @property
    def sheet_name(self) -> str:
        return self.reader.sheet.name


def find_loan_book(book: XlsxBook) -> LoanBook:
    """The first sheet with a recognisable header row within its first 10 rows."""
    for sheet in book.sheets:
        reader = book.reader(sheet)
        rows = reader.rows()
        for row in rows:
            if row.number > HEADER_SEARCH_ROWS:
                break
            header = match_header(row.values, row.number)
            if header is None:
                continue
            missing = header.missing_required()
            if missing:
                rows.close()
                raise BookRefused(describe_missing(missing), "missing_columns")
            reader.wanted = set(header.columns.values())
            return LoanBook(reader=reader, header=header, rows=rows)
        rows.close()
    raise BookRefused(
        _(
            "No header row found: the first %(n)s rows of every sheet were searched for the "
            "loan account and customer number columns (贷款账号, 客户号…)."
        )
        % {"n": HEADER_SEARCH_ROWS},
        "no_header",
    )
