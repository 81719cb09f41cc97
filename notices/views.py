"""Webhooks the SMS platform calls: delivery receipts and inbound replies (HMAC-signed)."""

from __future__ import annotations

import json
import logging

from django.conf import settings
from django.http import JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from .services.webhooks import inbound_receive, items_fresh, receipt_apply, signature_valid, timestamp_fresh

log = logging.getLogger(__name__)
MAX_BODY = 1024 * 1024


def _verified_items(request, list_key: str):
    """(items, error response): signature and freshness first, then JSON; nothing is
    stored on failure. A replay older than SMS_WEBHOOK_TOLERANCE_SECONDS is refused: by
    the signed X-Timestamp when the platform sends one, else by each item's "at"."""
    raw = request.body[: MAX_BODY + 1]
    if len(raw) > MAX_BODY:
        return None, JsonResponse({"error": "payload too large"}, status=413)
    timestamp = request.headers.get("X-Timestamp")
    if not signature_valid(raw, request.headers.get("X-Signature"), timestamp):
        log.warning("webhook %s refused: bad or missing signature", request.path)
        return None, JsonResponse({"error": "invalid signature"}, status=403)
    if timestamp is None and settings.SMS_WEBHOOK_REQUIRE_TIMESTAMP:
        log.warning("webhook %s refused: no X-Timestamp", request.path)
        return None, JsonResponse({"error": "timestamp required"}, status=403)
    if timestamp is not None and not timestamp_fresh(timestamp):
        log.warning("webhook %s refused: timestamp outside the tolerance", request.path)
        return None, JsonResponse({"error": "stale or future timestamp"}, status=403)
    try:
        data = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        return None, JsonResponse({"error": "invalid JSON"}, status=400)
    if isinstance(data, dict) and isinstance(data.get(list_key), list):
        data = data[list_key]
    items = data if isinstance(data, list) else [data]
    if not items or not all(isinstance(item, dict) for item in items):
        return None, JsonResponse({"error": "expected an object or a list of objects"}, status=400)
    if timestamp is None and not items_fresh(items):
        log.warning('webhook %s refused: "at" outside the tolerance (a replay?)', request.path)
        return None, JsonResponse({"error": 'stale or future "at"'}, status=403)
    return items, None


@csrf_exempt
@require_POST
def receipt_webhook(request):
    items, error = _verified_items(request, "receipts")
    if error:
        return error
    stored = applied = 0
    for item in items:
        receipt = receipt_apply(item=item)
        if receipt is not None:
            stored += 1
            applied += int(receipt.applied)
    return JsonResponse({"received": len(items), "stored": stored, "applied": applied})


@csrf_exempt
@require_POST
def inbound_webhook(request):
    items, error = _verified_items(request, "messages")
    if error:
        return error
    new = 0
    for item in items:
        _inbound, created = inbound_receive(item=item)
        new += int(created)
    return JsonResponse({"received": len(items), "stored": new})
