"""A gateway whose answers a test scripts, recording every call."""

import threading
import time
import uuid

from notices.backends.base import BaseSmsBackend, Outcome, RemoteState, SendResult, StatusResult

calls: list[str] = []
script: list[Outcome] = []
remote: dict[str, RemoteState] = {}
delay = 0.0
_lock = threading.Lock()


def reset(outcomes=(), states=None, slow=0.0):
    global delay
    with _lock:
        calls.clear()
        script[:] = list(outcomes)
        remote.clear()
        remote.update(states or {})
        delay = slow


class ScriptedBackend(BaseSmsBackend):
    name = "scripted"
    concurrency = 4

    def send(self, message):
        if delay:
            time.sleep(delay)
        with _lock:
            calls.append(message.client_ref)
            outcome = script.pop(0) if script else Outcome.ACCEPTED
            if isinstance(outcome, SendResult):  # an answer scripted in full (e.g. a 429)
                return outcome
            if outcome == Outcome.ACCEPTED:
                remote[message.client_ref] = RemoteState.ACCEPTED
        codes = {
            Outcome.ACCEPTED: "200",
            Outcome.RETRY: "503",
            Outcome.FAILED: "400",
            Outcome.UNKNOWN: "timeout",
        }
        provider = f"s-{uuid.uuid4().hex[:8]}" if outcome == Outcome.ACCEPTED else ""
        return SendResult(outcome, provider, codes[outcome], detail="scripted")

    def status(self, client_ref):
        with _lock:
            state = remote.get(client_ref, RemoteState.NOT_FOUND)
        return StatusResult(
            state, "s-remote" if state in (RemoteState.ACCEPTED, RemoteState.DELIVERED) else ""
        )
