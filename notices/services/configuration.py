"""Changes to the rules administrators tune: the contact policy, stages, forbidden
expressions, keyword rules and answer-by times. Each is saved and audited here, in one
transaction, whichever page or command makes it."""

from __future__ import annotations

from collections.abc import Callable

from django.db import models, transaction

from core.audit import audit_record

from ..models import CollectionStage, ContactPolicy, FeedbackSla, ForbiddenExpression, KeywordRule


def _describe_stage(stage: CollectionStage) -> str:
    state = "active" if stage.active else "inactive"
    return (
        f"{stage.name} {stage.range_label}, cadence {stage.cadence_days}, "
        f"repay within {stage.repay_by_days} days, {state}"
    )


def _describe_expression(expression: ForbiddenExpression) -> str:
    return f"{expression.phrase} ({expression.category}, {'on' if expression.active else 'off'})"


def _describe_rule(rule: KeywordRule) -> str:
    return f"{rule.category} #{rule.priority}: {rule.keywords}{'' if rule.active else ' (off)'}"


def _describe_sla(sla: FeedbackSla) -> str:
    return f"{sla.within_hours}h / {sla.within_working_days}d{' urgent' if sla.urgent else ''}"


def _save(obj: models.Model, *, user, action: str, describe: Callable[[models.Model], str]) -> models.Model:
    """Save and audit a configuration row: what it was (on a change) and what it is now."""
    with transaction.atomic():
        before = type(obj).objects.filter(pk=obj.pk).first() if obj.pk else None
        obj.save()
        audit_record(
            actor=user,
            action=f"{action}.{'change' if before else 'add'}",
            obj=obj,
            from_state=describe(before) if before else "",
            to_state=describe(obj),
        )
    return obj


def _delete(obj: models.Model, *, user, action: str, describe: Callable[[models.Model], str]) -> None:
    with transaction.atomic():
        audit_record(actor=user, action=f"{action}.delete", obj=obj, from_state=describe(obj))
        obj.delete()


def stage_save(*, stage: CollectionStage, user) -> CollectionStage:
    """Add or change a collection stage (days range, cadence, active)."""
    return _save(stage, user=user, action="stage", describe=_describe_stage)


def forbidden_expression_save(*, expression: ForbiddenExpression, user) -> ForbiddenExpression:
    """Add or change a phrase no outgoing SMS may contain."""
    return _save(expression, user=user, action="forbidden_expression", describe=_describe_expression)


def forbidden_expression_delete(*, expression: ForbiddenExpression, user) -> None:
    """Remove a forbidden phrase (audited with what it was)."""
    _delete(expression, user=user, action="forbidden_expression", describe=_describe_expression)


def keyword_rule_save(*, rule: KeywordRule, user) -> KeywordRule:
    """Add or change a keyword rule that classifies customers' replies."""
    return _save(rule, user=user, action="keyword_rule", describe=_describe_rule)


def keyword_rule_delete(*, rule: KeywordRule, user) -> None:
    """Remove a keyword rule (audited with what it was)."""
    _delete(rule, user=user, action="keyword_rule", describe=_describe_rule)


def feedback_sla_save(*, sla: FeedbackSla, user) -> FeedbackSla:
    """Change how soon feedback of a category must be answered."""
    return _save(sla, user=user, action="feedback_sla", describe=_describe_sla)


def contact_policy_update(*, user, **values) -> ContactPolicy:
    """Change the contact policy; the audit row lists each field's old and new value."""
    with transaction.atomic():
        policy = ContactPolicy.objects.select_for_update().get(pk=ContactPolicy.current().pk)
        changed = {
            name: (getattr(policy, name), value)
            for name, value in values.items()
            if getattr(policy, name) != value
        }
        if not changed:
            return policy
        for name, (_old, new) in changed.items():
            setattr(policy, name, new)
        policy.full_clean()
        policy.save()
        audit_record(
            actor=user,
            action="policy.change",
            obj=policy,
            from_state="; ".join(f"{k}={old}" for k, (old, _new) in changed.items()),
            to_state="; ".join(f"{k}={new}" for k, (_old, new) in changed.items()),
        )
    return policy
