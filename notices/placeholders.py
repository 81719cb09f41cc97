"""The placeholder registry: every `{name}` a template may hold, defined once.

A placeholder is its name, the label on the editor's button, the purposes whose templates
may use it, how its value follows from the facts of a message (`MessageFacts`: the
customer's salutation, the loans the message covers, the stage's repay-by date, the plan's
installment; the bank's settings), and what it says about the loans (`Scope`), which is
how the lint keeps multi-loan messages true. Every context — the batch, plan messages,
feedback replies, the demo, the editor's preview and the lint — is built from here, and
the sample values the editor and the lint use are these same functions applied to the
sample facts at the bottom. Adding a placeholder is adding one `Placeholder(...)` below.

A message may cover several loans of one customer (a notice covers every loan due that
day, a plan one or more loans). What is true of one loan is then not true of the message:
- `Scope.ONE_LOAN` names one loan ({loan_tail}); it is never allowed where a message may
  cover several, since it would sit next to what is true only of all of them;
- `Scope.ALL_LOANS` is about the loans together (their total, the longest days overdue);
  where a message may cover several, a template using one must also say how many loans
  it covers, with a `Scope.COUNTED` placeholder ({loans}, {loan_count}, {loan_list}).
"""

from __future__ import annotations

import datetime
import enum
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from decimal import Decimal

from django.conf import settings
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from .models import TemplatePurpose

NOTICE = TemplatePurpose.OVERDUE_NOTICE.value
PLAN_CONFIRMATION = TemplatePurpose.PLAN_CONFIRMATION.value
PLAN_REMINDER = TemplatePurpose.PLAN_REMINDER.value
FEEDBACK_REPLY = TemplatePurpose.FEEDBACK_REPLY.value
EDUCATION = TemplatePurpose.EDUCATION.value
ALL_PURPOSES = frozenset(TemplatePurpose.values)
PLAN_PURPOSES = frozenset({PLAN_CONFIRMATION, PLAN_REMINDER})
# Purposes whose messages are about loans, one or several of a customer's.
LOAN_PURPOSES = frozenset({NOTICE, *PLAN_PURPOSES})


# --- Formats --------------------------------------------------------------------------


def money(amount: Decimal | int | float) -> str:
    return f"{Decimal(amount):,.2f}"


def short_date(day: datetime.date | None) -> str:
    return f"{day.month}月{day.day}日" if day else ""


def tail_of(loan_account: str) -> str:
    """The last four digits of a loan account (its last four characters if it has no digits)."""
    digits = "".join(ch for ch in loan_account if ch.isdigit())
    return (digits or loan_account)[-4:]


# --- The facts of a message -----------------------------------------------------------


@dataclass(frozen=True)
class LoanFacts:
    loan_account: str
    overdue_amount: Decimal
    overdue_since: datetime.date | None
    days_overdue: int

    @property
    def tail(self) -> str:
        return tail_of(self.loan_account)


@dataclass(frozen=True)
class InstallmentFacts:
    """The installment a plan message is about: the first (confirmation) or the one due (reminder)."""

    seq: int
    due_date: datetime.date
    amount: Decimal


def lead_first(loans: Iterable[LoanFacts]) -> tuple[LoanFacts, ...]:
    """The most overdue loan first (then the largest amount), the order messages name them in."""
    return tuple(sorted(loans, key=lambda f: (-f.days_overdue, -f.overdue_amount, f.loan_account)))


@dataclass(frozen=True)
class MessageFacts:
    """What one message may say: who it is to, which loans it covers, by when, which installment."""

    salutation: str
    loans: tuple[LoanFacts, ...] = ()
    repay_by: datetime.date | None = None
    installment: InstallmentFacts | None = None

    def __post_init__(self):
        object.__setattr__(self, "loans", lead_first(self.loans))

    @property
    def lead(self) -> LoanFacts | None:
        return self.loans[0] if self.loans else None

    @property
    def several(self) -> bool:
        return len(self.loans) > 1

    @property
    def total(self) -> Decimal:
        return sum((f.overdue_amount for f in self.loans), Decimal("0"))


# --- The registry ---------------------------------------------------------------------


class Scope(enum.Enum):
    MESSAGE = "message"  # the customer, the bank, the deadline: true whatever the loans
    ONE_LOAN = "one_loan"  # one loan of the message's (the lead)
    ALL_LOANS = "all_loans"  # the loans together: their total, the longest days overdue
    COUNTED = "counted"  # says how many loans, or names each one


@dataclass(frozen=True)
class Placeholder:
    name: str
    label: str | Promise
    purposes: frozenset[str]
    value: Callable[[MessageFacts], str | None] = field(repr=False)
    scope: Scope = Scope.MESSAGE

    @property
    def token(self) -> str:
        return "{" + self.name + "}"


def _if_loans(compute: Callable[[MessageFacts], str]) -> Callable[[MessageFacts], str | None]:
    return lambda facts: compute(facts) if facts.loans else None


def _loans_phrase(facts: MessageFacts) -> str:
    if facts.several:
        return f"尾号{facts.lead.tail}等{len(facts.loans)}笔贷款"
    return f"尾号{facts.lead.tail}贷款"


def _amount_phrase(facts: MessageFacts) -> str:
    return f"{'合计' if facts.several else ''}待还{money(facts.total)}元"


def _days_phrase(facts: MessageFacts) -> str:
    return f"{'最长' if facts.several else ''}已逾期{facts.lead.days_overdue}天"


def _loan_list(facts: MessageFacts) -> str:
    return "、".join(f"尾号{f.tail}待还{money(f.overdue_amount)}元" for f in facts.loans)


def _earliest_since(facts: MessageFacts) -> str | None:
    since = min((f.overdue_since for f in facts.loans if f.overdue_since), default=None)
    return short_date(since) if since else None


REGISTRY: dict[str, Placeholder] = {
    p.name: p
    for p in (
        Placeholder(
            "customer_name",
            _("salutation (称呼, e.g. 欧阳先生)"),
            ALL_PURPOSES,
            lambda facts: facts.salutation,
        ),
        Placeholder(
            "loans",
            _("the loans: 尾号2603贷款 / 尾号2603等2笔贷款"),
            LOAN_PURPOSES,
            _if_loans(_loans_phrase),
            Scope.COUNTED,
        ),
        Placeholder(
            "overdue_for",
            _("days overdue: 已逾期96天 / 最长已逾期96天"),
            frozenset({NOTICE}),
            _if_loans(_days_phrase),
            Scope.ALL_LOANS,
        ),
        Placeholder(
            "amount_due",
            _("amount due: 待还8,313.45元 / 合计待还56,560.01元"),
            LOAN_PURPOSES,
            _if_loans(_amount_phrase),
            Scope.ALL_LOANS,
        ),
        Placeholder(
            "loan_list",
            _("each loan with its amount: 尾号2603待还8,313.45元、尾号2740待还…"),
            LOAN_PURPOSES,
            _if_loans(_loan_list),
            Scope.COUNTED,
        ),
        Placeholder(
            "loan_count",
            _("number of loans covered"),
            LOAN_PURPOSES,
            _if_loans(lambda facts: str(len(facts.loans))),
            Scope.COUNTED,
        ),
        Placeholder(
            "overdue_amount",
            _("total overdue amount (number only)"),
            LOAN_PURPOSES,
            _if_loans(lambda facts: money(facts.total)),
            Scope.ALL_LOANS,
        ),
        Placeholder(
            "days_overdue",
            _("longest days overdue (number only)"),
            frozenset({NOTICE}),
            _if_loans(lambda facts: str(facts.lead.days_overdue)),
            Scope.ALL_LOANS,
        ),
        Placeholder(
            "overdue_since",
            _("earliest first missed payment"),
            frozenset({NOTICE}),
            _earliest_since,
            Scope.ALL_LOANS,
        ),
        Placeholder(
            "loan_tail",
            _("last four digits of one loan"),
            # Renders for texts saved before multi-loan messages; never allowed again,
            # since a message may cover several loans.
            frozenset(),
            _if_loans(lambda facts: facts.lead.tail),
            Scope.ONE_LOAN,
        ),
        Placeholder(
            "repay_by",
            _("repay-by date (the stage's rule), e.g. 12月5日"),
            frozenset({NOTICE}),
            lambda facts: short_date(facts.repay_by) if facts.repay_by else None,
        ),
        Placeholder(
            "first_due_date",
            _("installment date (the first, or the one reminded)"),
            PLAN_PURPOSES,
            lambda facts: short_date(facts.installment.due_date) if facts.installment else None,
        ),
        Placeholder(
            "first_due_amount",
            _("installment amount (the first, or the one reminded)"),
            PLAN_PURPOSES,
            lambda facts: money(facts.installment.amount) if facts.installment else None,
        ),
        Placeholder(
            "repay_methods",
            _("ways to repay"),
            ALL_PURPOSES,
            lambda facts: settings.BANK_REPAY_METHODS,
        ),
        Placeholder("hotline", _("hotline"), ALL_PURPOSES, lambda facts: settings.BANK_HOTLINE),
        Placeholder("bank_name", _("bank name"), ALL_PURPOSES, lambda facts: settings.BANK_NAME),
    )
}


def placeholders_for(purpose: str) -> list[str]:
    """The placeholders a template of this purpose may use, in the registry's order."""
    return [name for name, p in REGISTRY.items() if purpose in p.purposes]


def context_for(facts: MessageFacts, names: Iterable[str] | None = None) -> dict[str, str]:
    """The values of the named placeholders (all of them by default) for these facts;
    a placeholder with no value for them is left out, so it stays visible in the text."""
    context = {}
    for name in REGISTRY if names is None else names:
        placeholder = REGISTRY.get(name)
        if placeholder is None:
            continue
        value = placeholder.value(facts)
        if value is not None:
            context[name] = value
    return context


# --- Sample facts (the editor's preview, the lint, the demo's checks) -----------------

SAMPLE_AS_OF = datetime.date(2026, 12, 2)  # deadline 12月5日: a typical date's length
LONGEST_DATE = datetime.date(2026, 12, 31)


def _sample_loans(count: int, *, longest: bool, days: int | None) -> tuple[LoanFacts, ...]:
    amounts = ["8,313.45", "48,246.56", "1,000.00"] if not longest else ["123,456.78"] * 3
    days_overdue = [96, 35, 12] if not longest else [999, 998, 997]
    accounts = ["6228480012342603", "6228480012342740", "6228480012343158"]
    if count == 1 and not longest:
        amounts, days_overdue = ["2,345.60"], [12]
    if days is not None:
        days_overdue = [days, max(1, days - 10), max(1, days - 20)]
    loans = []
    for i in range(count):
        n = days_overdue[i % 3]
        loans.append(
            LoanFacts(
                accounts[i % 3] if i < 3 else f"62284800123{i:05d}",
                Decimal(amounts[i % 3].replace(",", "")),
                SAMPLE_AS_OF - datetime.timedelta(days=n),
                n,
            )
        )
    return tuple(loans)


def sample_facts(*, loans: int = 1, longest: bool = False, days: int | None = None) -> MessageFacts:
    """Typical facts for a message covering `loans` loans (the most overdue `days` days
    overdue when given, e.g. a stage's); `longest` with long values (the longest
    salutation the rules give, six-figure amounts) for the part check."""
    return MessageFacts(
        # The longest salutation there can be: a Latin name or a staff-set one, 20 characters.
        salutation="Alexandra Richardson" if longest else ("张先生" if loans == 1 else "林先生"),
        loans=_sample_loans(loans, longest=longest, days=days),
        repay_by=LONGEST_DATE if longest else SAMPLE_AS_OF + datetime.timedelta(days=3),
        installment=InstallmentFacts(
            1,
            LONGEST_DATE if longest else SAMPLE_AS_OF + datetime.timedelta(days=30),
            Decimal("123456.78" if longest else "1000.00"),
        ),
    )
