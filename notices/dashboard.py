"""The figures on the admin home: where the day stands, each with the list behind it."""

from __future__ import annotations

import datetime
from urllib.parse import urlencode

from django.db.models import Count, Q, Sum
from django.db.models.functions import TruncDate
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from core.charts import Bar, bar_chart, line_chart
from customers.models import Loan, LoanEvent, LoanEventKind, LoanStatus

from .models import CollectionStage, ContactPolicy, Feedback, FeedbackCategory, MessageStatus, SmsMessage

OPEN_LOANS = (LoanStatus.OVERDUE, LoanStatus.IN_PLAN)


def _url(name: str, **params) -> str:
    return reverse(name) + ("?" + urlencode(params) if params else "")


def _day_start(day: datetime.date) -> datetime.datetime:
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time.min))


def sending_today(now: datetime.datetime | None = None) -> list[dict]:
    """Today's sending: waiting, sent, delivered, failed — each a link to the messages."""
    from .services.sending import in_contact_window

    now = now or timezone.now()
    today = timezone.localtime(now).date()
    start, end = _day_start(today), _day_start(today + datetime.timedelta(days=1))
    messages = "admin:notices_smsmessage_changelist"
    window_open = in_contact_window(now, ContactPolicy.current())
    counts = SmsMessage.objects.aggregate(
        queued=Count("pk", filter=Q(status=MessageStatus.QUEUED)),
        sending=Count("pk", filter=Q(status=MessageStatus.SENDING)),
        sent=Count("pk", filter=Q(sent_at__gte=start, sent_at__lt=end)),
        delivered=Count("pk", filter=Q(delivered_at__gte=start, delivered_at__lt=end)),
        failed=Count("pk", filter=Q(failed_at__gte=start, failed_at__lt=end)),
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
    counts = SmsMessage.objects.filter(sent_at__gte=since).aggregate(
        total=Count("pk"),
        delivered=Count("pk", filter=Q(status=MessageStatus.DELIVERED)),
        failed=Count("pk", filter=Q(status=MessageStatus.FAILED)),
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
    rows = []
    for stage in CollectionStage.objects.filter(active=True).order_by("min_days"):
        q = Q(status__in=OPEN_LOANS, overdue_since__lte=today - datetime.timedelta(days=stage.min_days))
        if stage.max_days is not None:
            q &= Q(overdue_since__gte=today - datetime.timedelta(days=stage.max_days))
        figures = Loan.objects.filter(q).aggregate(count=Count("pk"), amount=Sum("overdue_amount"))
        rows.append(
            {
                "stage": stage,
                "count": figures["count"],
                "amount": figures["amount"] or 0,
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
    start = _day_start(first)
    tz = timezone.get_current_timezone()

    def per_day(query, field):
        return dict(
            query.filter(**{f"{field}__gte": start})
            .annotate(day=TruncDate(field, tzinfo=tz))
            .values("day")
            .annotate(n=Count("pk"))
            .values_list("day", "n")
        )

    sent = per_day(SmsMessage.objects.all(), "sent_at")
    delivered = per_day(SmsMessage.objects.all(), "delivered_at")
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


def feedback_by_category(days: int = 30, now: datetime.datetime | None = None) -> list[dict]:
    now = now or timezone.now()
    since = now - datetime.timedelta(days=days)
    counts = dict(
        Feedback.objects.filter(created_at__gte=since)
        .values("category")
        .annotate(n=Count("pk"))
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
