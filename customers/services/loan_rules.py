"""The loan rules of an import: what a row makes of a loan and its customer, which loan
event that is, and when a snapshot is too big a change to apply unasked.

Pure functions over tuples and LoanRows (no database): the bulk writer
(`loan_writer.py`) reads the stored state, asks these rules, and writes what changed.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

from django.conf import settings
from django.utils.translation import gettext as _

from ..importing.rows import LoanRow
from ..models import ZERO, LoanEventKind, LoanStatus, PhoneProblem

# The loan columns an import decides, in this order everywhere (stored state and new state).
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
STATUS = LOAN_STATE.index("status")
# Optional columns: a file without one leaves the stored value as it is.
OPTIONAL_LOAN_FIELDS = ("product", "branch", "principal", "balance", "next_due_date")
# The customer columns an import decides, in this order.
CUSTOMER_STATE = ("name", "id_number", "id_number_check_failed", "mobile", "mobile_raw", "phone_problem")
# Phone problems that a file without a new number does not clear: "shared" is decided
# again over the whole table after every import; "wrong number" sticks to the number.
KEPT_PROBLEMS = (PhoneProblem.SHARED, PhoneProblem.WRONG_NUMBER)


def loan_next_status(old: str | None, overdue: bool) -> str:
    """A loan's status after a row: overdue when it has an overdue amount; a loan in a
    repayment plan keeps its status (the plan decides); settled and written-off loans
    stay so unless overdue again."""
    if old == LoanStatus.IN_PLAN:
        return old
    if overdue:
        return LoanStatus.OVERDUE
    if old in (LoanStatus.SETTLED, LoanStatus.WRITTEN_OFF):
        return old
    return LoanStatus.CURRENT


def loan_state_after(row: LoanRow, current: tuple | None, *, columns: set[str]) -> tuple:
    """The loan's LOAN_STATE after `row`. A column the file lacks leaves its field as it
    is (the overdue parts included); a loan with nothing overdue has no overdue parts."""
    overdue = row.overdue_amount > 0
    if current is None:
        product, branch, principal, balance, next_due = (
            row.product,
            row.branch,
            row.principal,
            row.balance,
            row.next_due_date,
        )
        parts = [
            p if p is not None else ZERO
            for p in (row.overdue_principal, row.overdue_interest, row.overdue_penalty)
        ]
        status = LoanStatus.OVERDUE if overdue else LoanStatus.CURRENT
    else:
        product = row.product if "product" in columns else current[0]
        branch = row.branch if "branch" in columns else current[1]
        principal = row.principal if "principal" in columns else current[2]
        balance = row.balance if "balance" in columns else current[3]
        next_due = row.next_due_date if "next_due_date" in columns else current[9]
        parts = [
            p if p is not None else stored
            for p, stored in zip(
                (row.overdue_principal, row.overdue_interest, row.overdue_penalty), current[4:7], strict=True
            )
        ]
        status = loan_next_status(current[STATUS], overdue)
    if not overdue:
        parts = [ZERO, ZERO, ZERO]
    return (
        product,
        branch,
        principal,
        balance,
        *parts,
        row.overdue_amount,
        row.overdue_since,
        next_due,
        status,
    )


def loan_event_kind(before: tuple, after: tuple) -> str | None:
    """The loan event a change from `before` to `after` (LOAN_STATE tuples) records."""
    old_amount, new_amount = before[OVERDUE_AMOUNT], after[OVERDUE_AMOUNT]
    was_overdue = old_amount > 0 or before[STATUS] == LoanStatus.OVERDUE
    overdue = new_amount > 0
    if overdue and not was_overdue:
        return LoanEventKind.BECAME_OVERDUE
    if was_overdue and not overdue:
        return LoanEventKind.CURED
    if overdue and old_amount != new_amount:
        return LoanEventKind.AMOUNT_CHANGED
    return None


def customer_state_after(row: LoanRow, current: tuple, *, has_id_number: bool) -> tuple:
    """The customer's CUSTOMER_STATE after the first row that names it (current: the
    stored CUSTOMER_STATE)."""
    name, id_number, check_failed, mobile, _raw, problem = current
    new_problem = row.phone_problem
    if mobile == row.mobile and problem in KEPT_PROBLEMS and new_problem == PhoneProblem.NONE:
        new_problem = problem
    if has_id_number:
        id_number, check_failed = row.id_number, row.id_number_check_failed
    return (row.customer_name, id_number, check_failed, row.mobile, row.mobile_raw, new_problem)


def customer_state_new(row: LoanRow) -> tuple:
    return (
        row.customer_name,
        row.id_number,
        row.id_number_check_failed,
        row.mobile,
        row.mobile_raw,
        row.phone_problem,
    )


# --- snapshot safety -------------------------------------------------------------------------
@dataclass
class SnapshotSafety:
    """Whether a snapshot changes too much to apply without a supervisor (or --force):
    it would cure more than LOAN_IMPORT_SNAPSHOT_MAX_CURED_PERCENT of the overdue book,
    or more than LOAN_IMPORT_SNAPSHOT_MAX_REJECTED_PERCENT of its rows were rejected."""

    overdue_book: int
    cured: int
    rows: int
    rejected: int
    max_cured_percent: float
    max_rejected_percent: float

    @property
    def cured_percent(self) -> float:
        return 100 * self.cured / self.overdue_book if self.overdue_book else 0.0

    @property
    def rejected_percent(self) -> float:
        return 100 * self.rejected / self.rows if self.rows else 0.0

    @property
    def too_many_cured(self) -> bool:
        return self.cured_percent > self.max_cured_percent

    @property
    def too_many_rejected(self) -> bool:
        return self.rejected_percent > self.max_rejected_percent

    @property
    def unsafe(self) -> bool:
        return self.too_many_cured or self.too_many_rejected

    def allowed_by(self, confirmed: dict | None) -> bool:
        """Whether a supervisor's confirmation (of at most these numbers) covers this."""
        if not self.unsafe:
            return True
        if not confirmed:
            return False
        return self.cured <= confirmed.get("cured", -1) and self.rejected <= confirmed.get("rejected", -1)

    def problems(self) -> list[str]:
        found = []
        if self.too_many_cured:
            found.append(
                _(
                    "it would cure %(cured)s of the %(book)s overdue loans (%(percent)s%%; the limit is "
                    "%(limit)s%%)"
                )
                % {
                    "cured": f"{self.cured:,}",
                    "book": f"{self.overdue_book:,}",
                    "percent": _percent(self.cured_percent),
                    "limit": _percent(self.max_cured_percent),
                }
            )
        if self.too_many_rejected:
            found.append(
                _("%(rejected)s of its %(rows)s rows were rejected (%(percent)s%%; the limit is %(limit)s%%)")
                % {
                    "rejected": f"{self.rejected:,}",
                    "rows": f"{self.rows:,}",
                    "percent": _percent(self.rejected_percent),
                    "limit": _percent(self.max_rejected_percent),
                }
            )
        return found

    def as_dict(self) -> dict:
        return {
            **asdict(self),
            "cured_percent": round(self.cured_percent, 1),
            "rejected_percent": round(self.rejected_percent, 1),
            "unsafe": self.unsafe,
            "too_many_cured": self.too_many_cured,
            "too_many_rejected": self.too_many_rejected,
        }


def snapshot_safety(*, overdue_book: int, cured: int, rows: int, rejected: int) -> SnapshotSafety:
    return SnapshotSafety(
        overdue_book=overdue_book,
        cured=cured,
        rows=rows,
        rejected=rejected,
        max_cured_percent=float(settings.LOAN_IMPORT_SNAPSHOT_MAX_CURED_PERCENT),
        max_rejected_percent=float(settings.LOAN_IMPORT_SNAPSHOT_MAX_REJECTED_PERCENT),
    )


def _percent(value: float) -> str:
    return f"{value:.1f}".rstrip("0").rstrip(".")
