from __future__ import annotations

import enum
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass


class Outcome(enum.StrEnum):
    ACCEPTED = "accepted"  # the gateway has it; a receipt may follow
    RETRY = "retry"  # not taken (429, 5xx, refused connection): safe to send again later
    FAILED = "failed"  # refused for good (other 4xx)
    UNKNOWN = "unknown"  # timeout or broken connection after sending: ask before resending


class RemoteState(enum.StrEnum):
    ACCEPTED = "accepted"
    DELIVERED = "delivered"
    FAILED = "failed"
    NOT_FOUND = "not_found"  # the gateway never received it: safe to send
    UNKNOWN = "unknown"  # could not ask (gateway down, backend cannot tell)


@dataclass(frozen=True)
class Outgoing:
    to: str  # E.164
    text: str
    client_ref: str  # the message's idempotency key


@dataclass(frozen=True)
class SendResult:
    outcome: Outcome
    provider_message_id: str = ""
    code: str = ""
    detail: str = ""
    latency_ms: int = 0


@dataclass(frozen=True)
class StatusResult:
    state: RemoteState
    provider_message_id: str = ""
    code: str = ""


class BaseSmsBackend:
    """A gateway. `send` must never raise for gateway trouble: it returns an outcome."""

    name = "base"
    concurrency = 1

    def send(self, message: Outgoing) -> SendResult:
        raise NotImplementedError

    def send_many(self, messages: Sequence[Outgoing]) -> list[SendResult]:
        """Send several, concurrently when the backend allows it; results in order."""
        if self.concurrency <= 1 or len(messages) <= 1:
            return [self.send(m) for m in messages]
        with ThreadPoolExecutor(max_workers=min(self.concurrency, len(messages))) as pool:
            return list(pool.map(self.send, messages))

    def status(self, client_ref: str) -> StatusResult:
        """Ask the gateway what became of a message (reconciliation before any resend)."""
        return StatusResult(RemoteState.UNKNOWN)
