"""Per-row rules: a sheet row becomes a LoanRow, or the reasons it is rejected.

The checks that span the file (a loan account seen before, a customer number with two
names) keep one compact entry per loan account and per customer, nothing else, so memory
grows slowly and only with the distinct keys of the book.
"""

from __future__ import annotations

import datetime
import re
from array import array
from collections import Counter
from dataclasses import dataclass
from decimal import Decimal

from django.utils.translation import gettext as _

from ..models import ZERO
from ..phones import phone_normalize
from .cells import CellError, Uncalculated
from .columns import IDENTIFIER_FIELDS, OVERDUE_PARTS, Header
from .parsers import (
    StoredAsNumber,
    display_value,
    id_number_check_fails,
    normalize_text,
    parse_amount,
    parse_date,
    parse_days,
    parse_identifier,
    parse_text,
)

AMOUNT_FIELDS = ("principal", "balance", *OVERDUE_PARTS, "overdue_amount")
DATE_FIELDS = ("overdue_since", "next_due_date")
TEXT_LIMITS = {
    "customer_no": 64,
    "customer_name": 100,
    "id_number": 32,
    "loan_account": 64,
    "product": 100,
    "branch": 100,
}
PLAIN_TYPES = frozenset([str, int, float, bool, datetime.date, datetime.datetime])
# A totals or subtotal row (合计, 小计, 本页合计, 共 200 笔, Total) and a footer line
# (制表人：…, 注：…), told by the text of their cells, spaces removed.
TOTALS = re.compile(
    r"^(?:本页|本表|全部|总|累计|分行|支行)?(?:合计|小计|总计|共计|汇总)|^(?:grand)?(?:sub)?totals?(?![a-z])|^共\d+[条笔户行项]",
    re.IGNORECASE,
)
FOOTER = re.compile(
    r"^(?:制表|审核|复核|打印|经办|负责人|填报|注[:：]|备注[:：]|说明[:：]|数据来源|数据截止|截止|导出|报表日期|单位[:：])"
)


def _squeezed(value: str) -> str:
    return "".join(normalize_text(value).split())


@dataclass
class RowError:
    row: int
    column: str
    value: str
    message: str

    def as_dict(self) -> dict:
        return {"row": self.row, "column": self.column, "value": self.value, "message": self.message}


@dataclass(slots=True)
class LoanRow:
    """One valid row: the loan as the file states it, and its customer."""

    row: int
    customer_no: str
    customer_name: str
    id_number: str
    mobile: str
    mobile_raw: str
    phone_problem: str
    first_of_customer: bool
    loan_account: str
    product: str
    branch: str
    principal: Decimal
    balance: Decimal
    overdue_principal: Decimal | None  # None: the file has no such column (the stored value stays)
    overdue_interest: Decimal | None
    overdue_penalty: Decimal | None
    overdue_amount: Decimal
    overdue_since: datetime.date | None
    next_due_date: datetime.date | None
    id_number_check_failed: bool = False


def loan_key(account: str):
    """A compact set member for a loan account: ASCII digits become an int (half the
    memory of the string); anything else, and digits with a leading zero, stay a string."""
    if account.isdigit() and account.isascii() and account[0] != "0" and len(account) < 19:
        return int(account)
    return account


EXCEL_ERROR_NAMES = frozenset(["#N/A", "#VALUE!", "#REF!", "#DIV/0!", "#NUM!", "#NAME?", "#NULL!"])


def _as_text(value) -> str:
    if type(value) is str:
        return value.strip()
    if value is None:
        return ""
    return parse_text(value, 1 << 30)


class RowValidator:
    """Checks rows in file order and remembers what the cross-row rules need."""

    def __init__(self, header: Header, as_of: datetime.date):
        self.header = header
        self.as_of = as_of
        cols = header.columns
        self._col = {
            f: cols.get(f) for f in (*TEXT_LIMITS, *AMOUNT_FIELDS, *DATE_FIELDS, "mobile", "days_overdue")
        }
        self._text_fields = [f for f in TEXT_LIMITS if f in cols]
        self._amount_fields = [f for f in AMOUNT_FIELDS if f in cols]
        self._amount_index = [cols[f] for f in self._amount_fields]
        self._date_fields = [f for f in DATE_FIELDS if f in cols]
        self._date_index = [cols[f] for f in self._date_fields]
        self._blank_index = list(cols.values())
        self._field_of = {index: f for f, index in cols.items()}
        self._id_fields = [f for f in IDENTIFIER_FIELDS if f in cols]
        self._other_text_fields = [f for f in self._text_fields if f not in IDENTIFIER_FIELDS]
        self._parts_given = [f in cols for f in OVERDUE_PARTS]
        self._name_cache: dict[str, str] = {}
        self.loan_rows: dict[object, int] = {}  # loan account key → first row number
        self._names: dict[str, str] = {}  # customer number → name, from its first valid row
        self._unclaimed: dict[str, str] = {}  # customers seen so far only on rejected rows
        self.stored_as_numbers: Counter = Counter()  # identifier field → cells held as numbers
        # (national mobile << 27 | customer ordinal) of each valid customer's mobile, to find
        # mobiles shared within the file at the end with a sort, not a dict per customer.
        self.mobiles = array("Q")

    def is_blank(self, values: dict) -> bool:
        get = values.get
        for index in self._blank_index:
            value = get(index)
            if value is not None and (type(value) is not str or value.strip()):
                return False
        return True

    def skip_reason(self, row) -> str | None:
        """ "totals" or "footer" for a row that is no loan: its identifier and name cells
        are empty (or say 合计) and it says 合计/小计/总计/共计, or it is a line of text
        under the book (制表人：…); else None."""
        values = row.values
        for f in (*self._id_fields, "customer_name"):
            v = values.get(self._col.get(f)) if f in self._col else None
            if v is None:
                continue
            if not isinstance(v, str):
                return None
            text = _squeezed(v)
            if text and not (TOTALS.match(text) or FOOTER.match(text)):
                return None
        cells = row.all_values()
        texts = [_squeezed(v) for v in cells.values() if isinstance(v, str) and v.strip()]
        if any(TOTALS.match(t) for t in texts):
            return "totals"
        if texts and len(texts) == len(cells) and (len(texts) <= 2 or any(FOOTER.match(t) for t in texts)):
            return "footer"
        return None

    def check(self, number: int, values: dict) -> LoanRow | list[RowError]:
        """The row as a LoanRow, or every reason it is rejected."""
        errors: list[RowError] = []
        col = self._col
        if not PLAIN_TYPES.issuperset(map(type, values.values())):
            values = self._without_markers(errors, number, values)
        get = values.get
        as_of = self.as_of

        texts = {}
        for f in self._id_fields:
            raw = get(col[f])
            try:
                texts[f], was_number = parse_identifier(raw)
            except StoredAsNumber:
                texts[f] = ""
                self._error(
                    errors,
                    number,
                    values,
                    f,
                    _(
                        "%(column)s was saved as a number and has lost digits: format the column as text "
                        "and export the file again."
                    )
                    % {"column": self.header.title(f)},
                )
                continue
            except ValueError as exc:
                texts[f] = ""
                self._error(errors, number, values, f, str(exc))
                continue
            if was_number:
                self.stored_as_numbers[f] += 1
        try:
            for f in self._other_text_fields:
                texts[f] = _as_text(get(col[f]))
        except ValueError:
            texts.update(self._texts_slowly(errors, number, values))
        for field in self._text_fields:
            if len(texts[field]) > TEXT_LIMITS[field]:
                self._error(
                    errors,
                    number,
                    values,
                    field,
                    _("Too long (at most %(n)s characters).") % {"n": TEXT_LIMITS[field]},
                )
                texts[field] = ""
        loan_account = texts["loan_account"]
        customer_no = texts["customer_no"]
        name = texts["customer_name"]
        if name in EXCEL_ERROR_NAMES:
            self._error(
                errors,
                number,
                values,
                "customer_name",
                _("The cell holds a spreadsheet error (%(error)s).") % {"error": name},
            )
            name = texts["customer_name"] = ""
        if not loan_account and not self._failed(errors, ("loan_account",)):
            self._error(errors, number, values, "loan_account", _("The loan account is missing."))
        if not customer_no and not self._failed(errors, ("customer_no",)):
            self._error(errors, number, values, "customer_no", _("The customer number is missing."))

        if loan_account:
            key = loan_key(loan_account)
            first = self.loan_rows.get(key)
            if first is None:
                self.loan_rows[key] = number
            else:
                self._error(
                    errors,
                    number,
                    values,
                    "loan_account",
                    _("This loan account already appears in row %(row)s.") % {"row": first},
                )
        if customer_no:
            known = self._names.get(customer_no)
            if known is None and self._unclaimed:
                known = self._unclaimed.get(customer_no)
            if not name:
                if not self._failed(errors, ("customer_name",)):
                    self._error(errors, number, values, "customer_name", _("The customer name is missing."))
            elif known is not None and known != name:
                self._error(
                    errors,
                    number,
                    values,
                    "customer_name",
                    _("Customer %(customer_no)s is named “%(name)s” earlier in the file.")
                    % {"customer_no": customer_no, "name": known},
                )

        try:
            amounts = dict(
                zip(self._amount_fields, [parse_amount(get(i)) for i in self._amount_index], strict=True)
            )
        except ValueError:
            amounts = self._parse_slowly(errors, number, values, self._amount_fields, parse_amount)
        parts = [amounts.get(f) for f in OVERDUE_PARTS]
        total = amounts.get("overdue_amount")
        given_parts = parts[0] is not None or parts[1] is not None or parts[2] is not None
        if total is None and given_parts and not self._failed(errors, ("overdue_amount",)):
            total = (parts[0] or ZERO) + (parts[1] or ZERO) + (parts[2] or ZERO)
        total = total or ZERO
        # A part column the file has: its blank cell is 0. One it lacks: None, kept as stored.
        given = self._parts_given
        parts = [(p or ZERO) if g else None for p, g in zip(parts, given, strict=True)]

        try:
            dates = dict(zip(self._date_fields, [parse_date(get(i)) for i in self._date_index], strict=True))
        except ValueError:
            dates = self._parse_slowly(errors, number, values, self._date_fields, parse_date)
        since = dates.get("overdue_since")
        days = None
        if col["days_overdue"] is not None:
            try:
                days = parse_days(get(col["days_overdue"]))
            except ValueError as exc:
                self._error(errors, number, values, "days_overdue", str(exc))
        if total > 0:
            if since is None and days is not None:
                since = as_of - datetime.timedelta(days=days)
            if since is None:
                if not self._failed(errors, ("overdue_since", "days_overdue")):
                    self._error(
                        errors,
                        number,
                        values,
                        "overdue_since" if col["overdue_since"] is not None else "days_overdue",
                        _("There is an overdue amount but no first-overdue date or days overdue."),
                    )
            elif since > as_of:
                self._error(
                    errors,
                    number,
                    values,
                    "overdue_since",
                    _("The first-overdue date is after the as-of date (%(as_of)s).")
                    % {"as_of": as_of.isoformat()},
                )
        else:
            since = None

        if errors:
            if customer_no and name and customer_no not in self._names and customer_no not in self._unclaimed:
                self._unclaimed[customer_no] = name
            return errors

        raw_phone = get(col["mobile"])
        mobile, problem = phone_normalize(raw_phone)
        first_of_customer = customer_no not in self._names
        if first_of_customer:
            if mobile:
                self.mobiles.append(int(mobile[3:]) << 27 | len(self._names))
            self._names[customer_no] = self._name_cache.setdefault(name, name)
            if self._unclaimed:
                self._unclaimed.pop(customer_no, None)
        id_number = texts.get("id_number", "")
        return LoanRow(
            number,
            customer_no,
            name,
            id_number,
            mobile,
            (raw_phone.strip() if type(raw_phone) is str else display_value(raw_phone))[:64],
            problem,
            first_of_customer,
            loan_account,
            texts.get("product", ""),
            texts.get("branch", ""),
            amounts.get("principal") or ZERO,
            amounts.get("balance") or ZERO,
            parts[0],
            parts[1],
            parts[2],
            total,
            since,
            dates.get("next_due_date"),
            first_of_customer and bool(id_number) and id_number_check_fails(id_number),
        )

    def _without_markers(self, errors, number, values) -> dict:
        """The row without its uncalculated formulas and error values, each a row error."""
        kept = {}
        for index, value in values.items():
            kind = type(value)
            field = self._field_of.get(index)
            if kind is Uncalculated and field:
                formula = f"（={value.formula}）" if value.formula else ""
                self._error(
                    errors,
                    number,
                    values,
                    field,
                    _(
                        "The formula%(formula)s has no calculated value: open the file in Excel (or WPS) and "
                        "save it, then import it again."
                    )
                    % {"formula": formula},
                )
            elif kind is CellError and field:
                self._error(
                    errors,
                    number,
                    values,
                    field,
                    _("The cell holds a spreadsheet error (%(error)s).") % {"error": value},
                )
            elif kind is not Uncalculated and kind is not CellError:
                kept[index] = value
        return kept

    def shared_mobiles(self) -> list[tuple[str, list[str]]]:
        """Mobiles that several customers of the file give: (E.164, their customer numbers)."""
        if len(self.mobiles) < 2:
            return []
        packed = sorted(self.mobiles)
        mask = (1 << 27) - 1
        groups: dict[int, list[int]] = {}
        previous = packed[0]
        for value in packed[1:]:
            if value >> 27 == previous >> 27:
                groups.setdefault(value >> 27, [previous & mask]).append(value & mask)
            previous = value
        if not groups:
            return []
        wanted = {i for members in groups.values() for i in members}
        numbers = {i: no for i, no in enumerate(self._names) if i in wanted}
        return [(f"+86{mobile}", [numbers[i] for i in members]) for mobile, members in sorted(groups.items())]

    def _texts_slowly(self, errors, number, values) -> dict[str, str]:
        return self._parse_slowly(
            errors, number, values, self._other_text_fields, lambda v: parse_text(v, 1 << 30), default=""
        )

    def _parse_slowly(self, errors, number, values, fields, parse, default=None) -> dict:
        parsed = {}
        for field in fields:
            try:
                parsed[field] = parse(values.get(self._col[field]))
            except ValueError as exc:
                self._error(errors, number, values, field, str(exc))
                parsed[field] = default
        return parsed

    def _error(self, errors, number, values, field, message) -> None:
        index = self.header.columns.get(field)
        raw = values.get(index) if index is not None else None
        errors.append(RowError(number, self.header.title(field), display_value(raw), message))

    def _failed(self, errors: list[RowError], fields: tuple[str, ...]) -> bool:
        if not errors:
            return False
        titles = {self.header.title(f) for f in fields}
        return any(e.column in titles for e in errors)
