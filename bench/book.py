"""Write a synthetic loan book the way Excel writes one: every text cell in a shared-string
table, dates as serial numbers with a date style, a title line above the header.

Spellings are mixed on purpose (phones with +86 / 0086 / dashes / spaces or stored as
numbers, amounts as numbers or `12,345.60` / `¥12,345.60` / `12345.6元`, dates as Excel
dates or `2026-11-01` / `2026/11/01` / `20261101` / `2026年11月1日`), a few landlines,
missing and shared mobiles, and a customer per 1.4 loans.
"""

from __future__ import annotations

import datetime
import zipfile
from xml.sax.saxutils import escape

HEADERS = [
    "客户号",
    "客户姓名",
    "证件号码",
    "手机号码",
    "贷款账号",
    "贷款产品",
    "网点",
    "合同金额",
    "贷款余额",
    "逾期本金",
    "逾期利息",
    "罚息",
    "逾期金额",
    "首次逾期日期",
    "逾期天数",
    "下次还款日",
]
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘"
GIVEN = ["伟", "芳", "娜", "秀英", "敏", "静", "丽", "强", "磊", "军", "洋", "勇", "艳", "杰", "建华"]
PRODUCTS = ["个人消费贷", "个人经营贷", "信用卡分期", "住房按揭贷"]
BRANCHES = ["杭州西湖支行", "杭州滨江支行", "宁波海曙支行", "温州鹿城支行", "上海浦东支行"]
EXCEL_EPOCH = datetime.date(1899, 12, 30)
COLUMNS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"


def _mobile(k: int) -> str:
    # A valid mainland mobile per customer; every 101st customer shares its neighbour's.
    owner = k - 1 if k % 101 == 100 else k
    return f"1{'3578'[owner % 4]}{owner % 10}{(owner * 7919) % 100_000_000:08d}"


def phone_cell(k: int):
    """The customer's phone in one of the spellings bank exports use (or a problem)."""
    if k % 89 == 7:
        return None
    if k % 97 == 11:
        return "0571-8765" + f"{k % 10000:04d}"
    national = _mobile(k)
    spelling = k % 5
    if spelling == 0:
        return int(national)
    if spelling == 1:
        return f"+86 {national[:3]} {national[3:7]} {national[7:]}"
    if spelling == 2:
        return f"0086-{national[:3]}-{national[3:7]}-{national[7:]}"
    if spelling == 3:
        return f"{national[:3]}-{national[3:7]}-{national[7:]}"
    return national


def amount_cell(cents: int, spelling: int):
    value = cents / 100
    if spelling == 0:
        return value
    if spelling == 1:
        return f"{value:,.2f}"
    if spelling == 2:
        return f"¥{value:,.2f}"
    if spelling == 3:
        return f"{value:g}元" if cents % 100 else f"{cents // 100}元"
    return value


def date_cell(day: datetime.date, spelling: int):
    if spelling == 0:
        return day  # an Excel date
    if spelling == 1:
        return day.isoformat()
    if spelling == 2:
        return f"{day:%Y/%m/%d}"
    if spelling == 3:
        return f"{day:%Y%m%d}"
    return f"{day.year}年{day.month}月{day.day}日"


def book_row(i: int, as_of: datetime.date) -> list:
    """Row i of the book (0-based): a customer per 1.4 loans, adjacent rows share them."""
    k = i * 5 // 7
    name = SURNAMES[k % len(SURNAMES)] + GIVEN[(k // 7) % len(GIVEN)]
    birth = datetime.date(1960, 1, 1) + datetime.timedelta(days=(k * 37) % 14600)
    id_number = f"{330100 + k % 7:06d}{birth:%Y%m%d}{k % 1000:03d}{'0123456789X'[k % 11]}"
    days = 1 + (i * 13) % 200
    since = as_of - datetime.timedelta(days=days)
    principal_cents = (10 + i % 290) * 100_000
    overdue_principal = 30_000 + (i * 7919) % 2_000_000
    interest = overdue_principal // 20
    penalty = interest // 10
    total = overdue_principal + interest + penalty
    spelling = i % 4
    total_cell = None if i % 23 == 5 else amount_cell(total, spelling)
    since_cell = None if i % 6 == 5 else date_cell(since, i % 5)
    days_cell = days if i % 3 != 1 or since_cell is None else None
    return [
        f"C{10_000_000 + k}",
        name,
        id_number,
        phone_cell(k),
        f"62{i + 1:014d}",
        PRODUCTS[i % len(PRODUCTS)],
        BRANCHES[k % len(BRANCHES)],
        principal_cents // 100,
        amount_cell(principal_cents * 6 // 10, (i + 1) % 4),
        overdue_principal / 100,
        interest / 100,
        penalty / 100,
        total_cell,
        since_cell,
        days_cell,
        as_of + datetime.timedelta(days=1 + i % 27),
    ]


class SharedStrings:
    def __init__(self):
        self.index: dict[str, int] = {}
        self.count = 0

    def ref(self, text: str) -> int:
        self.count += 1
        found = self.index.get(text)
        if found is None:
            found = self.index[text] = len(self.index)
        return found

    def xml(self) -> bytes:
        parts = [
            '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
            '<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
            f'count="{self.count}" uniqueCount="{len(self.index)}">'
        ]
        parts.extend(f"<si><t>{escape(text)}</t></si>" for text in self.index)
        parts.append("</sst>")
        return "".join(parts).encode()


def _cell(ref: str, value, strings: SharedStrings) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return f'<c r="{ref}" t="s"><v>{strings.ref(value)}</v></c>'
    if isinstance(value, datetime.date):
        return f'<c r="{ref}" s="1"><v>{(value - EXCEL_EPOCH).days}</v></c>'
    return f'<c r="{ref}"><v>{value!r}</v></c>'


def write_book(path, rows: int, as_of: datetime.date, title: bool = True) -> None:
    """Write a `rows`-row loan book to `path` (.xlsx with a shared-string table)."""
    strings = SharedStrings()
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=6) as archive:
        archive.writestr("[Content_Types].xml", CONTENT_TYPES)
        archive.writestr("_rels/.rels", ROOT_RELS)
        archive.writestr("xl/workbook.xml", WORKBOOK)
        archive.writestr("xl/_rels/workbook.xml.rels", WORKBOOK_RELS)
        archive.writestr("xl/styles.xml", STYLES)
        with archive.open("xl/worksheets/sheet1.xml", "w", force_zip64=True) as sheet:
            last = rows + (3 if title else 1)
            sheet.write(SHEET_HEAD + f'<dimension ref="A1:P{last}"/><sheetData>'.encode())
            line = 1
            if title:
                sheet.write(
                    f'<row r="1"><c r="A1" t="s"><v>{strings.ref(f"民丰银行 逾期贷款清单 数据日期 {as_of}")}'
                    f"</v></c></row>".encode()
                )
                line = 3  # a blank line between the title and the header
            cells = "".join(_cell(f"{COLUMNS[c]}{line}", h, strings) for c, h in enumerate(HEADERS))
            sheet.write(f'<row r="{line}">{cells}</row>'.encode())
            buffer = []
            for i in range(rows):
                line += 1
                values = book_row(i, as_of)
                cells = "".join(_cell(f"{COLUMNS[c]}{line}", v, strings) for c, v in enumerate(values))
                buffer.append(f'<row r="{line}" spans="1:16">{cells}</row>')
                if len(buffer) >= 2000:
                    sheet.write("".join(buffer).encode())
                    buffer.clear()
            sheet.write("".join(buffer).encode())
            sheet.write(b"</sheetData></worksheet>")
        archive.writestr("xl/sharedStrings.xml", strings.xml())


CONTENT_TYPES = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
    '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
    '<Default Extension="xml" ContentType="application/xml"/>'
    '<Override PartName="/xl/workbook.xml" '
    'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
    '<Override PartName="/xl/worksheets/sheet1.xml" '
    'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
    '<Override PartName="/xl/styles.xml" '
    'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.styles+xml"/>'
    '<Override PartName="/xl/sharedStrings.xml" '
    'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"/>'
    "</Types>"
)
ROOT_RELS = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    '<Relationship Id="rId1" '
    'Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" '
    'Target="xl/workbook.xml"/></Relationships>'
)
WORKBOOK = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    '<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
    'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">'
    '<sheets><sheet name="逾期清单" sheetId="1" r:id="rId1"/></sheets></workbook>'
)
WORKBOOK_RELS = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    '<Relationship Id="rId1" '
    'Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" '
    'Target="worksheets/sheet1.xml"/>'
    '<Relationship Id="rId2" '
    'Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/styles" '
    'Target="styles.xml"/>'
    '<Relationship Id="rId3" '
    'Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/sharedStrings" '
    'Target="sharedStrings.xml"/></Relationships>'
)
STYLES = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    '<styleSheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
    '<fonts count="1"><font><sz val="11"/><name val="等线"/></font></fonts>'
    '<fills count="2"><fill><patternFill patternType="none"/></fill>'
    '<fill><patternFill patternType="gray125"/></fill></fills>'
    '<borders count="1"><border><left/><right/><top/><bottom/><diagonal/></border></borders>'
    '<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs>'
    '<cellXfs count="2"><xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/>'
    '<xf numFmtId="14" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/></cellXfs>'
    '<cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/></cellStyles>'
    "</styleSheet>"
)
SHEET_HEAD = (
    b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    b'<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
    b'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">'
)


def _shown(value) -> str:
    """A cell as a spreadsheet saving CSV writes it: its displayed text."""
    if value is None:
        return ""
    if isinstance(value, datetime.date):
        return value.isoformat()
    if isinstance(value, float):
        return f"{value:.2f}"
    return str(value)


def write_csv(path, rows: int, as_of: datetime.date, encoding: str = "utf-8-sig") -> None:
    """The same book as CSV, as Excel's "CSV UTF-8" saves it (BOM, CRLF, quoted when needed)."""
    import csv

    with open(path, "w", encoding=encoding, newline="") as handle:
        writer = csv.writer(handle, lineterminator="\r\n")
        writer.writerow(HEADERS)
        for i in range(rows):
            writer.writerow([_shown(v) for v in book_row(i, as_of)])


XLS_MAX_ROWS = 65_535  # BIFF8: 65,536 rows per sheet, one of them the header


def write_xls(path, rows: int, as_of: datetime.date) -> None:
    """The same book as a legacy .xls (xlwt, a test/bench-only requirement)."""
    import xlwt

    if rows > XLS_MAX_ROWS:
        raise SystemExit(
            f".xls holds at most {XLS_MAX_ROWS:,} rows on a sheet; use --rows {XLS_MAX_ROWS} or fewer"
        )
    workbook = xlwt.Workbook(encoding="utf-8")
    sheet = workbook.add_sheet("逾期清单")
    date_style = xlwt.easyxf(num_format_str="YYYY-MM-DD")
    for c, title in enumerate(HEADERS):
        sheet.write(0, c, title)
    for i in range(rows):
        for c, value in enumerate(book_row(i, as_of)):
            if value is None:
                continue
            if isinstance(value, datetime.date):
                sheet.write(i + 1, c, value, date_style)
            else:
                sheet.write(i + 1, c, value)
    workbook.save(str(path))
