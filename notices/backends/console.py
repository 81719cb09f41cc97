from __future__ import annotations

import sys
import threading
import uuid

from core.pii import mask_mobile

from .base import BaseSmsBackend, Outcome, Outgoing, RemoteState, SendResult, StatusResult
from .http import HttpWebhooks


class ConsoleBackend(BaseSmsBackend):
    """Prints each message (mobile masked) and records it as sent. For demos."""

    name = "console"
    webhooks = HttpWebhooks  # stands in for the platform: demos and tests post its webhooks

    def __init__(self, stream=None):
        self.stream = stream or sys.stdout
        self._sent: dict[str, str] = {}
        self._lock = threading.Lock()

    def send(self, message: Outgoing) -> SendResult:
        with self._lock:
            provider_id = self._sent.setdefault(message.client_ref, f"console-{uuid.uuid4().hex[:12]}")
            self.stream.write(f"[SMS → {mask_mobile(message.to)}] {message.text}\n")
            self.stream.flush()
        return SendResult(Outcome.ACCEPTED, provider_id, "200")

    def status(self, client_ref: str) -> StatusResult:
        with self._lock:
            provider_id = self._sent.get(client_ref)
        if provider_id:
            return StatusResult(RemoteState.ACCEPTED, provider_id)
        return StatusResult(RemoteState.NOT_FOUND)
