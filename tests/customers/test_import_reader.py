"""The streaming .xlsx reader: what it reads, and the files it refuses before parsing."""

import datetime
import io
import struct
import tracemalloc
import zipfile

import openpyxl
import pytest

from bench.book import write_book
from customers.importing.book import find_loan_book
from customers.importing.xlsx import BookRefused, Limits, XlsxBook, is_date_format
from tests.customers.xlsx import AS_OF, book, loan, package, sheet_xml, to_shared_strings

LIMITS = Limits()


def read_all(data: bytes, limits: Limits = LIMITS) -> list[tuple[int, dict]]:
    with XlsxBook(io.BytesIO(data), limits=limits) as workbook:
        return [(row.number, row.values) for row in workbook.reader(workbook.sheets[0]).rows()]


def refused(data: bytes, limits: Limits = LIMITS) -> BookRefused:
    with pytest.raises(BookRefused) as caught, XlsxBook(io.BytesIO(data), limits=limits) as workbook:
        find_loan_book(workbook)
    return caught.value


@pytest.mark.parametrize("shared", [False, True], ids=["inline strings", "shared strings"])
def test_reads_text_numbers_and_excel_dates(shared):
    data = book(
        [loan(customer_name="李四 & 王五 <x>", overdue_amount=1234.5, mobile=13812345678)],
        shared_strings=shared,
    )
    (header_number, header), (number, values) = read_all(data)
    assert header_number == 1 and header[0] == "客户号"
    assert number == 2
    assert values[1] == "李四 & 王五 <x>"
    assert values[3] == 13812345678
    assert values[10] == 1234.5
    assert values[11] == AS_OF - datetime.timedelta(days=10)  # a real Excel date, styled as one


def test_reads_the_same_values_as_openpyxl_on_an_excel_style_book(tmp_path):
    path = tmp_path / "book.xlsx"
    write_book(path, 300, AS_OF)
    expected = []
    workbook = openpyxl.load_workbook(path, read_only=True)
    for row in workbook.worksheets[0].iter_rows():
        values = {c.column - 1: c.value for c in row if c.value is not None}
        if values:
            expected.append(
                {k: v.date() if isinstance(v, datetime.datetime) else v for k, v in values.items()}
            )
    workbook.close()
    with XlsxBook(path, limits=LIMITS) as ours:
        got = [row.values for row in ours.reader(ours.sheets[0]).rows()]
    assert got == expected
    assert len(got) == 302  # title line, header, 300 loans


def test_namespace_prefixed_sheet_rich_text_and_formulas():
    strings = (
        '<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
        "<si><r><t>张</t></r><r><rPr><b/></rPr><t>三</t></r><rPh><t>ZHANG</t></rPh></si>"
        '<si><t xml:space="preserve"> 6200&amp;01 </t></si></sst>'
    )
    sheet = (
        '<x:worksheet xmlns:x="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><x:sheetData>'
        '<x:row r="3"><x:c r="B3" t="s"><x:v>0</x:v></x:c><x:c r="C3" t="s"><x:v>1</x:v></x:c>'
        '<x:c r="D3"><x:f>1+1</x:f><x:v>2</x:v></x:c><x:c r="E3" t="str"><x:f>"a"&amp;"b"</x:f><x:v>ab</x:v></x:c>'
        '<x:c r="F3" t="b"><x:v>1</x:v></x:c><x:c r="G3" t="e"><x:v>#N/A</x:v></x:c><x:c r="H3"/></x:row>'
        "</x:sheetData></x:worksheet>"
    )
    rows = read_all(package(sheet, shared_strings_xml=strings))
    assert rows == [(3, {1: "张三", 2: " 6200&01 ", 3: 2, 4: "ab", 5: True, 6: "#N/A"})]


def test_rows_without_references_are_numbered_in_order():
    sheet = (
        '<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>'
        '<row><c t="inlineStr"><is><t>a</t></is></c><c><v>1</v></c></row><row/>'
        '<row><c t="inlineStr"><is><t>b</t></is></c></row></sheetData></worksheet>'
    )
    assert read_all(package(sheet)) == [(1, {0: "a", 1: 1}), (3, {0: "b"})]


def test_date_styles_from_custom_number_formats():
    styles = (
        '<styleSheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
        '<numFmts count="2"><numFmt numFmtId="164" formatCode="yyyy&quot;年&quot;m&quot;月&quot;d&quot;日&quot;"/>'
        '<numFmt numFmtId="165" formatCode="#,##0.00&quot;元&quot;"/></numFmts>'
        '<cellXfs count="3"><xf numFmtId="0"/><xf numFmtId="164"/><xf numFmtId="165"/></cellXfs></styleSheet>'
    )
    sheet = (
        '<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>'
        '<row r="1"><c r="A1" s="1"><v>46327</v></c><c r="B1" s="2"><v>46327</v></c></row></sheetData></worksheet>'
    )
    assert read_all(package(sheet, styles_xml=styles)) == [(1, {0: datetime.date(2026, 11, 1), 1: 46327})]
    assert is_date_format("yyyy-mm-dd") and is_date_format("m/d/yy h:mm")
    assert (
        not is_date_format('#,##0.00"元"') and not is_date_format("General") and not is_date_format("0.00%")
    )


def test_memory_does_not_grow_with_the_rows(tmp_path, monkeypatch):
    """The reader streams: four times the rows cost no more memory (with a 64 KB read
    block, so that both files span many blocks)."""
    monkeypatch.setattr("customers.importing.xlsx.BLOCK_SIZE", 64 * 1024)

    def peak(rows: int) -> int:
        path = tmp_path / f"{rows}.xlsx"
        sheet = ['<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>']
        sheet += [
            f'<row r="{i}"><c r="A{i}"><v>{i}</v></c><c r="B{i}"><v>{i * 3}.25</v></c></row>'
            for i in range(1, rows)
        ]
        sheet.append("</sheetData></worksheet>")
        path.write_bytes(package("".join(sheet)))
        tracemalloc.start()
        with XlsxBook(path, limits=LIMITS) as workbook:
            count = sum(1 for _row in workbook.reader(workbook.sheets[0]).rows())
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        assert count == rows - 1
        return peak

    small, large = peak(20_000), peak(80_000)
    assert large < small + 256 * 1024


def test_header_found_after_a_title_line_and_in_a_later_sheet():
    data = book([loan()], before=[["民丰银行逾期清单 2026-11-28"], []])
    with XlsxBook(io.BytesIO(data), limits=LIMITS) as workbook:
        assert find_loan_book(workbook).header.row == 3
    data = book([loan()], extra_sheets_first=[[["说明"], ["本文件由核心系统导出"]]])
    with XlsxBook(io.BytesIO(data), limits=LIMITS) as workbook:
        found = find_loan_book(workbook)
        assert found.sheet_name == "逾期清单" and found.header.row == 1


# --- files that cannot be imported at all -------------------------------------------------
def test_refuses_a_file_that_is_not_an_xlsx():
    assert refused("客户号,贷款账号\nC1,62001\n".encode()).code == "not_xlsx"
    assert refused(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 600).code == "not_xlsx"  # an old .xls
    assert refused(b"").code == "not_xlsx"


def test_refuses_a_truncated_file():
    data = book([loan() for _ in range(50)])
    error = refused(data[: len(data) // 2])
    assert error.code == "damaged" and "损坏" in error.message


def test_refuses_a_corrupted_sheet():
    data = bytearray(book([loan() for _ in range(200)], shared_strings=True))
    archive = zipfile.ZipFile(io.BytesIO(bytes(data)))
    info = archive.getinfo("xl/worksheets/sheet1.xml")
    start = info.header_offset + 30 + len(info.filename) + len(info.extra) + 40
    data[start : start + 20] = b"\x00" * 20  # damage the compressed sheet itself
    with pytest.raises(BookRefused) as caught, XlsxBook(io.BytesIO(bytes(data)), limits=LIMITS) as workbook:
        list(find_loan_book(workbook).rows)
    assert caught.value.code == "damaged"


def test_refuses_a_file_without_a_header_row():
    lines = [[f"第{i}行", "说明"] for i in range(12)]
    error = refused(book([loan()], before=lines))  # the header sits in row 13
    assert error.code == "no_header" and "10" in error.message


def test_refuses_a_header_without_the_required_columns():
    headers = {"customer_no": "客户号", "loan_account": "贷款账号", "overdue_amount": "逾期金额"}
    error = refused(book([loan()], headers=headers))
    assert error.code == "missing_columns"
    assert "客户姓名" in error.message and "手机号" in error.message and "首次逾期日期" in error.message


def test_refuses_a_file_over_the_size_limit():
    data = book([loan() for _ in range(20)])
    error = refused(data, Limits(max_bytes=len(data) - 1))
    assert error.code == "too_big" and "MB" in error.message


def test_refuses_a_zip_bomb_by_its_compression_ratio():
    padding = " " * (20 * 1024 * 1024)  # 20 MB of spaces compress about 1000 to 1
    sheet = sheet_xml([["客户号", "贷款账号"], ["C1", "62001"]]).replace(
        "<sheetData>", padding + "<sheetData>"
    )
    data = package(sheet, compresslevel=9)
    assert len(data) < 100 * 1024
    error = refused(data)
    assert error.code == "zip_bomb" and "压缩" in error.message


def test_refuses_a_zip_bomb_by_its_declared_size():
    data = bytearray(package(sheet_xml([["客户号", "贷款账号"], ["C1", "62001"]])))
    # Declare 4 GB for the sheet in the central directory (what a bomb's directory says).
    name = b"xl/worksheets/sheet1.xml"
    at = data.rfind(b"PK\x01\x02", 0, data.rfind(name))
    data[at + 24 : at + 28] = struct.pack("<I", 0xFFFFFFF0)
    error = refused(bytes(data))
    assert error.code == "zip_bomb"


def test_refuses_a_document_type_declaration_before_parsing_it():
    laughs = (
        '<?xml version="1.0"?><!DOCTYPE sst [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;">]>'
        '<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><si><t>&b;</t></si></sst>'
    )
    sheet = (
        '<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>'
        '<row r="1"><c r="A1" t="s"><v>0</v></c></row></sheetData></worksheet>'
    )
    assert refused(package(sheet, shared_strings_xml=laughs)).code == "dtd"
    workbook_dtd = package(sheet_xml([["客户号"]]), workbook_extra="")
    archive = zipfile.ZipFile(io.BytesIO(workbook_dtd))
    parts = {n: archive.read(n) for n in archive.namelist()}
    parts["xl/workbook.xml"] = parts["xl/workbook.xml"].replace(
        b'<?xml version="1.0"?>', b'<?xml version="1.0"?><!DOCTYPE workbook [<!ENTITY x "y">]>'
    )
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as rebuilt:
        for name, content in parts.items():
            rebuilt.writestr(name, content)
    assert refused(out.getvalue()).code == "damaged"


def test_shared_string_conversion_helper_makes_a_real_shared_string_table():
    data = to_shared_strings(book([loan()]))
    names = zipfile.ZipFile(io.BytesIO(data)).namelist()
    assert "xl/sharedStrings.xml" in names
    assert b"inlineStr" not in zipfile.ZipFile(io.BytesIO(data)).read("xl/worksheets/sheet1.xml")
