"""The loan-book columns, the headers banks use for them, and reading the header row.

Which column holds a field (docs/loan-book-format.md, "Headers"):
- each field's accepted titles are listed below from the most specific to the least;
  when several columns could hold one field, the most specific title wins (逾期总额 over
  逾期金额, 手机号 over 联系电话), and the preview says which column was used and which not;
- two columns with equally specific titles for one field (the same title twice) refuse
  the file, naming both: the importer never picks one of them silently;
- a two-row header (a group row over a sub-header row, merged cells or not) is read as
  such: a sub-column takes its meaning from its group (逾期金额 › 本金 is the overdue
  principal), and a group title over sub-columns is a title, not a column of its own.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from .cells import BookRefused

HEADER_SEARCH_ROWS = 10
IDENTIFIER_FIELDS = ("loan_account", "customer_no", "id_number")

# field → accepted headers, the most specific first.
ALIASES: dict[str, list[str]] = {
    "customer_no": ["客户号", "客户编号", "客户代码", "customer_no", "customer id"],
    "customer_name": ["客户姓名", "客户名称", "姓名", "customer_name", "name"],
    "id_number": ["证件号码", "身份证号", "身份证号码", "id_number"],
    "mobile": ["手机号", "手机号码", "移动电话", "联系电话", "mobile", "phone"],
    "loan_account": ["贷款账号", "借据号", "loan_account", "loan_no"],
    "product": ["产品", "贷款产品", "产品名称", "product"],
    "branch": ["网点", "机构", "所属机构", "branch"],
    "principal": ["贷款金额", "合同金额", "principal"],
    "balance": ["贷款余额", "balance"],
    "overdue_principal": ["逾期本金", "overdue_principal"],
    "overdue_interest": ["逾期利息", "overdue_interest"],
    "overdue_penalty": ["罚息", "逾期罚息", "penalty", "overdue_penalty"],
    "overdue_amount": [
        "逾期总额",
        "逾期合计",
        "逾期金额合计",
        "逾期总金额",
        "逾期金额",
        "overdue_total",
        "overdue_amount",
    ],
    "overdue_since": ["逾期起始日", "首次逾期日期", "首次逾期日", "逾期起始日期", "overdue_since"],
    "days_overdue": ["逾期天数", "days_overdue"],
    "next_due_date": ["下次还款日", "应还日期", "due_date", "next_due_date"],
}
# Sub-headers under an overdue-amount group (逾期金额 › 本金 | 利息 | 罚息 | 合计).
GROUP_PARTS: dict[str, str] = {
    "本金": "overdue_principal",
    "principal": "overdue_principal",
    "利息": "overdue_interest",
    "interest": "overdue_interest",
    "罚息": "overdue_penalty",
    "罚金": "overdue_penalty",
    "penalty": "overdue_penalty",
    "合计": "overdue_amount",
    "小计": "overdue_amount",
    "总额": "overdue_amount",
    "总计": "overdue_amount",
    "金额": "overdue_amount",
    "total": "overdue_amount",
}
LABELS = {
    "customer_no": gettext_lazy("customer number"),
    "customer_name": gettext_lazy("customer name"),
    "id_number": gettext_lazy("ID number"),
    "mobile": gettext_lazy("mobile"),
    "loan_account": gettext_lazy("loan account"),
    "product": gettext_lazy("product"),
    "branch": gettext_lazy("branch"),
    "principal": gettext_lazy("principal"),
    "balance": gettext_lazy("balance"),
    "overdue_principal": gettext_lazy("overdue principal"),
    "overdue_interest": gettext_lazy("overdue interest"),
    "overdue_penalty": gettext_lazy("penalty interest"),
    "overdue_amount": gettext_lazy("overdue amount (or overdue principal, interest and penalty)"),
    "overdue_since": gettext_lazy("first-overdue date or days overdue"),
    "days_overdue": gettext_lazy("days overdue"),
    "next_due_date": gettext_lazy("next due date"),
}
OVERDUE_PARTS = ("overdue_principal", "overdue_interest", "overdue_penalty")
SHORT_LABELS = {
    "overdue_amount": gettext_lazy("overdue amount"),
    "overdue_since": gettext_lazy("first-overdue date"),
}


def field_label(name: str) -> str:
    return str(SHORT_LABELS.get(name) or LABELS[name])


# Units and markers banks add to headers: 逾期金额（元）, 客户号*, Loan No.
_HEADER_NOISE = re.compile(r"[（(][^)）]*[)）]|[*＊:：.。]|\s+|[_\-/]")


def normalize_header(value: object) -> str:
    """Case-, space- and underscore-insensitive; units in brackets and * markers dropped."""
    if value is None:
        return ""
    return _HEADER_NOISE.sub("", str(value)).casefold()


_LOOKUP: dict[str, tuple[str, int]] = {}
for _field, _names in ALIASES.items():
    for _rank, _name in enumerate(_names):
        _LOOKUP.setdefault(normalize_header(_name), (_field, _rank))
_PARTS = {normalize_header(k): v for k, v in GROUP_PARTS.items()}


def count_known_titles(cells) -> int:
    """How many of these cells are titles of a loan-book column."""
    return sum(1 for cell in cells if normalize_header(cell) in _LOOKUP)


def column_name(index: int) -> str:
    """0 → A, 26 → AA (spreadsheet column letters, also for CSV columns)."""
    letters = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


@dataclass
class Header:
    """Where the header is and which column holds which field."""

    row: int  # the last header row: data starts below it
    columns: dict[str, int]  # field → 0-based column index
    titles: dict[int, str]  # column index → the header as written in the file
    first_row: int = 0  # the first header row (a two-row header starts one row above `row`)
    notes: list[str] = field(default_factory=list)  # which column was chosen where several could be

    def __post_init__(self):
        self.first_row = self.first_row or self.row

    def title(self, field: str) -> str:
        index = self.columns.get(field)
        return self.titles.get(index, field) if index is not None else field

    def missing_required(self) -> list[str]:
        """Labels of the required columns the file lacks."""
        have = self.columns
        missing = [f for f in ("customer_no", "customer_name", "mobile", "loan_account") if f not in have]
        if "overdue_amount" not in have and not all(p in have for p in OVERDUE_PARTS):
            missing.append("overdue_amount")
        if "overdue_since" not in have and "days_overdue" not in have:
            missing.append("overdue_since")
        return [str(LABELS[f]) for f in missing]


@dataclass
class _Candidate:
    index: int
    field: str
    rank: int
    title: str


@dataclass
class _Reading:
    """One way of reading the header rows: candidates per column, titles, group notes."""

    candidates: list[_Candidate]
    titles: dict[int, str]
    groups: list[str] = field(default_factory=list)

    def fields(self) -> dict[str, int]:
        best: dict[str, _Candidate] = {}
        for c in self.candidates:
            if c.field not in best or c.rank < best[c.field].rank:
                best[c.field] = c
        return {f: c.index for f, c in best.items()}

    def is_header(self) -> bool:
        found = {c.field for c in self.candidates}
        return "loan_account" in found and "customer_no" in found


def _texts(values: dict[int, object]) -> dict[int, str]:
    return {i: v.strip() for i, v in values.items() if isinstance(v, str) and v.strip()}


def _single(values: dict[int, object]) -> _Reading:
    titles = _texts(values)
    candidates = []
    for index in sorted(titles):
        found = _LOOKUP.get(normalize_header(titles[index]))
        if found is not None:
            candidates.append(_Candidate(index, found[0], found[1], titles[index]))
    return _Reading(candidates, titles)


def _combine(group: str | None, sub: str) -> tuple[str, int] | None:
    if group:
        found = _LOOKUP.get(normalize_header(group + sub))
        if found is not None:
            return found
        group_field = _LOOKUP.get(normalize_header(group))
        if group_field is not None and group_field[0] == "overdue_amount":
            part = _PARTS.get(normalize_header(sub))
            if part is not None:
                return part, -1  # named by its group: as specific as a title can be
    return _LOOKUP.get(normalize_header(sub))


def _two_rows(upper_values: dict[int, object], lower_values: dict[int, object]) -> _Reading:
    upper, lower = _texts(upper_values), _texts(lower_values)
    columns = sorted(set(upper) | set(lower))
    candidates: list[_Candidate] = []
    titles: dict[int, str] = {}
    groups: list[str] = []
    group = None
    members: dict[int, list[str]] = {}
    if columns:
        for index in range(columns[0], columns[-1] + 1):
            top, sub = upper.get(index), lower.get(index)
            if top:
                group, group_index = top, index
            elif not sub:
                group = None
            if sub:
                found = _combine(group, sub)
                grouped = group and (
                    _LOOKUP.get(normalize_header(group)) is not None
                    or _LOOKUP.get(normalize_header(group + sub)) is not None
                )
                titles[index] = f"{group}/{sub}" if grouped else sub
                if group:
                    members.setdefault(group_index, []).append(sub)
            elif top:
                found = _LOOKUP.get(normalize_header(top))
                titles[index] = top
            else:
                continue
            if found is not None:
                candidates.append(_Candidate(index, found[0], found[1], titles[index]))
    for index, subs in members.items():
        if _LOOKUP.get(normalize_header(upper[index])) is not None:
            groups.append(
                _("“%(group)s” (column %(column)s) is the title of a group over %(subs)s.")
                % {"group": upper[index], "column": column_name(index), "subs": "、".join(subs)}
            )
    return _Reading(candidates, titles, groups)


def _header_like(values: dict[int, object]) -> bool:
    return bool(values) and all(isinstance(v, str) for v in values.values())


def read_header(rows: list, *, last_row: int = HEADER_SEARCH_ROWS) -> Header | None:
    """The header among the first rows of a sheet (Row objects in order), or None.

    A row naming the loan-account and customer-number columns is the header; a text-only
    row right above it (a group row) or right below it (a sub-header row, the identifier
    cells empty because they are merged down) makes it a two-row header when reading the
    two together finds columns that the row alone does not."""
    for position, row in enumerate(rows):
        if row.number > last_row:
            break
        single = _single(row.values)
        if not single.is_header():
            continue
        chosen, first = single, row.number
        below = rows[position + 1] if position + 1 < len(rows) else None
        above = rows[position - 1] if position > 0 else None
        if below is not None and below.number == row.number + 1 and _header_like(below.values):
            pair = _two_rows(row.values, below.values)
            ids = pair.fields()
            if (
                pair.is_header()
                and below.values.get(ids.get("loan_account")) is None
                and below.values.get(ids.get("customer_no")) is None
                and pair.fields() != single.fields()
            ):
                return _header(pair, below.number, row.number)
        if (
            above is not None
            and above.number == row.number - 1
            and _header_like(above.values)
            and len(above.values) >= 2
        ):
            pair = _two_rows(above.values, row.values)
            if pair.is_header() and pair.fields() != single.fields():
                chosen, first = pair, above.number
        return _header(chosen, row.number, first)
    return None


def _header(reading: _Reading, row: int, first: int) -> Header:
    by_field: dict[str, list[_Candidate]] = {}
    for c in reading.candidates:
        by_field.setdefault(c.field, []).append(c)
    columns: dict[str, int] = {}
    notes = list(reading.groups)
    for name, found in by_field.items():
        found.sort(key=lambda c: (c.rank, c.index))
        best = found[0]
        if len(found) > 1 and found[1].rank == best.rank:
            raise BookRefused(
                _(
                    "Columns %(a)s (“%(a_title)s”) and %(b)s (“%(b_title)s”) could both be the %(field)s: "
                    "rename or remove one of them, then import again."
                )
                % {
                    "a": column_name(best.index),
                    "a_title": best.title,
                    "b": column_name(found[1].index),
                    "b_title": found[1].title,
                    "field": field_label(name),
                },
                "ambiguous_columns",
            )
        columns[name] = best.index
        for other in found[1:]:
            notes.append(
                _(
                    "%(field)s: column %(used)s (“%(used_title)s”) is used, column %(other)s (“%(other_title)s”) is not."
                )
                % {
                    "field": field_label(name),
                    "used": column_name(best.index),
                    "used_title": best.title,
                    "other": column_name(other.index),
                    "other_title": other.title,
                }
            )
    return Header(row=row, columns=columns, titles=reading.titles, first_row=first, notes=notes)


def match_header(values: dict[int, object], row: int) -> Header | None:
    """A Header when this one row names the loan account and customer number columns."""
    reading = _single(values)
    if not reading.is_header():
        return None
    return _header(reading, row, row)


def describe_missing(labels: list[str]) -> str:
    return _("The header row lacks required columns: %(columns)s.") % {"columns": "、".join(labels)}
