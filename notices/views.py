"""The URLs gateways call back: each request goes to its gateway's own webhooks class
(`notices/backends/inbound.py`), whose reports go to the receipt and inbound services.

`/webhooks/sms/receipt/` and `/webhooks/sms/inbound/` belong to the configured backend
(`SMS_BACKEND`); `/webhooks/sms/<gateway>/…/` to that gateway whatever is configured, so
callbacks still in flight when a bank changes gateways are not lost (they are signed).
"""

from __future__ import annotations

import logging

from django.http import JsonResponse
from django.views.decorators.csrf import csrf_exempt

from .backends import backend_class, get_backend
from .backends.inbound import GatewayWebhooks, WebhookRefused
from .services.webhooks import inbound_receive, receipt_apply

log = logging.getLogger(__name__)


def _configured() -> GatewayWebhooks | JsonResponse:
    backend = get_backend()
    if backend.webhooks is None:
        how = "over its own connection" if backend.link else "nowhere"
        return JsonResponse(
            {"error": f"receipts and replies of the {backend.name} gateway arrive {how}, not here"},
            status=404,
        )
    return backend.webhooks()


def _receipts(request, webhooks: GatewayWebhooks):
    if request.method not in webhooks.methods:
        return JsonResponse({"error": "method not allowed"}, status=405)
    try:
        reports = webhooks.receipts(request)
    except WebhookRefused as refused:
        return webhooks.refuse(refused)
    stored = applied = 0
    for report in reports:
        receipt = receipt_apply(report=report)
        if receipt is not None:
            stored += 1
            applied += int(receipt.applied)
    return webhooks.answer_receipts(reports, stored=stored, applied=applied)


def _replies(request, webhooks: GatewayWebhooks):
    if request.method not in webhooks.methods:
        return JsonResponse({"error": "method not allowed"}, status=405)
    try:
        reports = webhooks.replies(request)
    except WebhookRefused as refused:
        return webhooks.refuse(refused)
    stored = 0
    for report in reports:
        _inbound, created = inbound_receive(report=report)
        stored += int(created)
    return webhooks.answer_replies(reports, stored=stored)


@csrf_exempt
def receipt_webhook(request):
    webhooks = _configured()
    return webhooks if isinstance(webhooks, JsonResponse) else _receipts(request, webhooks)


@csrf_exempt
def inbound_webhook(request):
    webhooks = _configured()
    return webhooks if isinstance(webhooks, JsonResponse) else _replies(request, webhooks)


def _gateway(name: str) -> GatewayWebhooks:
    return backend_class(name).webhooks()


@csrf_exempt
def kannel_receipt_webhook(request):
    return _receipts(request, _gateway("kannel"))


@csrf_exempt
def kannel_inbound_webhook(request):
    return _replies(request, _gateway("kannel"))


@csrf_exempt
def jasmin_receipt_webhook(request):
    return _receipts(request, _gateway("jasmin"))


@csrf_exempt
def jasmin_inbound_webhook(request):
    return _replies(request, _gateway("jasmin"))
