"""An in-process peer behind the LinkSession contract, scripted by the runner's tests.

It answers submits after a short delay within a window, counts what it accepted per
(destination, part text), and can throttle, refuse, or lose the connection with submits
outstanding; tests push receipts and customers' messages through `deliver`."""

from __future__ import annotations

import asyncio
import itertools
from collections import Counter

from notices.links.base import LinkClosed, LinkSession, PartSubmit, SubmitResult, SubmitStatus


class Peer:
    """What the fake SMSC knows; shared by every session made from it (binds, reconnects)."""

    def __init__(self):
        self.accepted: Counter = Counter()  # (to, text, seq) → times accepted
        self.submits: list[PartSubmit] = []
        self.ids = itertools.count(1)
        self.throttle_next = 0
        self.refuse: dict[str, str] = {}  # destination → status code
        self.drop_after: int | None = None  # lose the connection after this many submits arrive
        self.silent_after: int | None = None  # stop answering after this many submits (no drop)
        self.latency = 0.001
        self.sessions: list[FakeSession] = []
        self.given: dict[str, PartSubmit] = {}  # provider id → the part

    def factory(self, *, window: int = 8):
        def make(*, on_event):
            session = FakeSession(self, on_event=on_event, window=window)
            self.sessions.append(session)
            return session

        return make

    async def deliver(self, event, session: int = -1):
        """As the peer would: push an event and wait for the session's answer."""
        return await self.sessions[session].on_event(event)


class FakeSession(LinkSession):
    kind = "smpp"

    def __init__(self, peer: Peer, *, on_event, window: int):
        super().__init__(on_event=on_event, window=window)
        self.peer = peer
        self.room = asyncio.Semaphore(window)
        self.closed = asyncio.Event()
        self.outstanding: set[asyncio.Future] = set()
        self.max_in_flight = 0

    async def open(self) -> None:
        pass

    async def serve(self) -> None:
        await self.closed.wait()
        raise LinkClosed(self.reason)

    reason = "closed"

    def lose(self, reason: str = "connection reset") -> None:
        self.reason = reason
        for future in list(self.outstanding):
            if not future.done():
                future.set_result(SubmitResult(SubmitStatus.UNKNOWN, code="connection_lost", detail=reason))
        self.closed.set()

    async def submit(self, request: PartSubmit) -> SubmitResult:
        if self.closed.is_set():  # never written: the contract says so with LinkClosed
            raise LinkClosed("not connected")
        async with self.room:
            if self.closed.is_set():  # lost while this part waited for room
                raise LinkClosed(self.reason)
            self.health.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.health.in_flight)
            future = asyncio.get_running_loop().create_future()
            self.outstanding.add(future)
            try:
                peer = self.peer
                peer.submits.append(request)
                if peer.drop_after is not None and len(peer.submits) > peer.drop_after:
                    asyncio.get_running_loop().call_later(0.01, self.lose)
                elif peer.silent_after is not None and len(peer.submits) > peer.silent_after:
                    pass  # never answered; resolved when the connection is lost
                else:
                    asyncio.get_running_loop().call_later(peer.latency, self._answer, future, request)
                return await future
            finally:
                self.outstanding.discard(future)
                self.health.in_flight -= 1

    def _answer(self, future, request: PartSubmit) -> None:
        if future.done():
            return
        peer = self.peer
        if peer.throttle_next > 0:
            peer.throttle_next -= 1
            future.set_result(SubmitResult(SubmitStatus.THROTTLED, code="ESME_RTHROTTLED"))
        elif request.to in peer.refuse:
            future.set_result(SubmitResult(SubmitStatus.FAILED, code=peer.refuse[request.to]))
        else:
            provider_id = f"P{next(peer.ids)}"
            peer.accepted[(request.to, request.part.text, request.part.seq)] += 1
            peer.given[provider_id] = request
            future.set_result(SubmitResult(SubmitStatus.ACCEPTED, provider_id=provider_id, code="ESME_ROK"))

    async def close(self) -> None:
        while self.outstanding:
            await asyncio.sleep(0.005)
        self.reason = "unbound"
        self.closed.set()
