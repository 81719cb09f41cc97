"""SMS text: restricted rendering, the template lint and part counting.

Staff-written text is never given to the Django template language or `str.format`:
the only thing that happens to it is the replacement of `{name}` tokens whose name is in
the placeholder registry (placeholders.py). Anything else is refused on save and left
literal if it ever reaches the renderer. The lint renders a text for every kind of
message its purpose may become (one loan, three loans; the customer only) and refuses
what would be untrue or unrenderable for any of them.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass

from django.conf import settings
from django.utils.translation import gettext

from .links.parts import part_count
from .placeholders import (
    LOAN_PURPOSES,
    REGISTRY,
    LoanFacts,
    MessageFacts,
    Scope,
    context_for,
    money,
    placeholders_for,
    sample_facts,
    short_date,
)

__all__ = ["LoanFacts", "MessageFacts", "money", "short_date"]  # re-exported for callers

TOKEN = re.compile(r"\{([a-z_]+)\}")
BRACE = re.compile(r"[{}]")

# name → label shown on the editor's buttons (the registry, notices/placeholders.py)
PLACEHOLDERS: dict[str, str] = {name: p.label for name, p in REGISTRY.items()}


def segments(text: str) -> int:
    """SMS parts the text takes, exactly as the carrier links split it (links/parts.py):
    Chinese (UCS2) 70 characters in one, else parts of 67; GSM 7-bit 160, else 153."""
    return part_count(text)


def render(body: str, context: dict[str, str]) -> str:
    """Replace whitelisted `{name}` tokens; everything else stays exactly as written."""

    def substitute(match: re.Match) -> str:
        name = match.group(1)
        if name in REGISTRY and name in context:
            return str(context[name])
        return match.group(0)

    return TOKEN.sub(substitute, body)


def with_signature(text: str) -> str:
    """The bank's signature always leads the message (never twice)."""
    signature = settings.SMS_SIGNATURE
    text = text.strip()
    return text if text.startswith(signature) else f"{signature}{text}"


def sample_context(*, longest: bool = False) -> dict[str, str]:
    """Every placeholder's value for a typical one-loan message (`longest`: long values)."""
    return context_for(sample_facts(loans=1, longest=longest))


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


@dataclass(frozen=True)
class Shape:
    """One kind of message a template of a purpose must render for (the lint's cases)."""

    label: str
    facts: MessageFacts


def shapes_for(purpose: str, *, longest: bool = False, days: int | None = None) -> list[Shape]:
    """The messages a template of this purpose may become: about one loan and about three
    (notices and plans; the most overdue `days` days overdue when given), or about the
    customer only (replies, education)."""
    if purpose in LOAN_PURPOSES:
        return [
            Shape(gettext("one loan"), sample_facts(loans=1, longest=longest, days=days)),
            Shape(gettext("three loans"), sample_facts(loans=3, longest=longest, days=days)),
        ]
    return [Shape(gettext("the customer"), MessageFacts(salutation=sample_facts(longest=longest).salutation))]


def _tokens(names: Iterable[str]) -> str:
    return "、".join("{" + n + "}" for n in names)


def multi_loan_problems(names: Iterable[str], purpose: str) -> list[str]:
    """Why a template with these placeholders would not be true of a message covering
    several loans (empty: it is, or the purpose never covers loans)."""
    if purpose not in LOAN_PURPOSES:
        return []
    used = [REGISTRY[n] for n in dict.fromkeys(names) if n in REGISTRY]
    one = [p.name for p in used if p.scope is Scope.ONE_LOAN]
    together = [p.name for p in used if p.scope is Scope.ALL_LOANS]
    counted = any(p.scope is Scope.COUNTED for p in used)
    problems = []
    if one:
        problems.append(
            gettext(
                "%(names)s names one loan, but a message may cover several loans of the customer: "
                "it would pair one loan's tail with what is true only of all of them. "
                "Use {loans} (尾号2603贷款 / 尾号2603等2笔贷款) or {loan_list} instead."
            )
            % {"names": _tokens(one)}
        )
    if together and not counted:
        problems.append(
            gettext(
                "%(names)s is about all the loans a message covers (their total, the longest days "
                "overdue): with several loans it must say how many. Add {loans}, {loan_count} or {loan_list}."
            )
            % {"names": _tokens(together)}
        )
    return problems


def template_fits(body: str, purpose: str) -> tuple[bool, bool]:
    """Whether a saved text renders truly for a message about one loan, and about several.

    The lint refuses on save what does not fit both; a text saved before the rules (or
    written straight into the database) is checked again here before a batch uses it.
    """
    names = TOKEN.findall(body)
    allowed = set(placeholders_for(purpose))
    fits_one = all(
        name in REGISTRY and (name in allowed or REGISTRY[name].scope is Scope.ONE_LOAN) for name in names
    )
    return fits_one, fits_one and not multi_loan_problems(names, purpose)


def template_problems(
    body: str,
    *,
    max_parts: int,
    purpose: str = "overdue_notice",
    require_hotline: bool = True,
    phrases: Iterable[str] | None = None,
) -> list[str]:
    """Everything wrong with a template body of this purpose, as messages for the editor
    (empty: fine): placeholders it may not use or that would have no value for some
    customer, wording untrue for several loans, no hotline, forbidden words, too long."""
    problems: list[str] = []
    allowed = set(placeholders_for(purpose))
    if not body.strip():
        return [gettext("The text is empty.")]
    names = TOKEN.findall(body)
    unknown = sorted({name for name in names if name not in REGISTRY})
    if unknown:
        problems.append(
            gettext("Unknown placeholder(s): %(names)s. Use the buttons above the text.")
            % {"names": _tokens(unknown)}
        )
    elsewhere = sorted(
        {
            name
            for name in names
            if name in REGISTRY and name not in allowed and REGISTRY[name].scope is not Scope.ONE_LOAN
        }
    )
    if elsewhere:
        problems.append(
            gettext("%(names)s would have no value in this kind of message; it cannot be sent like this.")
            % {"names": _tokens(elsewhere)}
        )
    leftover = BRACE.findall(TOKEN.sub("", body))
    if leftover:
        problems.append(
            gettext(
                "Malformed placeholder: braces may only surround a name from the list, like {customer_name}."
            )
        )
    problems += multi_loan_problems(names, purpose)
    if require_hotline and "{hotline}" not in body and settings.BANK_HOTLINE not in body:
        problems.append(gettext("The hotline must appear: add {hotline}."))
    found = forbidden_phrases_in(body, active_forbidden_phrases() if phrases is None else phrases)
    if found:
        problems.append(
            gettext("Forbidden expression(s): %(phrases)s. Notices remind; they never threaten or expose.")
            % {"phrases": "、".join(found)}
        )
    if problems:
        return problems
    for shape in shapes_for(purpose, longest=True):
        context = context_for(shape.facts, names)
        missing = sorted({name for name in names if name not in context})
        if missing:
            problems.append(
                gettext("%(names)s has no value for a message about %(shape)s.")
                % {"names": _tokens(missing), "shape": shape.label}
            )
            continue
        longest = with_signature(render(body, context))
        parts = segments(longest)
        if parts > max_parts:
            problems.append(
                gettext(
                    "Too long: for %(shape)s with long names and amounts it is %(chars)s characters, "
                    "%(parts)s SMS parts (at most %(max)s allowed)."
                )
                % {"shape": shape.label, "chars": len(longest), "parts": parts, "max": max_parts}
            )
    return problems


@dataclass(frozen=True)
class Rendering:
    """A template rendered for one kind of message, as it would be sent."""

    label: str
    text: str
    parts: int

    @property
    def chars(self) -> int:
        return len(self.text)


def template_renderings(
    body: str, purpose: str, facts: MessageFacts | None = None, *, days: int | None = None
) -> list[Rendering]:
    """The text for typical values of each shape of the purpose (one loan, three loans;
    `days`: a stage's typical days overdue), and for these facts first when given: what
    the editor and the template list show."""
    cases = [(gettext("this customer"), facts)] if facts is not None else []
    cases += [(shape.label, shape.facts) for shape in shapes_for(purpose, days=days)]
    renderings = []
    for label, case in cases:
        text = with_signature(render(body, context_for(case, TOKEN.findall(body))))
        renderings.append(Rendering(label, text, segments(text)))
    return renderings


def text_problems(text: str, *, phrases: Iterable[str] | None = None) -> list[str]:
    """Lint for an already rendered outgoing text (free-text replies, final check)."""
    problems = []
    found = forbidden_phrases_in(text, active_forbidden_phrases() if phrases is None else phrases)
    if found:
        problems.append(gettext("Forbidden expression(s): %(phrases)s.") % {"phrases": "、".join(found)})
    if TOKEN.search(text) or BRACE.search(text):
        problems.append(gettext("The text still contains a placeholder or a brace."))
    return problems
