"""Loan books saved as CSV (or tab-separated text), streamed like a one-sheet workbook.

The encoding is decided exactly, never guessed from statistics: a byte-order mark says
UTF-8 or UTF-16; otherwise the whole file either decodes strictly as UTF-8 or it is not
UTF-8, and then it must decode strictly as GB18030 (the superset of GBK and GB2312 that
Chinese Excel, WPS and core systems write). Anything else is refused. The delimiter
(comma, tab or semicolon) is the one that splits the header row into the most known
column titles.
"""

from __future__ import annotations

import codecs
import csv
import hashlib
import io
import os
from collections.abc import Iterator
from dataclasses import dataclass

from django.utils.translation import gettext as _

from .cells import MAX_CELL_CHARS, BookRefused, Limits, Row, cell_too_long, row_too_long

BLOCK_SIZE = 1 << 20
DELIMITERS = (",", "\t", ";")
ENCODING_LABELS = {
    "utf-8": "UTF-8",
    "utf-8-sig": "UTF-8 (BOM)",
    "utf-16": "UTF-16",
    "gb18030": "GB18030/GBK",
}


@dataclass
class Sheet:
    name: str


class CsvBook:
    """A CSV file checked and opened for streaming (the same interface as XlsxBook)."""

    kind = "csv"

    def __init__(self, source, *, limits: Limits | None = None, close_file: bool = False, name: str = ""):
        self.limits = limits or Limits.from_settings()
        self._own_file = source if close_file else None
        if isinstance(source, str | os.PathLike):
            name = name or os.path.basename(os.fspath(source))
            self._own_file = source = open(source, "rb")  # noqa: SIM115 - closed in close()
        self._file = source
        try:
            self.size = _size(source)
            if self.size > self.limits.max_bytes:
                raise BookRefused(
                    _("The file is %(size)s MB; the limit is %(limit)s MB.")
                    % {"size": _mb(self.size), "limit": _mb(self.limits.max_bytes)},
                    "too_big",
                )
            self.encoding = self._detect_encoding()
            self.delimiter = self._detect_delimiter()
        except BaseException:
            self.close()
            raise
        stem = os.path.splitext(os.path.basename(name or ""))[0]
        self.sheets = [Sheet(name=stem or "CSV")]
        self.recalculate_on_open = False

    @property
    def encoding_label(self) -> str:
        return ENCODING_LABELS.get(self.encoding, self.encoding)

    # --- detection -------------------------------------------------------------------
    def _detect_encoding(self) -> str:
        fh = self._file
        fh.seek(0)
        head = fh.read(4)
        fh.seek(0)
        if head.startswith(codecs.BOM_UTF8):
            encoding = "utf-8-sig"
        elif head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
            encoding = "utf-16"
        else:
            encoding = None
        candidates = [encoding] if encoding else ["utf-8", "gb18030"]
        for candidate in candidates:
            if self._decodes_as(candidate):
                return candidate
        if encoding:
            raise BookRefused(
                _(
                    "The text file says it is %(encoding)s but is not valid %(encoding)s: save it again as CSV."
                )
                % {"encoding": ENCODING_LABELS[encoding]},
                "encoding",
            )
        raise BookRefused(
            _(
                "This is not a loan-book file: it is neither an Excel workbook (.xlsx, .xls) nor a text "
                "(CSV) file in UTF-8 or GB18030/GBK. Save the loan book as .xlsx or as CSV (UTF-8)."
            ),
            "not_a_book",
        )

    def _decodes_as(self, encoding: str) -> bool:
        fh = self._file
        fh.seek(0)
        decoder = codecs.getincrementaldecoder(encoding)("strict")
        try:
            for block in iter(lambda: fh.read(BLOCK_SIZE), b""):
                text = decoder.decode(block)
                if "\x00" in text:
                    return False  # a binary file that happens to decode
            decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            return False
        finally:
            fh.seek(0)
        return True

    def _detect_delimiter(self) -> str:
        from .columns import count_known_titles

        sample = self._text_sample(64 * 1024)
        lines = sample.splitlines()[:12]
        if lines and lines[0].lower().startswith("sep=") and len(lines[0]) == 5:
            return lines[0][4]  # Excel's own hint line
        best, best_hits = ",", 0
        for delimiter in DELIMITERS:
            try:
                parsed = list(csv.reader(lines, delimiter=delimiter))
            except csv.Error:
                continue
            hits = max((count_known_titles(fields) for fields in parsed), default=0)
            if hits > best_hits:
                best, best_hits = delimiter, hits
        return best

    def _text_sample(self, size: int) -> str:
        fh = self._file
        fh.seek(0)
        data = fh.read(size)
        fh.seek(0)
        return data.decode(self.encoding, errors="ignore")

    # --- the Book interface ----------------------------------------------------------
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

    def reader(self, sheet: Sheet) -> CsvReader:
        return CsvReader(self, sheet)

    def close(self) -> None:
        if self._own_file is not None:
            self._own_file.close()
            self._own_file = None

    def __enter__(self) -> CsvBook:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


class CsvReader:
    """Streams the records of a CSV file as rows (row N is the Nth record, as a
    spreadsheet opening the file would number it)."""

    def __init__(self, book: CsvBook, sheet: Sheet):
        self.book = book
        self.sheet = sheet
        self.wanted: set[int] | None = None
        self.size = book.size
        self._done = 0

    @property
    def fraction(self) -> float:
        return min(1.0, self._done / self.size) if self.size else 1.0

    def _lines(self, text) -> Iterator[str]:
        limit = self.book.limits.max_row_bytes
        readline = text.readline
        while True:
            line = readline(limit + 1)
            if not line:
                return
            if len(line) > limit:
                raise row_too_long(None, limit)
            yield line

    def rows(self) -> Iterator[Row]:
        fh = _Window(self.book._file)
        text = io.TextIOWrapper(
            io.BufferedReader(fh, BLOCK_SIZE), encoding=self.book.encoding, errors="strict", newline=""
        )
        delimiter = self.book.delimiter
        number = 0
        try:
            records = csv.reader(self._lines(text), delimiter=delimiter)
            first = True
            for fields in records:
                number += 1
                if first:
                    first = False
                    if len(fields) == 1 and fields[0].lower() == f"sep={delimiter}":
                        continue
                if not fields:
                    continue
                if len(fields) > 1 and max(map(len, fields)) > MAX_CELL_CHARS:
                    raise cell_too_long(number)
                wanted = self.wanted
                if wanted is None:
                    values = {i: v for i, v in enumerate(fields) if v}
                    yield Row(number, values)
                    continue
                n = len(fields)
                values = {}
                for i in wanted:
                    if i < n:
                        v = fields[i]
                        if v:
                            values[i] = v
                if number % 1024 == 0:
                    self._done = fh.position
                yield Row(number, values, False, _AllFields(fields))
        except csv.Error as exc:
            if "field larger than field limit" in str(exc):
                raise cell_too_long(number + 1) from None
            raise BookRefused(
                _("The CSV file is damaged near row %(row)s: %(error)s") % {"row": number + 1, "error": exc},
                "damaged",
            ) from None
        except UnicodeDecodeError:
            raise BookRefused(
                _("The text file is not valid %(encoding)s.") % {"encoding": self.book.encoding_label},
                "encoding",
            ) from None
        self._done = self.size


class _Window(io.RawIOBase):
    """The file read from a position of its own: others may seek the same file object
    meanwhile (the import stores the upload, or hashes it) without moving this reader."""

    def __init__(self, fh):
        self.fh = fh
        self.position = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        self.fh.seek(self.position)
        data = self.fh.read(len(buffer))
        buffer[: len(data)] = data
        self.position += len(data)
        return len(data)

    def close(self) -> None:  # the book closes the file itself
        self.fh = None
        super().close()


class _AllFields:
    """Every non-empty field of a record, built only when asked for."""

    __slots__ = ("fields",)

    def __init__(self, fields: list[str]):
        self.fields = fields

    def __call__(self) -> dict[int, object]:
        return {i: v for i, v in enumerate(self.fields) if v}


def _size(fh) -> int:
    fh.seek(0, io.SEEK_END)
    size = fh.tell()
    fh.seek(0)
    return size


def _mb(size: int) -> str:
    return f"{size / (1024 * 1024):.1f}".rstrip("0").rstrip(".")
