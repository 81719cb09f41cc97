"""One CMPP 2.0 / 3.0 connection to China Mobile's ISMG, on asyncio streams.

It implements the `LinkSession` contract (`notices/links/base.py`):

- `open`: TCP connect, CMPP_CONNECT with the authenticator and the version octet (0x20 or
  0x30), CMPP_CONNECT_RESP checked (Status, and AuthenticatorISMG when the ISMG gives one);
  then a reader and the keep-alive run in the background until the connection ends.
- `submit`: one CMPP_SUBMIT per part (Msg_Fmt 8, Registered_Delivery 1, the service id, the
  SP's number, TP_udhi and Pk_total/Pk_number for a long message), at most `window`
  outstanding, matched to its CMPP_SUBMIT_RESP by Sequence_Id. Result 0 → ACCEPTED with the
  Msg_Id as a decimal string; 8 (flow control) → THROTTLED; any other → FAILED "cmpp:<n>";
  no response within the timeout, or the connection lost first → UNKNOWN (never resent).
- CMPP_DELIVER: a status report becomes a `ReceiptEvent` (matched by the Msg_Id the submit
  got), a customer's message an `InboundPartEvent`; each is answered with CMPP_DELIVER_RESP
  once `on_event` has returned — Result 0, or 8 (flow control, so the ISMG delivers it
  again) when `on_event` raised.
- CMPP_ACTIVE_TEST every `active_test_s` (three unanswered in a row end the connection);
  the ISMG's own are answered. CMPP_TERMINATE either way: `close` waits for the window,
  then terminates; the ISMG's is answered and ends the connection.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime
import logging
import re
from collections.abc import Callable

from ..base import (
    EventHandler,
    InboundPartEvent,
    LinkClosed,
    LinkSession,
    PartSubmit,
    ReceiptEvent,
    SubmitResult,
    SubmitStatus,
)
from ..parts import Alphabet, parse_udh
from . import pdu as p
from .config import CmppConfig, cmpp_config
from .pdu import SHANGHAI, PduError, Version

logger = logging.getLogger(__name__)

MAX_CONTENT = 140  # octets of Msg_Content for UCS2 (UDH included), as the specification allows
ACTIVE_TEST_MISSES = 3  # the specification's N: unanswered active tests before the link is dead
DELIVER_RESULT_OK = 0
DELIVER_RESULT_MALFORMED = 1  # "message structure error"
DELIVER_RESULT_RETRY = p.RESULT_FLOW_CONTROL  # "flow control": not stored, deliver it again later

_MAINLAND_MOBILE = re.compile(r"1[0-9]{10}")
_REPORT_TIME = re.compile(r"[0-9]{10}")


def destination_number(to: str) -> str | None:
    """Dest_terminal_Id for an E.164 number: the 11-digit mainland mobile, or None when the
    number is not one (a China Mobile 106 channel reaches mainland numbers only)."""
    number = to.strip()
    if number.startswith("+86"):
        number = number[3:]
    elif number.startswith("0086"):
        number = number[4:]
    elif number.startswith("86") and len(number) == 13:
        number = number[2:]
    return number if _MAINLAND_MOBILE.fullmatch(number) else None


def report_time(text: str) -> datetime.datetime | None:
    """A status report's Submit_time / Done_time (YYMMDDHHMM, Beijing time); None when it is
    not a valid time (kept as received in the event's `raw`)."""
    if not _REPORT_TIME.fullmatch(text):
        return None
    try:
        return datetime.datetime(
            2000 + int(text[0:2]),
            int(text[2:4]),
            int(text[4:6]),
            int(text[6:8]),
            int(text[8:10]),
            tzinfo=SHANGHAI,
        )
    except ValueError:
        return None


def decode_text(content: bytes, msg_fmt: int) -> str | None:
    """A customer's message as text: Msg_Fmt 8 UCS2, 15 GBK (read as GB 18030, its superset),
    0 ASCII; None for binary and card formats, which are not text. Undecodable octets become
    U+FFFD and NULs are dropped (the octets stay in the event's `raw`)."""
    if msg_fmt == p.FMT_UCS2:
        text = content.decode("utf-16-be", errors="replace")
    elif msg_fmt == p.FMT_GBK:
        text = content.decode("gb18030", errors="replace")
    elif msg_fmt == p.FMT_ASCII:
        text = content.decode("ascii", errors="replace")
    else:
        return None
    return text.replace("\x00", "")


def receipt_event(deliver: p.Deliver, frame: bytes, version: Version) -> ReceiptEvent:
    """The ReceiptEvent a status report says (PduError when its Msg_Content is not one)."""
    report = deliver.report()
    return ReceiptEvent(
        provider_id=str(report.msg_id),
        stat=report.stat,
        submitted_at=report_time(report.submit_time),
        done_at=report_time(report.done_time),
        recipient=report.dest_terminal_id,
        raw={
            "protocol": "cmpp",
            "version": version.label,
            "pdu": frame.hex(),
            "deliver_msg_id": str(deliver.msg_id),
            "msg_id": str(report.msg_id),
            "stat": report.stat,
            "submit_time": report.submit_time,
            "done_time": report.done_time,
            "dest_terminal_id": report.dest_terminal_id,
            "smsc_sequence": report.smsc_sequence,
            "dest_id": deliver.dest_id,
            "service_id": deliver.service_id,
        },
    )


def inbound_event(deliver: p.Deliver, frame: bytes, version: Version) -> InboundPartEvent:
    """The InboundPartEvent of a customer's message (one part of it, when TP_udhi is set)."""
    content, concatenation = deliver.msg_content, None
    if deliver.tp_udhi:
        found, content = parse_udh(deliver.msg_content)
        if found:
            concatenation = (found.reference, found.total, found.seq)
    text = decode_text(content, deliver.msg_fmt)
    raw = {
        "protocol": "cmpp",
        "version": version.label,
        "pdu": frame.hex(),
        "msg_id": str(deliver.msg_id),
        "msg_fmt": deliver.msg_fmt,
        "tp_udhi": deliver.tp_udhi,
        "tp_pid": deliver.tp_pid,
        "dest_id": deliver.dest_id,
        "service_id": deliver.service_id,
        "src_terminal_id": deliver.src_terminal_id,
        "msg_content": deliver.msg_content.hex(),
    }
    if version == Version.V3_0:
        raw.update(src_terminal_type=deliver.src_terminal_type, link_id=deliver.link_id)
    if text is None:
        raw["not_text"] = True  # a binary or card-writing message: nothing to read as text
    return InboundPartEvent(
        sender=deliver.src_terminal_id,
        recipient=deliver.dest_id,
        text=text or "",
        provider_id=str(deliver.msg_id),
        concatenation=concatenation,
        raw=raw,
    )


def submit_pdu(request: PartSubmit, config: CmppConfig) -> p.Submit:
    """The CMPP_SUBMIT for one part: UCS2, a status report asked for, charged to the SP and
    free for the customer, from the SP's number, TP_udhi and Pk_total/Pk_number for a part of
    a long message (the UDH is the first octets of Msg_Content)."""
    part = request.part
    return p.Submit(
        dest_terminal_ids=(destination_number(request.to) or "",),
        msg_content=part.short_message,
        pk_total=part.total,
        pk_number=part.seq,
        registered_delivery=1,
        msg_level=0,
        service_id=config.service_id,
        fee_user_type=2,  # charged to the SP, not to the customer
        tp_udhi=1 if part.udh else 0,
        msg_fmt=p.FMT_UCS2,
        msg_src=config.sp_id,
        fee_type="01",  # free for the customer
        fee_code="000000",
        src_id=config.src_id,
    )


class _Lost:
    """What an outstanding submit learns when the connection ends before its response."""

    __slots__ = ("reason",)

    def __init__(self, reason: str):
        self.reason = reason


def _shanghai_now() -> datetime.datetime:
    return datetime.datetime.now(SHANGHAI)


class CmppSession(LinkSession):
    """One connection to the ISMG. `on_event` may run for up to `event_concurrency` DELIVERs
    at a time; each is answered when its own call returns."""

    kind = "cmpp"

    def __init__(
        self,
        *,
        on_event: EventHandler,
        config: CmppConfig,
        event_concurrency: int = 8,
        now: Callable[[], datetime.datetime] = _shanghai_now,
    ):
        super().__init__(on_event=on_event, window=config.window)
        self.config = config
        self.version = config.version
        self._now = now
        self._window = asyncio.Semaphore(config.window)
        self._events = asyncio.Semaphore(event_concurrency)
        self._event_tasks: set[asyncio.Task] = set()
        self._pending: dict[int, asyncio.Future] = {}
        self._idle = asyncio.Event()
        self._idle.set()
        self._active_tests: dict[int, asyncio.Future] = {}
        self._terminate_reply: tuple[int, asyncio.Future] | None = None
        self._sequence = 0
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None
        self._tasks: list[asyncio.Task] = []
        self._done: asyncio.Future | None = None
        self._closed_reason: str | None = None
        self._closing = False  # close() began: no new submits
        self._terminating = False  # our CMPP_TERMINATE is out: no new DELIVERs taken

    def __repr__(self) -> str:
        return f"<CmppSession {self.config.host}:{self.config.port} v{self.version.label}>"

    # --- the contract -------------------------------------------------------------------

    def alphabet_for(self, text: str) -> Alphabet:
        # CMPP's Msg_Fmt 0 is ASCII, not GSM 7-bit, and our texts carry a Chinese signature:
        # everything goes as UCS2 (Msg_Fmt 8), 70 characters in one SMS, 67 a part.
        return Alphabet.UCS2

    async def open(self) -> None:
        if self._done is not None:
            raise LinkClosed("cmpp: this session was already opened; make a new one")
        host, port = self.config.host, self.config.port
        try:
            async with asyncio.timeout(self.config.connect_timeout_s):
                reader, writer = await asyncio.open_connection(host, port)
        except TimeoutError:
            raise LinkClosed(
                f"cmpp: no TCP connection to {host}:{port} within {self.config.connect_timeout_s:g} s"
            ) from None
        except OSError as exc:
            raise LinkClosed(f"cmpp: cannot connect to {host}:{port}: {exc.strerror or exc}") from None
        try:
            await self._login(reader, writer)
        except BaseException:
            writer.transport.abort()
            raise
        self._reader, self._writer = reader, writer
        self._done = asyncio.get_running_loop().create_future()
        self.health.connected_since = self._now()
        self._tasks = [
            asyncio.create_task(self._read_loop(), name=f"cmpp-reader {host}:{port}"),
            asyncio.create_task(self._keepalive(), name=f"cmpp-active-test {host}:{port}"),
        ]

    async def serve(self) -> None:
        if self._done is None:
            raise LinkClosed("cmpp: the session was never opened")
        await asyncio.shield(self._done)
        if self._event_tasks:  # let the events being stored finish; the ISMG resends unanswered ones
            await asyncio.wait(set(self._event_tasks), timeout=self.config.response_timeout_s)
        raise LinkClosed(self._closed_reason or "cmpp: closed")

    async def submit(self, request: PartSubmit) -> SubmitResult:
        refused = self._refusal(request)
        if refused:
            return refused
        message = self._submit_pdu(request)
        if isinstance(message, SubmitResult):
            return message
        self._ensure_writable()
        await self._window.acquire()
        try:
            self._ensure_writable()
            sequence = self._next_sequence()
            waiter = asyncio.get_running_loop().create_future()
            self._pending[sequence] = waiter
            self._idle.clear()
            self._writer.write(p.encode(message, sequence_id=sequence, version=self.version))
            self.health.submitted += 1
            self.health.in_flight = len(self._pending)
            try:
                async with asyncio.timeout(self.config.response_timeout_s):
                    with contextlib.suppress(ConnectionError):
                        await self._writer.drain()  # a lost connection resolves the waiter as lost
                    outcome = await waiter
            except TimeoutError:
                outcome = None
            finally:
                self._forget(sequence)
            return self._outcome(outcome, request)
        finally:
            self._window.release()

    async def close(self) -> None:
        if self._done is None or self._done.done():
            return
        self._closing = True
        timeout = self.config.response_timeout_s
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(timeout):
                await self._idle.wait()
        if self._event_tasks:
            await asyncio.wait(set(self._event_tasks), timeout=timeout)
        if not self._done.done():
            self._terminating = True
            sequence = self._next_sequence()
            reply = asyncio.get_running_loop().create_future()
            self._terminate_reply = (sequence, reply)
            self._send(p.Terminate(), sequence)
            # Its CMPP_TERMINATE_RESP, or the ISMG closing the connection, whichever comes first.
            await asyncio.wait(
                {reply, self._done}, timeout=min(timeout, 10.0), return_when=asyncio.FIRST_COMPLETED
            )
        self._shutdown("cmpp: closed by us (CMPP_TERMINATE)", error=False)
        await asyncio.gather(*self._tasks, return_exceptions=True)

    # --- connecting ---------------------------------------------------------------------

    async def _login(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        config = self.config
        connect = p.Connect.login(
            source_addr=config.sp_id, secret=config.secret, version=self.version, now=self._now()
        )
        sequence = self._next_sequence()
        writer.write(p.encode(connect, sequence_id=sequence, version=self.version))
        try:
            async with asyncio.timeout(config.response_timeout_s):
                await writer.drain()
                frame = await p.read_frame(reader)
            answer = p.decode(frame, version=self.version)
        except TimeoutError:
            raise LinkClosed(f"cmpp: no CMPP_CONNECT_RESP within {config.response_timeout_s:g} s") from None
        except asyncio.IncompleteReadError:
            raise LinkClosed("cmpp: the ISMG closed the connection before answering CMPP_CONNECT") from None
        except ConnectionError as exc:
            raise LinkClosed(f"cmpp: connection lost during CMPP_CONNECT: {exc}") from None
        except PduError as exc:
            raise LinkClosed(f"cmpp: the ISMG's answer to CMPP_CONNECT is malformed: {exc}") from None
        resp = answer.pdu
        if not isinstance(resp, p.ConnectResp) or answer.sequence_id != sequence:
            raise LinkClosed(
                f"cmpp: the ISMG answered CMPP_CONNECT with {p.command_name(resp.COMMAND)} "
                f"(Sequence_Id {answer.sequence_id}, ours {sequence})"
            )
        if resp.status != 0:
            raise LinkClosed(
                f"cmpp: CMPP_CONNECT refused, Status {resp.status} ({p.connect_status_text(resp.status)})"
            )
        if resp.authenticator_ismg != bytes(16):
            # The ISMG proves it knows the secret. Status is hashed as the PDU carries it; an
            # ISMG that hashes it as one octet in a 3.0 answer is accepted too.
            expected = {
                p.authenticator_ismg(0, connect.authenticator_source, config.secret, status_octets=octets)
                for octets in (resp.status_octets, 1)
            }
            if resp.authenticator_ismg not in expected:
                raise LinkClosed(
                    "cmpp: AuthenticatorISMG does not match: the peer is not the ISMG that shares our secret"
                )
        if resp.version < self.version:
            spoken = f"{resp.version >> 4}.{resp.version & 0x0F}"
            raise LinkClosed(
                f"cmpp: the ISMG speaks CMPP {spoken}, not {self.version.label}: set SMS_CMPP_VERSION to match"
            )

    # --- submitting ---------------------------------------------------------------------

    def _refusal(self, request: PartSubmit) -> SubmitResult | None:
        """A part this protocol cannot carry, refused before anything is sent."""
        if request.alphabet != Alphabet.UCS2:
            return SubmitResult(
                SubmitStatus.FAILED,
                code="cmpp:alphabet",
                detail="CMPP parts must be split as UCS2 (session.alphabet_for)",
            )
        if len(request.part.short_message) > MAX_CONTENT:
            return SubmitResult(
                SubmitStatus.FAILED,
                code="cmpp:too_long",
                detail=f"{len(request.part.short_message)} octets; a CMPP_SUBMIT carries at most {MAX_CONTENT}",
            )
        if destination_number(request.to) is None:
            return SubmitResult(
                SubmitStatus.FAILED,
                code="cmpp:destination",
                detail="not a mainland China mobile number",
            )
        return None

    def _submit_pdu(self, request: PartSubmit) -> p.Submit | SubmitResult:
        try:
            return submit_pdu(request, self.config)
        except PduError as exc:  # cannot happen with checked settings; nothing is sent
            return SubmitResult(SubmitStatus.FAILED, code="cmpp:encode", detail=str(exc))

    def _outcome(self, outcome: p.SubmitResp | _Lost | None, request: PartSubmit) -> SubmitResult:
        if outcome is None:
            detail = f"no CMPP_SUBMIT_RESP within {self.config.response_timeout_s:g} s"
            self._note_error(f"cmpp: {detail} ({request.client_ref} part {request.part.seq})")
            return SubmitResult(SubmitStatus.UNKNOWN, code="cmpp:timeout", detail=detail)
        if isinstance(outcome, _Lost):
            return SubmitResult(SubmitStatus.UNKNOWN, code="cmpp:connection_lost", detail=outcome.reason)
        code = f"cmpp:{outcome.result}"
        meaning = p.submit_result_text(outcome.result, self.version)
        if outcome.result == 0:
            return SubmitResult(SubmitStatus.ACCEPTED, provider_id=str(outcome.msg_id), code=code)
        if outcome.result == p.RESULT_FLOW_CONTROL:
            self.health.throttled += 1
            return SubmitResult(SubmitStatus.THROTTLED, code=code, detail=meaning)
        return SubmitResult(SubmitStatus.FAILED, code=code, detail=meaning)

    def _ensure_writable(self) -> None:
        if self._done is None:
            raise LinkClosed("cmpp: the session was never opened")
        if self._closed_reason is not None:
            raise LinkClosed(self._closed_reason)
        if self._closing:
            raise LinkClosed("cmpp: closing")

    def _forget(self, sequence: int) -> None:
        self._pending.pop(sequence, None)
        self.health.in_flight = len(self._pending)
        if not self._pending:
            self._idle.set()

    def _next_sequence(self) -> int:
        while True:
            self._sequence = self._sequence % 0xFFFFFFFF + 1  # 1 … 2³²−1, never 0
            if self._sequence not in self._pending:
                return self._sequence

    # --- the connection's life ----------------------------------------------------------

    async def _read_loop(self) -> None:
        reason = "cmpp: connection lost"
        try:
            while True:
                frame = await p.read_frame(self._reader)
                try:
                    answer = p.decode(frame, version=self.version)
                except PduError as exc:
                    await self._malformed(frame, exc)
                    continue
                if await self._dispatch(answer, frame):
                    reason = (
                        "cmpp: closed by us (CMPP_TERMINATE)"
                        if self._terminating
                        else "cmpp: the ISMG ended the connection (CMPP_TERMINATE)"
                    )
                    break
        except asyncio.IncompleteReadError as exc:
            reason = (
                "cmpp: the ISMG closed the connection"
                if not exc.partial
                else "cmpp: the ISMG closed the connection in the middle of a PDU"
            )
        except PduError as exc:
            reason = f"cmpp: the ISMG sent an impossible PDU header ({exc}); connection dropped"
        except ConnectionError as exc:
            reason = f"cmpp: connection lost ({exc})"
        except asyncio.CancelledError:
            reason = self._closed_reason or "cmpp: stopped"
            raise
        except Exception as exc:  # our own bug: end the link visibly rather than hang
            logger.exception("CMPP reader failed")
            reason = f"cmpp: internal error in the reader: {exc!r}"
        finally:
            self._shutdown(reason, error=not self._terminating)

    async def _dispatch(self, answer: p.Frame, frame: bytes) -> bool:
        """Handle one PDU from the ISMG; True when it ends the connection."""
        message, sequence = answer.pdu, answer.sequence_id
        if isinstance(message, p.SubmitResp):
            waiter = self._pending.get(sequence)
            if waiter is not None and not waiter.done():
                waiter.set_result(message)
            else:
                logger.warning(
                    "CMPP_SUBMIT_RESP for no outstanding submit (Sequence_Id %s, Msg_Id %s, Result %s): "
                    "late after a timeout, or never asked",
                    sequence,
                    message.msg_id,
                    message.result,
                )
        elif isinstance(message, p.Deliver):
            if self._terminating:
                return False  # unanswered: the ISMG delivers it again on another connection
            await self._events.acquire()
            task = asyncio.create_task(self._handle_deliver(message, frame))
            self._event_tasks.add(task)
            task.add_done_callback(self._event_done)
        elif isinstance(message, p.ActiveTest):
            self._send(p.ActiveTestResp(), sequence)
        elif isinstance(message, p.ActiveTestResp):
            waiter = self._active_tests.pop(sequence, None)
            if waiter is not None and not waiter.done():
                waiter.set_result(True)
        elif isinstance(message, p.Terminate):
            self._send(p.TerminateResp(), sequence)
            with contextlib.suppress(ConnectionError):
                await self._writer.drain()
            return True
        elif isinstance(message, p.TerminateResp):
            if self._terminate_reply and self._terminate_reply[0] == sequence:
                self._terminate_reply[1].set_result(True)
                return True
        else:
            logger.info("CMPP: ignored %s from the ISMG", p.command_name(message.COMMAND))
        return False

    def _event_done(self, task: asyncio.Task) -> None:
        self._event_tasks.discard(task)
        self._events.release()

    async def _handle_deliver(self, deliver: p.Deliver, frame: bytes) -> None:
        try:
            event = (
                receipt_event(deliver, frame, self.version)
                if deliver.is_report
                else inbound_event(deliver, frame, self.version)
            )
        except PduError as exc:
            self._note_error(f"cmpp: malformed status report from the ISMG: {exc}")
            result = DELIVER_RESULT_MALFORMED
        else:
            try:
                await self.on_event(event)
                result = DELIVER_RESULT_OK
            except Exception as exc:
                logger.exception("CMPP: storing a DELIVER failed; the ISMG will deliver it again")
                self._note_error(f"cmpp: could not store a DELIVER ({exc!r}); answered Result 8")
                result = DELIVER_RESULT_RETRY
        if self._closed_reason is None:
            self._send(p.DeliverResp(msg_id=deliver.msg_id, result=result), self._sequence_of(frame))

    async def _malformed(self, frame: bytes, exc: PduError) -> None:
        _length, command_id, sequence = p.peek_header(frame)
        self._note_error(f"cmpp: malformed {p.command_name(command_id)} from the ISMG: {exc}")
        if command_id == p.Command.DELIVER and len(frame) >= p.HEADER_LENGTH + 8:
            msg_id = int.from_bytes(frame[p.HEADER_LENGTH : p.HEADER_LENGTH + 8], "big")
            self._send(p.DeliverResp(msg_id=msg_id, result=DELIVER_RESULT_MALFORMED), sequence)

    @staticmethod
    def _sequence_of(frame: bytes) -> int:
        return p.peek_header(frame)[2]

    async def _keepalive(self) -> None:
        interval = self.config.active_test_s
        misses = 0
        while True:
            await asyncio.sleep(interval)
            sequence = self._next_sequence()
            reply = asyncio.get_running_loop().create_future()
            self._active_tests[sequence] = reply
            self._send(p.ActiveTest(), sequence)
            try:
                async with asyncio.timeout(min(self.config.response_timeout_s, interval)):
                    await reply
                misses = 0
            except TimeoutError:
                misses += 1
                if misses >= ACTIVE_TEST_MISSES:
                    self._shutdown(f"cmpp: no CMPP_ACTIVE_TEST_RESP to {misses} active tests in a row")
                    return
            finally:
                self._active_tests.pop(sequence, None)

    def _send(self, message: p.Pdu, sequence: int) -> None:
        writer = self._writer
        if writer is not None and not writer.transport.is_closing():
            writer.write(p.encode(message, sequence_id=sequence, version=self.version))

    def _note_error(self, text: str) -> None:
        self.health.last_error = text
        self.health.last_error_at = self._now()

    def _shutdown(self, reason: str, *, error: bool = True) -> None:
        """End the connection once: outstanding submits resolve as lost, serve() returns."""
        if self._closed_reason is not None:
            return
        self._closed_reason = reason
        if error:
            self._note_error(reason)
        for waiter in self._pending.values():
            if not waiter.done():
                waiter.set_result(_Lost(reason))
        for waiter in self._active_tests.values():
            if not waiter.done():
                waiter.cancel()
        current = asyncio.current_task()
        for task in self._tasks:
            if task is not current and not task.done():
                task.cancel()
        if self._writer is not None:
            self._writer.close()
        self.health.connected_since = None
        if self._done is not None and not self._done.done():
            self._done.set_result(reason)


def session_from_settings(on_event: EventHandler) -> CmppSession:
    """A CmppSession from the SMS_CMPP_* settings (CmppConfigError with one line if one is bad)."""
    return CmppSession(on_event=on_event, config=cmpp_config())
