"""System checks that refuse a django-q2 configuration able to run a task twice."""

from django.conf import settings
from django.core.checks import Error, Tags, Warning, register


@register(Tags.compatibility, deploy=False)
def check_task_queue(app_configs=None, **kwargs):
    """A task handed out again while still running would be a second execution."""
    errors = []
    conf = getattr(settings, "Q_CLUSTER", {})
    timeout, retry = conf.get("timeout"), conf.get("retry")
    if timeout is None or retry is None:
        errors.append(
            Error(
                "Q_CLUSTER must set both 'timeout' and 'retry'.",
                hint="Without them a slow task can be handed to a second worker.",
                id="core.E001",
            )
        )
    elif timeout >= retry:
        errors.append(
            Error(
                f"Q_CLUSTER timeout ({timeout}s) must be below retry ({retry}s).",
                hint="Otherwise the broker re-delivers a task that is still running.",
                id="core.E002",
            )
        )
    if not conf.get("max_attempts"):
        errors.append(
            Error(
                "Q_CLUSTER max_attempts must be a positive number (0 means unlimited).",
                hint="Unlimited attempts repeat a failing task forever.",
                id="core.E003",
            )
        )
    if conf.get("catch_up", True):
        errors.append(
            Error(
                "Q_CLUSTER catch_up must be False.",
                hint="Catching up missed schedules would run the daily batch several times.",
                id="core.E004",
            )
        )
    return errors


DEV_SECRETS = {"dev-webhook-secret", "dev-sms-token"}


@register(Tags.security, deploy=True)
def check_gateway_secrets(app_configs=None, **kwargs):
    """The webhook secret signs what the SMS platform tells us: it must be a real secret."""
    warnings = []
    secret = getattr(settings, "SMS_WEBHOOK_SECRET", "")
    if secret in DEV_SECRETS or len(secret) < 32:
        warnings.append(
            Warning(
                "SMS_WEBHOOK_SECRET is the development value or shorter than 32 characters.",
                hint="Anyone who can guess it can post forged receipts and replies.",
                id="core.W010",
            )
        )
    if settings.SMS_BACKEND == "http" and getattr(settings, "SMS_HTTP_TOKEN", "") in DEV_SECRETS:
        warnings.append(
            Warning(
                "SMS_HTTP_TOKEN is the development value.",
                hint="Set the token the bank's SMS platform issued.",
                id="core.W011",
            )
        )
    if getattr(settings, "SMS_WEBHOOK_TOLERANCE_SECONDS", 0) <= 0:
        warnings.append(
            Warning(
                "SMS_WEBHOOK_TOLERANCE_SECONDS must be positive.",
                hint="It bounds how old a webhook call may be before it counts as a replay.",
                id="core.W012",
            )
        )
    return warnings


@register(Tags.security, deploy=True)
def check_bank_hotline(app_configs=None, **kwargs):
    """Every notice gives the hotline: it must be the bank's, not the demo's fictional one."""
    hotline = str(getattr(settings, "BANK_HOTLINE", "")).strip()
    if not hotline or hotline == getattr(settings, "DEMO_HOTLINE", None):
        return [
            Warning(
                "BANK_HOTLINE is empty or the demo's fictional number.",
                hint="Set BANK_HOTLINE to the bank's customer-service number; every notice tells customers to call it.",
                id="core.W013",
            )
        ]
    return []
