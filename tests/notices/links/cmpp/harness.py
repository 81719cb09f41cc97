"""Running a CmppSession against the fake ISMG over real sockets, inside each test."""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import functools

from notices.links.base import LinkClosed, PartSubmit
from notices.links.cmpp.config import CmppConfig
from notices.links.cmpp.fake_ismg import FakeIsmg, FakeIsmgConfig
from notices.links.cmpp.pdu import Version
from notices.links.cmpp.session import CmppSession
from notices.links.parts import split

SP_ID, SECRET = "901234", "test-secret"
TEST_TIMEOUT = 30


def run_in_new_loop(make_coroutine):
    """Run a coroutine in an event loop of its own, on a thread of its own: the browser tests'
    Playwright keeps an event loop running on the main thread for the whole session."""

    async def bounded():
        return await asyncio.wait_for(make_coroutine(), TEST_TIMEOUT)

    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, bounded()).result()


def run_async(test):
    """Run an async test function in its own event loop (no pytest plugin needed)."""

    @functools.wraps(test)
    def wrapper(*args, **kwargs):
        return run_in_new_loop(lambda: test(*args, **kwargs))

    return wrapper


def ismg_config(**changes) -> FakeIsmgConfig:
    return FakeIsmgConfig(sp_id=SP_ID, secret=SECRET, seed=7, **changes)


def link_config(ismg: FakeIsmg, **changes) -> CmppConfig:
    values = {
        "host": "127.0.0.1",
        "port": ismg.port,
        "version": Version.V3_0,
        "sp_id": SP_ID,
        "secret": SECRET,
        "service_id": "MFBANK",
        "src_id": "1069012345",
        "window": 16,
        "active_test_s": 60.0,
        "response_timeout_s": 5.0,
        **changes,
    }
    return CmppConfig(**values)


class Link:
    """An open session, what reached its on_event, and its serve() task."""

    def __init__(self, session: CmppSession, events: list):
        self.session, self.events = session, events
        self.serving: asyncio.Task | None = None

    @property
    def receipts(self):
        return [e for e in self.events if e.__class__.__name__ == "ReceiptEvent"]

    @property
    def inbound(self):
        return [e for e in self.events if e.__class__.__name__ == "InboundPartEvent"]

    async def send(self, text: str, to: str = "+8613812345678", reference: int = 1, client_ref: str = "m1"):
        """Split like the link process does and submit every part at once."""
        parts = split(text, reference=reference, alphabet=self.session.alphabet_for(text))
        requests = [
            PartSubmit(client_ref=client_ref, to=to, part=part, alphabet=self.session.alphabet_for(text))
            for part in parts
        ]
        return await asyncio.gather(*(self.session.submit(r) for r in requests))

    async def ended(self, timeout: float = 5.0) -> str:
        """Wait for serve() to end; the LinkClosed reason."""
        try:
            async with asyncio.timeout(timeout):
                await self.serving
        except LinkClosed as exc:
            return exc.reason
        raise AssertionError("serve() ended without LinkClosed")


@contextlib.asynccontextmanager
async def opened(ismg: FakeIsmg, *, on_event=None, **changes):
    events: list = []

    async def record(event):
        events.append(event)

    session = CmppSession(on_event=on_event or record, config=link_config(ismg, **changes))
    await session.open()
    link = Link(session, events)
    link.serving = asyncio.create_task(session.serve())
    try:
        yield link
    finally:
        await session.close()
        with contextlib.suppress(LinkClosed):
            await link.serving
