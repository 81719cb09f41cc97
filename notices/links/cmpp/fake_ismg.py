"""A local ISMG of our own, speaking CMPP 2.0 and 3.0 over TCP, for demos and tests.

It checks CMPP_CONNECT (Source_Addr, the authenticator, the version) and refuses with the
specification's Status; answers CMPP_SUBMIT with a Msg_Id it makes as an ISMG does (time,
gateway code, sequence); enforces a window of unanswered submits per connection; and can
be told to add latency, throttle (Result 8, by share or above a rate), answer errors,
drop the connection after a submit and before its response, send status reports per
part (in order, reversed, shuffled, duplicated, on the same connection or any), send
customers' messages (long ones as UDH parts), send ACTIVE_TEST and TERMINATE, and write
raw octets for misbehaviour tests. A DELIVER answered with a non-zero Result, or left
unanswered when its connection ends, is delivered again, as a real ISMG does.

It counts every submit it accepted per (destination, content) — `accepted` — so a test
can prove that nothing was submitted twice.

In-process (tests)::

    async with FakeIsmg(FakeIsmgConfig(secret="s")) as ismg:   # binds 127.0.0.1, port 0
        ... ismg.port ...; ismg.config.throttle_rate = 0.2; await ismg.send_mo(...)

From the command line: `python manage.py fake_ismg --help`.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime
import random
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass

from ..parts import Alphabet, parse_udh, split
from . import pdu as p
from .pdu import SHANGHAI, PduError, Version

RECEIPT_ORDERS = ("none", "in_order", "reverse", "shuffle")


@dataclass
class FakeIsmgConfig:
    """How the fake ISMG behaves; change the fields at any time (they are read on every PDU)."""

    sp_id: str = "901234"
    secret: str = "dev-cmpp-secret"  # noqa: S105 - a fake, the development default of SMS_CMPP_SECRET
    versions: tuple[Version, ...] = (Version.V2_0, Version.V3_0)
    gateway_code: int = 123456  # 22 bits of every Msg_Id
    window: int = 16  # unanswered submits a connection may have; beyond: Result 8, counted
    latency_s: float = 0.0  # before each CMPP_SUBMIT_RESP
    throttle_rate: float = 0.0  # share of submits answered Result 8 (flow control)
    rate_limit: int = 0  # submits per clock second across connections (0: none); beyond: Result 8
    error_rate: float = 0.0  # share of submits answered `error_result`
    error_result: int = 13  # 13: Dest_terminal_Id error (3.0)
    drop_after: int = 0  # drop the connection when the N-th submit arrives, unanswered (0: never)
    drop_repeat: bool = False  # and again every N submits
    drop_accepts: bool = True  # the dropped submit was accepted (counted, reported) all the same
    receipts: str = "in_order"  # none | in_order | reverse | shuffle (per message, once all parts are in)
    group_wait_s: float = 5.0  # a message's parts not all in by then are reported as they are
    receipt_delay_s: float = 0.0
    receipt_duplicates: int = 0  # extra copies of every status report
    receipts_on: str = "same"  # same (the submit's connection while it lives) | any
    receipt_stat: str = "DELIVRD"
    undeliverable_rate: float = 0.0  # share of parts reported UNDELIV instead
    redeliver_s: float = 1.0  # a DELIVER refused (or unanswered when its connection ended) goes again
    max_deliveries: int = 5
    answer_active_test: bool = True
    ismg_authenticator: str = "correct"  # correct | empty | wrong (tests of the SP's check)
    month: int | None = None  # the month every Msg_Id carries (8–12 set its top bit); None: now
    seed: int | None = None


@dataclass
class AcceptedPart:
    """A CMPP_SUBMIT the ISMG accepted (one per destination)."""

    msg_id: int
    dest: str
    content: bytes
    submit: p.Submit
    connection: int
    version: Version
    accepted_at: datetime.datetime


@dataclass
class _Outbound:
    """A DELIVER to send (built for the connection's version when it goes)."""

    build: Callable[[Version], p.Deliver]
    kind: str  # report | mo | raw
    prefer: int | None = None  # connection id
    attempts: int = 0
    acked: bool = False
    msg_id: int = 0


class IsmgConnection:
    """One SP connection, as the fake ISMG sees it."""

    def __init__(self, ismg: FakeIsmg, number: int, reader, writer):
        self.ismg, self.id, self.reader, self.writer = ismg, number, reader, writer
        self.version: Version = Version.V3_0
        self.logged_in = False
        self.unanswered = 0
        self.max_unanswered = 0
        self.closed = False
        self._sequence = 0
        self.awaiting: dict[int, _Outbound] = {}  # our DELIVERs by Sequence_Id
        self.replies: dict[int, asyncio.Future] = {}  # our ACTIVE_TEST / TERMINATE by Sequence_Id

    def next_sequence(self) -> int:
        self._sequence = self._sequence % 0xFFFFFFFF + 1
        return self._sequence

    def send(self, message: p.Pdu, sequence: int | None = None) -> int:
        sequence = self.next_sequence() if sequence is None else sequence
        if not self.closed:
            self.writer.write(p.encode(message, sequence_id=sequence, version=self.version))
        return sequence

    def answer_submit(self, sequence: int, resp: p.SubmitResp) -> None:
        if not self.closed:
            self.unanswered -= 1
            self.send(resp, sequence)

    def drop(self) -> None:
        """Cut the connection at once (no TERMINATE), as a failing network would."""
        if not self.closed:
            self.closed = True  # nothing more is read, answered or sent on it
            self.writer.transport.abort()


class FakeIsmg:
    def __init__(self, config: FakeIsmgConfig | None = None, *, host: str = "127.0.0.1", port: int = 0):
        self.config = config or FakeIsmgConfig()
        self.host, self.port = host, port
        self.random = random.Random(self.config.seed)
        self.accepted: Counter[tuple[str, bytes]] = Counter()
        self.parts: list[AcceptedPart] = []
        self.stats: Counter[str] = Counter()
        self.connections: list[IsmgConnection] = []
        self.delivered: list[_Outbound] = []  # DELIVERs the SP answered with Result 0
        self.deliver_results: list[
            tuple[int, int, int]
        ] = []  # every DELIVER_RESP: (Sequence_Id, Msg_Id, Result)
        self._server: asyncio.Server | None = None
        self._numbers = 0
        self._msg_sequence = 0
        self._rate_second, self._rate_count = -1, 0
        self._groups: dict[tuple, dict[int, list[AcceptedPart]]] = {}
        self._backlog: list[_Outbound] = []
        self._timers: set[asyncio.TimerHandle] = set()
        self._tasks: set[asyncio.Task] = set()

    # --- life ----------------------------------------------------------------------------

    async def start(self) -> FakeIsmg:
        self._server = await asyncio.start_server(self._serve, self.host, self.port)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
        for timer in list(self._timers):
            timer.cancel()
        for connection in list(self.connections):
            connection.drop()
        if self._tasks:
            _done, pending = await asyncio.wait(set(self._tasks), timeout=5)
            for task in pending:
                task.cancel()
        if self._server is not None:
            with contextlib.suppress(Exception):
                await self._server.wait_closed()

    async def __aenter__(self) -> FakeIsmg:
        return await self.start()

    async def __aexit__(self, *exc) -> None:
        await self.stop()

    # --- what tests look at --------------------------------------------------------------

    def duplicates(self) -> dict[tuple[str, bytes], int]:
        """(destination, content) accepted more than once, with how many times."""
        return {key: count for key, count in self.accepted.items() if count > 1}

    def report(self) -> dict:
        """What it saw, JSON-safe: the counters and every accepted (destination, content, count)."""
        udhi = {(part.dest, part.content): part.submit.tp_udhi for part in self.parts}
        accepted = []
        for (dest, content), count in sorted(self.accepted.items()):
            _found, payload = parse_udh(content) if udhi.get((dest, content)) else (None, content)
            accepted.append(
                {
                    "dest": dest,
                    "content": content.hex(),
                    "text": payload.decode("utf-16-be", errors="replace"),
                    "count": count,
                }
            )
        return {"stats": dict(self.stats), "duplicates": len(self.duplicates()), "accepted": accepted}

    def live(self) -> list[IsmgConnection]:
        return [c for c in self.connections if c.logged_in and not c.closed]

    async def wait_until(self, predicate: Callable[[], bool], timeout: float = 5.0, what: str = "") -> None:
        """Wait until `predicate()` holds (TimeoutError naming `what` if it does not in time)."""
        try:
            async with asyncio.timeout(timeout):
                while not predicate():
                    await asyncio.sleep(0.005)
        except TimeoutError:
            raise TimeoutError(f"fake ISMG: not within {timeout:g} s: {what or predicate}") from None

    # --- what tests (and the command) make it do -----------------------------------------

    async def send_mo(
        self,
        *,
        sender: str,
        text: str,
        dest_id: str = "10690000",
        msg_fmt: int = p.FMT_UCS2,
        reference: int | None = None,
        order: str = "in_order",
        duplicates: int = 0,
        connection: IsmgConnection | None = None,
        service_id: str = "",
    ) -> list[int]:
        """Send a customer's message (a long UCS2 one as UDH parts); the parts' Msg_Ids."""
        if msg_fmt == p.FMT_UCS2:
            reference = self.random.randrange(256) if reference is None else reference
            chunks = [
                (part.short_message, 1 if part.udh else 0)
                for part in split(text, reference=reference, alphabet=Alphabet.UCS2)
            ]
        else:
            encoding = {p.FMT_GBK: "gbk", p.FMT_ASCII: "ascii"}[msg_fmt]
            content = text.encode(encoding)
            if len(content) > 140:
                raise ValueError("a single GBK or ASCII message of at most 140 octets")
            chunks = [(content, 0)]
        items = []
        for content, udhi in chunks:
            msg_id = self._next_msg_id()

            def build(version, content=content, udhi=udhi, msg_id=msg_id):
                return p.Deliver(
                    msg_id=msg_id,
                    dest_id=dest_id,
                    service_id=service_id,
                    src_terminal_id=sender,
                    msg_content=content,
                    tp_udhi=udhi,
                    msg_fmt=msg_fmt,
                    registered_delivery=0,
                )

            items.append(_Outbound(build, "mo", prefer=connection.id if connection else None, msg_id=msg_id))
        for item in self._ordered(items, order, duplicates):
            self._dispatch(item)
        self.stats["mo_parts"] += len(items)
        return [item.msg_id for item in items]

    def send_report(
        self,
        msg_id: int,
        dest_terminal_id: str,
        *,
        stat: str = "DELIVRD",
        dest_id: str = "",
        submit_time: str | None = None,
        done_time: str | None = None,
        connection: IsmgConnection | None = None,
    ) -> None:
        """Send one status report for `msg_id` (by hand: `receipts` sends them by itself)."""
        stamp = self._now().strftime("%y%m%d%H%M")
        report = p.StatusReport(
            msg_id=msg_id,
            stat=stat,
            submit_time=submit_time or stamp,
            done_time=done_time or stamp,
            dest_terminal_id=dest_terminal_id,
            smsc_sequence=self.random.randrange(1 << 32),
        )
        self._dispatch(self._report_item(report, dest_id, prefer=connection.id if connection else None))

    def send_raw(self, octets: bytes, connection: IsmgConnection | None = None) -> None:
        """Write octets as they are (garbage, truncated or oversized PDUs)."""
        for target in [connection] if connection else self.live():
            if not target.closed:
                target.writer.write(octets)

    async def active_test(self, connection: IsmgConnection | None = None, timeout: float = 5.0) -> bool:
        """Send CMPP_ACTIVE_TEST; whether the SP answered in time."""
        target = connection or self.live()[0]
        return await self._ask(target, p.ActiveTest(), timeout)

    async def terminate(self, connection: IsmgConnection | None = None, timeout: float = 5.0) -> bool:
        """Send CMPP_TERMINATE and close; whether the SP answered with TERMINATE_RESP."""
        target = connection or self.live()[0]
        answered = await self._ask(target, p.Terminate(), timeout)
        target.writer.close()
        return answered

    def drop_all(self) -> None:
        for connection in list(self.connections):
            connection.drop()

    # --- serving -------------------------------------------------------------------------

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._numbers += 1
        connection = IsmgConnection(self, self._numbers, reader, writer)
        self.connections.append(connection)
        task = asyncio.current_task()
        self._tasks.add(task)
        try:
            if await self._login(connection):
                await self._read(connection)
        except (asyncio.IncompleteReadError, ConnectionError, TimeoutError, PduError):
            pass  # the SP went away or sent an impossible header: the connection ends
        except asyncio.CancelledError:
            pass  # stopping (a handler that ends cancelled makes asyncio log a traceback)
        finally:
            self._tasks.discard(task)
            self._closed(connection)

    async def _login(self, connection: IsmgConnection) -> bool:
        async with asyncio.timeout(30):
            frame = await p.read_frame(connection.reader)
        answer = p.decode(frame, version=Version.V3_0)  # CMPP_CONNECT is the same in both
        connect = answer.pdu
        if not isinstance(connect, p.Connect):
            self.stats["connect_refused"] += 1
            return False
        config = self.config
        supported = sorted(config.versions)
        requested = connect.version
        expected = p.authenticator_source(config.sp_id, config.secret, connect.timestamp_label)
        if connect.source_addr != config.sp_id:
            status = 2  # illegal source address
        elif connect.authenticator_source != expected:
            status = 3  # authentication failed
        elif requested > max(supported):
            status = 4  # version too high
        elif requested not in supported:
            status = 5  # other error
        else:
            status = 0
        connection.version = Version(requested) if requested in supported else max(supported)
        octets = 1 if connection.version == Version.V2_0 else 4
        if status == 0 and config.ismg_authenticator == "correct":
            proof = p.authenticator_ismg(0, connect.authenticator_source, config.secret, status_octets=octets)
        elif status == 0 and config.ismg_authenticator == "wrong":
            proof = p.authenticator_ismg(
                0, connect.authenticator_source, "not-the-secret", status_octets=octets
            )
        else:
            proof = bytes(16)  # "empty when authentication fails"
        resp = p.ConnectResp(status=status, authenticator_ismg=proof, version=int(max(supported)))
        connection.send(resp, answer.sequence_id)
        await connection.writer.drain()
        if status != 0:
            self.stats["connect_refused"] += 1
            connection.writer.close()
            return False
        self.stats["connects"] += 1
        connection.logged_in = True
        backlog, self._backlog = self._backlog, []
        for item in backlog:
            self._dispatch(item)
        return True

    async def _read(self, connection: IsmgConnection) -> None:
        while not connection.closed:
            frame = await p.read_frame(connection.reader)
            try:
                answer = p.decode(frame, version=connection.version)
            except PduError:
                self.stats["malformed"] += 1
                _length, command_id, sequence = p.peek_header(frame)
                if command_id == p.Command.SUBMIT:
                    connection.send(p.SubmitResp(msg_id=0, result=1), sequence)  # message structure error
                continue
            message, sequence = answer.pdu, answer.sequence_id
            if isinstance(message, p.Submit):
                self._submitted(connection, message, sequence)
            elif isinstance(message, p.DeliverResp):
                self._deliver_answered(connection, message, sequence)
            elif isinstance(message, p.ActiveTest):
                self.stats["active_tests"] += 1
                if self.config.answer_active_test:
                    connection.send(p.ActiveTestResp(), sequence)
            elif isinstance(message, p.Terminate):
                self.stats["terminated_by_sp"] += 1
                connection.send(p.TerminateResp(), sequence)
                await connection.writer.drain()
                connection.writer.close()
                return
            elif isinstance(message, p.ActiveTestResp | p.TerminateResp):
                waiter = connection.replies.pop(sequence, None)
                if waiter is not None and not waiter.done():
                    waiter.set_result(True)
                if isinstance(message, p.TerminateResp):
                    return
            else:
                self.stats["ignored"] += 1

    def _closed(self, connection: IsmgConnection) -> None:
        connection.closed = True
        with contextlib.suppress(ValueError):
            self.connections.remove(connection)
        connection.writer.transport.abort()
        for waiter in connection.replies.values():
            if not waiter.done():
                waiter.set_result(False)
        for item in connection.awaiting.values():  # never answered: deliver again later
            self._redeliver(item)
        connection.awaiting.clear()

    # --- submits -------------------------------------------------------------------------

    def _submitted(self, connection: IsmgConnection, submit: p.Submit, sequence: int) -> None:
        config = self.config
        self.stats["submits"] += 1
        connection.unanswered += 1
        connection.max_unanswered = max(connection.max_unanswered, connection.unanswered)
        count = self.stats["submits"]
        drop = config.drop_after and (
            count == config.drop_after or (config.drop_repeat and count % config.drop_after == 0)
        )
        if drop:
            self.stats["dropped"] += 1
            if config.drop_accepts and self._valid(connection, submit) == 0:
                self._accept(connection, submit)
            connection.drop()
            return
        result = self._valid(connection, submit)
        if result == 0 and connection.unanswered > config.window:
            self.stats["window_violations"] += 1
            result = p.RESULT_FLOW_CONTROL
        if result == 0 and config.rate_limit:
            second = int(asyncio.get_running_loop().time())
            if second != self._rate_second:
                self._rate_second, self._rate_count = second, 0
            self._rate_count += 1
            if self._rate_count > config.rate_limit:
                result = p.RESULT_FLOW_CONTROL
        if result == 0 and config.throttle_rate and self.random.random() < config.throttle_rate:
            result = p.RESULT_FLOW_CONTROL
        if result == 0 and config.error_rate and self.random.random() < config.error_rate:
            result = config.error_result
        msg_id = 0
        if result == 0:
            msg_id = self._accept(connection, submit)
        elif result == p.RESULT_FLOW_CONTROL:
            self.stats["throttled"] += 1
        else:
            self.stats["errors"] += 1
        resp = p.SubmitResp(msg_id=msg_id, result=result)
        if config.latency_s > 0:
            self._later(config.latency_s, connection.answer_submit, sequence, resp)
        else:
            connection.answer_submit(sequence, resp)

    def _valid(self, connection: IsmgConnection, submit: p.Submit) -> int:
        limit = 159 if submit.msg_fmt == p.FMT_ASCII else 140
        if len(submit.msg_content) > limit:
            return 6  # longer than a message may be
        if not 1 <= submit.pk_number <= max(submit.pk_total, 1):
            return 1
        if submit.msg_src != self.config.sp_id:
            return 11  # Msg_src error
        return 0

    def _accept(self, connection: IsmgConnection, submit: p.Submit) -> int:
        msg_id = 0
        for dest in submit.dest_terminal_ids:
            msg_id = self._next_msg_id()
            part = AcceptedPart(
                msg_id=msg_id,
                dest=dest,
                content=submit.msg_content,
                submit=submit,
                connection=connection.id,
                version=connection.version,
                accepted_at=self._now(),
            )
            self.accepted[(dest, submit.msg_content)] += 1
            self.parts.append(part)
            self.stats["accepted"] += 1
            self._group(part)
        return msg_id

    def _group(self, part: AcceptedPart) -> None:
        """Report a message's parts once all of them are in (so their order can be chosen)."""
        if self.config.receipts == "none":
            return
        submit, reference = part.submit, None
        if submit.tp_udhi:
            found, _payload = parse_udh(submit.msg_content)
            if found:
                reference = found.reference
        total = max(submit.pk_total, 1)
        if total == 1 or reference is None:
            self._schedule_reports([part])
            return
        key = (part.dest, submit.src_id, reference, total)
        if key not in self._groups:  # parts that never all come are reported as they are, later
            self._groups[key] = {}
            self._later(self.config.group_wait_s, self._flush_group, key)
        group = self._groups[key]
        group.setdefault(submit.pk_number, []).append(part)
        if len(group) == total:
            self._flush_group(key)

    def _flush_group(self, key: tuple) -> None:
        group = self._groups.pop(key, None)
        if group:
            self._schedule_reports([part for seq in sorted(group) for part in group[seq]])

    def _schedule_reports(self, parts: list[AcceptedPart]) -> None:
        config = self.config
        items = []
        for part in parts:
            stat = config.receipt_stat
            if config.undeliverable_rate and self.random.random() < config.undeliverable_rate:
                stat = "UNDELIV"
            report = p.StatusReport(
                msg_id=part.msg_id,
                stat=stat,
                submit_time=part.accepted_at.strftime("%y%m%d%H%M"),
                done_time=self._now().strftime("%y%m%d%H%M"),
                dest_terminal_id=part.dest,
                smsc_sequence=self.random.randrange(1 << 32),
            )
            prefer = part.connection if config.receipts_on == "same" else None
            items.append(self._report_item(report, part.submit.src_id, prefer=prefer))
        ordered = self._ordered(items, config.receipts, config.receipt_duplicates)
        if config.receipt_delay_s > 0:
            self._later(config.receipt_delay_s, self._dispatch_all, ordered)
        else:
            self._dispatch_all(ordered)

    def _report_item(self, report: p.StatusReport, dest_id: str, prefer: int | None) -> _Outbound:
        def build(version):
            return p.Deliver(
                msg_id=self._next_msg_id(),
                dest_id=dest_id,
                src_terminal_id=report.dest_terminal_id,
                msg_content=report.encode(version),
                registered_delivery=1,
            )

        return _Outbound(build, "report", prefer=prefer, msg_id=report.msg_id)

    def _ordered(self, items: list[_Outbound], order: str, duplicates: int) -> list[_Outbound]:
        if order == "reverse":
            items = items[::-1]
        elif order == "shuffle":
            items = items[:]
            self.random.shuffle(items)
        copies = [
            _Outbound(i.build, i.kind, i.prefer, msg_id=i.msg_id) for i in items for _ in range(duplicates)
        ]
        return items + copies

    # --- delivers ------------------------------------------------------------------------

    def _dispatch_all(self, items: list[_Outbound]) -> None:
        for item in items:
            self._dispatch(item)

    def _dispatch(self, item: _Outbound) -> None:
        live = self.live()
        if not live:
            self._backlog.append(item)  # until an SP connects
            return
        target = next((c for c in live if c.id == item.prefer), None) or self.random.choice(live)
        item.attempts += 1
        sequence = target.next_sequence()
        target.awaiting[sequence] = item
        target.send(item.build(target.version), sequence)
        self.stats[f"{item.kind}_sent"] += 1

    def _deliver_answered(self, connection: IsmgConnection, resp: p.DeliverResp, sequence: int) -> None:
        self.deliver_results.append((sequence, resp.msg_id, resp.result))
        item = connection.awaiting.pop(sequence, None)
        if item is None:
            self.stats["unexpected_deliver_resp"] += 1
            return
        if resp.result == 0:
            item.acked = True
            self.delivered.append(item)
            self.stats[f"{item.kind}_acked"] += 1
        else:
            self.stats["deliver_refused"] += 1
            self._redeliver(item)

    def _redeliver(self, item: _Outbound) -> None:
        if item.attempts >= self.config.max_deliveries:
            self.stats["deliver_given_up"] += 1
            return
        item.prefer = None
        self._later(self.config.redeliver_s, self._dispatch, item)

    # --- helpers -------------------------------------------------------------------------

    async def _ask(self, connection: IsmgConnection, message: p.Pdu, timeout: float) -> bool:
        waiter = asyncio.get_running_loop().create_future()
        sequence = connection.next_sequence()
        connection.replies[sequence] = waiter
        connection.send(message, sequence)
        try:
            async with asyncio.timeout(timeout):
                return await waiter
        except TimeoutError:
            return False
        finally:
            connection.replies.pop(sequence, None)

    def _later(self, delay: float, callback, *args) -> None:
        def run():
            self._timers.discard(handle)
            callback(*args)

        handle = asyncio.get_running_loop().call_later(delay, run)
        self._timers.add(handle)

    def _now(self) -> datetime.datetime:
        return datetime.datetime.now(SHANGHAI)

    def _next_msg_id(self) -> int:
        now = self._now()
        self._msg_sequence = (self._msg_sequence + 1) & 0xFFFF
        return p.MsgId(
            month=self.config.month or now.month,
            day=now.day,
            hour=now.hour,
            minute=now.minute,
            second=now.second,
            gateway=self.config.gateway_code,
            sequence=self._msg_sequence,
        ).pack()
