"""An SMPP 3.4 transceiver bind, as a `LinkSession` (see `notices/links/base.py`).

One asyncio connection: `open` binds; `serve` reads every PDU the SMSC sends, answers
its `enquire_link`s, sends ours every `enquire_link_s`, and resolves each submit by its
sequence number; `submit` waits for room in the window, writes one `submit_sm` and
waits for its `submit_sm_resp`. A `deliver_sm` (receipt or customer's message) goes to
`on_event` and is answered only once that returned: ESME_ROK, or ESME_RX_T_APPN (a
temporary error: the SMSC delivers it again) when it raised.

PDUs are encoded by `pdu.py` (smpp34's codec for submit_sm / deliver_sm). What the
session does not do, by design: split texts (the link process does, with `parts.py`),
resubmit anything, or reassemble long inbound messages (their parts may arrive on
another bind; the link process joins them in the database).
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime
import logging
import socket
import zoneinfo
from dataclasses import dataclass

from django.conf import settings

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
from . import pdu
from .config import smpp_config
from .pdu import Command

log = logging.getLogger(__name__)

DATA_CODING = {Alphabet.GSM7: 0x00, Alphabet.UCS2: 0x08}


@dataclass
class _Pending:
    future: asyncio.Future
    deadline: float
    kind: str  # "submit", "enquire_link", "unbind"


class SmppSession(LinkSession):
    kind = "smpp"

    def __init__(
        self,
        *,
        on_event: EventHandler,
        host: str,
        port: int = 2775,
        system_id: str,
        password: str,
        system_type: str = "",
        source_addr: str,
        window: int = 10,
        enquire_link_s: float = 30.0,
        response_timeout_s: float = 30.0,
        connect_timeout_s: float = 10.0,
        registered_delivery: int = 1,
        receipt_timezone: datetime.tzinfo = datetime.UTC,
    ):
        super().__init__(on_event=on_event, window=window)
        self.host, self.port = host, port
        self.system_id, self.password, self.system_type = system_id, password, system_type
        self.source_addr = source_addr
        self.enquire_link_s = enquire_link_s
        self.response_timeout_s = response_timeout_s
        self.connect_timeout_s = connect_timeout_s
        self.registered_delivery = registered_delivery
        self.receipt_timezone = receipt_timezone
        self.smsc_system_id = ""
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None
        self._sequence = 0
        self._pending: dict[int, _Pending] = {}
        self._room = asyncio.Semaphore(window)
        # deliver_sm PDUs are handled while the next PDUs are read (a slow callback must
        # not hold back the submit_sm_resps behind it); past this many at once reading
        # waits up to a second, then the SMSC is told ESME_RTHROTTLED (it delivers again).
        self.inbound_limit = max(window, 10)
        self._inbound: set[asyncio.Task] = set()
        self._bound = False
        self._closing = False
        self._close_reason = ""

    # --- the contract ---------------------------------------------------------------

    async def open(self) -> None:
        try:
            self._reader, self._writer = await asyncio.wait_for(
                asyncio.open_connection(self.host, self.port), self.connect_timeout_s
            )
        except (OSError, TimeoutError) as exc:
            raise LinkClosed(
                f"cannot connect to {self.host}:{self.port}: {exc or type(exc).__name__}"
            ) from exc
        with contextlib.suppress(OSError, AttributeError):
            self._writer.get_extra_info("socket").setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        sequence = self._next_sequence()
        self._writer.write(
            pdu.bind_transceiver(
                sequence, system_id=self.system_id, password=self.password, system_type=self.system_type
            )
        )
        try:
            answer = await asyncio.wait_for(self._bind_answer(sequence), self.response_timeout_s)
        except (TimeoutError, OSError, asyncio.IncompleteReadError, pdu.PduError) as exc:
            await self._drop()
            raise LinkClosed(f"no answer to bind_transceiver: {exc or type(exc).__name__}") from exc
        if answer.status != pdu.ESME_ROK:
            await self._drop()
            raise LinkClosed(f"bind refused: {pdu.status_name(answer.status)}")
        with contextlib.suppress(pdu.PduError):
            self.smsc_system_id, _ = pdu.read_c_string(answer.body)
        self._bound = True
        self.health.connected_since = datetime.datetime.now(datetime.UTC)
        log.info("smpp bound to %s:%s as %s", self.host, self.port, self.system_id)

    async def serve(self) -> None:
        if not self._bound:
            raise LinkClosed("not bound")
        helpers = [
            asyncio.create_task(self._keep_alive(), name="smpp-enquire-link"),
            asyncio.create_task(self._expire(), name="smpp-timeouts"),
        ]
        reason = "connection lost"
        try:
            reason = await self._read_loop()
        finally:
            for task in helpers:
                task.cancel()
            await asyncio.gather(*helpers, return_exceptions=True)
            reason = self._close_reason or reason
            self._lost(reason)
            await self._drain_inbound()
            await self._drop()
        raise LinkClosed(reason)

    async def submit(self, request: PartSubmit) -> SubmitResult:
        if not self._usable():
            return SubmitResult(SubmitStatus.THROTTLED, code="not_bound", detail="the bind is not open")
        async with self._room:
            if not self._usable():
                return SubmitResult(SubmitStatus.THROTTLED, code="not_bound", detail="the bind is not open")
            part = request.part
            sequence = self._next_sequence()
            try:
                data = pdu.submit_sm(
                    sequence,
                    source=self.source_addr,
                    destination=request.to,
                    short_message=part.short_message,
                    data_coding=DATA_CODING[request.alphabet],
                    esm_class=pdu.ESM_UDHI if part.udh else 0,
                    registered_delivery=self.registered_delivery,
                )
            except (ValueError, OverflowError, pdu.PduError) as exc:
                return SubmitResult(SubmitStatus.FAILED, code="encode_error", detail=str(exc)[:200])
            future = asyncio.get_running_loop().create_future()
            self._pending[sequence] = _Pending(future, self._now() + self.response_timeout_s, "submit")
            self.health.in_flight += 1
            try:
                self._writer.write(data)
                self.health.submitted += 1
                result = await future
            finally:
                self.health.in_flight -= 1
                self._pending.pop(sequence, None)
        if result.status == SubmitStatus.THROTTLED:
            self.health.throttled += 1
        elif result.status in (SubmitStatus.FAILED, SubmitStatus.UNKNOWN):
            self._error(f"{request.client_ref} part {part.seq}/{part.total}: {result.code} {result.detail}")
        return result

    async def close(self) -> None:
        self._closing = True
        deadline = self._now() + self.response_timeout_s
        while any(p.kind == "submit" for p in self._pending.values()) and self._now() < deadline:
            await asyncio.sleep(0.02)
        await self._drain_inbound()
        if self._bound and self._writer and not self._writer.is_closing():
            sequence = self._next_sequence()
            future = asyncio.get_running_loop().create_future()
            self._pending[sequence] = _Pending(future, self._now() + 5.0, "unbind")
            self._writer.write(pdu.unbind(sequence))
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(asyncio.shield(future), 5.0)
        self._close_reason = self._close_reason or "unbound"
        await self._drop()

    # --- reading ------------------------------------------------------------------------

    async def _read_pdu(self) -> pdu.Pdu:
        prefix = await self._reader.readexactly(4)
        length = pdu.parse_length(prefix)
        return pdu.parse(prefix + await self._reader.readexactly(length - 4))

    async def _bind_answer(self, sequence: int) -> pdu.Pdu:
        while True:
            answer = await self._read_pdu()
            if answer.command_id == Command.ENQUIRE_LINK:
                self._writer.write(pdu.enquire_link_resp(answer.sequence))
            elif answer.sequence == sequence and answer.command_id in (
                Command.BIND_TRANSCEIVER | Command.RESP,
                Command.GENERIC_NACK,
            ):
                return answer

    async def _read_loop(self) -> str:
        while True:
            try:
                received = await self._read_pdu()
            except (asyncio.IncompleteReadError, ConnectionError, OSError):
                return "connection lost"
            except pdu.PduError as exc:
                # A length we cannot trust: the stream cannot be re-synchronised.
                self._error(f"unreadable PDU: {exc}")
                return f"protocol error: {exc}"
            command = received.command_id
            if command == Command.DELIVER_SM:
                if not await self._room_for_inbound():
                    self._send(pdu.deliver_sm_resp(received.sequence, status=pdu.ESME_RTHROTTLED))
                    continue
                task = asyncio.create_task(self._deliver(received))
                self._inbound.add(task)
                task.add_done_callback(self._inbound.discard)
            elif command == Command.ENQUIRE_LINK:
                self._send(pdu.enquire_link_resp(received.sequence))
            elif command == Command.UNBIND:
                self._send(pdu.unbind_resp(received.sequence))
                return "the SMSC unbound"
            elif received.is_response:
                pending = self._pending.pop(received.sequence, None)
                if pending is None:
                    log.info("smpp: answer to nothing outstanding (seq %s), ignored", received.sequence)
                    continue
                if pending.kind == "submit":
                    pending.future.set_result(self._submit_result(received))
                elif not pending.future.done():
                    pending.future.set_result(received)
                if pending.kind == "unbind":
                    return "unbound"
            elif command == Command.ALERT_NOTIFICATION:
                continue  # no answer is defined for it
            else:
                self._send(pdu.generic_nack(received.sequence, pdu.ESME_RINVCMDID))

    async def _room_for_inbound(self) -> bool:
        """Wait (a second at most) for one of the deliver_sm callbacks under way to finish."""
        busy = {task for task in self._inbound if not task.done()}
        if len(busy) < self.inbound_limit:
            return True
        await asyncio.wait(busy, timeout=1.0, return_when=asyncio.FIRST_COMPLETED)
        return sum(1 for task in busy if not task.done()) < self.inbound_limit

    def _submit_result(self, answer: pdu.Pdu) -> SubmitResult:
        code = pdu.status_name(answer.status)
        if answer.command_id == Command.GENERIC_NACK:
            status = SubmitStatus.THROTTLED if answer.status in pdu.THROTTLING else SubmitStatus.FAILED
            return SubmitResult(status, code=code, detail="generic_nack")
        if answer.status == pdu.ESME_ROK:
            message_id = pdu.parse_message_id(answer.body)
            return SubmitResult(SubmitStatus.ACCEPTED, provider_id=message_id, code=code)
        if answer.status in pdu.THROTTLING:
            return SubmitResult(SubmitStatus.THROTTLED, code=code)
        return SubmitResult(SubmitStatus.FAILED, code=code)

    async def _deliver(self, received: pdu.Pdu) -> None:
        try:
            event = self._event(received)
        except pdu.PduError as exc:
            self._error(f"deliver_sm refused: {exc}")
            self._send(pdu.deliver_sm_resp(received.sequence, status=exc.status))
            return
        try:
            await self.on_event(event)
        except Exception:
            log.exception("smpp: storing a deliver_sm failed; answered with a temporary error")
            self._error("storing a deliver_sm failed")
            status = pdu.ESME_RX_T_APPN
        else:
            status = pdu.ESME_ROK
        self._send(pdu.deliver_sm_resp(received.sequence, status=status))

    def _event(self, received: pdu.Pdu) -> ReceiptEvent | InboundPartEvent:
        message = pdu.decode_short_message(received.raw)
        receipted = message.tlv(pdu.TLV_RECEIPTED_MESSAGE_ID)
        kind = message.esm_class & pdu.ESM_TYPE_MASK
        raw = {
            "pdu": received.raw.hex(),
            "esm_class": message.esm_class,
            "data_coding": message.data_coding,
            "source_addr": message.source_addr,
            "destination_addr": message.destination_addr,
            "tlvs": {f"0x{tag:04x}": value.hex() for tag, value in message.tlvs},
        }
        if kind in (pdu.ESM_SMSC_RECEIPT, pdu.ESM_INTERMEDIATE) or receipted is not None:
            return self._receipt(message, receipted, raw)
        return self._inbound_part(message, raw)

    def _receipt(self, message: pdu.ShortMessage, receipted: bytes | None, raw: dict) -> ReceiptEvent:
        text = message.message
        fields = pdu.parse_receipt_text(text)
        raw["receipt"] = pdu.printable(text)
        raw["fields"] = fields
        text_bytes = pdu.receipt_text_bytes(text)
        if text_bytes is not None:
            raw["text_hex"] = text_bytes.hex()
        provider_id = receipted.split(b"\x00", 1)[0].decode("latin-1") if receipted else fields.get("id", "")
        state = message.tlv_int(pdu.TLV_MESSAGE_STATE)
        stat = (fields.get("stat") or pdu.MESSAGE_STATES.get(state or 0, "")).upper()
        err = fields.get("err", "")
        if not err and (network := message.tlv(pdu.TLV_NETWORK_ERROR_CODE)):
            err = network.hex()
        return ReceiptEvent(
            provider_id=provider_id,
            stat=stat,
            err=err,
            submitted_at=self._receipt_time(fields.get("submit_date")),
            done_at=self._receipt_time(fields.get("done_date")),
            raw=raw,
            # A receipt comes from the handset the part went to: how a part whose submit
            # was never answered is found (its "text:" is raw octets, too ambiguous to match).
            recipient=message.source_addr,
        )

    def _inbound_part(self, message: pdu.ShortMessage, raw: dict) -> InboundPartEvent:
        data = message.message
        concatenation = None
        if message.esm_class & pdu.ESM_UDHI:
            found, data = parse_udh(data)
            if found:
                concatenation = (found.reference, found.total, found.seq)
        else:
            ref = message.tlv_int(pdu.TLV_SAR_MSG_REF_NUM)
            total = message.tlv_int(pdu.TLV_SAR_TOTAL_SEGMENTS)
            seq = message.tlv_int(pdu.TLV_SAR_SEGMENT_SEQNUM)
            if None not in (ref, total, seq) and 1 <= seq <= total:
                concatenation = (ref, total, seq)
        raw["message_hex"] = data.hex()
        text, decoded_as = pdu.decode_text(data, message.data_coding)
        raw["decoded_as"] = decoded_as
        return InboundPartEvent(
            sender=message.source_addr,
            recipient=message.destination_addr,
            text=text,
            concatenation=concatenation,
            raw=raw,
        )

    def _receipt_time(self, value: str | None) -> datetime.datetime | None:
        """`YYMMDDhhmm[ss]` as the SMSC wrote it (no zone: read as `receipt_timezone`)."""
        if not value or not value.isdigit() or len(value) not in (10, 12):
            return None
        try:
            moment = datetime.datetime.strptime(value, "%y%m%d%H%M%S" if len(value) == 12 else "%y%m%d%H%M")
        except ValueError:
            return None
        return moment.replace(tzinfo=self.receipt_timezone)

    # --- keeping the link -----------------------------------------------------------

    async def _keep_alive(self) -> None:
        while True:
            await asyncio.sleep(self.enquire_link_s)
            if not self._usable():
                return
            sequence = self._next_sequence()
            future = asyncio.get_running_loop().create_future()
            self._pending[sequence] = _Pending(future, self._now() + self.response_timeout_s, "enquire_link")
            self._send(pdu.enquire_link(sequence))

    async def _expire(self) -> None:
        """Submits unanswered within the response timeout become UNKNOWN; an unanswered
        enquire_link means the link is dead."""
        tick = max(0.05, min(1.0, self.response_timeout_s / 4))
        while True:
            await asyncio.sleep(tick)
            now = self._now()
            for sequence, pending in list(self._pending.items()):
                if pending.deadline > now:
                    continue
                del self._pending[sequence]
                if pending.kind == "submit":
                    pending.future.set_result(
                        SubmitResult(
                            SubmitStatus.UNKNOWN,
                            code="timeout",
                            detail=f"no submit_sm_resp within {self.response_timeout_s:g} s",
                        )
                    )
                elif pending.kind == "enquire_link":
                    self._close_reason = f"enquire_link unanswered for {self.response_timeout_s:g} s"
                    self._error(self._close_reason)
                    if self._writer:
                        self._writer.transport.abort()
                elif not pending.future.done():
                    pending.future.set_result(None)

    def _lost(self, reason: str) -> None:
        """The connection ended: whatever was not answered may or may not have arrived."""
        self._bound = False
        self.health.connected_since = None
        for pending in self._pending.values():
            if pending.future.done():
                continue
            if pending.kind == "submit":
                pending.future.set_result(
                    SubmitResult(SubmitStatus.UNKNOWN, code="connection_lost", detail=reason[:200])
                )
            else:
                pending.future.set_result(None)
        self._pending.clear()
        if reason not in ("unbound",):
            self._error(reason)

    async def _drain_inbound(self) -> None:
        if self._inbound:
            await asyncio.wait(set(self._inbound), timeout=self.response_timeout_s)

    async def _drop(self) -> None:
        writer, self._writer = self._writer, None
        self._bound = False
        if writer is None:
            return
        writer.close()
        with contextlib.suppress(Exception):
            await asyncio.wait_for(writer.wait_closed(), 2.0)
        self._writer = writer  # kept so late writes see a closing transport, not None

    # --- small helpers --------------------------------------------------------------

    def _usable(self) -> bool:
        return (
            self._bound and not self._closing and self._writer is not None and not self._writer.is_closing()
        )

    def _send(self, data: bytes) -> None:
        if self._writer is not None and not self._writer.is_closing():
            self._writer.write(data)

    def _next_sequence(self) -> int:
        self._sequence = self._sequence % 0x7FFFFFFF + 1
        return self._sequence

    @staticmethod
    def _now() -> float:
        return asyncio.get_running_loop().time()

    def _error(self, text: str) -> None:
        self.health.last_error = text[:300]
        self.health.last_error_at = datetime.datetime.now(datetime.UTC)


def session_from_settings(on_event: EventHandler) -> SmppSession:
    """One bind as the SMS_SMPP_* settings say (SettingError, one line, if one is unusable)."""
    config = smpp_config()
    return SmppSession(
        on_event=on_event,
        host=config.host,
        port=config.port,
        system_id=config.system_id,
        password=config.password,
        system_type=config.system_type,
        source_addr=config.source_addr,
        window=config.window,
        enquire_link_s=config.enquire_link_s,
        receipt_timezone=zoneinfo.ZoneInfo(settings.TIME_ZONE),
    )
