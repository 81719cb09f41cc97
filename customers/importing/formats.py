"""Which kind of file a loan book is, told by its content (never by its name), and the
reader for it: .xlsx, legacy .xls, or CSV. Anything else is refused with a message that
says what the file is and what to do."""

from __future__ import annotations

import os
import zipfile

from django.utils.translation import gettext as _

from .cells import BookRefused, Limits

OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"


def open_book(source, *, limits: Limits | None = None, close_file: bool = False, name: str = ""):
    """An XlsxBook, XlsBook or CsvBook for `source` (a path or a binary file object)."""
    from .csvbook import CsvBook
    from .xlsbook import XlsBook
    from .xlsx import XlsxBook

    limits = limits or Limits.from_settings()
    own = None
    if isinstance(source, str | os.PathLike):
        name = name or os.path.basename(os.fspath(source))
        own = source = open(source, "rb")  # noqa: SIM115 - handed to the book, which closes it
        close_file = True
    try:
        source.seek(0)
        head = source.read(8192)
        source.seek(0)
        kind = _sniff(source, head)
    except BaseException:
        if own is not None:
            own.close()
        raise
    try:
        if kind == "xlsx":
            return XlsxBook(source, limits=limits, close_file=close_file)
        if kind == "xls":
            return XlsBook(source, limits=limits, close_file=close_file, name=name)
        return CsvBook(source, limits=limits, close_file=close_file, name=name)
    except BaseException:
        if own is not None:
            own.close()
        raise


def _sniff(fh, head: bytes) -> str:
    if not head:
        raise BookRefused(_("The file is empty."), "not_xlsx")
    if head.startswith(b"PK\x03\x04"):
        _refuse_other_zip(fh)
        return "xlsx"
    if head.startswith(OLE_MAGIC):
        return _ole_kind(fh)
    if head.startswith(b"%PDF"):
        raise BookRefused(_("This is a PDF file; export the loan book as .xlsx or .csv instead."), "pdf")
    if head.startswith((b"\x89PNG", b"\xff\xd8\xff", b"GIF8")):
        raise BookRefused(
            _("This is a picture, not a loan book; export the loan book as .xlsx or .csv."), "image"
        )
    if head.startswith((b"Rar!", b"7z\xbc\xaf", b"\x1f\x8b")):
        raise BookRefused(
            _("This is a compressed archive; unpack it and upload the .xlsx or .csv inside."), "archive"
        )
    text = _text_start(head)
    if text.startswith("{\\rtf"):
        raise BookRefused(_("This is a Word (RTF) document; save the loan book as .xlsx or .csv."), "rtf")
    lowered = text[:4096].lower()
    if lowered.startswith("mime-version:") or "content-type: multipart/related" in lowered:
        raise BookRefused(
            _(
                "This is a web archive (.mht) saved by a browser or Excel; open it in Excel and save it as .xlsx or .csv."
            ),
            "html",
        )
    if lowered.startswith("<"):
        if "urn:schemas-microsoft-com:office:spreadsheet" in lowered and "<workbook" in lowered:
            raise BookRefused(
                _(
                    "This is an “XML Spreadsheet 2003” file, not a real Excel workbook; open it in Excel "
                    "and save it as .xlsx (Excel workbook) or .csv."
                ),
                "xml_spreadsheet",
            )
        if any(tag in lowered for tag in ("<html", "<table", "<!doctype html", "<head", "<body", "<meta")):
            raise BookRefused(
                _(
                    "This is a web page (HTML) with a table, not a real Excel file, although it may be named "
                    ".xls; open it in Excel and save it as .xlsx (Excel workbook) or .csv."
                ),
                "html",
            )
    return "csv"


def _text_start(head: bytes) -> str:
    for bom, encoding in ((b"\xef\xbb\xbf", "utf-8"), (b"\xff\xfe", "utf-16-le"), (b"\xfe\xff", "utf-16-be")):
        if head.startswith(bom):
            return head[len(bom) :].decode(encoding, errors="ignore").lstrip()
    return head.decode("latin-1").lstrip()


def _refuse_other_zip(fh) -> None:
    """ODS, Word and PowerPoint files are ZIP archives too: say which one this is. A ZIP
    that cannot be opened goes on to the .xlsx reader, which says it is damaged."""
    try:
        archive = zipfile.ZipFile(fh)
    except (zipfile.BadZipFile, OSError, EOFError, ValueError):
        fh.seek(0)
        return
    try:
        names = set(archive.namelist())
        mimetype = b""
        if "mimetype" in names and archive.getinfo("mimetype").file_size < 200:
            mimetype = archive.read("mimetype")
    except (zipfile.BadZipFile, OSError, EOFError, ValueError, NotImplementedError):
        mimetype = b""
        names = set()
    finally:
        archive.close()
        fh.seek(0)
    if mimetype.startswith(b"application/vnd.oasis.opendocument.spreadsheet"):
        raise BookRefused(
            _(
                "This is an ODS file; save it as .xlsx or .csv (ODS is the spreadsheet format of LibreOffice and WPS)."
            ),
            "ods",
        )
    if mimetype.startswith(b"application/vnd.oasis.opendocument"):
        raise BookRefused(_("This is an OpenDocument text or presentation, not a loan book."), "odf")
    if "word/document.xml" in names:
        raise BookRefused(_("This is a Word document, not a loan book; upload the .xlsx or .csv."), "docx")
    if any(n.startswith("ppt/") for n in names):
        raise BookRefused(_("This is a PowerPoint file, not a loan book; upload the .xlsx or .csv."), "pptx")
    if names and not any(n.startswith("xl/") or n == "[Content_Types].xml" for n in names):
        raise BookRefused(
            _("This is a ZIP archive, not an Excel workbook; unpack it and upload the .xlsx or .csv inside."),
            "archive",
        )


def _ole_kind(fh) -> str:
    """A compound document: an .xls workbook, or something else saved by Office."""
    from xlrd import compdoc

    data = fh.read()
    fh.seek(0)
    try:
        with open(os.devnull, "w") as quiet:
            names = {d.name for d in compdoc.CompDoc(data, logfile=quiet).dirlist}
    except Exception:
        raise BookRefused(_("The file is damaged or incomplete (not a readable .xls)."), "damaged") from None
    if "EncryptedPackage" in names or "EncryptionInfo" in names:
        raise BookRefused(
            _("The workbook is password-protected; open it in Excel and save it without a password."),
            "encrypted",
        )
    if "Workbook" in names or "Book" in names:
        return "xls"
    if "WordDocument" in names:
        raise BookRefused(
            _("This is a Word document (.doc), not a loan book; upload the .xlsx or .csv."), "doc"
        )
    if "PowerPoint Document" in names:
        raise BookRefused(_("This is a PowerPoint file, not a loan book; upload the .xlsx or .csv."), "ppt")
    raise BookRefused(
        _("This Office file holds no workbook; save the loan book as .xlsx or .csv."), "not_xlsx"
    )
