"""Jasmin, for banks that run it in front of their carriers (docs/gateways/jasmin.md).

Sends with its HTTP API's `/send` (UCS2 as `hex-content` with `coding=8`); receipts
come back to a `dlr-url` carrying our reference and its signature (`dlr-level=3`: the
SMSC's answer, then the phone's); replies arrive from an HTTP client connector whose
URL carries a signed token. Both are answered `ACK/Jasmin`, or Jasmin sends them again.
"""

from __future__ import annotations

import re
import time
from urllib.parse import quote

import httpx
from django.conf import settings
from django.http import HttpResponse

from ..gateway_settings import setting_text, setting_url
from ..links.parts import gsm7_fits
from ..links.smpp.pdu import decode_text
from .base import BaseSmsBackend, Outcome, Outgoing, SendResult
from .http import ms, pooled_client, refusal, transport_failure
from .inbound import (
    GatewayWebhooks,
    InboundReport,
    ReceiptReport,
    ReceiptState,
    WebhookRefused,
    reference_signature,
    reference_signature_valid,
)
from .kannel import callback_base, json_safe

RECEIPT_PATH = "/webhooks/sms/jasmin/receipt/"
INBOUND_PATH = "/webhooks/sms/jasmin/inbound/"
ACK = "ACK/Jasmin"
_SUCCESS = re.compile(r'^Success "(?P<id>[^"]+)"')
_SAFE_REF = re.compile(r"^[A-Za-z0-9._:-]{1,64}$")
PENDING_STATES = ("ACCEPTD", "ENROUTE")


def dlr_url(client_ref: str) -> str:
    sig = reference_signature("jasmin-receipt", client_ref)
    return f"{callback_base()}{RECEIPT_PATH}?ref={quote(client_ref)}&sig={sig}"


def inbound_url() -> str:
    """The baseurl of the HTTP client connector MO routes point at (docs/gateways/jasmin.md)."""
    return f"{callback_base()}{INBOUND_PATH}?token={reference_signature('jasmin-inbound', 'mo')}"


def _fields(request) -> dict[str, str]:
    """Jasmin posts a form (dlr-method POST) or calls with a query (GET); ours is in the query."""
    fields = dict(request.GET.items())
    if request.method == "POST":
        fields.update(request.POST.items())
    return fields


def _coding(value: str) -> int:
    """The MO thrower sends data_coding as the PDU's octet itself (0.11: "\x08"), not
    as digits; both are read."""
    if value.isdigit():
        return int(value)
    if len(value) == 1:
        return ord(value)
    if not value:
        return 0
    raise ValueError(value)


class JasminWebhooks(GatewayWebhooks):
    name = "jasmin"
    methods = ("POST", "GET")

    def receipts(self, request) -> list[ReceiptReport]:
        fields = _fields(request)
        ref = request.GET.get("ref", "")
        if not reference_signature_valid("jasmin-receipt", ref, request.GET.get("sig")):
            raise WebhookRefused(403, "invalid signature")
        status = fields.get("message_status", "")
        if not status:
            raise WebhookRefused(400, "message_status is required")
        level = fields.get("level", "")
        if status.startswith("ESME_"):  # level 1: the SMSC's answer to submit_sm
            state = ReceiptState.SENT if status == "ESME_ROK" else ReceiptState.FAILED
            error_code = "" if status == "ESME_ROK" else status
        elif status == "DELIVRD":
            state, error_code = ReceiptState.DELIVERED, ""
        elif status in PENDING_STATES:
            state, error_code = None, ""
        else:  # EXPIRED, DELETED, UNDELIV, UNKNOWN, REJECTD
            state = ReceiptState.FAILED
            error_code = "/".join(v for v in (status, fields.get("err", "")) if v)
        raw = json_safe({key: value for key, value in fields.items() if key != "sig"})
        return [
            ReceiptReport(
                state=state,
                status=f"{status}"[:20],
                client_ref=ref,
                provider_id=fields.get("id", ""),
                error_code=error_code,
                raw={**raw, "level": level},
            )
        ]

    def replies(self, request) -> list[InboundReport]:
        fields = _fields(request)
        if not reference_signature_valid("jasmin-inbound", "mo", request.GET.get("token")):
            raise WebhookRefused(403, "invalid token")
        sender = fields.get("from", "")
        if not sender:
            raise WebhookRefused(400, "from is required")
        try:
            data = bytes.fromhex(fields.get("binary", ""))
            coding = _coding(fields.get("coding", ""))
        except ValueError as exc:
            raise WebhookRefused(400, "binary must be hex and coding a data_coding") from exc
        text, decoded_as = decode_text(data, coding) if data else (fields.get("content", ""), "content")
        raw = json_safe({key: value for key, value in fields.items() if key not in ("token", "content")})
        raw["decoded_as"] = decoded_as
        return [InboundReport(sender=sender, text=text, provider_id=fields.get("id", ""), raw=raw)]

    def answer_receipts(self, reports, *, stored: int, applied: int) -> HttpResponse:
        return HttpResponse(ACK, content_type="text/plain")

    def answer_replies(self, reports, *, stored: int) -> HttpResponse:
        return HttpResponse(ACK, content_type="text/plain")

    def refuse(self, refused: WebhookRefused) -> HttpResponse:
        return HttpResponse(refused.reason, status=refused.status, content_type="text/plain")


class JasminBackend(BaseSmsBackend):
    """Jasmin's HTTP API (`/send`), as a user with MT routes to the bank's connectors."""

    name = "jasmin"
    webhooks = JasminWebhooks

    def __init__(self, url: str | None = None, timeout: float | None = None):
        self.url = (url or setting_url("SMS_JASMIN_URL")).rstrip("/")
        self.username = setting_text("SMS_JASMIN_USERNAME", required=True, max_length=64)
        self.password = setting_text("SMS_JASMIN_PASSWORD", required=True, max_length=128, secret=True)
        callback_base()
        self.concurrency = settings.SMS_SEND_CONCURRENCY
        self.client = pooled_client(
            timeout=timeout if timeout is not None else settings.SMS_HTTP_TIMEOUT,
            concurrency=self.concurrency,
        )

    def send(self, message: Outgoing) -> SendResult:
        started = time.monotonic()
        if not _SAFE_REF.match(message.client_ref):
            return SendResult(Outcome.FAILED, code="bad_reference", detail="client_ref unusable in a dlr-url")
        form = {
            "username": self.username,
            "password": self.password,
            "to": message.to,
            "dlr": "yes",
            "dlr-url": dlr_url(message.client_ref),
            "dlr-level": "3",
            "dlr-method": "POST",
        }
        if gsm7_fits(message.text):
            form.update(coding="0", content=message.text)
        else:
            form.update(coding="8", **{"hex-content": message.text.encode("utf-16-be").hex()})
        try:
            response = self.client.post(f"{self.url}/send", data=form)
        except httpx.HTTPError as exc:
            return transport_failure(exc, started)
        if response.status_code == 200 and (found := _SUCCESS.match(response.text.strip())):
            return SendResult(Outcome.ACCEPTED, found.group("id"), "200", latency_ms=ms(started))
        # Jasmin answers a user's throughput quota with 403 "User throughput exceeded": busy.
        busy = response.status_code == 403 and "throughput exceeded" in response.text.lower()
        return refusal(response, started, busy=busy)
