"""The figures on the admin home: where the day stands, each with the list behind it."""

from __future__ import annotations

import datetime
from urllib.parse import urlencode

from django.core.cache import cache
from django.db.models import Count, Q, Sum
from django.db.models.functions import TruncDate
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from core.charts import Bar, bar_chart, line_chart
from customers.models import OPEN_LOAN_STATUSES, Loan, LoanEvent, LoanEventKind

from .models import CollectionStage, ContactPolicy, Feedback, FeedbackCategory, MessageStatus, SmsMessage
from .selectors import SETTLED_AFTER_DAYS, keeps_settled_days, settled_key


def _url(name: str, **params) -> str:
    return reverse(name) + ("?" + urlencode(params) if params else "")


def _day_start(day: datetime.date) -> datetime.datetime:
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time.min))


def sending_today(now: datetime.datetime | None = None) -> list[dict]:
    """Today's sending: waiting, sent, delivered, failed — each a link to the messages."""
    from .policy import in_contact_window

    now = now or timezone.now()
    today = timezone.localtime(now).date()
    start, end = _day_start(today), _day_start(today + datetime.timedelta(days=1))
    messages = "admin:notices_smsmessage_changelist"
    window_open = in_contact_window(now, ContactPolicy.current())
    waiting = Q(status__in=(MessageStatus.QUEUED, MessageStatus.SENDING))
    sent = Q(sent_at__gte=start, sent_at__lt=end)
    delivered = Q(delivered_at__gte=start, delivered_at__lt=end)
    failed = Q(failed_at__gte=start, failed_at__lt=end)
    # The WHERE lets PostgreSQL combine four index ranges instead of reading every message.
    counts = SmsMessage.objects.filter(waiting | sent | delivered | failed).aggregate(
        queued=Count("pk", filter=Q(status=MessageStatus.QUEUED)),
        sending=Count("pk", filter=Q(status=MessageStatus.SENDING)),
        sent=Count("pk", filter=sent),
        delivered=Count("pk", filter=delivered),
        failed=Count("pk", filter=failed),
    )
    day = {"__gte": start.isoformat(), "__lt": end.isoformat()}
    return [
        {
            "key": "queued",
            "label": _("waiting for the contact window") if not window_open else _("queued"),
            "value": counts["queued"],
            "url": _url(messages, status__exact=MessageStatus.QUEUED),
            "alert": not window_open and counts["queued"] > 0,
        },
        {
            "key": "sending",
            "label": _("sending"),
            "value": counts["sending"],
            "url": _url(messages, status__exact="sending"),
        },
        {
            "key": "sent",
            "label": _("sent today"),
            "value": counts["sent"],
            "url": _url(messages, **{f"sent_at{k}": v for k, v in day.items()}),
        },
        {
            "key": "delivered",
            "label": _("delivered today"),
            "value": counts["delivered"],
            "url": _url(messages, **{f"delivered_at{k}": v for k, v in day.items()}),
        },
        {
            "key": "failed",
            "label": _("failed today"),
            "value": counts["failed"],
            "url": _url(messages, **{f"failed_at{k}": v for k, v in day.items()}),
            "alert": counts["failed"] > 0,
        },
    ]


def delivery_rate(days: int = 7, now: datetime.datetime | None = None) -> dict:
    """Of the messages sent in the last `days` days: delivered, failed, no receipt yet."""
    now = now or timezone.now()
    since = now - datetime.timedelta(days=days)
    # Counting `status` (never empty) rather than the id lets the (sent_at, status) index answer alone.
    counts = SmsMessage.objects.filter(sent_at__gte=since).aggregate(
        total=Count("status"),
        delivered=Count("status", filter=Q(status=MessageStatus.DELIVERED)),
        failed=Count("status", filter=Q(status=MessageStatus.FAILED)),
    )
    total = counts["total"]
    return {
        **counts,
        "waiting": total - counts["delivered"] - counts["failed"],
        "percent": round(100 * counts["delivered"] / total, 1) if total else None,
        "url": _url("admin:notices_smsmessage_changelist", sent_at__gte=since.isoformat()),
        "days": days,
    }


def overdue_by_stage(today: datetime.date | None = None) -> list[dict]:
    """The overdue book per active stage today: loans and amount, linked to the loans."""
    today = today or timezone.localdate()
    stages = list(CollectionStage.objects.filter(active=True).order_by("min_days"))
    if not stages:
        return []
    # One pass over the open book, per status and date it fell overdue (a few hundred rows,
    # in the order of the index, which holds the amount too), summed per stage here: an
    # aggregate per stage would read the same index range six times.
    per_day = list(
        Loan.objects.filter(
            status__in=OPEN_LOAN_STATUSES,
            overdue_since__lte=today - datetime.timedelta(days=min(s.min_days for s in stages)),
        )
        .order_by()
        .values("status", "overdue_since")
        .annotate(count=Count("overdue_since"), amount=Sum("overdue_amount"))  # all in one index
        .values_list("overdue_since", "count", "amount")
    )
    rows = []
    for stage in stages:
        first = None if stage.max_days is None else today - datetime.timedelta(days=stage.max_days)
        last = today - datetime.timedelta(days=stage.min_days)
        days = [
            (n, amount) for since, n, amount in per_day if since <= last and (first is None or since >= first)
        ]
        rows.append(
            {
                "stage": stage,
                "count": sum(n for n, _amount in days),
                "amount": sum(amount for _n, amount in days) if days else 0,
                "url": _url(
                    "admin:customers_loan_changelist", stage=f"{stage.min_days}-{stage.max_days or ''}"
                ),
            }
        )
    return rows


def last_days(days: int = 30, today: datetime.date | None = None) -> dict:
    """Per day: notices sent, delivered, and loans cured (from the imports)."""
    today = today or timezone.localdate()
    first = today - datetime.timedelta(days=days - 1)
    sent = _per_day(SmsMessage.objects.all(), "sent_at", first, today)
    delivered = _per_day(SmsMessage.objects.all(), "delivered_at", first, today)
    cured = dict(
        LoanEvent.objects.filter(kind=LoanEventKind.CURED, on_date__gte=first)
        .values("on_date")
        .annotate(n=Count("pk"))
        .values_list("on_date", "n")
    )
    dates = [first + datetime.timedelta(days=i) for i in range(days)]
    return {
        "dates": dates,
        "sent": [sent.get(d, 0) for d in dates],
        "delivered": [delivered.get(d, 0) for d in dates],
        "cured": [cured.get(d, 0) for d in dates],
    }


def _per_day(queryset, field: str, first: datetime.date, today: datetime.date) -> dict:
    """Rows of the queryset per local date of `field`, from `first` to `today`.

    On a large table the counts of settled days are made once and kept while the chart
    shows them (see notices.selectors.SETTLED_AFTER_DAYS): thirty days of a bank's
    messages are over a million rows, seconds to count. Yesterday and today are counted
    on every view, by range (no per-row date conversion): a few milliseconds.
    """
    tz = timezone.get_current_timezone()
    live_from = max(first, today - datetime.timedelta(days=SETTLED_AFTER_DAYS - 1))
    settled = [first + datetime.timedelta(days=n) for n in range((live_from - first).days)]
    keep = bool(settled) and keeps_settled_days(queryset.model)
    keys = {day: settled_key("per-day", queryset.model, field, tz, day) for day in settled}
    known = cache.get_many(list(keys.values())) if keep else {}
    counts = {day: known[key] for day, key in keys.items() if key in known}
    # The settled days not known yet (on a small table, all of them), per day in one pass.
    count_from = min((day for day in settled if day not in counts), default=live_from)
    counted = dict(
        queryset.filter(**{f"{field}__gte": _day_start(count_from), f"{field}__lt": _day_start(live_from)})
        .annotate(day=TruncDate(field, tzinfo=tz))
        .values("day")
        .annotate(n=Count(field))  # the indexed column: an index-only scan
        .values_list("day", "n")
    )
    for day in settled:
        if day not in counts:
            counts[day] = counted.get(day, 0)
            if keep:  # kept until the chart no longer shows the day
                cache.set(keys[day], counts[day], timeout=((day - first).days + 1) * 86400)
    live = [live_from + datetime.timedelta(days=n) for n in range((today - live_from).days + 1)]
    ranges = {
        str(day): Count(
            field, filter=Q(**{f"{field}__gte": _day_start(day), f"{field}__lt": _day_start(next_day)})
        )
        for day, next_day in zip(live, [*live[1:], today + datetime.timedelta(days=1)], strict=True)
    }
    counted = queryset.filter(**{f"{field}__gte": _day_start(live_from)}).aggregate(**ranges)
    counts.update({day: counted[str(day)] for day in live})
    return counts


def feedback_by_category(days: int = 30, now: datetime.datetime | None = None) -> list[dict]:
    now = now or timezone.now()
    since = now - datetime.timedelta(days=days)
    counts = dict(
        Feedback.objects.filter(created_at__gte=since)
        .values("category")
        .annotate(n=Count("category"))  # the (created_at, category) index answers alone
        .values_list("category", "n")
    )
    return [
        {
            "category": value,
            "label": label,
            "count": counts.get(value, 0),
            "url": _url(
                "admin:notices_feedback_changelist", category__exact=value, created_at__gte=since.isoformat()
            ),
        }
        for value, label in FeedbackCategory.choices
        if counts.get(value)
    ]


def charts(today: datetime.date | None = None) -> dict:
    """The three dashboard charts as SVG."""
    stages = overdue_by_stage(today)
    history = last_days(30, today)
    categories = feedback_by_category()
    return {
        "stages": stages,
        "stage_chart": bar_chart(
            [Bar(row["stage"].name, row["count"], row["url"], f"¥{row['amount']:,.2f}") for row in stages],
            title=_("Overdue book by stage (loans, amount)"),
        ),
        "history_chart": line_chart(
            [f"{d.month}/{d.day}" for d in history["dates"]],
            [
                (_("sent"), history["sent"], "#0d6efd"),
                (_("delivered"), history["delivered"], "#198754"),
                (_("loans cured"), history["cured"], "#fd7e14"),
            ],
            title=_("Last 30 days: notices sent, delivered, loans cured"),
            hrefs=[
                _url(
                    "admin:notices_smsmessage_changelist",
                    sent_at__gte=_day_start(d).isoformat(),
                    sent_at__lt=_day_start(d + datetime.timedelta(days=1)).isoformat(),
                )
                for d in history["dates"]
            ],
        ),
        "feedback_chart": bar_chart(
            [Bar(str(row["label"]), row["count"], row["url"]) for row in categories],
            title=_("Feedback by category, last 30 days"),
            color="#fd7e14",
        ),
        "has_feedback": bool(categories),
    }
