from __future__ import annotations

import time

import httpx
from django.conf import settings

from .base import BaseSmsBackend, Outcome, Outgoing, RemoteState, SendResult, StatusResult


class HttpBackend(BaseSmsBackend):
    """The bank SMS platform's JSON API (DESIGN.md, "Gateways"), over a pooled client."""

    name = "http"

    def __init__(self, base_url: str | None = None, token: str | None = None, timeout: float | None = None):
        self.base_url = (base_url or settings.SMS_HTTP_BASE_URL).rstrip("/")
        self.concurrency = settings.SMS_SEND_CONCURRENCY
        timeout = timeout if timeout is not None else settings.SMS_HTTP_TIMEOUT
        self.client = httpx.Client(
            base_url=self.base_url,
            headers={"Authorization": f"Bearer {token or settings.SMS_HTTP_TOKEN}"},
            timeout=httpx.Timeout(timeout, connect=min(timeout, 5.0)),
            limits=httpx.Limits(
                max_connections=self.concurrency * 2, max_keepalive_connections=self.concurrency
            ),
        )

    def send(self, message: Outgoing) -> SendResult:
        started = time.monotonic()
        payload = {"to": message.to, "text": message.text, "client_ref": message.client_ref}
        try:
            response = self.client.post("/messages", json=payload)
        except httpx.ConnectError as exc:
            # Nothing reached the gateway: sending again later cannot duplicate.
            return SendResult(
                Outcome.RETRY, code="connect_error", detail=str(exc)[:200], latency_ms=self._ms(started)
            )
        except httpx.TimeoutException as exc:
            return SendResult(
                Outcome.UNKNOWN, code="timeout", detail=type(exc).__name__, latency_ms=self._ms(started)
            )
        except httpx.HTTPError as exc:
            return SendResult(
                Outcome.UNKNOWN, code="http_error", detail=str(exc)[:200], latency_ms=self._ms(started)
            )
        latency = self._ms(started)
        code = str(response.status_code)
        if response.status_code == 200:
            try:
                provider_id = str(response.json().get("message_id", ""))
            except ValueError:
                provider_id = ""
            return SendResult(Outcome.ACCEPTED, provider_id, code, latency_ms=latency)
        detail = response.text[:200]
        if response.status_code == 429 or response.status_code >= 500:
            return SendResult(Outcome.RETRY, code=code, detail=detail, latency_ms=latency)
        return SendResult(Outcome.FAILED, code=code, detail=detail, latency_ms=latency)

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

    @staticmethod
    def _ms(started: float) -> int:
        return int((time.monotonic() - started) * 1000)
