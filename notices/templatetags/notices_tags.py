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
