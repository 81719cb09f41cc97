"""A session bound to the npm SMSC for a test, and helpers to wait on both sides."""

import asyncio
import concurrent.futures
import contextlib

from notices.links.base import LinkClosed, PartSubmit
from notices.links.parts import alphabet_for, split
from notices.links.smpp.session import SmppSession
from tests.peers.smsc import NodeSmsc

MOBILE = "+8613812345678"


class Link:
    """A session bound to the SMSC, serving in the background, with the events it reported."""

    def __init__(self, smsc: NodeSmsc, **options):
        self.events = []
        self.fail_events = 0
        self.smsc = smsc
        options.setdefault("response_timeout_s", 5.0)
        self.session = SmppSession(
            on_event=self._on_event,
            host="127.0.0.1",
            port=smsc.port,
            system_id=options.pop("system_id", smsc.system_id),
            password=options.pop("password", smsc.password),
            source_addr="95588",
            **options,
        )
        self.serving: asyncio.Task | None = None

    async def _on_event(self, event):
        if self.fail_events:
            self.fail_events -= 1
            raise RuntimeError("the database is down")
        self.events.append(event)

    async def __aenter__(self):
        await self.session.open()
        self.serving = asyncio.create_task(self.session.serve())
        return self

    async def __aexit__(self, *exc):
        await self.session.close()
        with contextlib.suppress(LinkClosed):
            await self.serving

    async def send(self, text: str, *, reference: int = 1, to: str = MOBILE, client_ref: str = "n-1"):
        """Every part of a text, submitted concurrently: their results in order."""
        parts = split(text, reference=reference)
        alphabet = alphabet_for(text)
        return await asyncio.gather(
            *(self.session.submit(PartSubmit(client_ref, to, part, alphabet)) for part in parts)
        )

    async def until(self, predicate, timeout: float = 5.0):
        deadline = asyncio.get_running_loop().time() + timeout
        while not predicate():
            if asyncio.get_running_loop().time() > deadline:
                raise AssertionError("condition not reached in time")
            await asyncio.sleep(0.02)


async def wait_for(smsc: NodeSmsc, event: str, **match) -> dict:
    """Wait for an SMSC event without blocking the event loop the session runs on."""
    return await asyncio.to_thread(smsc.wait, event, **match)


def run(coroutine):
    """asyncio.run in a thread of its own: the browser tests' Playwright keeps an event
    loop running in the main thread for the whole session."""
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, coroutine).result()
