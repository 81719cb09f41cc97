"""The link process: holds a carrier bind and feeds it from the outbox.

`python manage.py sms_link` runs one `LinkRunner` per bind it may hold. The runner
- takes a slot lease in the database (never more binds across all hosts than
  SMS_SMPP_BINDS / SMS_CMPP_LINKS), renews it with the connection's health, and stops
  submitting the moment it loses it;
- claims and re-checks messages exactly as the sender does (`claim_checked`), splits
  each (`parts.split`) and submits its parts in order through the session's window, at
  the policy's rate shared by every process (`rate_acquire`), slowing down when the peer
  throttles (and submitting the refused part again: it was not accepted);
- writes the answers in batches (`link_results_record`): sent with an id per part,
  failed with the protocol's status named, or unknown when no answer came — never
  submitted again;
- stores receipts and customers' messages before the session answers the peer;
- on SIGTERM stops claiming, waits for its window, unbinds and gives the slot back.

Database work runs on one thread of its own (Django's connections are per thread), so the
event loop never blocks on it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import time
import uuid
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

from django.db import close_old_connections
from django.utils import timezone

from ..services.sending import Pace
from .base import LinkClosed, LinkSession, PartSubmit, ReceiptEvent, SubmitResult, SubmitStatus
from .parts import split

log = logging.getLogger(__name__)


_executors: dict[str, ThreadPoolExecutor] = {}


def _database_thread(lane: str = "submit") -> ThreadPoolExecutor:
    """The process's database threads, shared by every bind it holds (Django's connections
    are per thread). On PostgreSQL the peer's events (receipts, replies) have a thread and
    a connection of their own, so storing them never holds up claiming and writing the
    answers; on SQLite one thread does all (one writer at a time anyway)."""
    from django.db import connection

    if connection.vendor != "postgresql":
        lane = "submit"
    if lane not in _executors:
        _executors[lane] = ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"link-db-{lane}")
    return _executors[lane]


class LinkRunner:
    def __init__(
        self,
        *,
        link: str,
        session_factory: Callable[..., LinkSession],
        slots: int,
        once: bool = False,
        lease_seconds: int = 30,
        poll_seconds: float = 0.5,
        chunk: int = 100,
        max_backoff: float = 60.0,
    ):
        self.link, self.session_factory, self.slots = link, session_factory, slots
        self.once, self.lease_seconds, self.poll_seconds, self.chunk = (
            once,
            lease_seconds,
            poll_seconds,
            chunk,
        )
        self.max_backoff = max_backoff
        self.holder = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self.stopping = asyncio.Event()
        self.stats: Counter = Counter()
        self._pending: list = []  # Submitted, waiting to be written
        self._events: asyncio.Queue | None = None
        self._sending: set[asyncio.Task] = set()
        self._pace: Pace | None = None
        self._tokens = 0
        self._resume: list = []  # messages to finish on the next connection
        self._resumed: dict[int, list] = {}  # their parts already accepted
        self.stopping_submits = False  # set while a connection winds down: nothing new goes
        self._halt = asyncio.Event()  # this connection is winding down
        self._was_bound = False  # the last connection opened (then back-off starts again)

    # --- the database thread --------------------------------------------------------

    async def db(self, function, /, *args, lane: str = "submit", **kwargs):
        def call():
            close_old_connections()
            return function(*args, **kwargs)

        # Shielded: once asked, the work is done even if the caller is cancelled (a write
        # of the peer's answers is never dropped from the queue, a claim never half made).
        return await asyncio.shield(asyncio.get_running_loop().run_in_executor(_database_thread(lane), call))

    # --- the process ----------------------------------------------------------------

    def stop(self) -> None:
        self.stopping.set()

    async def run(self) -> Counter:
        """Hold a bind until stopped (or, with `once`, until nothing is due)."""
        from ..services.links import link_slot_acquire, link_slot_release

        delay = 1.0
        try:
            while not self.stopping.is_set():
                slot = await self.db(
                    link_slot_acquire,
                    link=self.link,
                    slots=self.slots,
                    holder=self.holder,
                    lease_seconds=self.lease_seconds,
                )
                if slot is None:
                    self.stats["no_free_slot"] += 1
                    log.warning(
                        "%s: all %s bind(s) are held by other processes; waiting", self.link, self.slots
                    )
                    if self.once:
                        break
                    await self._sleep(min(self.lease_seconds / 3, 10))
                    continue
                try:
                    finished = await self._hold(slot)
                finally:
                    await self.db(link_slot_release, slot=slot, holder=self.holder)
                if finished or self.stopping.is_set():
                    break
                if self._was_bound:  # it worked before it ended: try again soon
                    delay = 1.0
                await self._sleep(delay)  # reconnect with back-off
                delay = min(self.max_backoff, delay * 2)
        finally:
            await self.db(close_old_connections)
            await self.db(close_old_connections, lane="events")
        return self.stats

    async def _sleep(self, seconds: float) -> None:
        """Sleep, waking early when the process stops or this connection winds down."""
        waits = [asyncio.ensure_future(self.stopping.wait()), asyncio.ensure_future(self._halt.wait())]
        try:
            await asyncio.wait(waits, timeout=seconds, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for wait in waits:
                wait.cancel()

    @property
    def _winding_down(self) -> bool:
        return self.stopping.is_set() or self._halt.is_set()

    async def _hold(self, slot) -> bool:
        """One connection's life. True when the work is done (`once`), False to reconnect."""
        from ..models import ContactPolicy

        policy = await self.db(ContactPolicy.current)
        self._pace = self._pace or Pace(policy.rate_limit)
        self._events = asyncio.Queue()
        self._halt = asyncio.Event()
        self._was_bound = False
        session = self.session_factory(on_event=self._on_event)
        events_task = asyncio.create_task(self._apply_events())
        try:
            await session.open()
        except (LinkClosed, OSError) as exc:
            self._error(session, getattr(exc, "reason", str(exc)))
            await self._stop_events(events_task)
            return False
        session.health.connected_since = timezone.now()
        self.stats["binds"] += 1
        self._was_bound = True
        serve = asyncio.create_task(session.serve())
        feed = asyncio.create_task(self._feed(session))
        keep = asyncio.create_task(self._keep(slot, session))
        stop = asyncio.create_task(self.stopping.wait())
        done, _pending = await asyncio.wait({serve, feed, keep, stop}, return_when=asyncio.FIRST_COMPLETED)
        finished = feed in done and not feed.cancelled() and feed.exception() is None and feed.result()
        lost_lease = keep in done
        if serve in done:
            exc = serve.exception() if not serve.cancelled() else None
            self._error(session, getattr(exc, "reason", str(exc)) if exc else "connection ended")
        # Nothing new is submitted; the feed finishes the step it is in (a claim it made
        # is given back, never dropped); whatever is on its way finishes (the window
        # drains, or resolves unknown if the connection is gone).
        self.stopping_submits = True
        self._halt.set()
        try:
            await asyncio.wait_for(asyncio.shield(feed), timeout=30)
        except TimeoutError:
            feed.cancel()
        await asyncio.gather(feed, return_exceptions=True)
        if self._sending:
            _done, stuck = await asyncio.wait(self._sending, timeout=60 if not lost_lease else 10)
            for task in stuck:  # left `sending`: the sweep makes them unknown, never resent
                task.cancel()
            await asyncio.gather(*stuck, return_exceptions=True)
        await self._flush()
        if not serve.done():
            try:
                await asyncio.wait_for(session.close(), timeout=10)
            except (LinkClosed, OSError, TimeoutError) as exc:
                self._error(session, str(exc))
            serve.cancel()
        await asyncio.gather(serve, return_exceptions=True)
        keep.cancel()
        stop.cancel()
        await asyncio.gather(keep, stop, return_exceptions=True)
        await self._stop_events(events_task)
        self.stopping_submits = False
        return bool(finished)

    def _error(self, session: LinkSession, reason: str) -> None:
        session.health.last_error = reason[:255]
        session.health.last_error_at = timezone.now()
        self.stats["link_errors"] += 1
        log.warning("%s link: %s", self.link, reason)

    async def _keep(self, slot, session: LinkSession) -> None:
        """Renew the lease with the link's health; return (ending the session) if lost."""
        from ..services.links import link_slot_renew
        from ..services.sending import claims_touch

        last_count, last_time = session.health.submitted, time.monotonic()
        from django.conf import settings

        # Often enough for both leases: the bind's, and the claims' (the sweep takes a
        # claim older than SMS_SEND_LEASE_SECONDS for one a dead process left).
        interval = max(0.5, min(self.lease_seconds, settings.SMS_SEND_LEASE_SECONDS) / 3)
        while True:
            await asyncio.sleep(interval)
            now = time.monotonic()
            rate = (session.health.submitted - last_count) / max(0.001, now - last_time)
            last_count, last_time = session.health.submitted, now
            held = [t.message.pk for t in self._sending if not t.done()]
            if held:  # our claims are alive: the sweep leaves them to us
                await self.db(claims_touch, ids=held)
            kept = await self.db(
                link_slot_renew,
                slot=slot,
                holder=self.holder,
                lease_seconds=self.lease_seconds,
                health=session.health,
                rate=rate,
            )
            if not kept:
                log.error("%s: lease on bind %s lost; stopping this bind", self.link, slot.slot)
                return

    # --- sending --------------------------------------------------------------------

    async def _feed(self, session: LinkSession) -> bool:
        """Claim, re-check and submit until stopped; with `once`, until nothing is due."""
        from ..models import ContactPolicy
        from ..policy import in_contact_window
        from ..services.sending import claim_checked, current_time

        policy, loaded = await self.db(ContactPolicy.current), time.monotonic()
        fed = asyncio.Event()
        flusher = asyncio.create_task(self._flush_every(0.1, until=fed))
        try:
            while not self._winding_down:
                if time.monotonic() - loaded > 30:
                    policy, loaded = await self.db(ContactPolicy.current), time.monotonic()
                    self._pace.set_limit(policy.rate_limit)
                now = current_time()
                if not in_contact_window(now, policy):
                    self.stats["outside_window"] += 1
                    if self.once:
                        return True
                    await self._sleep(30)
                    continue
                # Claim only what the window will take soon: a claim held by a process
                # that dies becomes `unknown`, so few should be waiting at any moment.
                room = min(self.chunk, 2 * max(1, session.window)) - len(self._sending)
                if room <= 0:
                    await asyncio.wait(self._sending, timeout=0.1, return_when=asyncio.FIRST_COMPLETED)
                    continue
                if self._resume:  # parts left over by a lost connection go first
                    for message in self._resume:
                        task = asyncio.create_task(self._send(session, message))
                        task.message = message
                        self._sending.add(task)
                        task.add_done_callback(self._sending.discard)
                    self._resume = []
                    continue
                in_flight = Counter(m.customer_id for m in self._in_flight_messages())
                _claimed, to_send, _deferred = await self.db(
                    claim_checked, limit=room, now=now, policy=policy, in_flight=in_flight, stats=self.stats
                )
                if to_send and self._winding_down:  # claimed as the connection went: give them back
                    self._pending.extend(("release", message) for message in to_send)
                    break
                if not to_send:
                    if not _claimed and not self._sending:
                        await self._flush()
                        if self.once:
                            return True
                    await self._sleep(self.poll_seconds if not _claimed else 0)
                    continue
                for message in to_send:
                    task = asyncio.create_task(self._send(session, message))
                    task.message = message
                    self._sending.add(task)
                    task.add_done_callback(self._sending.discard)
            return False
        finally:
            fed.set()
            await asyncio.gather(flusher, return_exceptions=True)
            await self._flush()

    def _in_flight_messages(self):
        return [t.message for t in self._sending]

    async def _take_token(self) -> None:
        """One part's share of the rate (shared across processes through the database)."""
        from ..services.sending import rate_acquire

        while self._tokens <= 0:
            want = max(1, self._pace.per_second // 10)
            granted = await self.db(
                rate_acquire, key=f"link:{self.link}", want=want, limit=self._pace.per_second
            )
            if granted:
                self._tokens += granted
            else:
                await asyncio.sleep(max(0.001, 1.0 - (time.time() % 1.0)))
        self._tokens -= 1

    async def _send(self, session: LinkSession, message) -> None:
        from ..services.links import Submitted

        alphabet = session.alphabet_for(message.body)
        parts = split(message.body, reference=message.pk & 0xFF, alphabet=alphabet)
        results: list[tuple] = list(self._resumed.pop(message.pk, []))
        started = timezone.now()
        for part in parts[len(results) :]:
            while True:
                if self.stopping_submits and not results:
                    self._pending.append(("release", message))  # never submitted: back to the queue
                    return
                await self._take_token()
                if self.stopping_submits and not results:
                    self._pending.append(("release", message))
                    return
                try:
                    result = await session.submit(
                        PartSubmit(
                            client_ref=message.idempotency_key, to=message.phone, part=part, alphabet=alphabet
                        )
                    )
                except LinkClosed:
                    # The part never left: the message goes on the next connection, from
                    # this part on (the parts before it were accepted and stay so).
                    if results:
                        self._resumed[message.pk] = results
                        self._resume.append(message)
                    else:
                        self._pending.append(("release", message))
                    return
                session.health.submitted += 1
                if result.status == SubmitStatus.THROTTLED and result.code == "not_bound":
                    # Nothing was written: as a lost connection (LinkClosed), the message
                    # goes on the next one, from this part on.
                    if results:
                        self._resumed[message.pk] = results
                        self._resume.append(message)
                    else:
                        self._pending.append(("release", message))
                    return
                if result.status == SubmitStatus.THROTTLED:
                    session.health.throttled += 1
                    self.stats["throttled"] += 1
                    wait = self._pace.throttled()
                    if self.stopping_submits:  # shutting down: stop here, the message says why
                        result = SubmitResult(
                            SubmitStatus.FAILED,
                            code=result.code or "throttled",
                            detail="stopped while throttled",
                        )
                    else:
                        await asyncio.sleep(wait)
                        continue
                elif result.status == SubmitStatus.ACCEPTED:
                    self._pace.accepted()
                break
            results.append((part, result))
            if result.status != SubmitStatus.ACCEPTED:
                break  # a refused or unanswered part: the rest is not sent
        self._pending.append(Submitted(message=message, parts=results, submitted_at=started))
        self.stats[results[-1][1].status] += 1

    async def _flush_every(self, seconds: float, *, until: asyncio.Event) -> None:
        while not until.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(until.wait(), timeout=seconds)
            try:
                await self._flush()
            except Exception:  # kept, and written at the next flush
                log.exception("%s: could not write the peer's answers yet", self.link)

    async def _flush(self) -> None:
        from ..services.links import link_results_record
        from ..services.sending import claims_release

        if not self._pending:
            return
        pending, self._pending = self._pending, []
        released = [item[1].pk for item in pending if isinstance(item, tuple)]
        submitted = [item for item in pending if not isinstance(item, tuple)]
        try:
            if submitted:
                self.stats["early_receipts"] += await self.db(
                    link_results_record, link=self.link, submitted=submitted
                )
                submitted = []
            if released:
                await self.db(claims_release, ids=released, now=timezone.now())
                self.stats["released"] += len(released)
                released = []
        except Exception:
            # The database refused: keep what is not written for the next flush rather
            # than lose what the peer answered.
            self._pending[:0] = submitted + [item for item in pending if isinstance(item, tuple) and released]
            raise

    # --- what the peer sends --------------------------------------------------------

    async def _on_event(self, event) -> None:
        """Called by the session; returns once the event is stored (then the peer is answered)."""
        future = asyncio.get_running_loop().create_future()
        await self._events.put((event, future))
        await future

    async def _apply_events(self) -> None:
        from ..services.links import link_inbound_part, link_receipts_apply

        def apply_one(event):
            if isinstance(event, ReceiptEvent):
                link_receipts_apply(link=self.link, events=[event])
            else:
                link_inbound_part(link=self.link, event=event)

        def apply(batch):
            """Receipts together (a few statements for the lot), replies one by one; if the
            lot fails, one by one, so only the event that cannot be stored is refused."""
            events = [event for event, _future in batch]
            receipts = [event for event in events if isinstance(event, ReceiptEvent)]
            outcomes: dict[int, Exception | None] = {}
            if receipts:
                try:
                    link_receipts_apply(link=self.link, events=receipts)
                    outcomes.update({id(event): None for event in receipts})
                except Exception:
                    log.exception(
                        "%s: could not store %s receipts together; one by one", self.link, len(receipts)
                    )
            for event in events:
                if id(event) in outcomes:
                    continue
                try:
                    apply_one(event)
                    outcomes[id(event)] = None
                except Exception as exc:  # the peer is answered with a temporary error and resends
                    log.exception("%s: could not store %s", self.link, type(event).__name__)
                    outcomes[id(event)] = exc
            return [outcomes[id(event)] for event in events]

        while True:
            first = await self._events.get()
            if first is None:
                return
            batch = [first]
            if self._events.empty():  # gather what else comes in the next moment: one write for all
                await asyncio.sleep(0.01)
            while not self._events.empty() and len(batch) < 200:
                item = self._events.get_nowait()
                if item is None:
                    await self._events.put(None)
                    break
                batch.append(item)
            # The answers the peer gave first are written first: its receipts then find
            # their parts instead of waiting for them.
            with contextlib.suppress(Exception):
                await self._flush()
            outcomes = await self.db(apply, batch, lane="events")
            for (_event, future), outcome in zip(batch, outcomes, strict=True):
                if future.done():
                    continue
                if outcome is None:
                    future.set_result(None)
                else:
                    future.set_exception(outcome)
            self.stats["events"] += len(batch)

    async def _stop_events(self, task: asyncio.Task) -> None:
        await self._events.put(None)
        await asyncio.gather(task, return_exceptions=True)
