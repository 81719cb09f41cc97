"""A streaming, defused reader for .xlsx workbooks, built for large loan books.

Why not openpyxl: in read-only mode it still builds a Python object per cell and loads the
whole shared-string table as Python strings first, which makes it the slowest part of an
import and makes memory grow with the book. This reader

- checks the archive before any XML is parsed: size limit, member count, the declared
  uncompressed sizes and each member's compression ratio (zip bombs);
- parses the small package parts (relationships, workbook, styles) with defusedxml,
  DTDs forbidden;
- keeps the shared-string table as UTF-8 bytes in one buffer with an offset array
  (a few bytes per string instead of a Python object each);
- streams each sheet from the zip member in 1 MB blocks and scans rows and cells with
  compiled patterns, decoding only the columns the caller asked for.

Sheet and shared-string XML is never handed to an entity-expanding parser: a document
with a DTD is refused outright, and text is unescaped for the five predefined entities
and character references only.
"""

from __future__ import annotations

import datetime
import hashlib
import io
import os
import posixpath
import re
import zipfile
import zlib
from array import array
from collections.abc import Iterator
from dataclasses import dataclass

from defusedxml import ElementTree as SafeET
from django.utils.translation import gettext as _

from .cells import MAX_CELL_CHARS, BookRefused, CellError, Limits, Scientific, Uncalculated, row_too_long
from .cells import cell_too_long as _cell_too_long

__all__ = ["BookRefused", "Limits", "XlsxBook", "is_date_format"]

BLOCK_SIZE = 1 << 20
MAIN_NS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
STRICT_NS = "http://purl.oclc.org/ooxml/spreadsheetml/main"
REL_NS = "http://schemas.openxmlformats.org/package/2006/relationships"
DOC_REL_NS = (
    "http://schemas.openxmlformats.org/officeDocument/2006/relationships",
    "http://purl.oclc.org/ooxml/officeDocument/relationships",
)
# Small parts (relationships, workbook, styles) are parsed whole; a bigger one is not a
# real workbook part.
MAX_META_PART = 32 * 1024 * 1024
# A member smaller than this is not checked for its compression ratio (a tiny styles.xml
# of repeated elements compresses very well and costs nothing to read).
RATIO_FLOOR = 1024 * 1024

# Built-in number formats that show a date (14-22, 45-47) and the ones East Asian
# locales of Excel use for dates (27-36, 50-58).
BUILTIN_DATE_FORMATS = frozenset([*range(14, 23), *range(27, 37), *range(45, 48), *range(50, 59)])
BUILTIN_SCIENTIFIC_FORMATS = frozenset([11, 48])
_DATE_CODE_NOISE = re.compile(r'"[^"]*"|\\.|\[(?!h]|m]|s]|hh]|mm]|ss])[^\]]*\]|_.|\*.')
_DATE_CODE_TOKENS = re.compile(r"[ymdhsYMDHSe年月日]")

_XML_ENTITY = re.compile(rb"&(#x[0-9A-Fa-f]+|#[0-9]+|amp|lt|gt|quot|apos);")
_PREDEFINED = {b"amp": b"&", b"lt": b"<", b"gt": b">", b"quot": b'"', b"apos": b"'"}
_CDATA = re.compile(rb"<!\[CDATA\[(.*?)\]\]>", re.S)
_COMMENT = re.compile(rb"<!--.*?-->", re.S)
_ROOT = re.compile(rb"<(?:([A-Za-z_][\w.-]*):)?([A-Za-z_][\w.-]*)[\s/>]")
_ATTR = re.compile(rb"""([\w:.-]+)\s*=\s*(?:"([^"]*)"|'([^']*)')""")
_REF = re.compile(rb"^([A-Z]{1,3})(\d*)$")
_NUMBER = re.compile(rb"^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$")
_ISO_DATE = re.compile(r"^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2}))?)?")


def unescape(raw: bytes) -> bytes:
    """XML text → bytes: CDATA sections kept as they are, the predefined entities and
    character references replaced, nothing else (no DTD, so nothing else exists)."""
    if b"<![CDATA[" in raw:
        parts, last = [], 0
        for m in _CDATA.finditer(raw):
            parts.append(unescape(raw[last : m.start()]))
            parts.append(m.group(1))
            last = m.end()
        parts.append(unescape(raw[last:]))
        return b"".join(parts)
    if b"&" not in raw:
        return raw
    return _XML_ENTITY.sub(_entity, raw)


def _entity(m: re.Match) -> bytes:
    name = m.group(1)
    if name[:1] == b"#":
        code = int(name[2:], 16) if name[1:2] in (b"x", b"X") else int(name[1:])
        # XML 1.0 allows tab, newline, carriage return and the Unicode scalar values from
        # U+0020 on, surrogates and U+FFFE/U+FFFF excepted: anything else is a damaged file.
        if not (
            code in (0x9, 0xA, 0xD)
            or 0x20 <= code <= 0xD7FF
            or 0xE000 <= code <= 0xFFFD
            or 0x10000 <= code <= 0x10FFFF
        ):
            raise BookRefused(
                _("The file is damaged: it holds an invalid character (&%(ref)s;).") % {"ref": name.decode()},
                "damaged",
            )
        return chr(code).encode()
    return _PREDEFINED[name]


def _damaged() -> BookRefused:
    return BookRefused(_("The file is damaged or incomplete (not a readable .xlsx)."), "damaged")


def _not_utf8() -> BookRefused:
    return BookRefused(_("The file is damaged: some of its text is not valid UTF-8."), "damaged")


def column_index(letters: bytes | str) -> int:
    """A → 0, Z → 25, AA → 26."""
    if isinstance(letters, str):
        letters = letters.encode()
    index = 0
    for ch in letters:
        index = index * 26 + (ch - 64)
    return index - 1


def column_letters(index: int) -> str:
    """0 → A, 26 → AA."""
    letters = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


def is_date_format(code: str) -> bool:
    """Whether an Excel number-format code shows a date or time."""
    stripped = _DATE_CODE_NOISE.sub("", code.split(";", 1)[0])
    return bool(_DATE_CODE_TOKENS.search(stripped)) and "General" not in stripped


def is_scientific_format(code: str) -> bool:
    """Whether an Excel number-format code shows numbers in scientific notation (0.00E+00)."""
    stripped = _DATE_CODE_NOISE.sub("", code.split(";", 1)[0])
    return "E+" in stripped.upper() or "E-" in stripped.upper()


class SharedStrings:
    """The shared-string table as UTF-8 in one buffer plus offsets: compact enough that a
    million-row book's table costs tens of megabytes, not hundreds."""

    def __init__(self):
        self.data = bytearray()
        self.offsets = array("Q", [0])

    def __len__(self) -> int:
        return len(self.offsets) - 1

    def __getitem__(self, index: int) -> str:
        if not 0 <= index < len(self.offsets) - 1:
            raise IndexError(index)
        return self.data[self.offsets[index] : self.offsets[index + 1]].decode()

    def extend(self, texts: list[bytes]) -> None:
        offset = len(self.data)
        offsets = self.offsets
        for text in texts:
            offset += len(text)
            offsets.append(offset)
        self.data += b"".join(texts)

    @property
    def nbytes(self) -> int:
        return len(self.data) + self.offsets.itemsize * len(self.offsets)


@dataclass
class Sheet:
    name: str
    path: str


class Row:
    """One sheet row: its number in Excel, whether it is hidden (or filtered out), and the
    values of the wanted columns."""

    __slots__ = ("_content", "_reader", "hidden", "number", "values")

    def __init__(
        self, number: int, values: dict[int, object], content: bytes, reader: SheetReader, hidden: bool
    ):
        self.number = number
        self.values = values
        self.hidden = hidden
        self._content = content
        self._reader = reader

    def all_values(self) -> dict[int, object]:
        """Every cell of the row, wanted or not (for the error report and totals rows)."""
        try:
            return self._reader._cells(self._content, None)
        except UnicodeDecodeError:
            raise _not_utf8() from None


class XlsxBook:
    """An .xlsx file checked for safety and opened for streaming."""

    def __init__(self, source, *, limits: Limits | None = None, close_file: bool = False):
        """`source`: a path, or a binary file object (closed with the book if `close_file`)."""
        self.limits = limits or Limits.from_settings()
        self._own_file = source if close_file else None
        if isinstance(source, str | os.PathLike):
            self._own_file = source = open(source, "rb")  # noqa: SIM115 - closed in close()
        self._file = source
        try:
            self._check_and_open()
        except BaseException:
            self.close()
            raise

    # --- opening ---------------------------------------------------------------------
    def _check_and_open(self) -> None:
        fh = self._file
        fh.seek(0, io.SEEK_END)
        size = fh.tell()
        fh.seek(0)
        if size > self.limits.max_bytes:
            raise BookRefused(
                _("The file is %(size)s MB; the limit is %(limit)s MB.")
                % {"size": _mb(size), "limit": _mb(self.limits.max_bytes)},
                "too_big",
            )
        magic = fh.read(8)
        fh.seek(0)
        if magic.startswith(b"\xd0\xcf\x11\xe0"):
            raise BookRefused(
                _(
                    "This is an old .xls or a password-protected workbook; save it as .xlsx without a password."
                ),
                "not_xlsx",
            )
        if not magic.startswith(b"PK\x03\x04"):
            raise BookRefused(_("This is not an Excel .xlsx file."), "not_xlsx")
        try:
            self.zip = zipfile.ZipFile(fh)
        except (zipfile.BadZipFile, OSError, EOFError, ValueError) as exc:
            raise BookRefused(
                _("The file is damaged or incomplete (not a readable .xlsx)."), "damaged"
            ) from exc
        self._check_archive()
        self._read_package()

    def _check_archive(self) -> None:
        infos = self.zip.infolist()
        if len(infos) > self.limits.max_members:
            raise BookRefused(_("The file has too many parts to be a loan book."), "zip_bomb")
        total = 0
        for info in infos:
            if info.flag_bits & 0x1:
                raise BookRefused(_("The file is encrypted; save it without a password."), "encrypted")
            total += info.file_size
            ratio = info.file_size / max(info.compress_size, 1)
            if info.file_size > self.limits.max_uncompressed or total > self.limits.max_uncompressed:
                raise BookRefused(
                    _("The file unpacks to more than %(limit)s MB; refused as a possible zip bomb.")
                    % {"limit": _mb(self.limits.max_uncompressed)},
                    "zip_bomb",
                )
            if info.file_size > RATIO_FLOOR and ratio > self.limits.max_ratio:
                raise BookRefused(
                    _("A part of the file is compressed %(ratio)s to 1; refused as a possible zip bomb.")
                    % {"ratio": int(ratio)},
                    "zip_bomb",
                )
        self._names = {info.filename for info in infos}

    def _read_package(self) -> None:
        workbook_path = "xl/workbook.xml"
        if "_rels/.rels" in self._names:
            for rel_type, target in self._relationships("_rels/.rels", ""):
                if rel_type.endswith("/officeDocument"):
                    workbook_path = target
                    break
        if workbook_path not in self._names:
            raise BookRefused(_("The file is not an Excel workbook (no workbook part)."), "not_xlsx")
        base = posixpath.dirname(workbook_path)
        rels_path = posixpath.join(base, "_rels", posixpath.basename(workbook_path) + ".rels")
        by_id: dict[str, str] = {}
        self._strings_path = self._styles_path = None
        if rels_path in self._names:
            for rel_type, target, rel_id in self._relationships(rels_path, base, with_id=True):
                by_id[rel_id] = target
                if rel_type.endswith("/sharedStrings"):
                    self._strings_path = target
                elif rel_type.endswith("/styles"):
                    self._styles_path = target
        root = self._parse_meta(workbook_path)
        self.date1904 = False
        # Written by a script (openpyxl, xlsxwriter) that asks the spreadsheet to compute
        # every formula when the file is opened: the values cached beside them are not results.
        self.recalculate_on_open = False
        self.sheets: list[Sheet] = []
        for el in root.iter():
            local = el.tag.rsplit("}", 1)[-1]
            if local == "workbookPr":
                self.date1904 = el.get("date1904", "0").lower() in ("1", "true")
            elif local == "calcPr":
                self.recalculate_on_open = el.get("fullCalcOnLoad", "0").lower() in ("1", "true")
            elif local == "sheet":
                rel_id = next((el.get(f"{{{ns}}}id") for ns in DOC_REL_NS if el.get(f"{{{ns}}}id")), None)
                path = by_id.get(rel_id or "")
                if path and path in self._names:
                    self.sheets.append(Sheet(name=el.get("name", ""), path=path))
        if not self.sheets:
            fallback = sorted(n for n in self._names if n.startswith("xl/worksheets/") and n.endswith(".xml"))
            self.sheets = [Sheet(name=posixpath.basename(p), path=p) for p in fallback]
        if not self.sheets:
            raise BookRefused(_("The workbook has no worksheet."), "no_sheet")
        self._date_styles, self._scientific_styles = self._read_number_styles()
        self._strings: SharedStrings | None = None

    def _relationships(self, path: str, base: str, with_id: bool = False):
        root = self._parse_meta(path)
        for el in root:
            if el.tag.rsplit("}", 1)[-1] != "Relationship" or el.get("TargetMode") == "External":
                continue
            target = el.get("Target", "")
            target = (
                target.lstrip("/")
                if target.startswith("/")
                else posixpath.normpath(posixpath.join(base, target))
            )
            item = (el.get("Type", ""), target)
            yield (*item, el.get("Id", "")) if with_id else item

    def _parse_meta(self, path: str):
        info = self.zip.getinfo(path)
        if info.file_size > MAX_META_PART:
            raise BookRefused(_("The file is not an Excel workbook (a part is far too large)."), "not_xlsx")
        data = self._read_member(path)
        try:
            return SafeET.fromstring(data, forbid_dtd=True, forbid_entities=True, forbid_external=True)
        except Exception as exc:  # ParseError and defusedxml's DTDForbidden & co.
            raise BookRefused(
                _("The file is damaged or incomplete (not a readable .xlsx)."), "damaged"
            ) from exc

    def _read_member(self, path: str) -> bytes:
        try:
            with self.zip.open(path) as member:
                return member.read()
        except (zipfile.BadZipFile, zlib.error, OSError, EOFError) as exc:
            raise BookRefused(
                _("The file is damaged or incomplete (not a readable .xlsx)."), "damaged"
            ) from exc

    def _read_number_styles(self) -> tuple[frozenset[int], frozenset[int]]:
        """Indexes of the cell styles (cellXfs) that show numbers as dates, and of those
        that show them in scientific notation."""
        if not self._styles_path or self._styles_path not in self._names:
            return frozenset(), frozenset()
        root = self._parse_meta(self._styles_path)
        custom: dict[int, str] = {}
        date_styles, scientific = set(), set()
        for el in root:
            local = el.tag.rsplit("}", 1)[-1]
            if local == "numFmts":
                for fmt in el:
                    try:
                        custom[int(fmt.get("numFmtId", "-1"))] = fmt.get("formatCode", "")
                    except ValueError:
                        continue
            elif local == "cellXfs":
                for index, xf in enumerate(el):
                    try:
                        fmt_id = int(xf.get("numFmtId", "0"))
                    except ValueError:
                        continue
                    code = custom.get(fmt_id)
                    if code is None:
                        if fmt_id in BUILTIN_DATE_FORMATS:
                            date_styles.add(index)
                        elif fmt_id in BUILTIN_SCIENTIFIC_FORMATS:
                            scientific.add(index)
                    elif is_date_format(code):
                        date_styles.add(index)
                    elif is_scientific_format(code):
                        scientific.add(index)
        return frozenset(date_styles), frozenset(scientific)

    @property
    def file(self):
        """The underlying binary file (rewound)."""
        self._file.seek(0)
        return self._file

    def sha256(self) -> str:
        digest = hashlib.sha256()
        fh = self.file
        for block in iter(lambda: fh.read(BLOCK_SIZE), b""):
            digest.update(block)
        fh.seek(0)
        return digest.hexdigest()

    def close(self) -> None:
        if getattr(self, "zip", None) is not None:
            self.zip.close()
        if self._own_file is not None:
            self._own_file.close()
            self._own_file = None

    def __enter__(self) -> XlsxBook:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # --- streaming -------------------------------------------------------------------
    def blocks(self, path: str) -> Iterator[tuple[bytes, int]]:
        """The member's bytes in blocks, with the count of bytes read so far."""
        done = 0
        try:
            with self.zip.open(path) as member:
                while True:
                    block = member.read(BLOCK_SIZE)
                    if not block:
                        return
                    done += len(block)
                    yield block, done
        except (zipfile.BadZipFile, zlib.error, EOFError) as exc:
            raise BookRefused(
                _("The file is damaged or incomplete (not a readable .xlsx)."), "damaged"
            ) from exc

    def member_size(self, path: str) -> int:
        return self.zip.getinfo(path).file_size

    @property
    def shared_strings(self) -> SharedStrings:
        if self._strings is None:
            self._strings = self._load_shared_strings()
        return self._strings

    def _load_shared_strings(self) -> SharedStrings:
        strings = SharedStrings()
        if not self._strings_path or self._strings_path not in self._names:
            return strings
        pattern = None
        rich = None
        close_si = b"</si>"
        tail = b""
        for block, _done in self.blocks(self._strings_path):
            data = tail + block
            if pattern is None:
                prefix = _prolog_prefix(data)
                if prefix is None:
                    if len(data) > self.limits.max_row_bytes:
                        raise _damaged()
                    tail = data
                    continue
                p = re.escape(prefix)
                pattern = re.compile(
                    rb"<%ssi\s*>(?:<%st(?:\s[^>]*)?>([^<]*)</%st\s*>\s*</%ssi\s*>|(.*?)</%ssi\s*>)|<%ssi\s*/>"
                    % (p, p, p, p, p, p),
                    re.S,
                )
                rich = _RichText(prefix)
                close_si = b"</%ssi>" % prefix
            cut = data.rfind(close_si)
            if cut < 0:
                if len(data) > self.limits.max_row_bytes:
                    raise row_too_long(None, self.limits.max_row_bytes)
                tail = data
                continue
            cut += len(close_si)
            data, tail = data[:cut], data[cut:]
            strings.extend(_shared_texts(pattern.findall(data), rich))
        if tail.strip() and pattern is not None:
            strings.extend(_shared_texts(pattern.findall(tail), rich))
        return strings

    def reader(self, sheet: Sheet) -> SheetReader:
        return SheetReader(self, sheet)


def _shared_texts(found: list[tuple[bytes, bytes]], rich: _RichText) -> list[bytes]:
    texts = []
    append = texts.append
    for simple, complex_ in found:
        if complex_:
            text = rich.text(complex_)
        elif b"&" in simple:
            text = unescape(simple)
        else:
            text = simple
        if len(text) > MAX_CELL_CHARS:
            _check_cell_length(text, None)
        append(text)
    return texts


def _check_cell_length(text: bytes, row: int | None) -> None:
    """Refuses a cell longer than Excel allows (its bytes are at most 4 per character, so
    only a long one is decoded to count)."""
    try:
        chars = len(text.decode())
    except UnicodeDecodeError:
        raise _not_utf8() from None
    if chars > MAX_CELL_CHARS:
        raise (
            _cell_too_long(row)
            if row
            else BookRefused(
                _(
                    "The file holds a text of more than %(limit)s characters, more than Excel itself allows: "
                    "this is not a loan book as a spreadsheet saves it."
                )
                % {"limit": f"{MAX_CELL_CHARS:,}"},
                "cell_too_long",
            )
        )


class _RichText:
    """Text of a rich-text string or inline string: its runs' <t> texts, phonetic runs
    (<rPh>) left out."""

    def __init__(self, prefix: bytes):
        p = re.escape(prefix)
        self._phonetic = re.compile(rb"<%srPh\b.*?</%srPh\s*>" % (p, p), re.S)
        self._t = re.compile(rb"<%st(?:\s[^>]*)?>(.*?)</%st\s*>" % (p, p), re.S)

    def text(self, content: bytes) -> bytes:
        if b"<!--" in content:
            content = _COMMENT.sub(b"", content)
        content = self._phonetic.sub(b"", content)
        return b"".join(unescape(t) for t in self._t.findall(content))


def _prolog_prefix(data: bytes) -> bytes | None:
    """The namespace prefix of the root element ("" or e.g. "x:"); refuses a DTD.

    A DTD can only stand before the root element, so looking there is enough to know the
    document declares no entities. None when the root has not arrived yet."""
    pos = 0
    while True:
        start = data.find(b"<", pos)
        if start < 0 or start + 1 >= len(data):
            return None
        nxt = data[start + 1 : start + 2]
        if nxt == b"?":
            end = data.find(b"?>", start)
        elif data.startswith(b"<!--", start):
            end = data.find(b"-->", start)
        elif nxt == b"!":
            raise BookRefused(_("The file contains a document type declaration; refused for safety."), "dtd")
        else:
            m = _ROOT.match(data, start)
            if m is None:
                return None
            return (m.group(1) + b":") if m.group(1) else b""
        if end < 0:
            return None
        pos = end + 2


class SheetReader:
    """Streams one sheet's rows. Set `wanted` to the column indexes to decode (None: all)."""

    def __init__(self, book: XlsxBook, sheet: Sheet):
        self.book = book
        self.sheet = sheet
        self.wanted: set[int] | None = None
        self.size = book.member_size(sheet.path)
        self.bytes_read = 0
        self._date_styles = book._date_styles
        self._scientific_styles = book._scientific_styles
        self._recalculate = book.recalculate_on_open
        self._max_row = book.limits.max_row_bytes
        self._epoch = datetime.date(1904, 1, 1) if book.date1904 else datetime.date(1899, 12, 30)
        self._attr_cache: dict[bytes, int] = {}
        self._col_cache: dict[bytes, int] = {}
        self._date_cache: dict[bytes, object] = {}
        self._rich: _RichText | None = None
        self._last_row = 0

    @property
    def fraction(self) -> float:
        return min(1.0, self.bytes_read / self.size) if self.size else 1.0

    def rows(self) -> Iterator[Row]:
        """Every row that has at least one cell, in order."""
        row_pattern = None
        tail = b""
        in_data = False
        row_end = b""
        for block, done in self.book.blocks(self.sheet.path):
            data = tail + block
            tail = b""
            if row_pattern is None:
                prefix = _prolog_prefix(data)
                if prefix is None:
                    if len(data) > self._max_row:
                        raise _damaged()
                    tail = data
                    continue
                self._compile(prefix)
                row_pattern = True
                row_end = b"</%srow>" % prefix
                sheet_data = b"<%ssheetData" % prefix
                sheet_data_end = b"</%ssheetData" % prefix
            if not in_data:
                start = data.find(sheet_data)
                if start < 0:
                    tail = data[-64:]
                    continue
                in_data = True
                data = data[start:]
            stop = data.find(sheet_data_end)
            if stop >= 0:
                data = data[:stop]
            else:
                cut = data.rfind(row_end)
                if cut < 0:
                    if len(data) > self._max_row:
                        raise row_too_long(self._last_row + 1, self._max_row)
                    tail = data
                    continue
                cut += len(row_end)
                data, tail = data[:cut], data[cut:]
            self.bytes_read = done
            if b"<!--" in data:
                data = _COMMENT.sub(b"", data)
            try:
                yield from self._rows_in(data.split(row_end))
            except UnicodeDecodeError:
                raise _not_utf8() from None
            if stop >= 0:
                break
        self.bytes_read = self.size

    def _compile(self, prefix: bytes) -> None:
        p = re.escape(prefix)
        self._row = re.compile(rb"<%srow(?=[\s/>])(?:\s+r=[\"'](\d+)[\"'])?([^>]*)>" % p)
        self._row_open = b"<%srow" % prefix
        # Groups: column letters when `r` comes first (as every writer puts it), the other
        # attributes, the value when the content is a plain <v>, else the whole content.
        self._cell = re.compile(
            rb"<%sc(?=[\s/>])(?:\s+r=[\"']([A-Z]{1,3})\d*[\"'])?([^>]*)>"
            rb"(?:(?<=/>)|<%sv>([^<]*)</%sv></%sc>|(.*?)</%sc\s*>)" % (p, p, p, p, p),
            re.S,
        )
        self._v = re.compile(rb"<%sv(?:\s[^>]*)?>(.*?)</%sv\s*>" % (p, p), re.S)
        self._is = re.compile(rb"<%sis(?:\s[^>]*)?>(.*?)</%sis\s*>" % (p, p), re.S)
        self._f_open = b"<%sf" % prefix
        self._f = re.compile(rb"<%sf(?=[\s/>])[^>]*?(?:/>|>(.*?)</%sf\s*>)" % (p, p), re.S)
        self._rich = _RichText(prefix)

    def _rows_in(self, pieces: list[bytes]) -> Iterator[Row]:
        """Rows from the text between `</row>` tags: each piece ends with at most one
        open row (self-closing, empty rows may stand before it)."""
        row_open = self._row_open
        head = self._row
        cells = self._cells
        limit = self._max_row
        for piece in pieces:
            if len(piece) > limit:
                raise row_too_long(self._last_row + 1, limit)
            at = piece.rfind(row_open)
            if at < 0:
                continue
            m = head.match(piece, at)
            if m is None:
                continue
            number, attrs = m.group(1), m.group(2)
            if number:
                self._last_row = int(number)
            else:
                found = _attr_int(attrs, b"r")
                self._last_row = found if found is not None else self._last_row + piece.count(row_open)
            if attrs.endswith(b"/"):
                continue
            content = piece[m.end() :]
            if content:
                hidden = b"hidden" in attrs and _attr_value(attrs, b"hidden") in (b"1", b"true")
                yield Row(self._last_row, cells(content, self.wanted), content, self, hidden)

    def _cells(self, content: bytes, wanted: set[int] | None) -> dict[int, object]:
        values: dict[int, object] = {}
        col_cache = self._col_cache
        attr_cache = self._attr_cache
        strings = offsets = None
        position = -1
        for letters, rest, plain, other in self._cell.findall(content):
            if letters:
                index = col_cache.get(letters)
                if index is None:
                    index = col_cache[letters] = column_index(letters)
                kind = attr_cache.get(rest)
                if kind is None:
                    kind = self._kind(rest)
                    if len(attr_cache) < 4096:
                        attr_cache[rest] = kind
            else:
                ref = _attr_value(rest, b"r")
                m = _REF.match(ref) if ref else None
                index = column_index(m.group(1)) if m else position + 1
                kind = self._kind(rest)  # the reference varies per cell: not cached
            position = index
            if wanted is not None and index not in wanted:
                continue
            if plain:
                v = plain
                if len(v) > MAX_CELL_CHARS:
                    _check_cell_length(unescape(v), self._last_row)
            elif not other:
                continue
            elif kind == K_INLINE:
                m = self._is.search(other)
                text = self._rich.text(m.group(1)) if m else b""
                if len(text) > MAX_CELL_CHARS:
                    _check_cell_length(text, self._last_row)
                values[index] = text.decode()
                continue
            else:
                m = self._v.search(other)
                if self._f_open in other:
                    f = self._f.search(other)
                    # An empty cached text is a formula's result ""; an empty number is none.
                    if m is None or self._recalculate or not (m.group(1) or kind == K_TEXT):
                        formula = unescape(f.group(1) or b"").decode() if f else ""
                        values[index] = Uncalculated(formula[:200])
                        continue
                if m is None:
                    continue
                v = m.group(1)
                if b"<![CDATA[" in v or kind == K_TEXT:
                    v = unescape(v)
                if len(v) > MAX_CELL_CHARS:
                    _check_cell_length(v, self._last_row)
            if kind == K_SHARED:
                if strings is None:
                    store = self.book.shared_strings
                    strings, offsets = store.data, store.offsets
                try:
                    i = int(v)
                    values[index] = strings[offsets[i] : offsets[i + 1]].decode()
                except (ValueError, IndexError) as exc:
                    raise _damaged() from exc
            elif kind == K_NUMBER:
                if v.isdigit():
                    values[index] = int(v)
                else:
                    values[index] = _number(v)
            elif kind == K_SCIENTIFIC:
                number = _number(v)
                values[index] = Scientific(number) if type(number) in (int, float) else number
            elif kind == K_DATE:
                found = self._date_cache.get(v)
                if found is None:
                    found = self._serial_date(v)
                    if len(self._date_cache) < 100_000:
                        self._date_cache[v] = found
                values[index] = found
            elif kind == K_TEXT:
                values[index] = (unescape(v) if plain else v).decode()
            elif kind == K_BOOL:
                values[index] = v.strip() in (b"1", b"true")
            elif kind == K_ERROR:
                values[index] = CellError(unescape(v).decode().strip())
            elif kind == K_ISO_DATE:
                values[index] = _iso_datetime(v.decode())
            else:
                values[index] = unescape(v).decode()
        return values

    def _kind(self, rest: bytes) -> int:
        t = _attr_value(rest, b"t") or b"n"
        if t == b"n":
            style = _attr_int(rest, b"s") or 0
            if style in self._date_styles:
                return K_DATE
            return K_SCIENTIFIC if style in self._scientific_styles else K_NUMBER
        return _KINDS.get(t, K_TEXT)

    def _serial_date(self, v: bytes):
        try:
            serial = float(v)
        except ValueError:
            return v.decode(errors="replace")
        if not 0 <= serial < 2958466:
            return serial
        days = int(serial)
        if not self.book.date1904 and days < 61:
            days += 1  # Excel's phantom 1900-02-29
        day = self._epoch + datetime.timedelta(days=days)
        seconds = round((serial - int(serial)) * 86400)
        if seconds:
            return datetime.datetime.combine(day, datetime.time()) + datetime.timedelta(seconds=seconds)
        return day


K_NUMBER, K_DATE, K_SHARED, K_TEXT, K_INLINE, K_BOOL, K_ISO_DATE, K_ERROR, K_SCIENTIFIC = range(9)
_KINDS = {
    b"s": K_SHARED,
    b"str": K_TEXT,
    b"e": K_ERROR,
    b"inlineStr": K_INLINE,
    b"b": K_BOOL,
    b"d": K_ISO_DATE,
}


def _number(v: bytes):
    v = v.strip()
    if v.isdigit():
        return int(v)
    if not _NUMBER.match(v):
        return v.decode(errors="replace")
    number = float(v)
    if b"e" in v or b"E" in v:
        return Scientific(number)  # 3.30126216075298E+018: digits beyond the shown ones are lost
    if number.is_integer() and b"." not in v and abs(number) < 2**53:
        return int(number)
    return number


def _attr_value(attrs: bytes, name: bytes) -> bytes | None:
    if not attrs:
        return None
    for key, v1, v2 in _ATTR.findall(attrs):
        if key == name:
            return v1 or v2
    return None


def _attr_int(attrs: bytes, name: bytes) -> int | None:
    value = _attr_value(attrs, name)
    if value is None:
        return None
    try:
        return int(value)
    except ValueError:
        return None


def _iso_datetime(text: str):
    m = _ISO_DATE.match(text.strip())
    if not m:
        return text
    try:
        y, mo, d = int(m.group(1)), int(m.group(2)), int(m.group(3))
        if m.group(4):
            return datetime.datetime(y, mo, d, int(m.group(4)), int(m.group(5)), int(m.group(6) or 0))
        return datetime.date(y, mo, d)
    except ValueError:
        return text


def _mb(size: int) -> str:
    return f"{size / (1024 * 1024):.1f}".rstrip("0").rstrip(".")
