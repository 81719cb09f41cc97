from __future__ import annotations

import enum
import os
import threading
from collections.abc import Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass

from .inbound import GatewayWebhooks


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
    # RETRY only: the seconds the gateway asked us to wait (HTTP 429's Retry-After), or
    # None when it did not say; the sender paces itself by it instead of parking the message.
    retry_after: float | None = None

    @property
    def throttled(self) -> bool:
        """The gateway is busy and refused this one for now (429, or a wait it asked for):
        not a failure."""
        return self.outcome == Outcome.RETRY and (self.code == "429" or self.retry_after is not None)


@dataclass(frozen=True)
class StatusResult:
    state: RemoteState
    provider_message_id: str = ""
    code: str = ""


class BaseSmsBackend:
    """A gateway. `send` must never raise for gateway trouble: it returns an outcome.

    How its receipts and replies come back is the gateway's own (see `inbound.py`):
    `webhooks` names the class that reads its HTTP callbacks, or `link` says they
    arrive over the backend's own connection (carrier links); a backend with neither
    gets none.
    """

    name = "base"
    link = False  # a carrier link: sent by `manage.py sms_link`, not by the task queue
    concurrency = 1
    webhooks: type[GatewayWebhooks] | None = None
    _pool: ThreadPoolExecutor | None = None
    _pool_pid = 0
    _pool_lock = threading.Lock()

    def send(self, message: Outgoing) -> SendResult:
        raise NotImplementedError

    def send_many(self, messages: Sequence[Outgoing]) -> list[SendResult]:
        """Send several, concurrently when the backend allows it; results in order."""
        return self.send_async(messages).results()

    def send_async(self, messages: Sequence[Outgoing]) -> Sending:
        """Start sending several and return at once (the caller may do other work).

        With concurrency the calls run on this backend's threads, at most `concurrency`
        at once across every batch started; without it they are made here and now.
        """
        if self.concurrency <= 1 or len(messages) <= 1:
            return Sending([_done(self.send(m)) for m in messages], room=1)
        pool = self._executor()
        return Sending([pool.submit(self.send, m) for m in messages], room=self.concurrency)

    def _executor(self) -> ThreadPoolExecutor:
        """This backend's sending threads, kept for the next chunk (not started per call).

        A process forked after they started (a django-q2 worker) gets threads of its own.
        """
        with self._pool_lock:
            if self._pool is None or self._pool_pid != os.getpid():
                self._pool = ThreadPoolExecutor(
                    max_workers=self.concurrency, thread_name_prefix=f"sms-{self.name}"
                )
                self._pool_pid = os.getpid()
            return self._pool

    def status(self, client_ref: str) -> StatusResult:
        """Ask the gateway what became of a message (reconciliation before any resend)."""
        return StatusResult(RemoteState.UNKNOWN)


class Sending:
    """Sends under way: their results, in order, once answered."""

    def __init__(self, calls: list[Future], *, room: int):
        self._calls, self._room = calls, room

    def results(self) -> list[SendResult]:
        """Wait until every call is answered."""
        return [call.result() for call in self._calls]

    def wait_for_room(self) -> None:
        """Wait until every call has started and a sending thread is free again."""
        unanswered = [call for call in self._calls if not call.done()]
        while len(unanswered) >= self._room:
            unanswered = list(wait(unanswered, return_when=FIRST_COMPLETED).not_done)


def _done(result: SendResult) -> Future:
    future: Future = Future()
    future.set_result(result)
    return future
