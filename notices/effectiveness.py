"""Do the notices bring customers back to paying, and which words do it best?

Cure rate: of the loans that got their first notice of a stage, the share whose overdue
amount reached zero within 7 (or 30) days of that notice. Only notices old enough for the
whole window to have passed are counted, so recent days never look worse than they are.

Roll rate: of the loans that entered a stage in a month, the share that went on to the
next stage instead of being cured first.
"""

from __future__ import annotations

import datetime
import math
from collections import defaultdict
from dataclasses import dataclass, field

from django.utils import timezone
from django.utils.translation import gettext as _

from customers.models import OPEN_LOAN_STATUSES, Loan, LoanEvent, LoanEventKind

from .models import CollectionStage, MessageStatus, NotifiedLoan

Z95 = 1.959963984540054
WINDOWS = (7, 30)
MIN_SAMPLE = 30  # below this many loans per arm, no verdict
DELIVERED = (MessageStatus.SENT, MessageStatus.DELIVERED)


def wilson_interval(successes: int, n: int, z: float = Z95) -> tuple[float, float]:
    """95% Wilson score interval for a proportion (sound for small n and rates near 0 or 1)."""
    if n == 0:
        return 0.0, 0.0
    p = successes / n
    denominator = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denominator
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denominator
    return max(0.0, centre - half), min(1.0, centre + half)


def two_proportion_z(s1: int, n1: int, s2: int, n2: int) -> float | None:
    """z statistic of p1 − p2 with a pooled variance; None when it cannot be computed."""
    if not n1 or not n2:
        return None
    pooled = (s1 + s2) / (n1 + n2)
    variance = pooled * (1 - pooled) * (1 / n1 + 1 / n2)
    if variance <= 0:
        return None
    return (s1 / n1 - s2 / n2) / math.sqrt(variance)


@dataclass
class Rate:
    cured: int = 0
    total: int = 0

    @property
    def rate(self) -> float | None:
        return self.cured / self.total if self.total else None

    @property
    def interval(self) -> tuple[float, float]:
        return wilson_interval(self.cured, self.total)

    @property
    def percent(self) -> float | None:
        return None if self.rate is None else round(100 * self.rate, 1)

    @property
    def interval_percent(self) -> tuple[float, float]:
        low, high = self.interval
        return round(100 * low, 1), round(100 * high, 1)


@dataclass
class VariantRow:
    stage: CollectionStage
    variant: str
    windows: dict[int, Rate] = field(default_factory=lambda: {w: Rate() for w in WINDOWS})
    verdict: str = ""
    z: float | None = None
    champion: bool = False


def first_notices(*, since: datetime.date, until: datetime.date) -> list[tuple[int, int, datetime.date, str]]:
    """(loan, stage, first notice date, variant) for each loan's first sent notice of a stage.

    A loan that is cured and falls overdue again starts a new episode and counts again.
    """
    rows = (
        NotifiedLoan.objects.filter(as_of__gte=since, as_of__lte=until, message__status__in=DELIVERED)
        .order_by("loan_id", "stage_id", "as_of")
        .values_list("loan_id", "stage_id", "as_of", "days_overdue", "message__variant")
    )
    seen: set[tuple[int, int, datetime.date]] = set()
    result = []
    for loan_id, stage_id, as_of, days, variant in rows.iterator(chunk_size=5000):
        episode = (loan_id, stage_id, as_of - datetime.timedelta(days=days))
        if episode in seen:
            continue
        seen.add(episode)
        result.append((loan_id, stage_id, as_of, variant or "A"))
    return result


def _cure_dates(loan_ids: set[int]) -> dict[int, list[datetime.date]]:
    cures: dict[int, list[datetime.date]] = defaultdict(list)
    ids = list(loan_ids)
    for start in range(0, len(ids), 5000):
        for loan_id, day in LoanEvent.objects.filter(
            loan_id__in=ids[start : start + 5000], kind__in=(LoanEventKind.CURED, LoanEventKind.SETTLED)
        ).values_list("loan_id", "on_date"):
            cures[loan_id].append(day)
    return cures


def cure_rates(*, today: datetime.date | None = None, lookback_days: int = 180) -> list[VariantRow]:
    """Cure within 7 and 30 days of the first notice of a stage, per stage and variant,
    with a champion/challenger verdict per stage (champion: variant A)."""
    today = today or timezone.localdate()
    stages = {s.pk: s for s in CollectionStage.objects.all()}
    notices = first_notices(since=today - datetime.timedelta(days=lookback_days), until=today)
    cures = _cure_dates({loan_id for loan_id, *_rest in notices})
    rows: dict[tuple[int, str], VariantRow] = {}
    for loan_id, stage_id, noticed, variant in notices:
        row = rows.get((stage_id, variant))
        if row is None:
            row = rows[(stage_id, variant)] = VariantRow(stages[stage_id], variant)
        for window in WINDOWS:
            if noticed + datetime.timedelta(days=window) > today:
                continue  # its window has not passed yet
            rate = row.windows[window]
            rate.total += 1
            if any(
                noticed < day <= noticed + datetime.timedelta(days=window) for day in cures.get(loan_id, ())
            ):
                rate.cured += 1
    result = sorted(rows.values(), key=lambda r: (r.stage.min_days, r.variant))
    _verdicts(result)
    return result


def _verdicts(rows: list[VariantRow], window: int = 30) -> None:
    by_stage: dict[int, list[VariantRow]] = defaultdict(list)
    for row in rows:
        by_stage[row.stage.pk].append(row)
    for variants in by_stage.values():
        champion = min(variants, key=lambda r: r.variant)
        champion.champion = True
        champion.verdict = _("champion")
        base = champion.windows[window]
        for row in variants:
            if row is champion:
                continue
            challenger = row.windows[window]
            if min(challenger.total, base.total) < MIN_SAMPLE:
                row.verdict = _("not enough data yet (%(n)s of %(min)s loans per variant)") % {
                    "n": min(challenger.total, base.total),
                    "min": MIN_SAMPLE,
                }
                continue
            row.z = two_proportion_z(challenger.cured, challenger.total, base.cured, base.total)
            if row.z is None or abs(row.z) < Z95:
                row.verdict = _("no significant difference from the champion")
            elif row.z > 0:
                # xgettext:no-python-format
                row.verdict = _("better than the champion (95% confidence)")
            else:
                # xgettext:no-python-format
                row.verdict = _("worse than the champion (95% confidence)")


# --- Roll rates -----------------------------------------------------------------------


@dataclass
class RollCell:
    entered: int = 0
    rolled: int = 0
    cured: int = 0

    @property
    def pending(self) -> int:
        return self.entered - self.rolled - self.cured

    @property
    def percent(self) -> float | None:
        decided = self.rolled + self.cured
        return round(100 * self.rolled / decided, 1) if decided else None


def overdue_episodes(*, since: datetime.date) -> list[tuple[datetime.date, datetime.date | None]]:
    """(first missed payment, cured on or None) for every overdue episode still visible.

    Current episodes come from the loans; finished ones from their cure events, which
    record the episode's start (older events: inferred from the notices the loan got).
    """
    episodes = []
    for overdue_since in (
        Loan.objects.filter(
            status__in=OPEN_LOAN_STATUSES,
            overdue_since__isnull=False,
            overdue_since__gte=since - datetime.timedelta(days=400),
        )
        .values_list("overdue_since", flat=True)
        .iterator(chunk_size=5000)
    ):
        episodes.append((overdue_since, None))
    starts: dict[int, list[datetime.date]] = defaultdict(list)
    for loan_id, as_of, days in (
        NotifiedLoan.objects.filter(as_of__gte=since - datetime.timedelta(days=400))
        .values_list("loan_id", "as_of", "days_overdue")
        .iterator(chunk_size=5000)
    ):
        start = as_of - datetime.timedelta(days=days)
        if start not in starts[loan_id]:
            starts[loan_id].append(start)
    for loan_id, cured_on, recorded in (
        LoanEvent.objects.filter(kind__in=(LoanEventKind.CURED, LoanEventKind.SETTLED), on_date__gte=since)
        .values_list("loan_id", "on_date", "overdue_since")
        .iterator(chunk_size=5000)
    ):
        if recorded is not None:  # the import recorded which episode the cure closed
            episodes.append((recorded, cured_on))
            continue
        before = [s for s in starts.get(loan_id, ()) if s < cured_on]
        if before:
            episodes.append((max(before), cured_on))
    return episodes


def roll_rates(*, months: int = 6, today: datetime.date | None = None) -> dict:
    """Per month (rows) and stage (columns): of the loans that entered the stage that month,
    the share that rolled into the next stage rather than being cured first."""
    today = today or timezone.localdate()
    stages = list(CollectionStage.objects.filter(active=True).order_by("min_days"))
    index = today.year * 12 + today.month - 1 - (months - 1)
    first_month = datetime.date(index // 12, index % 12 + 1, 1)
    month_starts = []
    cursor = first_month
    while cursor <= today:
        month_starts.append(cursor)
        cursor = (cursor + datetime.timedelta(days=32)).replace(day=1)
    table = {m: [RollCell() for _stage in stages[:-1]] for m in month_starts}
    for start, cured_on in overdue_episodes(since=first_month):
        end = cured_on or today + datetime.timedelta(days=1)  # still overdue: open-ended
        for i, stage in enumerate(stages[:-1]):
            entered = start + datetime.timedelta(days=stage.min_days)
            if entered >= end or entered < first_month or entered > today:
                continue
            month = entered.replace(day=1)
            cell = table[month][i]
            cell.entered += 1
            reached = start + datetime.timedelta(days=stages[i + 1].min_days)
            if reached < end and reached <= today:
                cell.rolled += 1
            elif cured_on is not None and cured_on <= reached:
                cell.cured += 1
    return {
        "stages": [(stages[i], stages[i + 1]) for i in range(len(stages) - 1)],
        "rows": [(month, table[month]) for month in month_starts],
    }
