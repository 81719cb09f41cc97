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

    from ..selectors import loans_at_risk, promise_figure

    user = context["request"].user
    if not user.has_perm("notices.view_smsmessage"):
        return {"show": False}
    today = timezone.localdate()
    yesterday = today - datetime.timedelta(days=1)
    return {
        "show": True,
        "yesterday": promise_figure(yesterday, yesterday),
        "week": promise_figure(today - datetime.timedelta(days=7), yesterday),
        "at_risk": loans_at_risk(),
    }
