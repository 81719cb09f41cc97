"""CMPP 2.0 and 3.0 PDUs (China Mobile Peer to Peer), encoded and decoded byte for byte.

Every PDU is a 12-octet header — Total_Length (the whole PDU, header included),
Command_Id, Sequence_Id, each an unsigned 32-bit integer in network byte order — then
the body. Integers are unsigned and big-endian; an "octet string" has a fixed length, is
left-aligned and padded with NUL on the right. The layouts below follow the
specification's field tables (CMPP 2.0 of April 2002, CMPP 3.0); where the versions
differ it is said at the field.

Decoding is for data a peer sent, which may be anything: `read_frame` bounds the
Total_Length before reading the body (per command: no peer needs more than the longest
legal PDU of that kind), and `decode` raises nothing but `PduError` on a truncated,
oversized or malformed PDU. Encoding raises `PduError` for a value that does not fit its
field (our own mistake or a bad setting), never truncating it silently.
"""

from __future__ import annotations

import asyncio
import datetime
import enum
import hashlib
import struct
from dataclasses import dataclass
from typing import ClassVar
from zoneinfo import ZoneInfo

SHANGHAI = ZoneInfo("Asia/Shanghai")  # CMPP's times (timestamps, Msg_Id, report times) are Beijing time


class PduError(ValueError):
    """A PDU that cannot be decoded (or a value that cannot be encoded), with the reason."""


class Version(enum.IntEnum):
    """The Version octet of CMPP_CONNECT: major version in the high nibble, minor in the low."""

    V2_0 = 0x20
    V3_0 = 0x30

    @property
    def label(self) -> str:
        return f"{self.value >> 4}.{self.value & 0x0F}"

    @classmethod
    def from_label(cls, label: str) -> Version:
        for version in cls:
            if version.label == label:
                return version
        raise ValueError(label)


class Command(enum.IntEnum):
    CONNECT = 0x00000001
    CONNECT_RESP = 0x80000001
    TERMINATE = 0x00000002
    TERMINATE_RESP = 0x80000002
    SUBMIT = 0x00000004
    SUBMIT_RESP = 0x80000004
    DELIVER = 0x00000005
    DELIVER_RESP = 0x80000005
    QUERY = 0x00000006
    QUERY_RESP = 0x80000006
    CANCEL = 0x00000007
    CANCEL_RESP = 0x80000007
    ACTIVE_TEST = 0x00000008
    ACTIVE_TEST_RESP = 0x80000008


def command_name(command_id: int) -> str:
    try:
        return "CMPP_" + Command(command_id).name
    except ValueError:
        return f"Command_Id 0x{command_id:08X}"


HEADER = struct.Struct(">III")
HEADER_LENGTH = HEADER.size  # 12

# Msg_Fmt values (the specification's table).
FMT_ASCII, FMT_CARD, FMT_BINARY, FMT_UCS2, FMT_GBK = 0, 3, 4, 8, 15

# The longest legal body of each command, in either version (a wider Total_Length is refused
# before its body is read). CMPP_SUBMIT: 3.0, 100 destinations of 32 octets, 255 octets of
# content: 129 + 100×32 + 1 + 1 + 255 + 20 = 3,606. CMPP_DELIVER: 3.0, 77 + 255 + 20 = 352.
MAX_DESTINATIONS = 100
_MAX_BODY = {
    Command.CONNECT: 27,
    Command.CONNECT_RESP: 21,
    Command.TERMINATE: 0,
    Command.TERMINATE_RESP: 0,
    Command.SUBMIT: 129 + MAX_DESTINATIONS * 32 + 1 + 1 + 255 + 20,
    Command.SUBMIT_RESP: 12,
    Command.DELIVER: 77 + 255 + 20,
    Command.DELIVER_RESP: 12,
    Command.ACTIVE_TEST: 0,
    Command.ACTIVE_TEST_RESP: 1,
}
MAX_UNKNOWN_BODY = 4096 - HEADER_LENGTH  # a command we do not speak (CMPP_QUERY_RESP…) is skipped
MAX_TOTAL_LENGTH = HEADER_LENGTH + max(max(_MAX_BODY.values()), MAX_UNKNOWN_BODY)


def check_total_length(total_length: int, command_id: int) -> None:
    """Refuse a Total_Length no PDU of this command may have (before reading its body)."""
    if total_length < HEADER_LENGTH:
        raise PduError(f"Total_Length {total_length} is shorter than the 12-octet header")
    limit = _MAX_BODY.get(command_id, MAX_UNKNOWN_BODY)
    if total_length - HEADER_LENGTH > limit:
        raise PduError(
            f"{command_name(command_id)} with Total_Length {total_length}: at most {HEADER_LENGTH + limit}"
        )


async def read_frame(reader: asyncio.StreamReader) -> bytes:
    """One whole PDU from the stream (header included), its length bounded before it is read.

    Raises `asyncio.IncompleteReadError` when the stream ends (an empty `partial` means it
    ended cleanly between PDUs) and `PduError` for an impossible Total_Length, after which
    the stream cannot be trusted any more.
    """
    head = await reader.readexactly(HEADER_LENGTH)
    total_length, command_id, _sequence_id = HEADER.unpack(head)
    check_total_length(total_length, command_id)
    if total_length == HEADER_LENGTH:
        return head
    return head + await reader.readexactly(total_length - HEADER_LENGTH)


# --- field helpers -----------------------------------------------------------------------


def _octets(value: str, size: int, field: str) -> bytes:
    try:
        raw = value.encode("ascii")
    except UnicodeEncodeError:
        raise PduError(f"{field} must be ASCII: {value!r}") from None
    if len(raw) > size:
        raise PduError(f"{field} takes at most {size} octets: {value!r}")
    return raw.ljust(size, b"\0")


def _raw_octets(value: bytes, size: int, field: str) -> bytes:
    if len(value) > size:
        raise PduError(f"{field} takes at most {size} octets")
    return value.ljust(size, b"\0")


def _u8(value: int, field: str) -> bytes:
    if not 0 <= value <= 0xFF:
        raise PduError(f"{field} must fit one octet: {value}")
    return bytes((value,))


def _u32(value: int, field: str) -> bytes:
    if not 0 <= value <= 0xFFFFFFFF:
        raise PduError(f"{field} must fit four octets: {value}")
    return value.to_bytes(4, "big")


def _u64(value: int, field: str) -> bytes:
    if not 0 <= value <= 0xFFFFFFFFFFFFFFFF:
        raise PduError(f"{field} must fit eight octets: {value}")
    return value.to_bytes(8, "big")


def octet_text(raw: bytes) -> str:
    """An octet string as text: up to its first NUL, non-ASCII octets replaced (never a NUL)."""
    end = raw.find(b"\0")
    return (raw if end < 0 else raw[:end]).decode("ascii", errors="replace")


class _Reader:
    """Reads fields from a body, with the PDU's name in every complaint."""

    __slots__ = ("data", "pos", "what")

    def __init__(self, data: bytes, what: str):
        self.data, self.pos, self.what = data, 0, what

    def take(self, size: int, field: str) -> bytes:
        end = self.pos + size
        if end > len(self.data):
            raise PduError(f"{self.what} truncated at {field}: {len(self.data)}-octet body")
        chunk = self.data[self.pos : end]
        self.pos = end
        return chunk

    def u8(self, field: str) -> int:
        return self.take(1, field)[0]

    def u32(self, field: str) -> int:
        return int.from_bytes(self.take(4, field), "big")

    def u64(self, field: str) -> int:
        return int.from_bytes(self.take(8, field), "big")

    def text(self, size: int, field: str) -> str:
        return octet_text(self.take(size, field))

    def end(self) -> None:
        if self.pos != len(self.data):
            raise PduError(f"{self.what} oversized: {len(self.data) - self.pos} octets after its last field")


# --- the 64-bit Msg_Id ---------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class MsgId:
    """What an ISMG's Msg_Id says (unsigned 64 bits, most significant first):

    bits 64–61 month, 60–56 day, 55–51 hour, 50–45 minute, 44–39 second (Beijing time),
    38–17 the ISMG's code, 16–1 a sequence number. From August on the top bit is set, so
    it overflows a signed 64-bit integer: we carry it as its decimal string.
    """

    month: int
    day: int
    hour: int
    minute: int
    second: int
    gateway: int
    sequence: int

    @classmethod
    def unpack(cls, value: int) -> MsgId:
        if not 0 <= value <= 0xFFFFFFFFFFFFFFFF:
            raise PduError(f"Msg_Id must fit 64 bits: {value}")
        return cls(
            month=value >> 60,
            day=(value >> 55) & 0x1F,
            hour=(value >> 50) & 0x1F,
            minute=(value >> 44) & 0x3F,
            second=(value >> 38) & 0x3F,
            gateway=(value >> 16) & 0x3FFFFF,
            sequence=value & 0xFFFF,
        )

    def pack(self) -> int:
        limits = (
            ("month", self.month, 15),
            ("day", self.day, 31),
            ("hour", self.hour, 31),
            ("minute", self.minute, 63),
            ("second", self.second, 63),
            ("gateway", self.gateway, 0x3FFFFF),
            ("sequence", self.sequence, 0xFFFF),
        )
        for name, value, limit in limits:
            if not 0 <= value <= limit:
                raise PduError(f"Msg_Id {name} out of range: {value}")
        return (
            self.month << 60
            | self.day << 55
            | self.hour << 50
            | self.minute << 44
            | self.second << 38
            | self.gateway << 16
            | self.sequence
        )

    @property
    def time_label(self) -> str:
        """MMDDHHMMSS, as the Msg_Id says it (it carries no year)."""
        return f"{self.month:02}{self.day:02}{self.hour:02}{self.minute:02}{self.second:02}"


# --- authentication ------------------------------------------------------------------------


def timestamp_label(now: datetime.datetime) -> str:
    """CMPP_CONNECT's Timestamp, MMDDHHMMSS in Beijing time (sent as the integer it spells)."""
    return now.astimezone(SHANGHAI).strftime("%m%d%H%M%S")


def authenticator_source(source_addr: str, secret: str, timestamp: str) -> bytes:
    """MD5(Source_Addr + 9 zero octets + shared secret + timestamp "MMDDHHMMSS")."""
    material = source_addr.encode("ascii") + bytes(9) + secret.encode("utf-8") + timestamp.encode("ascii")
    return hashlib.md5(material).digest()  # noqa: S324 - the protocol's own authenticator is MD5


def authenticator_ismg(status: int, authenticator: bytes, secret: str, *, status_octets: int) -> bytes:
    """MD5(Status + AuthenticatorSource + shared secret): Status as the PDU carries it (1 octet
    in 2.0, 4 in 3.0)."""
    material = status.to_bytes(status_octets, "big") + authenticator + secret.encode("utf-8")
    return hashlib.md5(material).digest()  # noqa: S324 - the protocol's own authenticator is MD5


# --- the PDUs ------------------------------------------------------------------------------


class Pdu:
    COMMAND: ClassVar[int]

    def body(self, version: Version) -> bytes:
        return b""

    @classmethod
    def parse(cls, body: bytes, version: Version) -> Pdu:
        _Reader(body, command_name(cls.COMMAND)).end()
        return cls()


@dataclass(frozen=True, slots=True)
class Connect(Pdu):
    """CMPP_CONNECT (SP → ISMG), the same in both versions:
    Source_Addr 6 · AuthenticatorSource 16 · Version 1 · Timestamp 4 (the integer MMDDHHMMSS)."""

    COMMAND: ClassVar[int] = Command.CONNECT
    source_addr: str
    authenticator_source: bytes
    version: int
    timestamp: int

    @classmethod
    def login(cls, *, source_addr: str, secret: str, version: Version, now: datetime.datetime) -> Connect:
        stamp = timestamp_label(now)
        return cls(
            source_addr=source_addr,
            authenticator_source=authenticator_source(source_addr, secret, stamp),
            version=int(version),
            timestamp=int(stamp),
        )

    @property
    def timestamp_label(self) -> str:
        return f"{self.timestamp:010d}"

    def body(self, version: Version) -> bytes:
        if len(self.authenticator_source) != 16:
            raise PduError("AuthenticatorSource takes 16 octets")
        return (
            _octets(self.source_addr, 6, "Source_Addr")
            + self.authenticator_source
            + _u8(self.version, "Version")
            + _u32(self.timestamp, "Timestamp")
        )

    @classmethod
    def parse(cls, body: bytes, version: Version) -> Connect:
        r = _Reader(body, "CMPP_CONNECT")
        pdu = cls(
            source_addr=r.text(6, "Source_Addr"),
            authenticator_source=r.take(16, "AuthenticatorSource"),
            version=r.u8("Version"),
            timestamp=r.u32("Timestamp"),
        )
        r.end()
        return pdu


@dataclass(frozen=True, slots=True)
class ConnectResp(Pdu):
    """CMPP_CONNECT_RESP: Status (1 octet in 2.0, 4 in 3.0) · AuthenticatorISMG 16 · Version 1.

    Decoded by its length (18 or 21 octets) whatever version was asked for: an ISMG that
    refuses our version may answer in its own layout."""

    COMMAND: ClassVar[int] = Command.CONNECT_RESP
    status: int
    authenticator_ismg: bytes
    version: int
    status_octets: int = 4

    def body(self, version: Version) -> bytes:
        if len(self.authenticator_ismg) != 16:
            raise PduError("AuthenticatorISMG takes 16 octets")
        status = _u8(self.status, "Status") if version == Version.V2_0 else _u32(self.status, "Status")
        return status + self.authenticator_ismg + _u8(self.version, "Version")

    @classmethod
    def parse(cls, body: bytes, version: Version) -> ConnectResp:
        r = _Reader(body, "CMPP_CONNECT_RESP")
        if len(body) == 18:
            status, octets = r.u8("Status"), 1
        elif len(body) == 21:
            status, octets = r.u32("Status"), 4
        else:
            raise PduError(f"CMPP_CONNECT_RESP of {len(body)} octets: 18 (2.0) or 21 (3.0)")
        pdu = cls(
            status=status,
            authenticator_ismg=r.take(16, "AuthenticatorISMG"),
            version=r.u8("Version"),
            status_octets=octets,
        )
        r.end()
        return pdu


@dataclass(frozen=True, slots=True)
class Terminate(Pdu):
    """CMPP_TERMINATE (either side): no body."""

    COMMAND: ClassVar[int] = Command.TERMINATE


@dataclass(frozen=True, slots=True)
class TerminateResp(Pdu):
    """CMPP_TERMINATE_RESP: no body."""

    COMMAND: ClassVar[int] = Command.TERMINATE_RESP


@dataclass(frozen=True, slots=True)
class ActiveTest(Pdu):
    """CMPP_ACTIVE_TEST (either side): no body."""

    COMMAND: ClassVar[int] = Command.ACTIVE_TEST


@dataclass(frozen=True, slots=True)
class ActiveTestResp(Pdu):
    """CMPP_ACTIVE_TEST_RESP: Reserved 1 (an empty body is accepted too)."""

    COMMAND: ClassVar[int] = Command.ACTIVE_TEST_RESP
    reserved: int = 0

    def body(self, version: Version) -> bytes:
        return _u8(self.reserved, "Reserved")

    @classmethod
    def parse(cls, body: bytes, version: Version) -> ActiveTestResp:
        r = _Reader(body, "CMPP_ACTIVE_TEST_RESP")
        pdu = cls(reserved=r.u8("Reserved") if body else 0)
        r.end()
        return pdu


@dataclass(frozen=True, slots=True)
class Submit(Pdu):
    """CMPP_SUBMIT (SP → ISMG). In order:

    Msg_Id 8 · Pk_total 1 · Pk_number 1 · Registered_Delivery 1 · Msg_level 1 ·
    Service_Id 10 · Fee_UserType 1 · Fee_terminal_Id 21 (3.0: 32) · [3.0: Fee_terminal_type 1] ·
    TP_pId 1 · TP_udhi 1 · Msg_Fmt 1 · Msg_src 6 · FeeType 2 · FeeCode 6 · ValId_Time 17 ·
    At_Time 17 · Src_Id 21 · DestUsr_tl 1 · Dest_terminal_Id 21 (3.0: 32) × DestUsr_tl ·
    [3.0: Dest_terminal_type 1] · Msg_Length 1 · Msg_Content Msg_Length ·
    2.0: Reserve 8 / 3.0: LinkID 20.
    """

    COMMAND: ClassVar[int] = Command.SUBMIT
    dest_terminal_ids: tuple[str, ...]
    msg_content: bytes
    msg_id: int = 0
    pk_total: int = 1
    pk_number: int = 1
    registered_delivery: int = 1
    msg_level: int = 0
    service_id: str = ""
    fee_user_type: int = 0
    fee_terminal_id: str = ""
    fee_terminal_type: int = 0  # 3.0 only
    tp_pid: int = 0
    tp_udhi: int = 0
    msg_fmt: int = 0
    msg_src: str = ""
    fee_type: str = ""
    fee_code: str = ""
    valid_time: str = ""
    at_time: str = ""
    src_id: str = ""
    dest_terminal_type: int = 0  # 3.0 only
    link_id: str = ""  # 3.0 only
    reserve: str = ""  # 2.0 only

    def body(self, version: Version) -> bytes:
        v3 = version == Version.V3_0
        terminal = 32 if v3 else 21
        if not 1 <= len(self.dest_terminal_ids) <= MAX_DESTINATIONS:
            raise PduError(f"DestUsr_tl must be 1–{MAX_DESTINATIONS}: {len(self.dest_terminal_ids)}")
        out = [
            _u64(self.msg_id, "Msg_Id"),
            _u8(self.pk_total, "Pk_total"),
            _u8(self.pk_number, "Pk_number"),
            _u8(self.registered_delivery, "Registered_Delivery"),
            _u8(self.msg_level, "Msg_level"),
            _octets(self.service_id, 10, "Service_Id"),
            _u8(self.fee_user_type, "Fee_UserType"),
            _octets(self.fee_terminal_id, terminal, "Fee_terminal_Id"),
        ]
        if v3:
            out.append(_u8(self.fee_terminal_type, "Fee_terminal_type"))
        out += [
            _u8(self.tp_pid, "TP_pId"),
            _u8(self.tp_udhi, "TP_udhi"),
            _u8(self.msg_fmt, "Msg_Fmt"),
            _octets(self.msg_src, 6, "Msg_src"),
            _octets(self.fee_type, 2, "FeeType"),
            _octets(self.fee_code, 6, "FeeCode"),
            _octets(self.valid_time, 17, "ValId_Time"),
            _octets(self.at_time, 17, "At_Time"),
            _octets(self.src_id, 21, "Src_Id"),
            _u8(len(self.dest_terminal_ids), "DestUsr_tl"),
        ]
        out += [_octets(number, terminal, "Dest_terminal_Id") for number in self.dest_terminal_ids]
        if v3:
            out.append(_u8(self.dest_terminal_type, "Dest_terminal_type"))
        out += [_u8(len(self.msg_content), "Msg_Length"), self.msg_content]
        out.append(_octets(self.link_id, 20, "LinkID") if v3 else _octets(self.reserve, 8, "Reserve"))
        return b"".join(out)

    @classmethod
    def parse(cls, body: bytes, version: Version) -> Submit:
        v3 = version == Version.V3_0
        terminal = 32 if v3 else 21
        r = _Reader(body, "CMPP_SUBMIT")
        fields: dict = {
            "msg_id": r.u64("Msg_Id"),
            "pk_total": r.u8("Pk_total"),
            "pk_number": r.u8("Pk_number"),
            "registered_delivery": r.u8("Registered_Delivery"),
            "msg_level": r.u8("Msg_level"),
            "service_id": r.text(10, "Service_Id"),
            "fee_user_type": r.u8("Fee_UserType"),
            "fee_terminal_id": r.text(terminal, "Fee_terminal_Id"),
        }
        if v3:
            fields["fee_terminal_type"] = r.u8("Fee_terminal_type")
        fields.update(
            tp_pid=r.u8("TP_pId"),
            tp_udhi=r.u8("TP_udhi"),
            msg_fmt=r.u8("Msg_Fmt"),
            msg_src=r.text(6, "Msg_src"),
            fee_type=r.text(2, "FeeType"),
            fee_code=r.text(6, "FeeCode"),
            valid_time=r.text(17, "ValId_Time"),
            at_time=r.text(17, "At_Time"),
            src_id=r.text(21, "Src_Id"),
        )
        count = r.u8("DestUsr_tl")
        if not 1 <= count <= MAX_DESTINATIONS:
            raise PduError(f"CMPP_SUBMIT with DestUsr_tl {count}: 1–{MAX_DESTINATIONS}")
        fields["dest_terminal_ids"] = tuple(r.text(terminal, "Dest_terminal_Id") for _ in range(count))
        if v3:
            fields["dest_terminal_type"] = r.u8("Dest_terminal_type")
        length = r.u8("Msg_Length")
        fields["msg_content"] = r.take(length, "Msg_Content")
        if v3:
            fields["link_id"] = r.text(20, "LinkID")
        else:
            fields["reserve"] = r.text(8, "Reserve")
        r.end()
        return cls(**fields)


@dataclass(frozen=True, slots=True)
class SubmitResp(Pdu):
    """CMPP_SUBMIT_RESP: Msg_Id 8 · Result (1 octet in 2.0, 4 in 3.0)."""

    COMMAND: ClassVar[int] = Command.SUBMIT_RESP
    msg_id: int
    result: int

    def body(self, version: Version) -> bytes:
        result = _u8(self.result, "Result") if version == Version.V2_0 else _u32(self.result, "Result")
        return _u64(self.msg_id, "Msg_Id") + result

    @classmethod
    def parse(cls, body: bytes, version: Version) -> SubmitResp:
        return cls(*_msg_id_and_result(body, "CMPP_SUBMIT_RESP", version))


def _msg_id_and_result(body: bytes, what: str, version: Version) -> tuple[int, int]:
    r = _Reader(body, what)
    msg_id = r.u64("Msg_Id")
    result = r.u8("Result") if version == Version.V2_0 else r.u32("Result")
    r.end()
    return msg_id, result


@dataclass(frozen=True, slots=True)
class StatusReport:
    """The Msg_Content of a CMPP_DELIVER with Registered_Delivery 1:

    Msg_Id 8 (the id the ISMG gave the submit) · Stat 7 · Submit_time 10 (YYMMDDHHMM) ·
    Done_time 10 · Dest_terminal_Id 21 (3.0: 32) · SMSC_sequence 4 — 60 octets in 2.0, 71
    in 3.0. Decoded by its length, whatever the connection's version."""

    msg_id: int
    stat: str
    submit_time: str
    done_time: str
    dest_terminal_id: str
    smsc_sequence: int = 0

    LENGTHS: ClassVar[dict[int, int]] = {60: 21, 71: 32}

    def encode(self, version: Version) -> bytes:
        terminal = 32 if version == Version.V3_0 else 21
        return (
            _u64(self.msg_id, "Msg_Id")
            + _octets(self.stat, 7, "Stat")
            + _octets(self.submit_time, 10, "Submit_time")
            + _octets(self.done_time, 10, "Done_time")
            + _octets(self.dest_terminal_id, terminal, "Dest_terminal_Id")
            + _u32(self.smsc_sequence, "SMSC_sequence")
        )

    @classmethod
    def decode(cls, content: bytes) -> StatusReport:
        terminal = cls.LENGTHS.get(len(content))
        if terminal is None:
            raise PduError(f"status report of {len(content)} octets: 60 (2.0) or 71 (3.0)")
        r = _Reader(content, "status report")
        report = cls(
            msg_id=r.u64("Msg_Id"),
            stat=r.text(7, "Stat"),
            submit_time=r.text(10, "Submit_time"),
            done_time=r.text(10, "Done_time"),
            dest_terminal_id=r.text(terminal, "Dest_terminal_Id"),
            smsc_sequence=r.u32("SMSC_sequence"),
        )
        r.end()
        return report


@dataclass(frozen=True, slots=True)
class Deliver(Pdu):
    """CMPP_DELIVER (ISMG → SP): a customer's message, or a status report. In order:

    Msg_Id 8 · Dest_Id 21 · Service_Id 10 · TP_pid 1 · TP_udhi 1 · Msg_Fmt 1 ·
    Src_terminal_Id 21 (3.0: 32) · [3.0: Src_terminal_type 1] · Registered_Delivery 1
    (1: a status report) · Msg_Length 1 · Msg_Content Msg_Length · 2.0: Reserved 8 /
    3.0: LinkID 20.
    """

    COMMAND: ClassVar[int] = Command.DELIVER
    msg_id: int
    dest_id: str
    src_terminal_id: str
    msg_content: bytes
    service_id: str = ""
    tp_pid: int = 0
    tp_udhi: int = 0
    msg_fmt: int = 0
    src_terminal_type: int = 0  # 3.0 only
    registered_delivery: int = 0
    link_id: str = ""  # 3.0 only
    reserved: str = ""  # 2.0 only

    @property
    def is_report(self) -> bool:
        return self.registered_delivery == 1

    def report(self) -> StatusReport:
        """The status report this DELIVER carries (PduError if it is not one or is malformed)."""
        if not self.is_report:
            raise PduError("this CMPP_DELIVER is not a status report")
        return StatusReport.decode(self.msg_content)

    def body(self, version: Version) -> bytes:
        v3 = version == Version.V3_0
        out = [
            _u64(self.msg_id, "Msg_Id"),
            _octets(self.dest_id, 21, "Dest_Id"),
            _octets(self.service_id, 10, "Service_Id"),
            _u8(self.tp_pid, "TP_pid"),
            _u8(self.tp_udhi, "TP_udhi"),
            _u8(self.msg_fmt, "Msg_Fmt"),
            _octets(self.src_terminal_id, 32 if v3 else 21, "Src_terminal_Id"),
        ]
        if v3:
            out.append(_u8(self.src_terminal_type, "Src_terminal_type"))
        out += [
            _u8(self.registered_delivery, "Registered_Delivery"),
            _u8(len(self.msg_content), "Msg_Length"),
            self.msg_content,
            _octets(self.link_id, 20, "LinkID") if v3 else _octets(self.reserved, 8, "Reserved"),
        ]
        return b"".join(out)

    @classmethod
    def parse(cls, body: bytes, version: Version) -> Deliver:
        v3 = version == Version.V3_0
        r = _Reader(body, "CMPP_DELIVER")
        fields: dict = {
            "msg_id": r.u64("Msg_Id"),
            "dest_id": r.text(21, "Dest_Id"),
            "service_id": r.text(10, "Service_Id"),
            "tp_pid": r.u8("TP_pid"),
            "tp_udhi": r.u8("TP_udhi"),
            "msg_fmt": r.u8("Msg_Fmt"),
            "src_terminal_id": r.text(32 if v3 else 21, "Src_terminal_Id"),
        }
        if v3:
            fields["src_terminal_type"] = r.u8("Src_terminal_type")
        fields["registered_delivery"] = r.u8("Registered_Delivery")
        length = r.u8("Msg_Length")
        fields["msg_content"] = r.take(length, "Msg_Content")
        if v3:
            fields["link_id"] = r.text(20, "LinkID")
        else:
            fields["reserved"] = r.text(8, "Reserved")
        r.end()
        return cls(**fields)


@dataclass(frozen=True, slots=True)
class DeliverResp(Pdu):
    """CMPP_DELIVER_RESP (SP → ISMG): Msg_Id 8 (the DELIVER's) · Result (1 octet in 2.0, 4 in 3.0)."""

    COMMAND: ClassVar[int] = Command.DELIVER_RESP
    msg_id: int
    result: int

    def body(self, version: Version) -> bytes:
        result = _u8(self.result, "Result") if version == Version.V2_0 else _u32(self.result, "Result")
        return _u64(self.msg_id, "Msg_Id") + result

    @classmethod
    def parse(cls, body: bytes, version: Version) -> DeliverResp:
        return cls(*_msg_id_and_result(body, "CMPP_DELIVER_RESP", version))


@dataclass(frozen=True, slots=True)
class Unknown(Pdu):
    """A well-framed PDU of a command we do not speak (CMPP_QUERY_RESP, CMPP_CANCEL…)."""

    command_id: int
    body_octets: bytes

    @property
    def COMMAND(self) -> int:  # noqa: N802 - mirrors the class attribute of the known PDUs
        return self.command_id

    def body(self, version: Version) -> bytes:
        return self.body_octets


_KINDS: dict[int, type[Pdu]] = {
    kind.COMMAND: kind
    for kind in (
        Connect,
        ConnectResp,
        Terminate,
        TerminateResp,
        ActiveTest,
        ActiveTestResp,
        Submit,
        SubmitResp,
        Deliver,
        DeliverResp,
    )
}


@dataclass(frozen=True, slots=True)
class Frame:
    sequence_id: int
    pdu: Pdu


def encode(pdu: Pdu, *, sequence_id: int, version: Version) -> bytes:
    """The PDU's octets, header included, in the layout of `version`."""
    body = pdu.body(version)
    if not 0 <= sequence_id <= 0xFFFFFFFF:
        raise PduError(f"Sequence_Id must fit four octets: {sequence_id}")
    return HEADER.pack(HEADER_LENGTH + len(body), pdu.COMMAND, sequence_id) + body


def peek_header(frame: bytes) -> tuple[int, int, int]:
    """(Total_Length, Command_Id, Sequence_Id) of a frame, PduError if it has no whole header."""
    if len(frame) < HEADER_LENGTH:
        raise PduError(f"{len(frame)} octets: shorter than the 12-octet header")
    return HEADER.unpack_from(frame)


def decode(frame: bytes, *, version: Version) -> Frame:
    """One whole PDU (header included) in the layout of `version`; PduError if it is not one."""
    total_length, command_id, sequence_id = peek_header(frame)
    check_total_length(total_length, command_id)
    if total_length != len(frame):
        raise PduError(f"Total_Length {total_length} but {len(frame)} octets")
    body = frame[HEADER_LENGTH:]
    kind = _KINDS.get(command_id)
    if kind is None:
        return Frame(sequence_id, Unknown(command_id, body))
    return Frame(sequence_id, kind.parse(body, version))


# --- what the numbers mean ----------------------------------------------------------------

CONNECT_STATUS = {
    0: "correct",
    1: "message structure error",
    2: "illegal source address",
    3: "authentication failed",
    4: "version too high",
}
SUBMIT_RESULT = {
    0: "correct",
    1: "message structure error",
    2: "command word error",
    3: "duplicate message sequence",
    4: "message length error",
    5: "fee code error",
    6: "message too long",
    7: "service id error",
    8: "flow control",
    # 3.0 names these; in 2.0 everything from 9 on is "other error".
    9: "this ISMG does not serve the charged number",
    10: "Src_Id error",
    11: "Msg_src error",
    12: "Fee_terminal_Id error",
    13: "Dest_terminal_Id error",
}
RESULT_FLOW_CONTROL = 8


def connect_status_text(status: int) -> str:
    return CONNECT_STATUS.get(status, "other error")


def submit_result_text(result: int, version: Version) -> str:
    if version == Version.V2_0 and result >= 9:
        return "other error"
    return SUBMIT_RESULT.get(result, "other error")
