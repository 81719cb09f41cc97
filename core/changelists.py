"""Changelists over large tables: counting and the date hierarchy without reading every row.

Counting
--------
Django's admin counts the rows of a changelist on every view (`SELECT COUNT(*)`). On a
table of a few thousand rows that is free; on 3,000,000 messages it reads the whole
table or index every time the list opens, which is most of the page's time.

`EstimatedCountPaginator` counts exactly whenever a filter or a search is applied (those
results are what staff act on, and the indexes make them cheap to count). Only the
unfiltered list of a large PostgreSQL table uses the planner's row estimate
(`pg_class.reltuples`, refreshed by autovacuum and ANALYZE, usually within a few percent),
and says so: the number is shown as "≈3000000" wherever the admin prints it. Pair it
with `show_full_result_count = False`, or the admin counts the whole table again for the
"N total" next to every filtered result.

Date hierarchy
--------------
The admin's date drill-down asks `queryset.datetimes(field, "month")` (or "year", "day"):
a DISTINCT over every row of the period, 1.9 s for 3,000,000 messages. `PeriodProbingQuerySet`
answers the same question on PostgreSQL with one index probe per candidate period between
the first and the last value (at most 31 `LIMIT 1` lookups in one UNION ALL query).
"""

from __future__ import annotations

import datetime

from django.core.paginator import Paginator
from django.db import connections
from django.db.models import Max, Min, QuerySet
from django.utils import timezone
from django.utils.functional import cached_property

# More candidate periods than this (a stray date decades away): Django's own DISTINCT.
MAX_PROBES = 400
# Below this many rows an exact count is cheap and the estimate not worth its vagueness.
ESTIMATE_FROM = 100_000


class EstimatedCount(int):
    """A row count that is the planner's estimate: behaves as the number, prints as ≈N."""

    def __str__(self) -> str:
        return f"≈{int(self)}"


def estimated_rows(queryset: QuerySet) -> int | None:
    """The planner's row count for the queryset's table when the queryset has no filter
    of any kind (PostgreSQL only); None when it must be counted."""
    query = queryset.query
    if query.where or query.distinct or query.combinator or query.is_sliced:
        return None
    connection = connections[queryset.db]
    if connection.vendor != "postgresql":
        return None
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT reltuples::bigint FROM pg_class WHERE oid = to_regclass(%s)",
            [connection.ops.quote_name(queryset.model._meta.db_table)],
        )
        row = cursor.fetchone()
    if row is None or row[0] < 0:  # -1: never analyzed
        return None
    return row[0]


class EstimatedCountPaginator(Paginator):
    @cached_property
    def count(self) -> int:
        if isinstance(self.object_list, QuerySet):
            estimate = estimated_rows(self.object_list)
            if estimate is not None and estimate >= ESTIMATE_FROM:
                return EstimatedCount(estimate)
        return super().count


class PeriodProbingQuerySet(QuerySet):
    """A queryset whose `datetimes()` and `dates()` (what the admin's date hierarchy asks
    for) probe the field's index once per candidate period on PostgreSQL."""

    @classmethod
    def of(cls, queryset: QuerySet) -> PeriodProbingQuerySet:
        return cls(
            model=queryset.model, query=queryset.query.chain(), using=queryset._db, hints=queryset._hints
        )

    def datetimes(self, field_name, kind, order="ASC", tzinfo=None):
        tz = tzinfo or timezone.get_current_timezone()
        found = self._probe(
            field_name, kind, order, lambda value: timezone.localtime(value, tz), lambda day: _aware(day, tz)
        )
        return super().datetimes(field_name, kind, order, tzinfo) if found is None else found

    def dates(self, field_name, kind, order="ASC"):
        found = self._probe(field_name, kind, order, lambda value: value, lambda day: day)
        return super().dates(field_name, kind, order) if found is None else found

    def _probe(self, field_name, kind, order, local, period_value) -> list | None:
        """The periods holding a row, ascending; None where Django's own query is used."""
        if (
            kind not in ("year", "month", "day")
            or order != "ASC"
            or self.query.is_sliced
            or connections[self.db].vendor != "postgresql"
        ):
            return None
        bounds = self.order_by().aggregate(first=Min(field_name), last=Max(field_name))
        if bounds["first"] is None:
            return []
        periods = _periods(local(bounds["first"]), local(bounds["last"]), kind)
        if len(periods) > MAX_PROBES:
            return None
        probes = [
            # Ordered, so that each is an index probe (unordered, the planner may read the
            # table from its start until it meets a row of the period).
            self.filter(**{f"{field_name}__gte": period_value(start), f"{field_name}__lt": period_value(end)})
            .order_by(field_name)
            .values_list(field_name, flat=True)[:1]
            for start, end in periods
        ]
        rows = probes[0].union(*probes[1:], all=True) if len(probes) > 1 else probes[0]
        found = {_truncate(local(value), kind) for value in rows}
        return [period_value(start) for start, _end in periods if start in found]


def _aware(day: datetime.date, tz) -> datetime.datetime:
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time.min), tz)


def _truncate(value, kind: str) -> datetime.date:
    day = value.date() if isinstance(value, datetime.datetime) else value
    if kind == "year":
        return day.replace(month=1, day=1)
    if kind == "month":
        return day.replace(day=1)
    return day


def _periods(first, last, kind: str) -> list[tuple[datetime.date, datetime.date]]:
    """[start, end) of every year, month or day from the one holding `first` to `last`'s."""
    start, stop = _truncate(first, kind), _truncate(last, kind)
    periods = []
    while start <= stop:
        if kind == "year":
            end = start.replace(year=start.year + 1)
        elif kind == "month":
            end = (start + datetime.timedelta(days=32)).replace(day=1)
        else:
            end = start + datetime.timedelta(days=1)
        periods.append((start, end))
        start = end
    return periods
