"""The bank SMS platform's JSON API and its signed webhooks (docs/gateways/http.md).

Also the pieces the other HTTP gateways share: a pooled client and what an HTTP answer
means for a send (`send_outcome`, `retry_after`).
"""

from __future__ import annotations

import datetime
import email.utils
import hashlib
import hmac
import json
import logging
import time

import httpx
from django.conf import settings
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from .base import BaseSmsBackend, Outcome, Outgoing, RemoteState, SendResult, StatusResult
from .inbound import GatewayWebhooks, InboundReport, ReceiptReport, ReceiptState, WebhookRefused

log = logging.getLogger("notices.views")  # where refused webhooks were always logged
MAX_BODY = 1024 * 1024
MAX_ITEMS = 1000
MAX_RETRY_AFTER = 3600.0


# --- what every HTTP gateway shares -------------------------------------------------------


def pooled_client(*, base_url: str = "", timeout: float, concurrency: int, **kwargs) -> httpx.Client:
    return httpx.Client(
        base_url=base_url,
        timeout=httpx.Timeout(timeout, connect=min(timeout, 5.0)),
        limits=httpx.Limits(max_connections=concurrency * 2, max_keepalive_connections=concurrency),
        **kwargs,
    )


def retry_after(response: httpx.Response) -> float | None:
    """Retry-After in seconds (delta-seconds or an HTTP date), or None when absent or unreadable."""
    value = (response.headers.get("Retry-After") or "").strip()
    if not value:
        return None
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=datetime.UTC)
        seconds = (when - datetime.datetime.now(datetime.UTC)).total_seconds()
    if seconds != seconds:  # NaN
        return None
    return min(max(seconds, 0.0), MAX_RETRY_AFTER)


def transport_failure(exc: httpx.HTTPError, started: float) -> SendResult:
    """A send that got no HTTP answer: safe to retry only if nothing reached the gateway."""
    if isinstance(exc, httpx.ConnectError):
        return SendResult(Outcome.RETRY, code="connect_error", detail=str(exc)[:200], latency_ms=ms(started))
    if isinstance(exc, httpx.TimeoutException):
        return SendResult(Outcome.UNKNOWN, code="timeout", detail=type(exc).__name__, latency_ms=ms(started))
    return SendResult(Outcome.UNKNOWN, code="http_error", detail=str(exc)[:200], latency_ms=ms(started))


def refusal(response: httpx.Response, started: float, *, busy: bool = False) -> SendResult:
    """A non-success answer: 429 and 5xx (or `busy`) are RETRY, with the delay asked for."""
    code, detail = str(response.status_code), response.text[:200]
    if busy or response.status_code == 429 or response.status_code >= 500:
        return SendResult(
            Outcome.RETRY, code=code, detail=detail, latency_ms=ms(started), retry_after=retry_after(response)
        )
    return SendResult(Outcome.FAILED, code=code, detail=detail, latency_ms=ms(started))


def ms(started: float) -> int:
    return int((time.monotonic() - started) * 1000)


def parse_when(value) -> datetime.datetime | None:
    """An ISO 8601 text or Unix seconds, aware; None when absent or unreadable."""
    if value in (None, ""):
        return None
    try:
        if isinstance(value, int | float) and not isinstance(value, bool):
            return datetime.datetime.fromtimestamp(value, tz=datetime.UTC)
        parsed = parse_datetime(str(value))
    except (TypeError, ValueError, OverflowError, OSError):
        return None
    if parsed and timezone.is_naive(parsed):
        parsed = timezone.make_aware(parsed)
    return parsed


# --- the http platform's webhooks -----------------------------------------------------------


def _signed_bytes(raw_body: bytes, timestamp: str | None) -> bytes:
    return raw_body if timestamp is None else timestamp.encode() + b"." + raw_body


def sign(raw_body: bytes, secret: str | None = None, *, timestamp: str | None = None) -> str:
    key = (secret or settings.SMS_WEBHOOK_SECRET).encode()
    return hmac.new(key, _signed_bytes(raw_body, timestamp), hashlib.sha256).hexdigest()


def signature_valid(raw_body: bytes, signature: str | None, timestamp: str | None = None) -> bool:
    """X-Signature must be hex(HMAC-SHA256(SMS_WEBHOOK_SECRET, raw body)); when the call
    carries X-Timestamp, the HMAC covers "<timestamp>." + raw body instead."""
    if not signature:
        return False
    return hmac.compare_digest(sign(raw_body, timestamp=timestamp), signature.strip().lower())


MAX_DEPTH = 8  # the platform's payloads are a list of flat objects: 3 levels at most


def json_depth_ok(raw: bytes, limit: int = MAX_DEPTH) -> bool:
    """Whether the JSON nests no deeper than `limit` (counted on the text before parsing,
    so a body of ten thousand brackets never reaches the parser's recursion)."""
    depth, in_string, escaped = 0, False, False
    for byte in raw:
        if in_string:
            if escaped:
                escaped = False
            elif byte == 0x5C:  # backslash
                escaped = True
            elif byte == 0x22:
                in_string = False
        elif byte == 0x22:
            in_string = True
        elif byte in (0x5B, 0x7B):  # [ {
            depth += 1
            if depth > limit:
                return False
        elif byte in (0x5D, 0x7D):
            depth -= 1
    return True


def timestamp_readable(value: str) -> bool:
    """An X-Timestamp is Unix seconds: a finite number (else the call is malformed: 400)."""
    try:
        moment = float(value.strip())
    except (AttributeError, ValueError):
        return False
    return moment == moment and abs(moment) < 1e11


def timestamp_fresh(value: str, now: datetime.datetime | None = None) -> bool:
    """An X-Timestamp (Unix seconds) within SMS_WEBHOOK_TOLERANCE_SECONDS of now."""
    try:
        moment = float(value.strip())
    except (AttributeError, ValueError):
        return False
    if moment != moment:  # NaN
        return False
    now_ts = (now or timezone.now()).timestamp()
    return abs(now_ts - moment) <= settings.SMS_WEBHOOK_TOLERANCE_SECONDS


def items_fresh(items: list[dict], now: datetime.datetime | None = None) -> bool:
    """Without X-Timestamp: every item's "at", where given, within the tolerance of now."""
    now = now or timezone.now()
    tolerance = datetime.timedelta(seconds=settings.SMS_WEBHOOK_TOLERANCE_SECONDS)
    for item in items:
        if item.get("at") in (None, ""):
            continue
        at = parse_when(item["at"])
        if at is None or abs(now - at) > tolerance:
            return False
    return True


RECEIPT_STATES = {
    "accepted": ReceiptState.SENT,
    "sent": ReceiptState.SENT,
    "delivered": ReceiptState.DELIVERED,
    "failed": ReceiptState.FAILED,
}


def receipt_from_item(item: dict) -> ReceiptReport:
    """One item of the platform's receipt webhook (`message_id`, `client_ref`, `status`, …)."""
    status = str(item.get("status", "")).lower()
    return ReceiptReport(
        state=RECEIPT_STATES.get(status),
        status=status,
        client_ref=str(item.get("client_ref") or "")[:64],
        provider_id=str(item.get("message_id") or "")[:100],
        error_code=str(item.get("error_code") or ""),
        at=parse_when(item.get("at")),
        raw=item,
    )


def reply_from_item(item: dict) -> InboundReport:
    """One item of the platform's inbound webhook (`from`, `text`, `at`, `message_id`)."""
    return InboundReport(
        sender=str(item.get("from") or "")[:32],
        text=str(item.get("text") or ""),
        provider_id=str(item.get("message_id") or "")[:100],
        at=parse_when(item.get("at")),
        raw=item,
    )


class HttpWebhooks(GatewayWebhooks):
    """Signed JSON posts to /webhooks/sms/receipt/ and /webhooks/sms/inbound/."""

    name = "http"

    def receipts(self, request) -> list[ReceiptReport]:
        return [receipt_from_item(item) for item in self._verified_items(request, "receipts")]

    def replies(self, request) -> list[InboundReport]:
        return [reply_from_item(item) for item in self._verified_items(request, "messages")]

    def _verified_items(self, request, list_key: str) -> list[dict]:
        """Signature and freshness first, then JSON; nothing is stored on failure. A replay
        older than SMS_WEBHOOK_TOLERANCE_SECONDS is refused: by the signed X-Timestamp
        when the platform sends one, else by each item's "at"."""
        raw = request.body[: MAX_BODY + 1]
        if len(raw) > MAX_BODY:
            raise WebhookRefused(413, "payload too large")
        timestamp = request.headers.get("X-Timestamp")
        if not signature_valid(raw, request.headers.get("X-Signature"), timestamp):
            log.warning("webhook %s refused: bad or missing signature", request.path)
            raise WebhookRefused(403, "invalid signature")
        if timestamp is None and settings.SMS_WEBHOOK_REQUIRE_TIMESTAMP:
            log.warning("webhook %s refused: no X-Timestamp", request.path)
            raise WebhookRefused(403, "timestamp required")
        if timestamp is not None and not timestamp_readable(timestamp):
            raise WebhookRefused(400, "X-Timestamp must be Unix seconds")
        if timestamp is not None and not timestamp_fresh(timestamp):
            log.warning("webhook %s refused: timestamp outside the tolerance", request.path)
            raise WebhookRefused(403, "stale or future timestamp")
        if not json_depth_ok(raw):
            raise WebhookRefused(400, "JSON nested too deep")
        try:
            data = json.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, ValueError, RecursionError) as exc:
            raise WebhookRefused(400, "invalid JSON") from exc
        if isinstance(data, dict) and isinstance(data.get(list_key), list):
            data = data[list_key]
        items = data if isinstance(data, list) else [data]
        if not items or not all(isinstance(item, dict) for item in items):
            raise WebhookRefused(400, "expected an object or a list of objects")
        if len(items) > MAX_ITEMS:
            raise WebhookRefused(413, f"at most {MAX_ITEMS} items a call")
        for item in items:
            if item.get("at") not in (None, "") and parse_when(item["at"]) is None:
                raise WebhookRefused(400, '"at" must be an ISO 8601 time or Unix seconds')
        if timestamp is None and not items_fresh(items):
            log.warning('webhook %s refused: "at" outside the tolerance (a replay?)', request.path)
            raise WebhookRefused(403, 'stale or future "at"')
        return items


# --- the backend --------------------------------------------------------------------------


class HttpBackend(BaseSmsBackend):
    """The bank SMS platform's JSON API (docs/gateways/http.md), over a pooled client."""

    name = "http"
    webhooks = HttpWebhooks

    def __init__(self, base_url: str | None = None, token: str | None = None, timeout: float | None = None):
        self.base_url = (base_url or settings.SMS_HTTP_BASE_URL).rstrip("/")
        self.concurrency = settings.SMS_SEND_CONCURRENCY
        self.client = pooled_client(
            base_url=self.base_url,
            timeout=timeout if timeout is not None else settings.SMS_HTTP_TIMEOUT,
            concurrency=self.concurrency,
            headers={"Authorization": f"Bearer {token or settings.SMS_HTTP_TOKEN}"},
        )

    def send(self, message: Outgoing) -> SendResult:
        started = time.monotonic()
        payload = {"to": message.to, "text": message.text, "client_ref": message.client_ref}
        try:
            response = self.client.post("/messages", json=payload)
        except httpx.HTTPError as exc:
            return transport_failure(exc, started)
        if response.status_code == 200:
            try:
                provider_id = str(response.json().get("message_id", ""))
            except ValueError:
                provider_id = ""
            return SendResult(Outcome.ACCEPTED, provider_id, "200", latency_ms=ms(started))
        return refusal(response, started)

    def status(self, client_ref: str) -> StatusResult:
        try:
            response = self.client.get(f"/messages/{client_ref}")
        except httpx.HTTPError:
            return StatusResult(RemoteState.UNKNOWN, code="unreachable")
        if response.status_code == 404:
            return StatusResult(RemoteState.NOT_FOUND, code="404")
        if response.status_code != 200:
            return StatusResult(RemoteState.UNKNOWN, code=str(response.status_code))
        try:
            data = response.json()
        except ValueError:
            return StatusResult(RemoteState.UNKNOWN, code="bad_json")
        state = {
            "accepted": RemoteState.ACCEPTED,
            "delivered": RemoteState.DELIVERED,
            "failed": RemoteState.FAILED,
        }.get(data.get("status"), RemoteState.UNKNOWN)
        return StatusResult(state, str(data.get("message_id", "")), str(data.get("error_code", "") or ""))
