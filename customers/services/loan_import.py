"""Importing the loan book: the workflow. Validate every row, then apply the file as one
transaction.

One streaming pass reads the file (.xlsx, .xls or CSV: `importing/formats.py`) in chunks
of rows. Each chunk is validated (`importing/rows.py`), then handed to the bulk writer
(`loan_writer.py`), which asks the loan rules (`loan_rules.py`) what each row makes of
its loan and writes only what changed — so a re-import of the same file reads and writes
nothing but its own history row. Memory holds one chunk plus a compact entry per loan
account and customer (for the duplicate, shared-mobile and snapshot rules), never the file.

The command line calls `loan_book_import`; the browser flow is `loan_book_upload` →
`loan_book_validate` (a dry run, as a task) → `loan_book_confirm` → `loan_book_apply`
(a task). Progress goes to the cache: the apply runs inside one transaction, and on
SQLite the import row itself cannot be written by anyone else until it commits.
"""

from __future__ import annotations

import datetime
import json
import logging
import os
import tempfile
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from django.conf import settings
from django.core.cache import cache
from django.core.files import File
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from core.audit import audit_record
from core.exceptions import ServiceError
from core.pii import can_see_full_pii, mask_mobile
from core.transitions import status_transition

from ..importing.book import LoanBook, detect_data_date, find_loan_book
from ..importing.cells import BookRefused, Limits
from ..importing.columns import field_label
from ..importing.formats import open_book
from ..importing.report import error_report_rows
from ..importing.rows import LoanRow, RowError, RowValidator
from ..models import ImportMode, ImportStatus, Loan, LoanBookImport, LoanBookImportError, LoanStatus
from ..signals import loan_book_applied
from .loan_rules import snapshot_safety
from .loan_writer import ChunkWriter, shared_mobiles_sync, shared_with_database

logger = logging.getLogger(__name__)

ERROR_SAMPLE = 200
SHARED_SAMPLE = 100
SKIPPED_SAMPLE = 20
RAW_CELL_CHARS = 1000  # a rejected row's cells are kept up to this many characters each
CONFIRM_PERMISSION = "customers.confirm_unsafe_snapshot"
Progress = Callable[[int, float], None]
_WAITING = (ImportStatus.UPLOADED, ImportStatus.VALIDATING, ImportStatus.QUEUED, ImportStatus.RUNNING)


@dataclass
class ImportResult:
    """What an import did (or, for a dry run, would do)."""

    rows: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    errors: int = 0
    cured: int = 0  # snapshot: overdue loans missing from the file
    cured_by_rows: int = 0  # loans whose row brings their overdue amount to 0
    skipped: int = 0  # totals, subtotal and footer rows
    hidden_rows: int = 0
    dry_run: bool = False
    applied: bool = False
    refused: str = ""  # "strict" or "snapshot_unsafe" when nothing was applied for that reason
    mode: str = ImportMode.INCREMENTAL
    as_of: datetime.date | None = None
    data_date: dict | None = None  # the date the file names, and where
    file_format: dict = field(default_factory=dict)
    sheet: str = ""
    header_row: int = 0
    header_first_row: int = 0
    titles: list[str] = field(default_factory=list)
    columns: dict[str, str] = field(default_factory=dict)
    phone_problems: dict[str, int] = field(default_factory=dict)
    shared_marked: int = 0
    shared_phones: list[dict] = field(default_factory=list)
    skipped_rows: list[dict] = field(default_factory=list)
    cured_sample: list[dict] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    safety: dict | None = None
    error_rows: list[RowError] = field(default_factory=list)  # the first ERROR_SAMPLE
    loan_import: LoanBookImport | None = None
    _spool: object = None
    _db_shared: list = field(default_factory=list)

    def iter_errors(self) -> Iterator[tuple[RowError, list]]:
        """Every rejected row with its cells as they were (read back from the spool)."""
        if self._spool is None:
            return
        self._spool.seek(0)
        for line in self._spool:
            item = json.loads(line)
            yield RowError(item["row"], item["column"], item["value"], item["message"]), item["raw"]

    def close(self) -> None:
        if self._spool is not None:
            self._spool.close()
            self._spool = None

    def as_json(self) -> dict:
        return {
            "rows": self.rows,
            "created": self.created,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "errors": self.errors,
            "cured": self.cured,
            "cured_by_rows": self.cured_by_rows,
            "skipped": self.skipped,
            "hidden_rows": self.hidden_rows,
            "dry_run": self.dry_run,
            "applied": self.applied,
            "refused": self.refused or None,
            "mode": self.mode,
            "as_of": self.as_of.isoformat() if self.as_of else None,
            "data_date": self.data_date,
            "format": self.file_format,
            "import_id": self.loan_import.pk if self.loan_import else None,
            "status": self.loan_import.status if self.loan_import else None,
            "phone_problems": self.phone_problems,
            "shared_phones": self.shared_phones,
            "warnings": self.warnings,
            "safety": self.safety,
            "error_rows": [e.as_dict() for e, _raw in self.iter_errors()],
        }

    def details(self) -> dict:
        return {
            "sheet": self.sheet,
            "header_row": self.header_row,
            "header_first_row": self.header_first_row,
            "titles": self.titles,
            "columns": self.columns,
            "format": self.file_format,
            "data_date": self.data_date,
            "phone_problems": self.phone_problems,
            "shared_marked": self.shared_marked,
            "shared_phones": self.shared_phones,
            "skipped": self.skipped,
            "skipped_rows": self.skipped_rows,
            "hidden_rows": self.hidden_rows,
            "cured_by_rows": self.cured_by_rows,
            "cured_sample": self.cured_sample,
            "warnings": self.warnings,
            "safety": self.safety,
        }


class _Rollback(Exception):
    """Raised inside the apply transaction to undo it (strict met a bad row, or the
    snapshot is over its safety limits)."""

    def __init__(self, reason: str, message: str):
        super().__init__(message)
        self.reason = reason
        self.message = message


# --- the one-call import (command line, schedulers) ---------------------------------------
def loan_book_import(
    *,
    path_or_file,
    as_of: datetime.date | None = None,
    mode: str = ImportMode.INCREMENTAL,
    user=None,
    dry_run: bool = False,
    strict: bool = False,
    force: bool = False,
    file_name: str | None = None,
    progress: Progress | None = None,
    chunk_rows: int | None = None,
) -> ImportResult:
    """Import a loan-book file: apply its valid rows (all or nothing with `strict`).

    `as_of` defaults to the date the file names (title line or file name), else today. A
    snapshot over its safety limits is not applied unless `force`. Raises BookRefused,
    with nothing written, when the file cannot be imported at all."""
    _check_mode(mode)
    name = file_name or _file_name(path_or_file)
    with open_book(path_or_file, limits=Limits.from_settings(), name=name) as book:
        found = find_loan_book(book)  # refuses a file without a usable header before anything is written
        detected = detect_data_date(found, name)
        as_of = as_of or (detected[0] if detected else timezone.localdate())
        if dry_run:
            return _run(
                book,
                found,
                as_of=as_of,
                mode=mode,
                apply=False,
                chunk_rows=chunk_rows,
                progress=progress,
                file_name=name,
            )
        loan_import = LoanBookImport.objects.create(
            file_name=name[:255],
            sha256=book.sha256(),
            created_by=user if getattr(user, "pk", None) else None,
            as_of=as_of,
            mode=mode,
            status=ImportStatus.RUNNING,
        )
        try:
            _store_file(loan_import, book, name)
            return _apply_recorded(
                book,
                loan_import,
                found=found,
                user=user,
                strict=strict,
                force=force,
                chunk_rows=chunk_rows,
                progress=progress,
            )
        except BookRefused:
            # Refused only once read to the end (e.g. no rows): leave no trace, like any refusal.
            if loan_import.file:
                loan_import.file.delete(save=False)
            loan_import.delete()
            raise


# --- the browser flow ---------------------------------------------------------------------
def loan_book_upload(*, file, as_of: datetime.date, mode: str, user) -> LoanBookImport:
    """Store an uploaded loan book and queue its dry run (the preview).

    The file's structure is checked here, so a file that cannot be imported at all is
    refused on the upload form with its reason (BookRefused)."""
    _check_mode(mode)
    name = getattr(file, "name", "") or "loan-book.xlsx"
    with open_book(file, limits=Limits.from_settings(), name=name) as book:
        found = find_loan_book(book)
        found.close()
        sha = book.sha256()
    with transaction.atomic():
        loan_import = LoanBookImport.objects.create(
            file_name=name[:255],
            sha256=sha,
            created_by=user,
            as_of=as_of,
            mode=mode,
            status=ImportStatus.UPLOADED,
        )
        file.seek(0)
        loan_import.file.save(name, File(file), save=True)
        audit_record(actor=user, action="loan_import.upload", obj=loan_import, to_state=ImportStatus.UPLOADED)
        transaction.on_commit(lambda: _queue("customers.tasks.loan_import_validate_task", loan_import.pk))
    return loan_import


def loan_book_validate(*, loan_import: LoanBookImport) -> LoanBookImport:
    """Dry-run a stored upload: counts, rejected rows, warnings and (snapshot) the loans
    to cure and whether that needs a supervisor."""
    if not status_transition(loan_import, ImportStatus.UPLOADED, ImportStatus.VALIDATING):
        loan_import.refresh_from_db()
        return loan_import
    progress = _cache_progress(loan_import.pk, "validate")
    try:
        with _open_stored(loan_import) as book:
            result = _run(
                book,
                None,
                as_of=loan_import.as_of,
                mode=loan_import.mode,
                apply=False,
                progress=progress,
                file_name=loan_import.file_name,
            )
    except BookRefused as exc:
        _finish_failed(loan_import, exc.message)
        return loan_import
    except Exception as exc:
        logger.exception("Validating loan import %s failed", loan_import.pk)
        _finish_failed(
            loan_import, _("The check stopped with an unexpected error: %(error)s") % {"error": exc}
        )
        raise
    try:
        with transaction.atomic():
            _store_counts(loan_import, result)
            status_transition(
                loan_import, ImportStatus.VALIDATING, ImportStatus.VALIDATED, **_count_fields(loan_import)
            )
            _store_errors(loan_import, result)
    finally:
        result.close()
        cache.delete(_progress_key(loan_import.pk))
    return loan_import


def loan_book_needs_supervisor(loan_import: LoanBookImport) -> bool:
    """Whether applying this previewed import needs a supervisor's explicit confirmation."""
    return bool(((loan_import.details or {}).get("safety") or {}).get("unsafe"))


def loan_book_confirm(*, loan_import: LoanBookImport, user, accept_safety: bool = False) -> LoanBookImport:
    """Accept a previewed import and queue its apply.

    A snapshot over its safety limits needs a user with the confirm-unsafe-snapshot
    permission (supervisors) and `accept_safety`: the numbers they saw become the most
    the apply may cure and reject."""
    details = dict(loan_import.details or {})
    safety = details.get("safety") or {}
    note = ""
    if safety.get("unsafe"):
        if not user.has_perm(CONFIRM_PERMISSION):
            raise ServiceError(
                _("This snapshot is over its safety limits: only a supervisor can confirm it."),
                code="needs_supervisor",
            )
        if not accept_safety:
            raise ServiceError(
                _("Tick the box to confirm that you checked the numbers of this snapshot."),
                code="not_accepted",
            )
        details["safety"] = {
            **safety,
            "confirmed": {
                "by": user.get_username(),
                "at": timezone.now().isoformat(),
                "cured": safety.get("cured", 0),
                "rejected": safety.get("rejected", 0),
            },
        }
        note = (
            f"safety override: cures {safety.get('cured')} of {safety.get('overdue_book')} overdue loans, "
            f"{safety.get('rejected')} of {safety.get('rows')} rows rejected"
        )
    with transaction.atomic():
        if not status_transition(loan_import, ImportStatus.VALIDATED, ImportStatus.QUEUED, details=details):
            raise ServiceError(_("This import is no longer waiting for confirmation."), code="not_validated")
        audit_record(
            actor=user,
            action="loan_import.confirm",
            obj=loan_import,
            from_state=ImportStatus.VALIDATED,
            to_state=ImportStatus.QUEUED,
            note=note,
        )
        transaction.on_commit(lambda: _queue("customers.tasks.loan_import_apply_task", loan_import.pk))
    return loan_import


def loan_book_cancel(*, loan_import: LoanBookImport, user) -> LoanBookImport:
    """Drop a previewed import without applying it."""
    with transaction.atomic():
        if not status_transition(
            loan_import, ImportStatus.VALIDATED, ImportStatus.CANCELLED, finished_at=timezone.now()
        ):
            raise ServiceError(_("This import is no longer waiting for confirmation."), code="not_validated")
        audit_record(
            actor=user,
            action="loan_import.cancel",
            obj=loan_import,
            from_state=ImportStatus.VALIDATED,
            to_state=ImportStatus.CANCELLED,
        )
    return loan_import


def loan_book_apply(*, loan_import: LoanBookImport) -> LoanBookImport:
    """Apply a confirmed import (queued → running → done or failed); safe to call twice."""
    claimed = status_transition(loan_import, ImportStatus.QUEUED, ImportStatus.RUNNING)
    loan_import.refresh_from_db()
    if not claimed:
        return loan_import
    try:
        book = _open_stored(loan_import)
    except BookRefused as exc:
        _finish_failed(loan_import, exc.message)
        return loan_import
    confirmed = ((loan_import.details or {}).get("safety") or {}).get("confirmed")
    with book:
        try:
            result = _apply_recorded(
                book,
                loan_import,
                user=loan_import.created_by,
                strict=False,
                confirmed=confirmed,
                progress=_cache_progress(loan_import.pk, "apply"),
            )
            result.close()
        except BookRefused:
            pass  # recorded as failed by _apply_recorded
    return loan_import


def loan_book_error_report(*, loan_import: LoanBookImport, user) -> tuple[list[str], Iterator[list], bool]:
    """The rejected rows for download: (headers, rows, masked). Whole only for users who
    may both export data and see full personal data; audited either way."""
    masked = not (user.has_perm("customers.export_data") and can_see_full_pii(user))
    audit_record(
        actor=user,
        action="loan_import.error_report",
        obj=loan_import,
        note=f"rows={loan_import.error_count} masked={masked}",
    )
    headers, rows = error_report_rows(loan_import, masked=masked)
    return headers, rows, masked


def safety_problems(result: ImportResult) -> list[str]:
    """Why a snapshot is over its safety limits, in the user's language (empty when it is not)."""
    if not (result.safety and result.safety.get("unsafe")):
        return []
    return snapshot_safety(
        **{k: result.safety[k] for k in ("overdue_book", "cured", "rows", "rejected")}
    ).problems()


def previous_imports_of_same_file(loan_import: LoanBookImport):
    """Imports of the same file for the same date that were applied before."""
    return (
        LoanBookImport.objects.filter(
            sha256=loan_import.sha256, as_of=loan_import.as_of, status=ImportStatus.DONE
        )
        .exclude(pk=loan_import.pk)
        .select_related("created_by")
        .order_by("-created_at")
    )


def import_progress(loan_import: LoanBookImport) -> dict:
    """What the progress page shows: status, rows so far and a percentage."""
    status = loan_import.status
    found = cache.get(_progress_key(loan_import.pk)) or {}
    if status in (ImportStatus.VALIDATED, ImportStatus.DONE, ImportStatus.FAILED, ImportStatus.CANCELLED):
        percent = 100
        rows = loan_import.total_rows
    elif status in (ImportStatus.UPLOADED, ImportStatus.QUEUED):
        percent, rows = 0, 0
    else:
        percent = int(found.get("percent", 0))
        rows = int(found.get("rows", 0))
    return {"status": status, "phase": found.get("phase", ""), "percent": percent, "rows": rows}


# --- the pass -------------------------------------------------------------------------------
def _apply_recorded(
    book,
    loan_import,
    *,
    user,
    strict,
    force=False,
    confirmed=None,
    found=None,
    progress=None,
    chunk_rows=None,
) -> ImportResult:
    """Apply inside one transaction, recording the outcome on `loan_import`."""
    result = ImportResult()
    try:
        with transaction.atomic():
            result = _run(
                book,
                found,
                as_of=loan_import.as_of,
                mode=loan_import.mode,
                apply=True,
                strict=strict,
                force=force,
                confirmed=confirmed,
                loan_import=loan_import,
                chunk_rows=chunk_rows,
                progress=progress,
                result=result,
                file_name=loan_import.file_name,
            )
            if strict and result.errors:
                raise _Rollback(
                    "strict",
                    _("Nothing was applied: %(count)s rows were rejected and the import was strict.")
                    % {"count": result.errors},
                )
            _store_counts(loan_import, result)
            loan_import.message = ""
            status_transition(
                loan_import,
                ImportStatus.RUNNING,
                ImportStatus.DONE,
                finished_at=timezone.now(),
                message="",
                **_count_fields(loan_import),
            )
            _store_errors(loan_import, result)
            audit_record(
                actor=user,
                action="loan_import.apply",
                obj=loan_import,
                from_state=ImportStatus.RUNNING,
                to_state=ImportStatus.DONE,
                note=(
                    f"rows={result.rows} created={result.created} updated={result.updated} "
                    f"unchanged={result.unchanged} errors={result.errors} cured={result.cured} "
                    f"skipped={result.skipped}" + (" forced" if force and _unsafe(result) else "")
                ),
            )
            transaction.on_commit(
                lambda: loan_book_applied.send(sender=LoanBookImport, loan_import=loan_import)
            )
        result.applied = True
    except _Rollback as rollback:
        result.refused = rollback.reason
        result.created = result.updated = result.unchanged = 0
        if rollback.reason == "strict":
            result.cured = 0
        with transaction.atomic():
            _store_counts(loan_import, result)
            _finish_failed(loan_import, rollback.message)
            _store_errors(loan_import, result)
    except BookRefused as exc:
        _finish_failed(loan_import, exc.message)
        result.close()
        raise
    except Exception as exc:
        logger.exception("Loan import %s failed; nothing was applied", loan_import.pk)
        _finish_failed(
            loan_import,
            _("The import stopped with an unexpected error and nothing was applied: %(error)s")
            % {"error": exc},
        )
        result.close()
        raise
    finally:
        cache.delete(_progress_key(loan_import.pk))
    result.loan_import = loan_import
    return result


def _unsafe(result: ImportResult) -> bool:
    return bool(result.safety and result.safety.get("unsafe"))


def _run(
    book,
    found: LoanBook | None,
    *,
    as_of: datetime.date,
    mode: str,
    apply: bool,
    strict: bool = False,
    force: bool = False,
    confirmed: dict | None = None,
    loan_import: LoanBookImport | None = None,
    chunk_rows: int | None = None,
    progress: Progress | None = None,
    result: ImportResult | None = None,
    file_name: str = "",
) -> ImportResult:
    """One pass over the file: validate each row; apply (or only classify) each chunk."""
    found = found or find_loan_book(book)
    header, reader = found.header, found.reader
    result = result or ImportResult()
    result.dry_run = not apply
    result.mode, result.as_of = mode, as_of
    result.sheet, result.header_row, result.header_first_row = found.sheet_name, header.row, header.first_row
    result.titles = [header.titles.get(i, "") for i in range(max(header.titles, default=-1) + 1)]
    result.columns = {f: header.titles.get(i, "") for f, i in header.columns.items()}
    result.file_format = _file_format(book)
    detected = detect_data_date(found, file_name)
    if detected:
        result.data_date = {"date": detected[0].isoformat(), "source": detected[1]}
    # Rejected rows wait here (closed by result.close()): kept out of memory, and out of the
    # apply transaction, so a rollback still reports them.
    result._spool = tempfile.SpooledTemporaryFile(max_size=4 << 20, mode="w+", encoding="utf-8")  # noqa: SIM115
    validator = RowValidator(header, as_of)
    writer = ChunkWriter(
        as_of=as_of, columns=header.columns, loan_import=loan_import, write=apply, result=result
    )
    overdue_book = (
        Loan.objects.filter(status=LoanStatus.OVERDUE).count() if mode == ImportMode.SNAPSHOT else 0
    )
    chunk_rows = chunk_rows or settings.LOAN_IMPORT_CHUNK_ROWS
    problems: Counter = Counter()
    chunk: list[LoanRow] = []
    loan_col, customer_col = header.columns["loan_account"], header.columns["customer_no"]
    skip_counts: Counter = Counter()
    for row in found.rows:
        values = row.values
        if validator.is_blank(values) or (values.get(loan_col) is None or values.get(customer_col) is None):
            reason = validator.skip_reason(row)
            if reason:
                skip_counts[reason] += 1
                if len(result.skipped_rows) < SKIPPED_SAMPLE:
                    result.skipped_rows.append({"row": row.number, "kind": reason, "text": _row_text(row)})
                continue
            if validator.is_blank(values):
                continue
        result.rows += 1
        if row.hidden:
            result.hidden_rows += 1
        checked = validator.check(row.number, values)
        if isinstance(checked, list):
            _record_errors(result, checked, row)
            if strict and apply:
                writer.write = False  # everything will be rolled back: stop writing
            continue
        if checked.first_of_customer and checked.phone_problem:
            problems[checked.phone_problem] += 1
        chunk.append(checked)
        if len(chunk) >= chunk_rows:
            _process(writer, chunk, result)
            chunk = []
            if progress:
                progress(result.rows, reader.fraction)
    if chunk:
        _process(writer, chunk, result)
    result.skipped = sum(skip_counts.values())
    if result.rows == 0:
        raise BookRefused(_("The file has a header row but no loans under it."), "empty")
    if mode == ImportMode.SNAPSHOT:
        missing = writer.missing_overdue(validator.loan_rows)
        safety = snapshot_safety(
            overdue_book=overdue_book,
            cured=len(missing) + result.cured_by_rows,
            rows=result.rows,
            rejected=result.errors,
        )
        result.safety = safety.as_dict()
        if apply and not force and not safety.allowed_by(confirmed):
            writer.write = False
            writer.cure(missing)  # counts and sample only
            reason = "; ".join(safety.problems())
            message = (
                _(
                    "Nothing was applied: this snapshot is over its safety limits (%(reason)s). Check the "
                    "file; to apply it all the same, a supervisor confirms it in the browser, or run "
                    "import_loans with --force."
                )
                if not confirmed
                else _(
                    "Nothing was applied: this snapshot now changes more than the supervisor confirmed "
                    "(%(reason)s). Upload it again to see the new numbers."
                )
            ) % {"reason": reason}
            raise _Rollback("snapshot_unsafe", message)
        writer.cure(missing)
    if writer.write:
        result.shared_marked = shared_mobiles_sync()
    result.phone_problems = {str(k): v for k, v in sorted(problems.items())}
    result.shared_phones = _shared_phones(validator, result)
    result.warnings = _warnings(result, validator, header, skip_counts, as_of)
    if progress:
        progress(result.rows, 1.0)
    return result


def _process(writer: ChunkWriter, chunk: list[LoanRow], result: ImportResult) -> None:
    writer.process(chunk)
    if not writer.write and len(result._db_shared) < 1000:
        pairs = [(r.mobile, r.customer_no) for r in chunk if r.first_of_customer and r.mobile]
        result._db_shared.extend(shared_with_database(pairs)[: 1000 - len(result._db_shared)])


def _shared_phones(validator: RowValidator, result: ImportResult) -> list[dict]:
    """Mobiles several customers would hold after the import (masked), for the preview."""
    names = validator._names
    shared = []
    for mobile, numbers in validator.shared_mobiles()[:SHARED_SAMPLE]:
        shared.append(
            {
                "mobile": mask_mobile(mobile),
                "customers": [
                    {"customer_no": no, "name": names.get(no, ""), "in_file": True} for no in numbers
                ],
            }
        )
    by_mobile: dict[str, dict] = {}
    for mobile, file_no, db_no, db_name in result._db_shared:
        if db_no in names:
            continue  # that customer is in the file: its row's mobile is the one that counts
        entry = by_mobile.setdefault(
            mobile,
            {
                "mobile": mask_mobile(mobile),
                "customers": [{"customer_no": file_no, "name": names.get(file_no, ""), "in_file": True}],
            },
        )
        entry["customers"].append({"customer_no": db_no, "name": db_name, "in_file": False})
    shared.extend(list(by_mobile.values())[: max(0, SHARED_SAMPLE - len(shared))])
    return shared


def _warnings(
    result: ImportResult, validator: RowValidator, header, skip_counts: Counter, as_of
) -> list[str]:
    """What staff should know about the file as a whole, in their language."""
    warnings = list(header.notes)
    for name, count in validator.stored_as_numbers.items():
        warnings.append(
            ngettext(
                "%(column)s: %(count)s cell was stored as a number and imported as its digits; a leading "
                "zero would have been lost. Format the column as text in the export.",
                "%(column)s: %(count)s cells were stored as numbers and imported as their digits; leading "
                "zeros would have been lost. Format the column as text in the export.",
                count,
            )
            % {"column": header.title(name) or field_label(name), "count": f"{count:,}"}
        )
    if result.hidden_rows:
        warnings.append(
            ngettext(
                "%(count)s row is hidden or filtered out in the file; it is imported like every other row.",
                "%(count)s rows are hidden or filtered out in the file; they are imported like every other row.",
                result.hidden_rows,
            )
            % {"count": f"{result.hidden_rows:,}"}
        )
    if skip_counts:
        warnings.append(
            _("Skipped, not loans: %(totals)s totals or subtotal rows, %(footers)s footer lines.")
            % {"totals": skip_counts.get("totals", 0), "footers": skip_counts.get("footer", 0)}
        )
    if result.data_date and result.data_date["date"] != as_of.isoformat():
        warnings.append(
            _(
                "The file says its data is as of %(file_date)s (%(source)s), but the data date chosen is %(as_of)s."
            )
            % {
                "file_date": result.data_date["date"],
                "source": result.data_date["source"],
                "as_of": as_of.isoformat(),
            }
        )
    return warnings


def _row_text(row) -> str:
    texts = [str(v) for _i, v in sorted(row.all_values().items()) if v is not None]
    return " ".join(texts)[:120]


def _record_errors(result: ImportResult, errors: list[RowError], row) -> None:
    result.errors += 1
    raw = _raw_cells(row.all_values())
    for error in errors:
        if len(result.error_rows) < ERROR_SAMPLE:
            result.error_rows.append(error)
        result._spool.write(json.dumps({**error.as_dict(), "raw": raw}, ensure_ascii=False) + "\n")


def _raw_cells(values: dict[int, object]) -> list:
    """The row's cells as JSON values, each cut to RAW_CELL_CHARS (the database never
    holds more of a rejected row than that)."""
    if not values:
        return []
    cells = [None] * (max(values) + 1)
    for index, value in values.items():
        if isinstance(value, datetime.datetime | datetime.date):
            value = value.isoformat()
        elif (
            isinstance(value, float)
            and (value != value or value in (float("inf"), float("-inf")))
            or not isinstance(value, bool | int | float | str)
            or value is None
        ):
            value = str(value)
        if isinstance(value, str) and len(value) > RAW_CELL_CHARS:
            value = value[:RAW_CELL_CHARS] + "…"
        cells[index] = value
    return cells


def _file_format(book) -> dict:
    kind = getattr(book, "kind", "xlsx")
    found = {"kind": kind}
    if kind == "csv":
        found["encoding"] = book.encoding_label
        found["delimiter"] = {",": "comma", "\t": "tab", ";": "semicolon"}.get(book.delimiter, book.delimiter)
    return found


# --- helpers ------------------------------------------------------------------------------
def _check_mode(mode: str) -> None:
    if mode not in ImportMode.values:
        raise ServiceError(_("Unknown import mode %(mode)s.") % {"mode": mode}, code="mode")


def _file_name(path_or_file) -> str:
    if isinstance(path_or_file, str | os.PathLike):
        name = os.fspath(path_or_file)
    else:
        name = getattr(path_or_file, "name", None) or ""
    return os.path.basename(str(name)) or "loan-book.xlsx"


def _store_file(loan_import: LoanBookImport, book, name: str) -> None:
    loan_import.file.save(name, File(book.file), save=False)
    LoanBookImport.objects.filter(pk=loan_import.pk).update(file=loan_import.file.name)
    book.file.seek(0)


def _open_stored(loan_import: LoanBookImport):
    if not loan_import.file:
        raise BookRefused(_("The uploaded file is missing."), "missing_file")
    handle = loan_import.file.open("rb")
    return open_book(handle, limits=Limits.from_settings(), close_file=True, name=loan_import.file_name)


def _store_counts(loan_import: LoanBookImport, result: ImportResult) -> None:
    loan_import.total_rows = result.rows
    loan_import.processed_rows = result.rows
    loan_import.created_count = result.created
    loan_import.updated_count = result.updated
    loan_import.unchanged_count = result.unchanged
    loan_import.error_count = result.errors
    loan_import.cured_count = result.cured
    loan_import.details = result.details()


def _count_fields(loan_import: LoanBookImport) -> dict:
    return {
        name: getattr(loan_import, name)
        for name in (
            "total_rows",
            "processed_rows",
            "created_count",
            "updated_count",
            "unchanged_count",
            "error_count",
            "cured_count",
            "details",
        )
    }


def _store_errors(loan_import: LoanBookImport, result: ImportResult) -> None:
    LoanBookImportError.objects.filter(loan_import=loan_import).delete()
    batch = []
    for error, raw in result.iter_errors():
        batch.append(
            LoanBookImportError(
                loan_import=loan_import,
                row=error.row,
                column=error.column[:64],
                value=error.value[:255],
                message=error.message[:255],
                raw=raw,
            )
        )
        if len(batch) >= 2000:
            LoanBookImportError.objects.bulk_create(batch)
            batch = []
    if batch:
        LoanBookImportError.objects.bulk_create(batch)


def _finish_failed(loan_import: LoanBookImport, message: str) -> None:
    status_transition(
        loan_import,
        _WAITING,
        ImportStatus.FAILED,
        message=message,
        finished_at=timezone.now(),
        total_rows=loan_import.total_rows,
        error_count=loan_import.error_count,
        details=loan_import.details,
    )


def _progress_key(pk: int) -> str:
    return f"loan-import:{pk}:progress"


def _cache_progress(pk: int, phase: str) -> Progress:
    key = _progress_key(pk)
    cache.set(key, {"phase": phase, "rows": 0, "percent": 0}, timeout=6 * 3600)

    def report(rows: int, fraction: float) -> None:
        cache.set(key, {"phase": phase, "rows": rows, "percent": int(fraction * 100)}, timeout=6 * 3600)

    return report


def _queue(task: str, pk: int) -> None:
    from django_q.tasks import async_task

    async_task(task, pk, task_name=f"{task.rsplit('.', 1)[-1]}:{pk}")
