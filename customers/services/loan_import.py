"""Importing the loan book: validate every row, then apply the file as one transaction.

One streaming pass reads the file in chunks of rows. Each chunk is validated, then the
loans and customers it names are fetched in one query each, compared, and only what
changed is written with multi-row statements — so a re-import of the same file reads
and writes nothing but its own history row. Memory holds one chunk plus a compact entry
per loan account and customer (for the duplicate and snapshot rules), never the file.

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
from decimal import Decimal

from django.conf import settings
from django.core.cache import cache
from django.core.files import File
from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from core.audit import audit_record
from core.exceptions import ServiceError

from ..importing.book import LoanBook, find_loan_book
from ..importing.rows import LoanRow, RowError, RowValidator, _loan_key
from ..importing.xlsx import BookRefused, Limits, XlsxBook
from ..models import (
    ZERO,
    Customer,
    ImportMode,
    ImportStatus,
    Loan,
    LoanBookImport,
    LoanBookImportError,
    LoanEvent,
    LoanEventKind,
    LoanStatus,
    PhoneProblem,
)
from ..signals import loan_book_applied

logger = logging.getLogger(__name__)

CURED_SAMPLE = 100
ERROR_SAMPLE = 200
KEPT_PROBLEMS = (PhoneProblem.SHARED, PhoneProblem.WRONG_NUMBER)
OPTIONAL_LOAN_FIELDS = ("product", "branch", "principal", "balance", "next_due_date")
Progress = Callable[[int, float], None]


@dataclass
class ImportResult:
    """What an import did (or, for a dry run, would do)."""

    rows: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    errors: int = 0
    cured: int = 0
    dry_run: bool = False
    applied: bool = False
    mode: str = ImportMode.INCREMENTAL
    as_of: datetime.date | None = None
    sheet: str = ""
    header_row: int = 0
    titles: list[str] = field(default_factory=list)
    phone_problems: dict[str, int] = field(default_factory=dict)
    shared_marked: int = 0
    cured_sample: list[dict] = field(default_factory=list)
    error_rows: list[RowError] = field(default_factory=list)  # the first ERROR_SAMPLE
    loan_import: LoanBookImport | None = None
    _spool: object = None

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
            "dry_run": self.dry_run,
            "applied": self.applied,
            "mode": self.mode,
            "as_of": self.as_of.isoformat() if self.as_of else None,
            "import_id": self.loan_import.pk if self.loan_import else None,
            "status": self.loan_import.status if self.loan_import else None,
            "phone_problems": self.phone_problems,
            "error_rows": [e.as_dict() for e, _raw in self.iter_errors()],
        }

    def details(self) -> dict:
        return {
            "sheet": self.sheet,
            "header_row": self.header_row,
            "titles": self.titles,
            "phone_problems": self.phone_problems,
            "shared_marked": self.shared_marked,
            "cured_sample": self.cured_sample,
        }


class _StrictRollback(Exception):
    """Raised inside the apply transaction to undo it when --strict meets a bad row."""


# --- the one-call import (command line, schedulers) ---------------------------------------
def loan_book_import(
    *,
    path_or_file,
    as_of: datetime.date,
    mode: str = ImportMode.INCREMENTAL,
    user=None,
    dry_run: bool = False,
    strict: bool = False,
    file_name: str | None = None,
    progress: Progress | None = None,
    chunk_rows: int | None = None,
) -> ImportResult:
    """Import a loan-book file: apply its valid rows (all or nothing with `strict`).

    Raises BookRefused, with nothing written, when the file cannot be imported at all.
    """
    _check_mode(mode)
    with XlsxBook(path_or_file, limits=Limits.from_settings()) as book:
        found = find_loan_book(book)  # refuses a file without a usable header before anything is written
        if dry_run:
            return _run(
                book, found, as_of=as_of, mode=mode, apply=False, chunk_rows=chunk_rows, progress=progress
            )
        name = file_name or _file_name(path_or_file)
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
    with XlsxBook(file, limits=Limits.from_settings()) as book:
        found = find_loan_book(book)
        found.rows.close()
        sha = book.sha256()
    name = getattr(file, "name", "") or "loan-book.xlsx"
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
    """Dry-run a stored upload: counts, rejected rows and (snapshot) the loans to cure."""
    claimed = LoanBookImport.objects.filter(pk=loan_import.pk, status=ImportStatus.UPLOADED).update(
        status=ImportStatus.VALIDATING
    )
    if not claimed:
        loan_import.refresh_from_db()
        return loan_import
    progress = _cache_progress(loan_import.pk, "validate")
    try:
        with _open_stored(loan_import) as book:
            result = _run(
                book, None, as_of=loan_import.as_of, mode=loan_import.mode, apply=False, progress=progress
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
            loan_import.status = ImportStatus.VALIDATED
            loan_import.save()
            _store_errors(loan_import, result)
    finally:
        result.close()
        cache.delete(_progress_key(loan_import.pk))
    return loan_import


def loan_book_confirm(*, loan_import: LoanBookImport, user) -> LoanBookImport:
    """Accept a previewed import and queue its apply."""
    with transaction.atomic():
        confirmed = LoanBookImport.objects.filter(pk=loan_import.pk, status=ImportStatus.VALIDATED).update(
            status=ImportStatus.QUEUED
        )
        if not confirmed:
            raise ServiceError(_("This import is no longer waiting for confirmation."), code="not_validated")
        loan_import.status = ImportStatus.QUEUED
        audit_record(
            actor=user,
            action="loan_import.confirm",
            obj=loan_import,
            from_state=ImportStatus.VALIDATED,
            to_state=ImportStatus.QUEUED,
        )
        transaction.on_commit(lambda: _queue("customers.tasks.loan_import_apply_task", loan_import.pk))
    return loan_import


def loan_book_cancel(*, loan_import: LoanBookImport, user) -> LoanBookImport:
    """Drop a previewed import without applying it."""
    with transaction.atomic():
        cancelled = LoanBookImport.objects.filter(pk=loan_import.pk, status=ImportStatus.VALIDATED).update(
            status=ImportStatus.CANCELLED, finished_at=timezone.now()
        )
        if not cancelled:
            raise ServiceError(_("This import is no longer waiting for confirmation."), code="not_validated")
        loan_import.status = ImportStatus.CANCELLED
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
    claimed = LoanBookImport.objects.filter(pk=loan_import.pk, status=ImportStatus.QUEUED).update(
        status=ImportStatus.RUNNING
    )
    loan_import.refresh_from_db()
    if not claimed:
        return loan_import
    try:
        book = _open_stored(loan_import)
    except BookRefused as exc:
        _finish_failed(loan_import, exc.message)
        return loan_import
    with book:
        try:
            result = _apply_recorded(
                book,
                loan_import,
                user=loan_import.created_by,
                strict=False,
                progress=_cache_progress(loan_import.pk, "apply"),
            )
            result.close()
        except BookRefused:
            pass  # recorded as failed by _apply_recorded
    return loan_import


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


# --- the engine -----------------------------------------------------------------------------
def _apply_recorded(
    book, loan_import, *, user, strict, found=None, progress=None, chunk_rows=None
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
                loan_import=loan_import,
                chunk_rows=chunk_rows,
                progress=progress,
                result=result,
            )
            if strict and result.errors:
                raise _StrictRollback
            _store_counts(loan_import, result)
            loan_import.status = ImportStatus.DONE
            loan_import.finished_at = timezone.now()
            loan_import.message = ""
            loan_import.save()
            _store_errors(loan_import, result)
            audit_record(
                actor=user,
                action="loan_import.apply",
                obj=loan_import,
                from_state=ImportStatus.RUNNING,
                to_state=ImportStatus.DONE,
                note=(
                    f"rows={result.rows} created={result.created} updated={result.updated} "
                    f"unchanged={result.unchanged} errors={result.errors} cured={result.cured}"
                ),
            )
            transaction.on_commit(
                lambda: loan_book_applied.send(sender=LoanBookImport, loan_import=loan_import)
            )
        result.applied = True
    except _StrictRollback:
        result.created = result.updated = result.unchanged = result.cured = 0
        with transaction.atomic():
            _store_counts(loan_import, result)
            _finish_failed(
                loan_import,
                _("Nothing was applied: %(count)s rows were rejected and the import was strict.")
                % {"count": result.errors},
            )
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


def _run(
    book: XlsxBook,
    found: LoanBook | None,
    *,
    as_of: datetime.date,
    mode: str,
    apply: bool,
    strict: bool = False,
    loan_import: LoanBookImport | None = None,
    chunk_rows: int | None = None,
    progress: Progress | None = None,
    result: ImportResult | None = None,
) -> ImportResult:
    """One pass over the file: validate each row; apply (or only classify) each chunk."""
    found = found or find_loan_book(book)
    header, reader = found.header, found.reader
    result = result or ImportResult()
    result.dry_run = not apply
    result.mode, result.as_of = mode, as_of
    result.sheet, result.header_row = found.sheet_name, header.row
    result.titles = [header.titles.get(i, "") for i in range(max(header.titles, default=-1) + 1)]
    # Rejected rows wait here (closed by result.close()): kept out of memory, and out of the
    # apply transaction, so a strict rollback still reports them.
    result._spool = tempfile.SpooledTemporaryFile(max_size=4 << 20, mode="w+", encoding="utf-8")  # noqa: SIM115
    validator = RowValidator(header, as_of)
    writer = _ChunkWriter(as_of=as_of, header=header, loan_import=loan_import, write=apply, result=result)
    chunk_rows = chunk_rows or settings.LOAN_IMPORT_CHUNK_ROWS
    problems: Counter = Counter()
    chunk: list[LoanRow] = []
    for row in found.rows:
        values = row.values
        if validator.is_blank(values):
            continue
        result.rows += 1
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
            writer.process(chunk)
            chunk = []
            if progress:
                progress(result.rows, reader.fraction)
    if chunk:
        writer.process(chunk)
    if result.rows == 0:
        raise BookRefused(_("The file has a header row but no loans under it."), "empty")
    if mode == ImportMode.SNAPSHOT:
        writer.cure_missing(validator.loan_rows)
    if writer.write:
        result.shared_marked = _shared_mobiles_sync()
    result.phone_problems = {str(k): v for k, v in sorted(problems.items())}
    if progress:
        progress(result.rows, 1.0)
    return result


def _record_errors(result: ImportResult, errors: list[RowError], row) -> None:
    result.errors += 1
    raw = _raw_cells(row.all_values())
    for error in errors:
        if len(result.error_rows) < ERROR_SAMPLE:
            result.error_rows.append(error)
        result._spool.write(json.dumps({**error.as_dict(), "raw": raw}, ensure_ascii=False) + "\n")


def _raw_cells(values: dict[int, object]) -> list:
    if not values:
        return []
    cells = [None] * (max(values) + 1)
    for index, value in values.items():
        if isinstance(value, datetime.datetime | datetime.date):
            value = value.isoformat()
        cells[index] = value
    return cells


class _ChunkWriter:
    """Classifies a chunk of valid rows against the database and writes what changed.

    Plain SQL through Django's connection, not model instances: a chunk costs a handful
    of statements (a SELECT per table, multi-row INSERTs and UPDATEs), and the per-row
    cost is a tuple, not a model instance and its field preparation."""

    def __init__(self, *, as_of, header, loan_import, write: bool, result: ImportResult):
        self.as_of = as_of
        self.loan_import_id = loan_import.pk if loan_import else None
        self.write = write
        self.result = result
        self.has = set(header.columns)
        self.has_id_number = "id_number" in self.has
        self.sql = _Sql()
        self.now = self.sql.now

    # customers ------------------------------------------------------------------------
    def _customers(self, rows: list[LoanRow]) -> dict[str, int]:
        sql = self.sql
        existing = {
            c[1]: c for c in sql.select_in(sql.customers_by_number, list({r.customer_no for r in rows}))
        }
        ids = {no: c[0] for no, c in existing.items()}
        inserts, updates = [], []
        now = self.now
        for r in rows:
            if not r.first_of_customer:
                continue
            current = existing.get(r.customer_no)
            if current is None:
                inserts.append(
                    (
                        r.customer_no,
                        r.customer_name,
                        r.id_number,
                        r.mobile,
                        r.mobile_raw,
                        r.phone_problem,
                        now,
                        now,
                    )
                )
                continue
            customer_id, _no, name, id_number, mobile, mobile_raw, problem = current
            new_problem = r.phone_problem
            if mobile == r.mobile and problem in KEPT_PROBLEMS and new_problem == PhoneProblem.NONE:
                new_problem = problem  # shared is re-decided at the end; wrong number sticks to the number
            new_id_number = r.id_number if self.has_id_number else id_number
            wanted = (r.customer_name, new_id_number, r.mobile, r.mobile_raw, new_problem)
            if wanted != (name, id_number, mobile, mobile_raw, problem):
                updates.append((*wanted, now, customer_id))
        with connection.cursor() as cursor:
            if inserts:
                cursor.executemany(sql.customer_insert, inserts)
            if updates:
                cursor.executemany(sql.customer_update, updates)
        if inserts:
            ids.update(sql.select_in(sql.customer_ids, [i[0] for i in inserts]))
        return ids

    # loans ------------------------------------------------------------------------------
    def process(self, rows: list[LoanRow]) -> None:
        sql = self.sql
        customer_ids = self._customers(rows) if self.write else {}
        existing = {
            loan[1]: loan for loan in sql.select_in(sql.loans_by_account, [r.loan_account for r in rows])
        }
        result = self.result
        write = self.write
        as_of = self.as_of
        import_id, now = self.loan_import_id, self.now
        dec, day = sql.decimal, sql.date
        inserts, updates, events, refresh = [], [], [], []
        new_overdue: dict[str, tuple[Decimal, datetime.date | None]] = {}
        for r in rows:
            current = existing.get(r.loan_account)
            overdue = r.overdue_amount > 0
            if current is None:
                result.created += 1
                if write:
                    status = LoanStatus.OVERDUE if overdue else LoanStatus.CURRENT
                    state = self._state(r, None, status)
                    inserts.append(
                        (r.loan_account, customer_ids[r.customer_no], *state, as_of, import_id, now, now)
                    )
                    if overdue:
                        new_overdue[r.loan_account] = (r.overdue_amount, r.overdue_since)
                continue
            (
                loan_id,
                _account,
                customer_no,
                product,
                branch,
                p1,
                p2,
                p3,
                p4,
                p5,
                p6,
                since,
                next_due,
                old_status,
                loan_as_of,
            ) = current
            state = (
                product,
                branch,
                dec(p1),
                dec(p2),
                dec(p3),
                dec(p4),
                dec(p5),
                dec(p6),
                day(since),
                day(next_due),
                old_status,
            )
            old_amount = state[OVERDUE_AMOUNT]
            new_state = self._state(r, state, _next_status(old_status, overdue))
            if customer_no == r.customer_no and new_state == state:
                result.unchanged += 1
                if write and (loan_as_of is None or day(loan_as_of) < as_of):
                    refresh.append((as_of, loan_id))
                continue
            result.updated += 1
            if not write:
                continue
            updates.append((customer_ids[r.customer_no], *new_state, as_of, import_id, now, loan_id))
            was_overdue = old_amount > 0 or old_status == LoanStatus.OVERDUE
            kind = _event_kind(was_overdue, overdue, old_amount, r.overdue_amount)
            if kind:
                # The episode the event belongs to: a cure closes the old one.
                episode = state[OVERDUE_SINCE] if kind == LoanEventKind.CURED else new_state[OVERDUE_SINCE]
                events.append((loan_id, kind, as_of, old_amount, r.overdue_amount, episode, import_id, now))
        if not write:
            return
        with connection.cursor() as cursor:
            if inserts:
                cursor.executemany(sql.loan_insert, inserts)
            if updates:
                cursor.executemany(sql.loan_update, updates)
            if refresh:
                cursor.executemany(sql.loan_refresh, refresh)
            if new_overdue:
                for account, loan_id in sql.select_in(sql.loan_ids, list(new_overdue)):
                    amount, since = new_overdue[account]
                    events.append(
                        (loan_id, LoanEventKind.BECAME_OVERDUE, as_of, ZERO, amount, since, import_id, now)
                    )
            if events:
                cursor.executemany(sql.event_insert, events)

    def _state(self, r: LoanRow, current: tuple | None, status: str) -> tuple:
        """The loan's state columns (LOAN_STATE order) after this row: a column the file
        does not have leaves its field as it is."""
        has = self.has
        if current is None:
            product, branch, principal, balance, next_due = (
                r.product,
                r.branch,
                r.principal,
                r.balance,
                r.next_due_date,
            )
        else:
            product = r.product if "product" in has else current[0]
            branch = r.branch if "branch" in has else current[1]
            principal = r.principal if "principal" in has else current[2]
            balance = r.balance if "balance" in has else current[3]
            next_due = r.next_due_date if "next_due_date" in has else current[9]
        return (
            product,
            branch,
            principal,
            balance,
            r.overdue_principal,
            r.overdue_interest,
            r.overdue_penalty,
            r.overdue_amount,
            r.overdue_since,
            next_due,
            status,
        )

    # snapshot ---------------------------------------------------------------------------
    def cure_missing(self, seen: dict) -> None:
        """Snapshot mode: overdue loans the file does not list are cured as of its date."""
        missing = []
        for loan_id, account, amount, since in (
            Loan.objects.filter(status=LoanStatus.OVERDUE)
            .order_by("loan_account")
            .values_list("id", "loan_account", "overdue_amount", "overdue_since")
            .iterator(chunk_size=5000)
        ):
            if _loan_key(account) not in seen:
                missing.append((loan_id, amount, since))
        result = self.result
        result.cured = len(missing)
        sample_ids = [loan_id for loan_id, _amount, _since in missing[:CURED_SAMPLE]]
        result.cured_sample = [
            {
                "loan_account": account,
                "customer": name,
                "overdue_amount": f"{amount:,.2f}",
                "overdue_since": since.isoformat() if since else "",
            }
            for account, name, amount, since in Loan.objects.filter(pk__in=sample_ids)
            .order_by("loan_account")
            .values_list("loan_account", "customer__name", "overdue_amount", "overdue_since")
        ]
        if not self.write or not missing:
            return
        cured = [(self.as_of, self.loan_import_id, self.now, loan_id) for loan_id, _amount, _since in missing]
        events = [
            (loan_id, LoanEventKind.CURED, self.as_of, amount, ZERO, since, self.loan_import_id, self.now)
            for loan_id, amount, since in missing
        ]
        with connection.cursor() as cursor:
            for start in range(0, len(cured), 5000):
                cursor.executemany(self.sql.loan_cure, cured[start : start + 5000])
                cursor.executemany(self.sql.event_insert, events[start : start + 5000])


class _Sql:
    """The statements the importer runs, built once from the models' tables and columns
    (identifiers quoted by the backend; every value is a parameter)."""

    def __init__(self):
        ops = connection.ops
        qn = ops.quote_name
        self.now = ops.adapt_datetimefield_value(timezone.now())
        customer, loan = qn(Customer._meta.db_table), qn(Loan._meta.db_table)
        loan_state = ", ".join(f"l.{qn(c)}" for c in LOAN_STATE)
        self.customers_by_number = (
            "SELECT id, customer_no, name, id_number, mobile, mobile_raw, phone_problem "  # noqa: S608
            f"FROM {customer} WHERE customer_no IN "
        )
        self.customer_ids = f"SELECT customer_no, id FROM {customer} WHERE customer_no IN "  # noqa: S608
        self.loans_by_account = (
            f"SELECT l.id, l.loan_account, c.customer_no, {loan_state}, l.as_of "  # noqa: S608
            f"FROM {loan} l JOIN {customer} c ON c.id = l.customer_id WHERE l.loan_account IN "
        )
        self.loan_ids = f"SELECT loan_account, id FROM {loan} WHERE loan_account IN "  # noqa: S608
        self.customer_insert = _insert_sql(
            Customer,
            [
                "customer_no",
                "name",
                "id_number",
                "mobile",
                "mobile_raw",
                "phone_problem",
                "created_at",
                "updated_at",
            ],
        )
        self.customer_update = (
            f"UPDATE {customer} SET name = %s, id_number = %s, mobile = %s, mobile_raw = %s, "  # noqa: S608
            "phone_problem = %s, updated_at = %s WHERE id = %s"
        )
        self.loan_insert = _insert_sql(
            Loan, [*LOAN_COLUMNS, "as_of", "last_import", "created_at", "updated_at"]
        )
        sets = ", ".join(f"{qn(c)} = %s" for c in LOAN_UPDATE_COLUMNS)
        self.loan_update = f"UPDATE {loan} SET customer_id = %s, {sets} WHERE id = %s"  # noqa: S608
        self.loan_refresh = f"UPDATE {loan} SET as_of = %s WHERE id = %s"  # noqa: S608
        self.loan_cure = (
            f"UPDATE {loan} SET status = 'current', overdue_principal = 0, overdue_interest = 0, "  # noqa: S608
            "overdue_penalty = 0, overdue_amount = 0, overdue_since = NULL, as_of = %s, "
            "last_import_id = %s, updated_at = %s WHERE id = %s"
        )
        self.event_insert = _insert_sql(
            LoanEvent,
            [
                "loan",
                "kind",
                "on_date",
                "overdue_amount_before",
                "overdue_amount_after",
                "overdue_since",
                "loan_import",
                "created_at",
            ],
        )
        self.max_params = min(connection.features.max_query_params or 999, 999) - 9
        if connection.vendor == "sqlite":
            # SQLite hands numeric columns back as int/float and dates as text.
            self.decimal, self.date = _sqlite_decimal, _sqlite_date
        else:
            self.decimal = self.date = _same

    def select_in(self, prefix: str, values: list) -> list[tuple]:
        found = []
        with connection.cursor() as cursor:
            for start in range(0, len(values), self.max_params):
                part = values[start : start + self.max_params]
                cursor.execute(prefix + "(" + ", ".join(["%s"] * len(part)) + ")", part)
                found.extend(cursor.fetchall())
        return found


def _same(value):
    return value


def _sqlite_decimal(value):
    if value is None:
        return None
    if type(value) is float:
        return Decimal(repr(round(value, 2)))
    return Decimal(value)


def _sqlite_date(value):
    if value is None or type(value) is not str:
        return value
    return datetime.date.fromisoformat(value[:10])


# The loan columns the importer decides, in the order of _ChunkWriter._state.
LOAN_STATE = (
    "product",
    "branch",
    "principal",
    "balance",
    "overdue_principal",
    "overdue_interest",
    "overdue_penalty",
    "overdue_amount",
    "overdue_since",
    "next_due_date",
    "status",
)
OVERDUE_AMOUNT = LOAN_STATE.index("overdue_amount")
OVERDUE_SINCE = LOAN_STATE.index("overdue_since")
LOAN_COLUMNS = ("loan_account", "customer", *LOAN_STATE)
LOAN_UPDATE_COLUMNS = (*LOAN_STATE, "as_of", "last_import_id", "updated_at")


def _next_status(old: str, overdue: bool) -> str:
    if old == LoanStatus.IN_PLAN:
        return old  # the repayment plan decides this loan's status
    if overdue:
        return LoanStatus.OVERDUE
    if old in (LoanStatus.SETTLED, LoanStatus.WRITTEN_OFF):
        return old
    return LoanStatus.CURRENT


def _event_kind(was_overdue: bool, overdue: bool, before: Decimal, after: Decimal) -> str | None:
    if overdue and not was_overdue:
        return LoanEventKind.BECAME_OVERDUE
    if was_overdue and not overdue:
        return LoanEventKind.CURED
    if overdue and before != after:
        return LoanEventKind.AMOUNT_CHANGED
    return None


def _insert_sql(model, names: list[str]) -> str:
    """A multi-row INSERT for `names`; every other column gets its field default, so a
    field added to the model later does not break the importer."""
    qn = connection.ops.quote_name
    columns, values = [], []
    given = set(names)
    for f in model._meta.concrete_fields:
        if f.primary_key or f.generated:  # the database fills generated columns
            continue
        columns.append(qn(f.column))
        if f.name in given:
            values.append("%s")
        else:
            values.append(_sql_literal(f.get_db_prep_save(f.get_default(), connection)))
    ordered = [model._meta.get_field(n) for n in names]
    assert [qn(f.column) for f in ordered] == [c for c in columns if c in {qn(f.column) for f in ordered}], (
        "names must follow the model's field order"
    )
    return f"INSERT INTO {qn(model._meta.db_table)} ({', '.join(columns)}) VALUES ({', '.join(values)})"  # noqa: S608


def _sql_literal(value) -> str:
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, int | float | Decimal):
        return str(value)
    return "'" + str(value).replace("'", "''") + "'"


def _shared_mobiles_sync() -> int:
    """A mobile held by several customers is marked shared on each of them, and unmarked
    once only one holds it — over the whole table, so earlier imports count too."""
    table = connection.ops.quote_name(Customer._meta.db_table)
    now = connection.ops.adapt_datetimefield_value(timezone.now())
    shared = f"SELECT mobile FROM {table} WHERE mobile <> '' GROUP BY mobile HAVING COUNT(*) > 1"  # noqa: S608
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {table} SET phone_problem = %s, updated_at = %s "  # noqa: S608
            f"WHERE phone_problem = '' AND mobile <> '' AND mobile IN ({shared})",
            [PhoneProblem.SHARED, now],
        )
        marked = cursor.rowcount
        cursor.execute(
            f"UPDATE {table} SET phone_problem = '', updated_at = %s "  # noqa: S608
            f"WHERE phone_problem = %s AND mobile NOT IN ({shared})",
            [now, PhoneProblem.SHARED],
        )
    return max(marked, 0)


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


def _store_file(loan_import: LoanBookImport, book: XlsxBook, name: str) -> None:
    loan_import.file.save(name, File(book.file), save=False)
    LoanBookImport.objects.filter(pk=loan_import.pk).update(file=loan_import.file.name)
    book.file.seek(0)


def _open_stored(loan_import: LoanBookImport) -> XlsxBook:
    if not loan_import.file:
        raise BookRefused(_("The uploaded file is missing."), "missing_file")
    handle = loan_import.file.open("rb")
    return XlsxBook(handle, limits=Limits.from_settings(), close_file=True)


def _store_counts(loan_import: LoanBookImport, result: ImportResult) -> None:
    loan_import.total_rows = result.rows
    loan_import.processed_rows = result.rows
    loan_import.created_count = result.created
    loan_import.updated_count = result.updated
    loan_import.unchanged_count = result.unchanged
    loan_import.error_count = result.errors
    loan_import.cured_count = result.cured
    loan_import.details = result.details()


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
    loan_import.status = ImportStatus.FAILED
    loan_import.message = message
    loan_import.finished_at = timezone.now()
    LoanBookImport.objects.filter(pk=loan_import.pk).update(
        status=ImportStatus.FAILED,
        message=message,
        finished_at=loan_import.finished_at,
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
