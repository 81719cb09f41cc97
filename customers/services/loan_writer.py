"""The bulk writer of an import: a chunk of valid rows against the database, a handful of
statements per chunk (core.bulk), only what changed written.

A chunk costs one read per table (the customers and loans it names), multi-row INSERTs
and UPDATEs, and the loan events. Per row the cost is a tuple compared with a tuple, not
a model instance and its field preparation. The rules (what a row makes of a loan) are
in `loan_rules.py`; this module only reads, compares and writes.
"""

from __future__ import annotations

import datetime
from decimal import Decimal
from typing import TYPE_CHECKING

from django.db import connection
from django.utils import timezone

from core.bulk import BulkInsert, BulkUpdate, fetch_in

from ..importing.rows import LoanRow, loan_key
from ..models import ZERO, Customer, Loan, LoanEvent, LoanEventKind, LoanStatus, PhoneProblem
from .loan_rules import (
    CUSTOMER_STATE,
    LOAN_STATE,
    OVERDUE_AMOUNT,
    OVERDUE_SINCE,
    customer_state_after,
    customer_state_new,
    loan_event_kind,
    loan_state_after,
)

if TYPE_CHECKING:
    from .loan_import import ImportResult

CURED_SAMPLE = 100
CURE_CHUNK = 5000
EVENT_FIELDS = (
    "loan_id",
    "kind",
    "on_date",
    "overdue_amount_before",
    "overdue_amount_after",
    "overdue_since",
)


class ChunkWriter:
    """Classifies chunks of valid rows against the database and, when `write`, writes
    what changed (new and changed customers and loans, their loan events)."""

    def __init__(self, *, as_of: datetime.date, columns, loan_import, write: bool, result: ImportResult):
        self.as_of = as_of
        self.loan_import_id = loan_import.pk if loan_import else None
        self.write = write
        self.result = result
        self.columns = set(columns)
        self.has_id_number = "id_number" in self.columns
        import_id = self.loan_import_id
        self.customer_insert = BulkInsert(Customer, ("customer_no", *CUSTOMER_STATE))
        self.customer_update = BulkUpdate(Customer, CUSTOMER_STATE, touch=True)
        self.loan_insert = BulkInsert(
            Loan, ("loan_account", "customer_id", *LOAN_STATE), as_of=as_of, last_import_id=import_id
        )
        self.loan_update = BulkUpdate(
            Loan, ("customer_id", *LOAN_STATE), touch=True, as_of=as_of, last_import_id=import_id
        )
        self.loan_refresh = BulkUpdate(Loan, ("as_of",))
        self.event_insert = BulkInsert(LoanEvent, EVENT_FIELDS, loan_import_id=import_id)

    # customers ------------------------------------------------------------------------
    def _customers(self, rows: list[LoanRow]) -> dict[str, int]:
        """Customer number → id for the chunk's customers, new ones written first (when writing)."""
        numbers = list({r.customer_no for r in rows})
        existing = {
            c[1]: c
            for c in fetch_in(
                Customer, ("id", "customer_no", *CUSTOMER_STATE), key="customer_no", values=numbers
            )
        }
        ids = {no: c[0] for no, c in existing.items()}
        if not self.write:
            return ids
        inserts, updates = [], []
        for r in rows:
            if not r.first_of_customer:
                continue
            current = existing.get(r.customer_no)
            if current is None:
                inserts.append((r.customer_no, *customer_state_new(r)))
                continue
            stored = current[2:]
            wanted = customer_state_after(r, stored, has_id_number=self.has_id_number)
            if wanted != stored:
                updates.append((*wanted, current[0]))
        self.customer_insert.write(inserts)
        self.customer_update.write(updates)
        if inserts:
            ids.update(
                fetch_in(Customer, ("customer_no", "id"), key="customer_no", values=[i[0] for i in inserts])
            )
        return ids

    # loans ------------------------------------------------------------------------------
    def process(self, rows: list[LoanRow]) -> None:
        customer_ids = self._customers(rows)
        existing = {
            loan[1]: loan
            for loan in fetch_in(
                Loan,
                ("id", "loan_account", "customer_id", *LOAN_STATE, "as_of"),
                key="loan_account",
                values=[r.loan_account for r in rows],
            )
        }
        result = self.result
        write, as_of, columns = self.write, self.as_of, self.columns
        inserts, updates, events, refresh = [], [], [], []
        new_overdue: dict[str, tuple[Decimal, datetime.date | None]] = {}
        for r in rows:
            current = existing.get(r.loan_account)
            if current is None:
                result.created += 1
                if write:
                    state = loan_state_after(r, None, columns=columns)
                    inserts.append((r.loan_account, customer_ids[r.customer_no], *state))
                    if r.overdue_amount > 0:
                        new_overdue[r.loan_account] = (r.overdue_amount, r.overdue_since)
                continue
            loan_id, customer_id, state, loan_as_of = current[0], current[2], current[3:-1], current[-1]
            new_state = loan_state_after(r, state, columns=columns)
            if customer_id == customer_ids.get(r.customer_no) and new_state == state:
                result.unchanged += 1
                if write and (loan_as_of is None or loan_as_of < as_of):
                    refresh.append((as_of, loan_id))
                continue
            result.updated += 1
            kind = loan_event_kind(state, new_state)
            if kind == LoanEventKind.CURED:
                result.cured_by_rows += 1
            if not write:
                continue
            updates.append((customer_ids[r.customer_no], *new_state, loan_id))
            if kind:
                # The episode the event belongs to: a cure closes the old one.
                episode = state[OVERDUE_SINCE] if kind == LoanEventKind.CURED else new_state[OVERDUE_SINCE]
                events.append((loan_id, kind, as_of, state[OVERDUE_AMOUNT], r.overdue_amount, episode))
        if not write:
            return
        self.loan_insert.write(inserts)
        self.loan_update.write(updates)
        self.loan_refresh.write(refresh)
        if new_overdue:
            for account, loan_id in fetch_in(
                Loan, ("loan_account", "id"), key="loan_account", values=list(new_overdue)
            ):
                amount, since = new_overdue[account]
                events.append((loan_id, LoanEventKind.BECAME_OVERDUE, as_of, ZERO, amount, since))
        self.event_insert.write(events)

    # snapshot ---------------------------------------------------------------------------
    def missing_overdue(self, seen: dict) -> list[tuple[int, Decimal, datetime.date | None]]:
        """Snapshot mode: the overdue loans the file does not list (id, amount, since)."""
        missing = []
        for loan_id, account, amount, since in (
            Loan.objects.filter(status=LoanStatus.OVERDUE)
            .order_by("loan_account")
            .values_list("id", "loan_account", "overdue_amount", "overdue_since")
            .iterator(chunk_size=5000)
        ):
            if loan_key(account) not in seen:
                missing.append((loan_id, amount, since))
        return missing

    def cure(self, missing: list) -> None:
        """Cure the missing loans as of the file's date (a loan event each), when writing."""
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
        cure = BulkUpdate(
            Loan,
            (),
            touch=True,
            status=LoanStatus.CURRENT,
            overdue_principal=ZERO,
            overdue_interest=ZERO,
            overdue_penalty=ZERO,
            overdue_amount=ZERO,
            overdue_since=None,
            as_of=self.as_of,
            last_import_id=self.loan_import_id,
        )
        for start in range(0, len(missing), CURE_CHUNK):
            part = missing[start : start + CURE_CHUNK]
            cure.write([(loan_id,) for loan_id, _amount, _since in part])
            self.event_insert.write(
                [
                    (loan_id, LoanEventKind.CURED, self.as_of, amount, ZERO, since)
                    for loan_id, amount, since in part
                ]
            )


def shared_mobiles_sync() -> int:
    """A mobile held by several customers is marked shared on each of them, and unmarked
    once only one holds it — over the whole table, so earlier imports count too."""
    table = connection.ops.quote_name(Customer._meta.db_table)
    now = Customer._meta.get_field("updated_at").get_db_prep_save(timezone.now(), connection)
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


def shared_with_database(mobiles: list[tuple[str, str]]) -> list[tuple[str, str, str, str]]:
    """(mobile, customer number in the file, customer number and name in the database)
    for the (mobile, customer number) pairs of the file whose mobile another customer
    already in the database holds."""
    by_mobile: dict[str, str] = dict(mobiles)
    found = []
    for customer_no, mobile, name in fetch_in(
        Customer, ("customer_no", "mobile", "name"), key="mobile", values=list(by_mobile)
    ):
        if by_mobile.get(mobile) not in (None, customer_no):
            found.append((mobile, by_mobile[mobile], customer_no, name))
    return found
