import datetime

from django import template

from ..selectors import batches_waiting_for_approval
from ..services.batches import APPROVE_PERMISSION

register = template.Library()


@register.inclusion_tag("admin/notices/_pending_batches.html", takes_context=True)
def pending_batches(context):
    """Batches waiting for approval, for the home page (approvers see them first)."""
    user = context["request"].user
    if not user.has_perm("notices.view_noticebatch"):
        return {"show": False}
    batches = list(batches_waiting_for_approval()[:10])
    return {
        "show": True,
        "batches": batches,
        "is_approver": user.has_perm(APPROVE_PERMISSION),
        "user": user,
    }


@register.inclusion_tag("admin/notices/_promise.html", takes_context=True)
def promise_24h(context):
    """The 24-hour promise: yesterday, the last 7 days, and the loans still at risk."""
    from django.utils import timezone

    from ..selectors import PromiseFigure, loans_at_risk, promise_by_first_day

    user = context["request"].user
    if not user.has_perm("notices.view_smsmessage"):
        return {"show": False}
    today = timezone.localdate()
    yesterday = today - datetime.timedelta(days=1)
    # The week's figures per first overdue day, once: yesterday's is one of them.
    days = promise_by_first_day([today - datetime.timedelta(days=n) for n in range(7, 0, -1)])
    return {
        "show": True,
        "yesterday": days[yesterday],
        "week": PromiseFigure(sum(f.kept for f in days.values()), sum(f.total for f in days.values())),
        "at_risk": loans_at_risk(),
    }


@register.inclusion_tag("admin/notices/_customer_timeline.html", takes_context=True)
def customer_timeline(context, customer):
    """The customer's whole story on their page: loans, notices, replies, feedback, plans, audit."""
    from core.pii import mask_text

    from ..selectors import customer_timeline as timeline

    user = context["request"].user
    if customer is None or not user.has_perm("notices.view_smsmessage"):
        return {"show": False}
    events = timeline(customer)
    for event in events:  # pages never show whole numbers; the customer page reveals them
        event["detail"] = mask_text(str(event["detail"]))
    return {
        "show": True,
        "events": events,
        "customer": customer,
        "can_add_feedback": user.has_perm("notices.add_feedback"),
    }


@register.inclusion_tag("admin/notices/_work_tiles.html", takes_context=True)
def work_tiles(context):
    """Feedback by SLA state and plans waiting or broken, for the home page."""
    from django.utils import timezone

    from ..models import OPEN_FEEDBACK, Feedback, PlanStatus, RepaymentPlan

    user = context["request"].user
    now = timezone.now()
    tiles = {
        "show_feedback": user.has_perm("notices.view_feedback"),
        "show_plans": user.has_perm("notices.view_repaymentplan"),
    }
    if tiles["show_feedback"]:
        open_items = Feedback.objects.filter(status__in=OPEN_FEEDBACK)
        tiles.update(
            mine=open_items.filter(assignee=user).count(),
            unassigned=open_items.filter(assignee__isnull=True).count(),
            late=open_items.filter(sla_due_at__lte=now).count(),
            due_soon=open_items.filter(
                sla_due_at__gt=now, sla_due_at__lte=now + datetime.timedelta(hours=2)
            ).count(),
        )
    if tiles["show_plans"]:
        week_ago = now - datetime.timedelta(days=7)
        tiles.update(
            plans_waiting=RepaymentPlan.objects.filter(status=PlanStatus.PENDING_APPROVAL).count(),
            plans_broken=RepaymentPlan.objects.filter(
                status=PlanStatus.BROKEN, ended_at__gte=week_ago
            ).count(),
            week_ago=week_ago.date().isoformat(),
        )
    return tiles


@register.inclusion_tag("admin/notices/_dashboard.html", takes_context=True)
def dashboard(context):
    """Today's sending, delivery rate and the charts, for those who may see messages."""
    from .. import dashboard as figures

    user = context["request"].user
    if not user.has_perm("notices.view_smsmessage"):
        return {"show": False}
    return {
        "show": True,
        "sending": figures.sending_today(),
        "delivery": figures.delivery_rate(),
        **figures.charts(),
        "can_import": user.has_perm("customers.add_loanbookimport"),
        "can_generate": user.has_perm("notices.add_noticebatch"),
        "can_export": user.has_perm("customers.export_data"),
    }


@register.inclusion_tag("admin/notices/_gateway.html", takes_context=True)
def gateway_health(context):
    """The gateway's health, for the administrators who run it."""
    from ..selectors import gateway_health as health

    if not context["request"].user.has_perm("notices.change_contactpolicy"):
        return {"show": False}
    return {"show": True, **health()}
