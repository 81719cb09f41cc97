"""An SMSC of our own, for demos and the benchmark (`manage.py fake_smsc`).

It binds any transceiver (or only the system_id/password it was given), acknowledges
every submit_sm with a message id (after `latency`, without holding the next ones
back), sends a delivery receipt per part after `receipt_delay` (some `undeliverable`),
and now and then a customer's reply. It counts submits by content, so a run can show
that nothing was submitted twice. Speaks through `pdu.py`, like our session.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime
import logging
import random
import socket
from dataclasses import dataclass, field

from . import pdu
from .pdu import Command

log = logging.getLogger(__name__)

REPLIES = ("已还", "我想分期还款", "收到，月底前还清", "不是本人", "退订")


@dataclass
class SmscStats:
    binds: int = 0
    submits: int = 0
    duplicates: int = 0
    receipts_sent: int = 0
    replies_sent: int = 0
    deliver_answers: dict[str, int] = field(default_factory=dict)
    seen: dict[tuple[str, bytes], int] = field(default_factory=dict)

    def as_dict(self) -> dict:
        return {
            "binds": self.binds,
            "submits": self.submits,
            "unique": len(self.seen),
            "duplicates": self.duplicates,
            "receipts_sent": self.receipts_sent,
            "replies_sent": self.replies_sent,
            "deliver_answers": dict(self.deliver_answers),
        }


class FakeSmsc:
    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int = 2775,
        system_id: str = "",
        password: str = "",
        latency: float = 0.0,
        receipt_delay: float = 0.5,
        undeliverable_rate: float = 0.0,
        reply_rate: float = 0.0,
        seed: int | None = None,
    ):
        self.host, self.port = host, port
        self.system_id, self.password = system_id, password
        self.latency = latency
        self.receipt_delay = receipt_delay
        self.undeliverable_rate = undeliverable_rate
        self.reply_rate = reply_rate
        self.random = random.Random(seed)
        self.stats = SmscStats()
        self._server: asyncio.Server | None = None
        self._next_id = 0
        self._tasks: set[asyncio.Task] = set()

    async def start(self) -> int:
        self._server = await asyncio.start_server(self._connection, self.host, self.port)
        self.port = self._server.sockets[0].getsockname()[1]
        return self.port

    async def serve_forever(self) -> None:
        if self._server is None:
            await self.start()
        async with self._server:
            await self._server.serve_forever()

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._server.wait_closed(), 2.0)
        for task in list(self._tasks):
            task.cancel()

    # --- one ESME ---------------------------------------------------------------------

    async def _connection(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        esme = _Esme(writer)
        with contextlib.suppress(OSError, AttributeError):  # answers go out at once, not after an ACK
            writer.get_extra_info("socket").setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        try:
            while True:
                prefix = await reader.readexactly(4)
                received = pdu.parse(prefix + await reader.readexactly(pdu.parse_length(prefix) - 4))
                if not self._handle(esme, received):
                    break
        except (asyncio.IncompleteReadError, ConnectionError, pdu.PduError):
            pass
        finally:
            esme.closed = True
            writer.close()

    def _handle(self, esme: _Esme, received: pdu.Pdu) -> bool:
        command = received.command_id
        if command in (Command.BIND_TRANSCEIVER, Command.BIND_TRANSMITTER, Command.BIND_RECEIVER):
            system_id, password, _ = pdu.parse_bind(received.body)
            ok = (not self.system_id or system_id == self.system_id) and (
                not self.password or password == self.password
            )
            status = pdu.ESME_ROK if ok else pdu.ESME_RBINDFAIL
            esme.send(pdu.bind_resp(command, received.sequence, system_id="fake-smsc", status=status))
            esme.bound = ok
            self.stats.binds += int(ok)
            return ok
        if command == Command.SUBMIT_SM and esme.bound:
            self._submit(esme, received)
        elif command == Command.ENQUIRE_LINK:
            esme.send(pdu.enquire_link_resp(received.sequence))
        elif command == Command.UNBIND:
            esme.send(pdu.unbind_resp(received.sequence))
            return False
        elif command == Command.DELIVER_SM | Command.RESP:
            name = pdu.status_name(received.status)
            self.stats.deliver_answers[name] = self.stats.deliver_answers.get(name, 0) + 1
        elif received.is_response:
            pass
        else:
            esme.send(pdu.generic_nack(received.sequence, pdu.ESME_RINVCMDID))
        return True

    def _submit(self, esme: _Esme, received: pdu.Pdu) -> None:
        try:
            message = pdu.decode_short_message(received.raw)
        except pdu.PduError as exc:
            esme.send(pdu.submit_sm_resp(received.sequence, status=exc.status))
            return
        self.stats.submits += 1
        key = (message.destination_addr, message.short_message)
        self.stats.seen[key] = self.stats.seen.get(key, 0) + 1
        if self.stats.seen[key] > 1:
            self.stats.duplicates += 1
        self._next_id += 1
        message_id = f"{self._next_id:010x}"
        answer = pdu.submit_sm_resp(received.sequence, message_id=message_id)
        loop = asyncio.get_running_loop()
        if self.latency:
            loop.call_later(self.latency, esme.send, answer)
        else:
            esme.send(answer)
        if message.registered_delivery & 0x01:
            loop.call_later(self.latency + self.receipt_delay, self._receipt, esme, message, message_id)
        last_part = not (message.esm_class & pdu.ESM_UDHI) or (
            len(message.short_message) > 5 and message.short_message[4] == message.short_message[5]
        )
        if self.reply_rate and last_part and self.random.random() < self.reply_rate:
            loop.call_later(self.latency + self.receipt_delay * 2, self._reply, esme, message)

    def _receipt(self, esme: _Esme, message: pdu.ShortMessage, message_id: str) -> None:
        if esme.closed:
            return
        undeliverable = self.random.random() < self.undeliverable_rate
        stat, err = ("UNDELIV", "001") if undeliverable else ("DELIVRD", "000")
        stamp = datetime.datetime.now().strftime("%y%m%d%H%M")
        text = (
            f"id:{message_id} sub:001 dlvrd:{'000' if undeliverable else '001'} submit date:{stamp} "
            f"done date:{stamp} stat:{stat} err:{err} text:"
        ).encode("ascii") + message.short_message[-20:]
        esme.send(
            pdu.deliver_sm(
                esme.next_sequence(),
                source=message.destination_addr,
                destination=message.source_addr,
                short_message=text,
                esm_class=pdu.ESM_SMSC_RECEIPT,
                tlvs=[
                    (pdu.TLV_RECEIPTED_MESSAGE_ID, message_id.encode() + b"\x00"),
                    (pdu.TLV_MESSAGE_STATE, bytes((5 if undeliverable else 2,))),
                ],
            )
        )
        self.stats.receipts_sent += 1

    def _reply(self, esme: _Esme, message: pdu.ShortMessage) -> None:
        if esme.closed:
            return
        sender = message.destination_addr
        esme.send(
            pdu.deliver_sm(
                esme.next_sequence(),
                source=sender,
                destination=message.source_addr,
                short_message=self.random.choice(REPLIES).encode("utf-16-be"),
                data_coding=0x08,
            )
        )
        self.stats.replies_sent += 1


class _Esme:
    def __init__(self, writer: asyncio.StreamWriter):
        self.writer = writer
        self.bound = False
        self.closed = False
        self._sequence = 0

    def send(self, data: bytes) -> None:
        if not self.closed and not self.writer.is_closing():
            self.writer.write(data)

    def next_sequence(self) -> int:
        self._sequence = self._sequence % 0x7FFFFFFF + 1
        return self._sequence
