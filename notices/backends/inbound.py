"""How receipts and replies come back from a gateway, in words every gateway shares.

A gateway owns its protocol, the way django-anymail keeps each provider's inbound side
with the provider: an HTTP gateway's backend names a `GatewayWebhooks` class that checks
and parses its callbacks into `ReceiptReport`s and `InboundReport`s (or refuses them
with `WebhookRefused`) and builds the answer the gateway expects; a carrier link
(`link = True`: smpp, cmpp) brings them over its own connection instead. Either
way they end in the same services, `receipt_apply` and `inbound_receive`.
"""

from __future__ import annotations

import datetime
import enum
import hashlib
import hmac
from collections.abc import Sequence
from dataclasses import dataclass, field

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse


class ReceiptState(enum.StrEnum):
    SENT = "sent"  # the gateway (or the carrier behind it) took it
    DELIVERED = "delivered"
    FAILED = "failed"


@dataclass(frozen=True)
class ReceiptReport:
    """What a gateway said about one message (or, over a carrier link, one part)."""

    state: ReceiptState | None  # None: news this product does not act on (kept, not applied)
    status: str = ""  # the gateway's own word for it, as stored ("delivered", "DELIVRD", "8")
    client_ref: str = ""  # our idempotency key, when the gateway carries it back
    provider_id: str = ""  # the gateway's id for the message
    error_code: str = ""
    at: datetime.datetime | None = None
    raw: dict = field(default_factory=dict)  # as received, JSON-safe


@dataclass(frozen=True)
class InboundReport:
    """A customer's message, whole (a carrier link joins long ones before this)."""

    sender: str  # as the gateway gave it; normalised when matched to a customer
    text: str
    provider_id: str = ""  # the gateway's id; without one, a hash of `raw` stands in
    at: datetime.datetime | None = None
    raw: dict = field(default_factory=dict)


class WebhookRefused(Exception):
    """A callback that is not signed, not fresh or not readable: nothing is stored."""

    def __init__(self, status: int, reason: str):
        super().__init__(reason)
        self.status = status
        self.reason = reason


class GatewayWebhooks:
    """One gateway's callbacks. Subclasses parse; the views store and answer."""

    name = ""
    methods: tuple[str, ...] = ("POST",)

    def receipts(self, request: HttpRequest) -> list[ReceiptReport]:
        raise WebhookRefused(404, "this gateway sends no receipts here")

    def replies(self, request: HttpRequest) -> list[InboundReport]:
        raise WebhookRefused(404, "this gateway sends no replies here")

    def answer_receipts(self, reports: Sequence[ReceiptReport], *, stored: int, applied: int) -> HttpResponse:
        return JsonResponse({"received": len(reports), "stored": stored, "applied": applied})

    def answer_replies(self, reports: Sequence[InboundReport], *, stored: int) -> HttpResponse:
        return JsonResponse({"received": len(reports), "stored": stored})

    def refuse(self, refused: WebhookRefused) -> HttpResponse:
        return JsonResponse({"error": refused.reason}, status=refused.status)


def reference_signature(purpose: str, reference: str, secret: str | None = None) -> str:
    """hex(HMAC-SHA256(SMS_WEBHOOK_SECRET, "<purpose>:<reference>")): what a callback URL
    carries for gateways that cannot sign their calls (Kannel, Jasmin)."""
    key = (secret or settings.SMS_WEBHOOK_SECRET).encode()
    return hmac.new(key, f"{purpose}:{reference}".encode(), hashlib.sha256).hexdigest()


def reference_signature_valid(purpose: str, reference: str, signature: str | None) -> bool:
    if not signature:
        return False
    return hmac.compare_digest(reference_signature(purpose, reference), signature.strip().lower())
