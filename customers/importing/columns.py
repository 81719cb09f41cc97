"""The loan-book columns, the headers banks use for them, and finding the header row."""

from __future__ import annotations

import re
from dataclasses import dataclass

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

HEADER_SEARCH_ROWS = 10

# field → accepted headers, in order of preference (the first one present wins when a
# file has several, e.g. both 手机号码 and 联系电话).
ALIASES: dict[str, list[str]] = {
    "customer_no": ["客户号", "客户编号", "customer_no", "customer id"],
    "customer_name": ["客户姓名", "姓名", "customer_name", "name"],
    "id_number": ["证件号码", "身份证号", "id_number"],
    "mobile": ["手机号", "手机号码", "联系电话", "mobile", "phone"],
    "loan_account": ["贷款账号", "借据号", "loan_account", "loan_no"],
    "product": ["产品", "贷款产品", "product"],
    "branch": ["网点", "机构", "branch"],
    "principal": ["贷款金额", "合同金额", "principal"],
    "balance": ["贷款余额", "balance"],
    "overdue_principal": ["逾期本金", "overdue_principal"],
    "overdue_interest": ["逾期利息", "overdue_interest"],
    "overdue_penalty": ["罚息", "penalty", "overdue_penalty"],
    "overdue_amount": ["逾期金额", "逾期总额", "overdue_amount"],
    "overdue_since": ["逾期起始日", "首次逾期日期", "overdue_since"],
    "days_overdue": ["逾期天数", "days_overdue"],
    "next_due_date": ["下次还款日", "应还日期", "due_date", "next_due_date"],
}
LABELS = {
    "customer_no": gettext_lazy("customer number"),
    "customer_name": gettext_lazy("customer name"),
    "mobile": gettext_lazy("mobile"),
    "loan_account": gettext_lazy("loan account"),
    "overdue_amount": gettext_lazy("overdue amount (or overdue principal, interest and penalty)"),
    "overdue_since": gettext_lazy("first-overdue date or days overdue"),
}
OVERDUE_PARTS = ("overdue_principal", "overdue_interest", "overdue_penalty")

# Units and markers banks add to headers: 逾期金额（元）, 客户号*, Loan No.
_HEADER_NOISE = re.compile(r"[（(][^)）]*[)）]|[*＊:：.。]|\s+|[_\-]")


def normalize_header(value: object) -> str:
    """Case-, space- and underscore-insensitive; units in brackets and * markers dropped."""
    if value is None:
        return ""
    return _HEADER_NOISE.sub("", str(value)).casefold()


_LOOKUP: dict[str, tuple[str, int]] = {}
for _field, _names in ALIASES.items():
    for _rank, _name in enumerate(_names):
        _LOOKUP.setdefault(normalize_header(_name), (_field, _rank))


@dataclass
class Header:
    """Where the header row is and which column holds which field."""

    row: int
    columns: dict[str, int]  # field → 0-based column index
    titles: dict[int, str]  # column index → the header as written in the file

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


def match_header(values: dict[int, object], row: int) -> Header | None:
    """A Header when this row names the loan account and customer number columns."""
    best: dict[str, tuple[int, int]] = {}
    titles: dict[int, str] = {}
    for index in sorted(values):
        value = values[index]
        if not isinstance(value, str):
            continue
        titles[index] = value.strip()
        found = _LOOKUP.get(normalize_header(value))
        if found is None:
            continue
        field, rank = found
        if field not in best or rank < best[field][0]:
            best[field] = (rank, index)
    if "loan_account" not in best or "customer_no" not in best:
        return None
    return Header(row=row, columns={f: index for f, (_rank, index) in best.items()}, titles=titles)


def describe_missing(labels: list[str]) -> str:
    return _("The header row lacks required columns: %(columns)s.") % {"columns": "、".join(labels)}
