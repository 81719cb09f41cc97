"""Loan books written the way each producer writes them: xlsxwriter and openpyxl scripts,
Excel-style packages (numbers in ID columns, scientific styles, hidden rows, merged
two-row headers), CSV in the encodings Chinese Excel and core systems use, .xls (xlwt),
and, when LibreOffice is installed, files converted by LibreOffice itself."""

from __future__ import annotations

import csv
import io
import shutil
import subprocess
from pathlib import Path
from xml.sax.saxutils import escape

import pytest

from tests.customers.xlsx import AS_OF, HEADERS, MAIN, package

FIELDS = list(HEADERS)
SOFFICE = shutil.which("soffice") or shutil.which("libreoffice")


def grid(rows: list[dict], headers: dict[str, str] | None = None) -> list[list]:
    headers = headers or HEADERS
    fields = list(headers)
    return [[headers[f] for f in fields]] + [[row.get(f) for f in fields] for row in rows]


# --- CSV --------------------------------------------------------------------------------------------
def csv_bytes(lines: list[list], *, encoding: str = "utf-8", delimiter: str = ",") -> bytes:
    """A CSV as Excel saves one: every value as its displayed text, CRLF line ends."""
    out = io.StringIO()
    writer = csv.writer(out, delimiter=delimiter, lineterminator="\r\n")
    for line in lines:
        writer.writerow(["" if v is None else _shown(v) for v in line])
    return out.getvalue().encode(encoding)


def _shown(value) -> str:
    if isinstance(value, float):
        return f"{value:.2f}"
    return str(value)


# --- xlsxwriter --------------------------------------------------------------------------------------
def xlsxwriter_book(lines: list[list], *, formulas: dict[tuple[int, int], str] | None = None) -> bytes:
    """What a pandas/xlsxwriter script writes: numbers as numbers, formulas with a cached 0
    and "recalculate on open"."""
    import xlsxwriter

    out = io.BytesIO()
    workbook = xlsxwriter.Workbook(out, {"in_memory": True})
    sheet = workbook.add_worksheet("逾期清单")
    for r, line in enumerate(lines):
        for c, value in enumerate(line):
            if value is None:
                continue
            if formulas and (r, c) in formulas:
                sheet.write_formula(r, c, formulas[(r, c)])
            elif hasattr(value, "isoformat"):
                sheet.write_datetime(
                    r, c, _as_datetime(value), workbook.add_format({"num_format": "yyyy-mm-dd"})
                )
            else:
                sheet.write(r, c, value)
    workbook.close()
    return out.getvalue()


def _as_datetime(value):
    import datetime

    if isinstance(value, datetime.datetime):
        return value
    return datetime.datetime.combine(value, datetime.time())


# --- Excel-style raw packages ------------------------------------------------------------------------
SCIENTIFIC_STYLES = (
    f'<styleSheet xmlns="{MAIN}"><numFmts count="1"><numFmt numFmtId="164" formatCode="0.00E+00"/></numFmts>'
    '<cellXfs count="3"><xf numFmtId="0"/><xf numFmtId="164"/><xf numFmtId="14"/></cellXfs></styleSheet>'
)


def excel_package(
    rows: list[list], *, hidden: tuple[int, ...] = (), styles: dict[tuple[int, int], int] | None = None
) -> bytes:
    """An .xlsx as Excel writes it: numbers as <v>, text inline, optional cell styles (1:
    scientific, 2: date), hidden rows (1-based numbers). Values given as `("raw", "<v> text")`
    are written as that number text (e.g. "3.30126216075298E+18")."""
    lines = []
    for r, row in enumerate(rows, start=1):
        cells = []
        for c, value in enumerate(row):
            if value is None:
                continue
            ref = f"{_col(c)}{r}"
            style = f' s="{styles[(r, c)]}"' if styles and (r, c) in styles else ""
            if isinstance(value, tuple) and value[0] == "raw":
                cells.append(f'<c r="{ref}"{style}><v>{value[1]}</v></c>')
            elif isinstance(value, tuple) and value[0] == "formula":
                cached = f"<v>{value[2]}</v>" if len(value) > 2 else ""
                cells.append(f'<c r="{ref}"{style}><f>{escape(value[1])}</f>{cached}</c>')
            elif isinstance(value, str):
                cells.append(f'<c r="{ref}" t="inlineStr"><is><t>{escape(value)}</t></is></c>')
            elif hasattr(value, "isoformat"):
                import datetime

                serial = (value - datetime.date(1899, 12, 30)).days
                cells.append(f'<c r="{ref}" s="2"><v>{serial}</v></c>')
            else:
                cells.append(f'<c r="{ref}"{style}><v>{value!r}</v></c>')
        attrs = ' hidden="1"' if r in hidden else ""
        lines.append(f'<row r="{r}"{attrs}>{"".join(cells)}</row>')
    sheet = (
        f'<?xml version="1.0"?><worksheet xmlns="{MAIN}"><sheetData>{"".join(lines)}</sheetData></worksheet>'
    )
    return package(sheet, styles_xml=SCIENTIFIC_STYLES)


def _col(index: int) -> str:
    letters = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


# --- .xls ------------------------------------------------------------------------------------------------
def xls_book(
    lines: list[list], *, hidden: tuple[int, ...] = (), scientific: tuple[tuple[int, int], ...] = ()
) -> bytes:
    """A legacy .xls (BIFF8) as xlwt writes it: numbers as numbers, dates styled as dates."""
    import xlwt

    workbook = xlwt.Workbook(encoding="utf-8")
    sheet = workbook.add_sheet("逾期清单")
    date_style = xlwt.easyxf(num_format_str="YYYY-MM-DD")
    sci_style = xlwt.easyxf(num_format_str="0.00E+00")
    for r, line in enumerate(lines):
        for c, value in enumerate(line):
            if value is None:
                continue
            if hasattr(value, "isoformat"):
                sheet.write(r, c, value, date_style)
            elif (r, c) in scientific:
                sheet.write(r, c, value, sci_style)
            else:
                sheet.write(r, c, value)
        if r + 1 in hidden:
            sheet.row(r).hidden = True
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


# --- LibreOffice -----------------------------------------------------------------------------------------
needs_libreoffice = pytest.mark.skipif(SOFFICE is None, reason="LibreOffice (soffice) is not installed")


def libreoffice_convert(path: Path, target: str, *, csv_filter: str | None = None) -> Path:
    """Convert `path` with LibreOffice itself (`target`: xlsx, xls, ods, csv)."""
    out_dir = path.parent / f"lo-{target}"
    out_dir.mkdir(exist_ok=True)
    command = [SOFFICE, "--headless", "--norestore", f"-env:UserInstallation=file://{path.parent}/lo-profile"]
    if csv_filter:
        command.append(f"--infilter={csv_filter}")
    convert = target if target != "csv" else "csv:Text - txt - csv (StarCalc):44,34,76,1"
    command += ["--convert-to", convert, "--outdir", str(out_dir), str(path)]
    subprocess.run(command, check=True, capture_output=True, timeout=120)
    produced = out_dir / (path.stem + "." + target)
    assert produced.exists(), f"LibreOffice made no {produced.name}"
    return produced


__all__ = ["AS_OF", "SOFFICE"]
