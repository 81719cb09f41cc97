"""SMS text: the placeholder whitelist, restricted rendering, lint and part counting.

Staff-written text is never given to the Django template language or `str.format`:
the only thing that happens to it is the replacement of `{name}` tokens whose name is in
the whitelist below. Anything else is refused on save and left literal if it ever
reaches the renderer.
"""

from __future__ import annotations

import datetime
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal

from django.conf import settings
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from .links.parts import part_count

TOKEN = re.compile(r"\{([a-z_]+)\}")
BRACE = re.compile(r"[{}]")

# name → label shown on the editor's buttons
PLACEHOLDERS: dict[str, str] = {
    "customer_name": _("customer name (surname + 先生/女士)"),
    "loan_tail": _("last four digits of the loan"),
    "loan_count": _("number of overdue loans"),
    "overdue_amount": _("overdue amount"),
    "days_overdue": _("days overdue"),
    "overdue_since": _("overdue since"),
    "repay_by": _("repay by"),
    "repay_methods": _("how to repay"),
    "hotline": _("hotline"),
    "bank_name": _("bank name"),
    "first_due_date": _("first installment date"),
    "first_due_amount": _("first installment amount"),
}


def segments(text: str) -> int:
    """SMS parts the text takes, exactly as the carrier links split it (links/parts.py):
    Chinese (UCS2) 70 characters in one, else parts of 67; GSM 7-bit 160, else 153."""
    return part_count(text)


def money(amount: Decimal | int | float) -> str:
    return f"{Decimal(amount):,.2f}"


def short_date(day: datetime.date | None) -> str:
    return f"{day.month}月{day.day}日" if day else ""


def render(body: str, context: dict[str, str]) -> str:
    """Replace whitelisted `{name}` tokens; everything else stays exactly as written."""

    def substitute(match: re.Match) -> str:
        name = match.group(1)
        if name in PLACEHOLDERS and name in context:
            return str(context[name])
        return match.group(0)

    return TOKEN.sub(substitute, body)


def with_signature(text: str) -> str:
    """The bank's signature always leads the message (never twice)."""
    signature = settings.SMS_SIGNATURE
    text = text.strip()
    return text if text.startswith(signature) else f"{signature}{text}"


def bank_context() -> dict[str, str]:
    return {
        "hotline": settings.BANK_HOTLINE,
        "bank_name": settings.BANK_NAME,
        "repay_methods": settings.BANK_REPAY_METHODS,
    }


@dataclass(frozen=True)
class LoanFacts:
    loan_account: str
    overdue_amount: Decimal
    overdue_since: datetime.date | None
    days_overdue: int


def notice_context(
    *, honorific_name: str, loans: Iterable[LoanFacts], as_of: datetime.date
) -> dict[str, str]:
    """Placeholder values for a notice that covers `loans` (the most overdue one leads)."""
    loans = sorted(loans, key=lambda f: (-f.days_overdue, -f.overdue_amount, f.loan_account))
    lead = loans[0]
    digits = "".join(ch for ch in lead.loan_account if ch.isdigit()) or lead.loan_account
    return {
        **bank_context(),
        "customer_name": honorific_name,
        "loan_tail": digits[-4:],
        "loan_count": str(len(loans)),
        "overdue_amount": money(sum((f.overdue_amount for f in loans), Decimal("0"))),
        "days_overdue": str(lead.days_overdue),
        "overdue_since": short_date(min((f.overdue_since for f in loans if f.overdue_since), default=None)),
        "repay_by": short_date(as_of + datetime.timedelta(days=settings.SMS_REPAY_BY_DAYS)),
    }


def sample_context(*, longest: bool = False) -> dict[str, str]:
    """Typical values for previews; `longest` uses long names and amounts for the part check."""
    today = datetime.date.today()
    return {
        **bank_context(),
        "customer_name": "欧阳先生" if longest else "张先生",
        "loan_tail": "5678",
        "loan_count": "3" if longest else "1",
        "overdue_amount": "123,456.78" if longest else "2,345.60",
        "days_overdue": "120" if longest else "5",
        "overdue_since": "12月31日" if longest else short_date(today - datetime.timedelta(days=5)),
        "repay_by": "12月31日" if longest else short_date(today + datetime.timedelta(days=3)),
        "first_due_date": "12月31日" if longest else short_date(today + datetime.timedelta(days=30)),
        "first_due_amount": "12,345.67" if longest else "1,000.00",
    }


def _normalise(text: str) -> str:
    """Lower-case, full-width folded, without spaces or punctuation (for phrase matching)."""
    text = unicodedata.normalize("NFKC", text).lower()
    return "".join(ch for ch in text if not (ch.isspace() or unicodedata.category(ch).startswith("P")))


def forbidden_phrases_in(text: str, phrases: Iterable[str]) -> list[str]:
    """Which forbidden phrases the text contains, also when spaced or punctuated apart."""
    flat = _normalise(text)
    return [phrase for phrase in phrases if _normalise(phrase) and _normalise(phrase) in flat]


def active_forbidden_phrases() -> list[str]:
    from .models import ForbiddenExpression

    return list(ForbiddenExpression.objects.filter(active=True).values_list("phrase", flat=True))


def template_problems(
    body: str,
    *,
    max_parts: int,
    require_hotline: bool = True,
    allowed: Iterable[str] | None = None,
    phrases: Iterable[str] | None = None,
) -> list[str]:
    """Everything wrong with a template body, as messages for the editor (empty: fine)."""
    problems: list[str] = []
    allowed = set(PLACEHOLDERS if allowed is None else allowed)
    if not body.strip():
        return [gettext("The text is empty.")]
    unknown = sorted({name for name in TOKEN.findall(body) if name not in allowed})
    if unknown:
        problems.append(
            gettext("Unknown placeholder(s): %(names)s. Use the buttons above the text.")
            % {"names": "、".join("{" + n + "}" for n in unknown)}
        )
    leftover = BRACE.findall(TOKEN.sub("", body))
    if leftover:
        problems.append(
            gettext(
                "Malformed placeholder: braces may only surround a name from the list, like {customer_name}."
            )
        )
    if require_hotline and "{hotline}" not in body and settings.BANK_HOTLINE not in body:
        problems.append(gettext("The hotline must appear: add {hotline}."))
    found = forbidden_phrases_in(body, active_forbidden_phrases() if phrases is None else phrases)
    if found:
        problems.append(
            gettext("Forbidden expression(s): %(phrases)s. Notices remind; they never threaten or expose.")
            % {"phrases": "、".join(found)}
        )
    if not unknown and not leftover:
        longest = with_signature(render(body, sample_context(longest=True)))
        parts = segments(longest)
        if parts > max_parts:
            problems.append(
                gettext(
                    "Too long: with long names and amounts it is %(chars)s characters, %(parts)s SMS parts "
                    "(at most %(max)s allowed)."
                )
                % {"chars": len(longest), "parts": parts, "max": max_parts}
            )
    return problems


def text_problems(text: str, *, phrases: Iterable[str] | None = None) -> list[str]:
    """Lint for an already rendered outgoing text (free-text replies, final check)."""
    problems = []
    found = forbidden_phrases_in(text, active_forbidden_phrases() if phrases is None else phrases)
    if found:
        problems.append(gettext("Forbidden expression(s): %(phrases)s.") % {"phrases": "、".join(found)})
    if TOKEN.search(text) or BRACE.search(text):
        problems.append(gettext("The text still contains a placeholder or a brace."))
    return problems
