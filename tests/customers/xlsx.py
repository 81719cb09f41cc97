"""Small loan-book files built inside the tests.

`book()` writes with openpyxl (inline strings, real Excel dates); `shared_strings=True`
rewrites the sheet the way Excel itself stores text: in a shared-string table. `package()`
assembles an .xlsx from raw XML parts for the files openpyxl would never write (namespace
prefixes, DTDs, zip bombs).
"""

from __future__ import annotations

import datetime
import io
import zipfile
from xml.sax.saxutils import escape

from openpyxl import Workbook

AS_OF = datetime.date(2026, 11, 28)
HEADERS = {
    "customer_no": "客户号",
    "customer_name": "客户姓名",
    "id_number": "证件号码",
    "mobile": "手机号码",
    "loan_account": "贷款账号",
    "product": "贷款产品",
    "branch": "网点",
    "overdue_principal": "逾期本金",
    "overdue_interest": "逾期利息",
    "penalty": "罚息",
    "overdue_amount": "逾期金额",
    "overdue_since": "首次逾期日期",
    "days_overdue": "逾期天数",
}
_counter = iter(range(1, 10**9))


def loan(**values) -> dict:
    """A valid row (overdue 1,234.56 since 10 days before AS_OF); override any field."""
    n = next(_counter)
    row = {
        "customer_no": f"C{n:05d}",
        "customer_name": "张三",
        "id_number": f"33010219800101{n % 1000:03d}X",
        "mobile": f"1381234{n % 10000:04d}",
        "loan_account": f"6200{n:010d}",
        "product": "个人消费贷",
        "branch": "杭州西湖支行",
        "overdue_principal": 1000.0,
        "overdue_interest": 200.0,
        "penalty": 34.56,
        "overdue_amount": 1234.56,
        "overdue_since": AS_OF - datetime.timedelta(days=10),
        "days_overdue": None,
    }
    row.update(values)
    return row


def book(
    rows: list[dict],
    *,
    headers: dict[str, str] | None = None,
    before: list[list] | None = None,
    extra_sheets_first: list[list[list]] | None = None,
    shared_strings: bool = False,
    blank_rows_after: tuple[int, ...] = (),
) -> bytes:
    """An .xlsx with a header row (after the `before` rows) and one row per dict."""
    headers = headers or HEADERS
    workbook = Workbook()
    first = workbook.active
    sheets = []
    for content in extra_sheets_first or []:
        sheet = first if not sheets else workbook.create_sheet()
        sheets.append(sheet)
        for line in content:
            sheet.append(line)
    sheet = workbook.create_sheet("逾期清单") if sheets else first
    if not sheets:
        sheet.title = "逾期清单"
    for line in before or []:
        sheet.append(line)
    fields = list(headers)
    sheet.append([headers[f] for f in fields])
    for i, row in enumerate(rows):
        sheet.append([row.get(f) for f in fields])
        if i in blank_rows_after:
            sheet.append([])
            sheet.append([None, "  "])
    buffer = io.BytesIO()
    workbook.save(buffer)
    data = buffer.getvalue()
    return to_shared_strings(data) if shared_strings else data


def to_shared_strings(data: bytes) -> bytes:
    """Rewrite every inline string as an entry of a shared-string table, as Excel does."""
    import re

    source = zipfile.ZipFile(io.BytesIO(data))
    strings: dict[str, int] = {}
    inline = re.compile(
        rb'<c r="([A-Z]+\d+)"( s="\d+")? t="inlineStr"><is><t(?: [^>]*)?>(.*?)</t></is></c>', re.S
    )

    def shared(m: re.Match) -> bytes:
        text = m.group(3).decode()
        index = strings.setdefault(text, len(strings))
        return b'<c r="%s"%s t="s"><v>%d</v></c>' % (m.group(1), m.group(2) or b"", index)

    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            content = source.read(info.filename)
            if info.filename.startswith("xl/worksheets/sheet"):
                content = inline.sub(shared, content)
            elif info.filename == "[Content_Types].xml":
                content = content.replace(
                    b"</Types>",
                    b'<Override PartName="/xl/sharedStrings.xml" ContentType="application/'
                    b'vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"/></Types>',
                )
            elif info.filename == "xl/_rels/workbook.xml.rels":
                content = content.replace(
                    b"</Relationships>",
                    b'<Relationship Id="rIdSst" Type="http://schemas.openxmlformats.org/officeDocument/2006/'
                    b'relationships/sharedStrings" Target="sharedStrings.xml"/></Relationships>',
                )
            target.writestr(info.filename, content)
        items = "".join(f"<si><t>{text}</t></si>" for text in strings)  # already escaped XML text
        target.writestr(
            "xl/sharedStrings.xml",
            '<?xml version="1.0" encoding="UTF-8"?>'
            f'<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" count="{len(strings)}" '
            f'uniqueCount="{len(strings)}">{items}</sst>',
        )
    return out.getvalue()


MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"


def package(
    sheet_xml: str | bytes,
    *,
    shared_strings_xml: str | bytes | None = None,
    styles_xml: str | None = None,
    workbook_extra: str = "",
    compresslevel: int = 6,
) -> bytes:
    """An .xlsx from raw parts: one sheet, optional shared strings and styles."""
    rels = [f'<Relationship Id="rId1" Type="{REL}/worksheet" Target="worksheets/sheet1.xml"/>']
    if shared_strings_xml is not None:
        rels.append(f'<Relationship Id="rId2" Type="{REL}/sharedStrings" Target="sharedStrings.xml"/>')
    if styles_xml is not None:
        rels.append(f'<Relationship Id="rId3" Type="{REL}/styles" Target="styles.xml"/>')
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=compresslevel) as archive:
        archive.writestr(
            "[Content_Types].xml",
            '<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
            '<Default Extension="xml" ContentType="application/xml"/></Types>',
        )
        archive.writestr(
            "_rels/.rels",
            '<?xml version="1.0"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
            f'<Relationship Id="rId1" Type="{REL}/officeDocument" Target="xl/workbook.xml"/></Relationships>',
        )
        archive.writestr(
            "xl/workbook.xml",
            f'<?xml version="1.0"?><workbook xmlns="{MAIN}" xmlns:r="{REL}">{workbook_extra}'
            '<sheets><sheet name="Sheet1" sheetId="1" r:id="rId1"/></sheets></workbook>',
        )
        archive.writestr(
            "xl/_rels/workbook.xml.rels",
            '<?xml version="1.0"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
            + "".join(rels)
            + "</Relationships>",
        )
        archive.writestr("xl/worksheets/sheet1.xml", sheet_xml)
        if shared_strings_xml is not None:
            archive.writestr("xl/sharedStrings.xml", shared_strings_xml)
        if styles_xml is not None:
            archive.writestr("xl/styles.xml", styles_xml)
    return out.getvalue()


def sheet_xml(rows: list[list], prefix: str = "") -> str:
    """Sheet XML with inline strings and numbers; `prefix` names the main namespace (e.g. "x:")."""
    p = prefix
    ns = f'xmlns:{prefix[:-1]}="{MAIN}"' if prefix else f'xmlns="{MAIN}"'
    lines = []
    for r, row in enumerate(rows, start=1):
        cells = []
        for c, value in enumerate(row):
            ref = f"{chr(65 + c)}{r}"
            if value is None:
                continue
            if isinstance(value, str):
                cells.append(
                    f'<{p}c r="{ref}" t="inlineStr"><{p}is><{p}t>{escape(value)}</{p}t></{p}is></{p}c>'
                )
            else:
                cells.append(f'<{p}c r="{ref}"><{p}v>{value}</{p}v></{p}c>')
        lines.append(f'<{p}row r="{r}">{"".join(cells)}</{p}row>')
    return f'<?xml version="1.0"?><{p}worksheet {ns}><{p}sheetData>{"".join(lines)}</{p}sheetData></{p}worksheet>'
