"""Legacy Excel workbooks (.xls, BIFF8), read with xlrd, under the same rules as .xlsx.

xlrd reads a sheet whole (a .xls sheet holds at most 65,536 rows, so that is bounded);
only the sheet being read is kept in memory, and only the wanted columns become values.
Numbers shown in scientific notation, error cells and hidden rows come through as they
do from the .xlsx reader. A formula's value is the result Excel (or WPS, LibreOffice)
cached in the file.
"""

from __future__ import annotations

import datetime
import hashlib
import io
import os
from collections.abc import Iterator
from dataclasses import dataclass

from django.utils.translation import gettext as _

from .cells import MAX_CELL_CHARS, BookRefused, CellError, Limits, Row, Scientific, cell_too_long
from .xlsx import is_date_format, is_scientific_format

BLOCK_SIZE = 1 << 20


@dataclass
class Sheet:
    name: str
    index: int


def _damaged() -> BookRefused:
    return BookRefused(_("The file is damaged or incomplete (not a readable .xls)."), "damaged")


class XlsBook:
    """A .xls file opened with xlrd (the same interface as XlsxBook)."""

    kind = "xls"

    def __init__(self, source, *, limits: Limits | None = None, close_file: bool = False, name: str = ""):
        import xlrd

        self.limits = limits or Limits.from_settings()
        self._own_file = source if close_file else None
        if isinstance(source, str | os.PathLike):
            self._own_file = source = open(source, "rb")  # noqa: SIM115 - closed in close()
        self._file = source
        self.recalculate_on_open = False
        try:
            source.seek(0, io.SEEK_END)
            size = source.tell()
            source.seek(0)
            if size > self.limits.max_bytes:
                raise BookRefused(
                    _("The file is %(size)s MB; the limit is %(limit)s MB.")
                    % {"size": _mb(size), "limit": _mb(self.limits.max_bytes)},
                    "too_big",
                )
            data = source.read()
            source.seek(0)
            try:
                self._book = xlrd.open_workbook(
                    file_contents=data,
                    formatting_info=True,
                    on_demand=True,
                    logfile=open(os.devnull, "w"),  # noqa: SIM115
                )
            except xlrd.XLRDError as exc:
                if "encrypted" in str(exc).lower():
                    raise BookRefused(
                        _("The workbook is password-protected; save it without a password."), "encrypted"
                    ) from exc
                raise _damaged() from exc
            except Exception as exc:  # xlrd raises many kinds on a damaged file
                raise _damaged() from exc
            self.datemode = self._book.datemode
            self.sheets = [Sheet(name=name, index=i) for i, name in enumerate(self._book.sheet_names())]
            self._date_xfs, self._scientific_xfs = self._number_xfs()
        except BaseException:
            self.close()
            raise

    def _number_xfs(self) -> tuple[frozenset[int], frozenset[int]]:
        book = self._book
        dates, scientific = set(), set()
        for index, xf in enumerate(book.xf_list):
            fmt = book.format_map.get(xf.format_key)
            code = fmt.format_str if fmt is not None else ""
            if is_date_format(code):
                dates.add(index)
            elif is_scientific_format(code):
                scientific.add(index)
        return frozenset(dates), frozenset(scientific)

    @property
    def file(self):
        self._file.seek(0)
        return self._file

    def sha256(self) -> str:
        digest = hashlib.sha256()
        fh = self.file
        for block in iter(lambda: fh.read(BLOCK_SIZE), b""):
            digest.update(block)
        fh.seek(0)
        return digest.hexdigest()

    def reader(self, sheet: Sheet) -> XlsReader:
        return XlsReader(self, sheet)

    def close(self) -> None:
        book = getattr(self, "_book", None)
        if book is not None:
            book.release_resources()
            self._book = None
        if self._own_file is not None:
            self._own_file.close()
            self._own_file = None

    def __enter__(self) -> XlsBook:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


class XlsReader:
    def __init__(self, book: XlsBook, sheet: Sheet):
        self.book = book
        self.sheet = sheet
        self.wanted: set[int] | None = None
        self._rows_done = 0
        self._rows_total = 0

    @property
    def fraction(self) -> float:
        return min(1.0, self._rows_done / self._rows_total) if self._rows_total else 1.0

    def rows(self) -> Iterator[Row]:
        import xlrd

        book = self.book
        try:
            sheet = book._book.sheet_by_index(self.sheet.index)
        except Exception as exc:
            raise _damaged() from exc
        self._rows_total = sheet.nrows
        rowinfo = sheet.rowinfo_map
        try:
            for r in range(sheet.nrows):
                self._rows_done = r
                values = self._values(sheet, r, self.wanted)
                if not values:
                    continue
                info = rowinfo.get(r)
                yield Row(
                    r + 1,
                    values,
                    bool(info is not None and info.hidden),
                    (lambda r=r: self._values(sheet, r, None)) if self.wanted is not None else None,
                )
        except xlrd.XLRDError as exc:
            raise _damaged() from exc
        finally:
            book._book.unload_sheet(self.sheet.index)
        self._rows_done = self._rows_total

    def _values(self, sheet, r: int, wanted) -> dict[int, object]:
        types = sheet.row_types(r)
        cells = sheet.row_values(r)
        columns = range(len(types)) if wanted is None else [c for c in wanted if c < len(types)]
        values: dict[int, object] = {}
        book = self.book
        for c in columns:
            kind = types[c]
            if kind in (0, 6):  # empty, blank
                continue
            v = cells[c]
            if kind == 1:  # text
                if not v:
                    continue
                if len(v) > MAX_CELL_CHARS:
                    raise cell_too_long(r + 1)
                values[c] = v
            elif kind == 2:  # number
                xf = sheet.cell_xf_index(r, c)
                if xf in book._scientific_xfs:
                    values[c] = Scientific(v)
                elif v.is_integer() and abs(v) < 2**53:
                    values[c] = int(v)
                else:
                    values[c] = v
            elif kind == 3:  # date
                values[c] = _xls_date(v, book.datemode)
            elif kind == 4:
                values[c] = bool(v)
            elif kind == 5:
                import xlrd

                values[c] = CellError(xlrd.error_text_from_code.get(v, "#N/A"))
        return values


def _xls_date(serial: float, datemode: int):
    import xlrd

    try:
        moment = xlrd.xldate_as_datetime(serial, datemode)
    except Exception:
        return serial
    if moment.time() == datetime.time():
        return moment.date()
    return moment


def _mb(size: int) -> str:
    return f"{size / (1024 * 1024):.1f}".rstrip("0").rstrip(".")
