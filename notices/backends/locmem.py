from __future__ import annotations

import threading
import uuid

from .base import BaseSmsBackend, Outcome, Outgoing, RemoteState, SendResult, StatusResult
from .http import HttpWebhooks

# Every message "sent" through the locmem backend, in order (tests read and clear it).
outbox: list[Outgoing] = []
_accepted: dict[str, str] = {}
_lock = threading.Lock()


class LocmemBackend(BaseSmsBackend):
    """Keeps messages in `notices.backends.locmem.outbox`. For tests."""

    name = "locmem"
    webhooks = HttpWebhooks  # stands in for the platform: demos and tests post its webhooks

    def send(self, message: Outgoing) -> SendResult:
        with _lock:
            outbox.append(message)
            provider_id = _accepted.setdefault(message.client_ref, f"locmem-{uuid.uuid4().hex[:12]}")
        return SendResult(Outcome.ACCEPTED, provider_id, "200")

    def status(self, client_ref: str) -> StatusResult:
        with _lock:
            provider_id = _accepted.get(client_ref)
        return (
            StatusResult(RemoteState.ACCEPTED, provider_id)
            if provider_id
            else StatusResult(RemoteState.NOT_FOUND)
        )


def clear() -> None:
    with _lock:
        outbox.clear()
        _accepted.clear()
