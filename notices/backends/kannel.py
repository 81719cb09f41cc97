"""Kannel, for banks that run it in front of their carriers (docs/gateways/kannel.md).

Sends through smsbox's `sendsms` HTTP interface; receipts come back to a `dlr-url`
that carries our reference and its signature (Kannel cannot sign its calls: the URL is
the proof), replies to an sms-service `get-url` that carries a signed token.
"""

from __future__ import annotations

import re
import time
from urllib.parse import parse_qsl, quote

import httpx
from django.conf import settings
from django.http import HttpResponse

from ..gateway_settings import setting_text, setting_url
from ..links.parts import gsm7_fits
from ..links.smpp.pdu import parse_receipt_text, status_name
from .base import BaseSmsBackend, Outcome, Outgoing, SendResult
from .http import ms, parse_when, pooled_client, refusal, transport_failure
from .inbound import (
    GatewayWebhooks,
    InboundReport,
    ReceiptReport,
    ReceiptState,
    WebhookRefused,
    reference_signature,
    reference_signature_valid,
)

RECEIPT_PATH = "/webhooks/sms/kannel/receipt/"
INBOUND_PATH = "/webhooks/sms/kannel/inbound/"
# dlr-mask: 1 delivered to the phone, 2 not delivered, 8 taken by the SMSC, 16 refused by it.
DLR_MASK = 1 | 2 | 8 | 16
DLR_TYPES = {
    1: ("delivered", ReceiptState.DELIVERED),
    2: ("undelivered", ReceiptState.FAILED),
    4: ("buffered", None),
    8: ("smsc_accepted", ReceiptState.SENT),
    16: ("smsc_rejected", ReceiptState.FAILED),
}
_NACK = re.compile(r"NACK/(0x[0-9A-Fa-f]+|\d+)")
_SAFE_REF = re.compile(r"^[A-Za-z0-9._:-]{1,64}$")


def callback_base() -> str:
    return setting_url("SMS_CALLBACK_BASE_URL").rstrip("/")


def dlr_url(client_ref: str) -> str:
    """Where Kannel reports on this message; %d %F %A %T are Kannel's escapes, filled in by it."""
    sig = reference_signature("kannel-receipt", client_ref)
    return (
        f"{callback_base()}{RECEIPT_PATH}?ref={quote(client_ref)}&sig={sig}"
        "&type=%d&smsc_id=%F&answer=%A&at=%T"
    )


def inbound_url() -> str:
    """The get-url to put in Kannel's sms-service group (docs/gateways/kannel.md)."""
    token = reference_signature("kannel-inbound", "mo")
    return f"{callback_base()}{INBOUND_PATH}?token={token}&from=%p&to=%P&text=%a&charset=%C&coding=%c&id=%I&at=%T"


class KannelWebhooks(GatewayWebhooks):
    name = "kannel"
    methods = ("GET", "POST")

    def receipts(self, request) -> list[ReceiptReport]:
        params = _params(request)
        ref = params.get("ref", "")
        if not reference_signature_valid("kannel-receipt", ref, params.get("sig")):
            raise WebhookRefused(403, "invalid signature")
        try:
            dlr_type = int(params.get("type", ""))
        except ValueError as exc:
            raise WebhookRefused(400, "type must be Kannel's dlr type (%d)") from exc
        status, state = DLR_TYPES.get(dlr_type, (f"type_{dlr_type}", None))
        answer = params.get("answer", "")
        error_code = ""
        if dlr_type == 16:
            nack = _NACK.search(answer)
            error_code = status_name(int(nack.group(1), 0)) if nack else "smsc_rejected"
        elif state == ReceiptState.FAILED:
            fields = parse_receipt_text(answer.encode("latin-1", "replace"))
            error_code = "/".join(v for v in (fields.get("stat", ""), fields.get("err", "")) if v) or status
        raw = json_safe({key: value for key, value in params.items() if key != "sig"})
        return [
            ReceiptReport(
                state=state,
                status=status,
                client_ref=ref,
                provider_id=params.get("smsc_id", ""),
                error_code=error_code,
                at=_unix(params.get("at")),
                raw=raw,
            )
        ]

    def replies(self, request) -> list[InboundReport]:
        params = _params(request, keep_bytes=True)
        if not reference_signature_valid("kannel-inbound", "mo", params.get("token")):
            raise WebhookRefused(403, "invalid token")
        sender = params.get("from", "")
        if not sender:
            raise WebhookRefused(400, "from (%p) is required")
        text = _decode(params.get("text", "").encode("latin-1"), params.get("charset", "")).replace(
            "\x00", ""
        )
        raw = json_safe({key: value for key, value in params.items() if key not in ("token", "text")})
        raw["text"] = text
        return [
            InboundReport(
                sender=sender,
                text=text,
                provider_id=params.get("id", ""),
                at=_unix(params.get("at")),
                raw=raw,
            )
        ]

    def answer_receipts(self, reports, *, stored: int, applied: int) -> HttpResponse:
        return HttpResponse("OK", content_type="text/plain")

    def answer_replies(self, reports, *, stored: int) -> HttpResponse:
        # Empty: with `omit-empty = true` in the sms-service, Kannel sends the customer nothing.
        return HttpResponse("", content_type="text/plain")

    def refuse(self, refused: WebhookRefused) -> HttpResponse:
        return HttpResponse(refused.reason, status=refused.status, content_type="text/plain")


def _params(request, *, keep_bytes: bool = False) -> dict[str, str]:
    """The query (and a form body, if any) as text; with keep_bytes each value is the
    percent-decoded octets as latin-1, so a text in another charset survives intact."""
    encoding = "latin-1" if keep_bytes else "utf-8"
    pairs = parse_qsl(request.META.get("QUERY_STRING", ""), keep_blank_values=True, encoding=encoding)
    if request.method == "POST" and request.content_type == "application/x-www-form-urlencoded":
        pairs += parse_qsl(request.body.decode("latin-1"), keep_blank_values=True, encoding=encoding)
    return dict(pairs)


def json_safe(values: dict[str, str]) -> dict[str, str]:
    """PostgreSQL refuses NUL inside JSON: a receipt text may carry one; it is kept as \\x00."""
    return {key: value.replace("\x00", "\\x00") for key, value in values.items()}


def _decode(data: bytes, charset: str) -> str:
    charset = charset.strip().upper()
    if charset in ("UTF-16BE", "UCS-2", "UTF-16"):
        return data.decode("utf-16-be", errors="replace")
    if charset in ("ISO-8859-1", "LATIN1"):
        return data.decode("latin-1")
    return data.decode("utf-8", errors="replace")


def _unix(value):
    try:
        return parse_when(int(value)) if value not in (None, "") else None
    except ValueError:
        return None


class KannelBackend(BaseSmsBackend):
    """smsbox's sendsms: GET with the credentials of a sendsms-user group."""

    name = "kannel"
    webhooks = KannelWebhooks

    def __init__(self, url: str | None = None, timeout: float | None = None):
        self.url = url or setting_url("SMS_KANNEL_URL")
        self.username = setting_text("SMS_KANNEL_USERNAME", required=True, max_length=64)
        self.password = setting_text("SMS_KANNEL_PASSWORD", required=True, max_length=128, secret=True)
        self.sender = setting_text("SMS_KANNEL_FROM", max_length=20)
        callback_base()  # a missing or bad SMS_CALLBACK_BASE_URL is said now, not on the first send
        self.concurrency = settings.SMS_SEND_CONCURRENCY
        self.client = pooled_client(
            timeout=timeout if timeout is not None else settings.SMS_HTTP_TIMEOUT,
            concurrency=self.concurrency,
        )

    def send(self, message: Outgoing) -> SendResult:
        started = time.monotonic()
        if not _SAFE_REF.match(message.client_ref):
            return SendResult(Outcome.FAILED, code="bad_reference", detail="client_ref unusable in a dlr-url")
        params = {
            "username": self.username,
            "password": self.password,
            "to": message.to,
            "text": message.text,
            "charset": "UTF-8",
            "coding": "0" if gsm7_fits(message.text) else "2",
            "dlr-mask": str(DLR_MASK),
            "dlr-url": dlr_url(message.client_ref),
        }
        if self.sender:
            params["from"] = self.sender
        try:
            response = self.client.get(self.url, params=params)
        except httpx.HTTPError as exc:
            return transport_failure(exc, started)
        # 202 "0: Accepted for delivery" or "3: Queued for later delivery" (smsbox's words).
        if response.status_code in (200, 202):
            return SendResult(Outcome.ACCEPTED, "", str(response.status_code), latency_ms=ms(started))
        return refusal(response, started)
