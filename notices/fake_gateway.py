"""A local implementation of the bank SMS platform's HTTP protocol, for demos and tests.

It accepts sends (idempotent by client_ref, counting repeats), answers status calls,
posts signed delivery receipts back in small bundles, and can be told to be slow, to fail
or to time out after accepting.
"""

from __future__ import annotations

import json
import queue
import random
import threading
import time
import uuid
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx

from .services.webhooks import sign


@dataclass
class GatewayState:
    token: str
    latency: float = 0.0
    fail_rate: float = 0.0
    permanent_fail_rate: float = 0.0
    timeout_rate: float = 0.0
    timeout_sleep: float = 10.0
    undeliverable_rate: float = 0.0
    seed: int | None = None
    messages: dict[str, dict] = field(default_factory=dict)
    sends: int = 0
    duplicates: int = 0
    injected_failures: int = 0
    receipts_posted: int = 0
    in_flight: int = 0
    max_in_flight: int = 0
    first_send_at: float | None = None  # wall clock (time.time()) of the first send's arrival
    last_send_at: float | None = None  # wall clock when the last send was answered
    peak_per_second: int = 0  # most sends that arrived within any one second (sliding)
    peak_per_clock_second: int = 0  # most sends that arrived within one clock second (12:00:01.000–.999)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self):
        self.random = random.Random(self.seed)
        self._last_second: deque[float] = deque()  # arrivals within the last second
        self._clock_second, self._clock_second_sends = 0, 0

    def arrived(self, at: float) -> None:
        """Count a send's arrival for the timing statistics (caller holds the lock)."""
        if self.first_send_at is None:
            self.first_send_at = at
        window = self._last_second
        window.append(at)
        while window[0] <= at - 1.0:
            window.popleft()
        self.peak_per_second = max(self.peak_per_second, len(window))
        if int(at) != self._clock_second:
            self._clock_second, self._clock_second_sends = int(at), 0
        self._clock_second_sends += 1
        self.peak_per_clock_second = max(self.peak_per_clock_second, self._clock_second_sends)

    def answered(self, at: float) -> None:
        with self.lock:
            self.last_send_at = max(self.last_send_at or at, at)

    def stats(self) -> dict:
        with self.lock:
            return {
                "sends": self.sends,
                "unique": len(self.messages),
                "duplicates": self.duplicates,
                "injected_failures": self.injected_failures,
                "receipts_posted": self.receipts_posted,
                "delivered": sum(1 for m in self.messages.values() if m["status"] == "delivered"),
                "max_in_flight": self.max_in_flight,
                "first_send_at": self.first_send_at,
                "last_send_at": self.last_send_at,
                "peak_per_second": self.peak_per_second,
                "peak_per_clock_second": self.peak_per_clock_second,
            }


class _Handler(BaseHTTPRequestHandler):
    server_version = "FakeSmsGateway/1"
    protocol_version = "HTTP/1.1"
    # One packet per answer: unbuffered, the headers and the body went out as two writes
    # and Nagle's algorithm held the body back until the client's delayed ACK (~40 ms).
    wbufsize = -1
    disable_nagle_algorithm = True

    @property
    def state(self) -> GatewayState:
        return self.server.state  # type: ignore[attr-defined]

    def log_message(self, format, *args):  # quiet: the numbers are in /_stats
        pass

    def _reply(self, status: int, body: dict) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)
        self.wfile.flush()

    def _reply_to_send(self, status: int, body: dict) -> None:
        self._reply(status, body)
        self.state.answered(time.time())

    def _authorised(self) -> bool:
        if self.headers.get("Authorization") != f"Bearer {self.state.token}":
            self._reply(401, {"error": "unauthorised"})
            return False
        return True

    def do_GET(self):
        if self.path == "/_stats":
            return self._reply(200, self.state.stats())
        if not self._authorised():
            return
        if self.path.startswith("/messages/"):
            ref = self.path[len("/messages/") :]
            with self.state.lock:
                record = self.state.messages.get(ref)
            if record is None:
                return self._reply(404, {"error": "not found"})
            return self._reply(200, {"message_id": record["message_id"], "status": record["status"]})
        self._reply(404, {"error": "not found"})

    def do_POST(self):
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length)
        if self.path != "/messages":
            return self._reply(404, {"error": "not found"})
        if not self._authorised():
            return
        try:
            body = json.loads(raw)
            to, text, ref = body["to"], body["text"], body["client_ref"]
        except (ValueError, KeyError, TypeError):
            return self._reply(400, {"error": "to, text and client_ref are required"})
        state = self.state
        with state.lock:
            state.arrived(time.time())
            state.in_flight += 1
            state.max_in_flight = max(state.max_in_flight, state.in_flight)
        try:
            if state.latency:
                time.sleep(state.latency)
        finally:
            with state.lock:
                state.in_flight -= 1
        roll = state.random.random()
        refusal = None
        with state.lock:
            state.sends += 1
            if roll < state.fail_rate:
                state.injected_failures += 1
                refusal = (503, {"error": "busy, try later"})
            elif roll < state.fail_rate + state.permanent_fail_rate:
                state.injected_failures += 1
                refusal = (400, {"error": "rejected", "error_code": "BAD_NUMBER"})
            else:
                record = state.messages.get(ref)
                if record is not None:
                    state.duplicates += 1
                else:
                    record = {
                        "message_id": f"gw-{uuid.uuid4().hex[:16]}",
                        "status": "accepted",
                        "to": to,
                        "text": text,
                    }
                    state.messages[ref] = record
                    self.server.receipts.put((ref, record))  # type: ignore[attr-defined]
                stall = roll > 1 - state.timeout_rate
        if refusal:
            return self._reply_to_send(*refusal)
        if stall:  # accepted, but the caller gives up before hearing so
            time.sleep(state.timeout_sleep)
        self._reply_to_send(200, {"message_id": record["message_id"]})


class FakeGateway:
    """Run the fake platform on a port, in a thread (tests) or until stopped (command)."""

    def __init__(
        self,
        *,
        port: int = 9000,
        host: str = "127.0.0.1",
        token: str,
        secret: str,
        webhook_url: str = "",
        receipt_delay: float = 0.3,
        **behaviour,
    ):
        self.state = GatewayState(token=token, **behaviour)
        self.server = ThreadingHTTPServer((host, port), _Handler)
        self.server.daemon_threads = True
        self.server.state = self.state
        self.server.receipts = queue.Queue()
        self.webhook_url = webhook_url.rstrip("/")
        self.secret = secret
        self.receipt_delay = receipt_delay
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> FakeGateway:
        serve = threading.Thread(target=self.server.serve_forever, name="fake-gateway", daemon=True)
        serve.start()
        self._threads.append(serve)
        if self.webhook_url:
            poster = threading.Thread(target=self._post_receipts, name="fake-gateway-receipts", daemon=True)
            poster.start()
            self._threads.append(poster)
        return self

    def stop(self) -> None:
        self._stop.set()
        self.server.shutdown()
        self.server.server_close()

    def serve_forever(self) -> None:
        self.start()
        try:
            while not self._stop.wait(0.5):
                pass
        finally:
            self.stop()

    def _post_receipts(self) -> None:
        """Every so often, post the receipts that are due, several per request, signed."""
        pending: list[tuple[float, str, dict]] = []
        with httpx.Client(timeout=5.0) as client:
            while not self._stop.is_set():
                try:
                    while True:
                        ref, record = self.server.receipts.get_nowait()
                        pending.append((time.monotonic() + self.receipt_delay, ref, record))
                except queue.Empty:
                    pass
                now = time.monotonic()
                due = [p for p in pending if p[0] <= now][:200]
                if due:
                    taken = {id(p) for p in due}
                    pending = [p for p in pending if id(p) not in taken]
                    body = []
                    for _at, ref, record in due:
                        undeliverable = self.state.random.random() < self.state.undeliverable_rate
                        with self.state.lock:
                            record["status"] = "failed" if undeliverable else "delivered"
                        body.append(
                            {
                                "message_id": record["message_id"],
                                "client_ref": ref,
                                "status": record["status"],
                                "error_code": "UNDELIVERABLE" if undeliverable else None,
                                "at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                            }
                        )
                    raw = json.dumps(body).encode()
                    try:
                        client.post(
                            f"{self.webhook_url}/webhooks/sms/receipt/",
                            content=raw,
                            headers={
                                "Content-Type": "application/json",
                                "X-Signature": sign(raw, self.secret),
                            },
                        )
                        with self.state.lock:
                            self.state.receipts_posted += len(body)
                    except httpx.HTTPError:
                        pending.extend((time.monotonic() + 2.0, ref, record) for _at, ref, record in due)
                self._stop.wait(0.2)
