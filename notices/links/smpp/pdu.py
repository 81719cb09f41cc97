"""SMPP 3.4 PDUs: framing, the status names, and the few bodies the codec leaves raw.

`submit_sm` and `deliver_sm` (the PDUs with many fields and optional parameters) are
encoded and decoded by smpp34's codec; the rest are a header and at most a C-string or
two, written here. Used by our ESME session and by `fake_smsc`.
"""

from __future__ import annotations

import re
import struct
from dataclasses import dataclass

import smpp34

from ..parts import Alphabet, decode

HEADER = struct.Struct(">IIII")
MAX_PDU = 64 * 1024  # a longer command_length is a broken or hostile peer


class Command:
    GENERIC_NACK = 0x80000000
    BIND_RECEIVER = 0x00000001
    BIND_TRANSMITTER = 0x00000002
    QUERY_SM = 0x00000003
    SUBMIT_SM = 0x00000004
    DELIVER_SM = 0x00000005
    UNBIND = 0x00000006
    REPLACE_SM = 0x00000007
    CANCEL_SM = 0x00000008
    BIND_TRANSCEIVER = 0x00000009
    OUTBIND = 0x0000000B
    ENQUIRE_LINK = 0x00000015
    SUBMIT_MULTI = 0x00000021
    ALERT_NOTIFICATION = 0x00000102
    DATA_SM = 0x00000103
    RESP = 0x80000000


# SMPP 3.4, section 5.1.3: command_status values and their names.
STATUS_NAMES = {
    0x00: "ESME_ROK",
    0x01: "ESME_RINVMSGLEN",
    0x02: "ESME_RINVCMDLEN",
    0x03: "ESME_RINVCMDID",
    0x04: "ESME_RINVBNDSTS",
    0x05: "ESME_RALYBND",
    0x06: "ESME_RINVPRTFLG",
    0x07: "ESME_RINVREGDLVFLG",
    0x08: "ESME_RSYSERR",
    0x0A: "ESME_RINVSRCADR",
    0x0B: "ESME_RINVDSTADR",
    0x0C: "ESME_RINVMSGID",
    0x0D: "ESME_RBINDFAIL",
    0x0E: "ESME_RINVPASWD",
    0x0F: "ESME_RINVSYSID",
    0x11: "ESME_RCANCELFAIL",
    0x13: "ESME_RREPLACEFAIL",
    0x14: "ESME_RMSGQFUL",
    0x15: "ESME_RINVSERTYP",
    0x33: "ESME_RINVNUMDESTS",
    0x34: "ESME_RINVDLNAME",
    0x40: "ESME_RINVDESTFLAG",
    0x42: "ESME_RINVSUBREP",
    0x43: "ESME_RINVESMCLASS",
    0x44: "ESME_RCNTSUBDL",
    0x45: "ESME_RSUBMITFAIL",
    0x48: "ESME_RINVSRCTON",
    0x49: "ESME_RINVSRCNPI",
    0x50: "ESME_RINVDSTTON",
    0x51: "ESME_RINVDSTNPI",
    0x53: "ESME_RINVSYSTYP",
    0x54: "ESME_RINVREPFLAG",
    0x55: "ESME_RINVNUMMSGS",
    0x58: "ESME_RTHROTTLED",
    0x61: "ESME_RINVSCHED",
    0x62: "ESME_RINVEXPIRY",
    0x63: "ESME_RINVDFTMSGID",
    0x64: "ESME_RX_T_APPN",
    0x65: "ESME_RX_P_APPN",
    0x66: "ESME_RX_R_APPN",
    0x67: "ESME_RQUERYFAIL",
    0xC0: "ESME_RINVOPTPARSTREAM",
    0xC1: "ESME_ROPTPARNOTALLWD",
    0xC2: "ESME_RINVPARLEN",
    0xC3: "ESME_RMISSINGOPTPARAM",
    0xC4: "ESME_RINVOPTPARAMVAL",
    0xFE: "ESME_RDELIVERYFAILURE",
    0xFF: "ESME_RUNKNOWNERR",
}
STATUS_CODES = {name: code for code, name in STATUS_NAMES.items()}
ESME_ROK = 0x00
ESME_RSYSERR = 0x08
ESME_RINVCMDID = 0x03
ESME_RINVCMDLEN = 0x02
ESME_RBINDFAIL = 0x0D
ESME_RMSGQFUL = 0x14
ESME_RTHROTTLED = 0x58
ESME_RX_T_APPN = 0x64
THROTTLING = frozenset({ESME_RTHROTTLED, ESME_RMSGQFUL})

# Optional parameter tags this side reads or writes.
TLV_RECEIPTED_MESSAGE_ID = 0x001E
TLV_MESSAGE_STATE = 0x0427
TLV_NETWORK_ERROR_CODE = 0x0423
TLV_MESSAGE_PAYLOAD = 0x0424
TLV_SAR_MSG_REF_NUM = 0x020C
TLV_SAR_TOTAL_SEGMENTS = 0x020E
TLV_SAR_SEGMENT_SEQNUM = 0x020F

# message_state (SMPP 3.4, 5.2.28) as the receipt text's stat: spells it.
MESSAGE_STATES = {
    1: "ENROUTE",
    2: "DELIVRD",
    3: "EXPIRED",
    4: "DELETED",
    5: "UNDELIV",
    6: "ACCEPTD",
    7: "UNKNOWN",
    8: "REJECTD",
}

ESM_UDHI = 0x40
ESM_TYPE_MASK = 0x3C
ESM_SMSC_RECEIPT = 0x04
ESM_INTERMEDIATE = 0x20


def status_name(status: int) -> str:
    """ "ESME_RINVDSTADR"; a vendor or unknown value as "ESME_0x00000401"."""
    return STATUS_NAMES.get(status) or f"ESME_0x{status:08X}"


class PduError(Exception):
    """A PDU this side cannot read; `status` is what to answer the peer."""

    def __init__(self, message: str, status: int = ESME_RINVCMDLEN):
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class Pdu:
    command_id: int
    status: int
    sequence: int
    body: bytes
    raw: bytes

    @property
    def is_response(self) -> bool:
        return bool(self.command_id & Command.RESP)


def parse_length(prefix: bytes) -> int:
    """The command_length of the PDU whose first four octets these are (checked)."""
    (length,) = struct.unpack(">I", prefix)
    if not HEADER.size <= length <= MAX_PDU:
        raise PduError(f"command_length {length} out of range")
    return length


def parse(raw: bytes) -> Pdu:
    """Split one whole PDU into header fields and body."""
    length, command_id, status, sequence = HEADER.unpack_from(raw)
    if length != len(raw):
        raise PduError(f"command_length {length} but {len(raw)} octets")
    return Pdu(command_id, status, sequence, raw[HEADER.size :], raw)


def frame(command_id: int, sequence: int, body: bytes = b"", status: int = ESME_ROK) -> bytes:
    return HEADER.pack(HEADER.size + len(body), command_id, status, sequence) + body


def c_string(value: str) -> bytes:
    return value.encode("latin-1") + b"\x00"


def read_c_string(body: bytes, offset: int = 0) -> tuple[str, int]:
    """(the C-octet string at offset, the offset after its NUL); a missing NUL is an error."""
    end = body.find(b"\x00", offset)
    if end < 0:
        raise PduError("C-octet string without its NUL", status=0xC2)
    return body[offset:end].decode("latin-1"), end + 1


# --- the small PDUs -------------------------------------------------------------------


def bind_transceiver(
    sequence: int,
    *,
    system_id: str,
    password: str,
    system_type: str = "",
    addr_ton: int = 0,
    addr_npi: int = 0,
    address_range: str = "",
) -> bytes:
    body = (
        c_string(system_id)
        + c_string(password)
        + c_string(system_type)
        + bytes((0x34, addr_ton, addr_npi))
        + c_string(address_range)
    )
    return frame(Command.BIND_TRANSCEIVER, sequence, body)


def parse_bind(body: bytes) -> tuple[str, str, str]:
    """(system_id, password, system_type) of a bind request (fake SMSC)."""
    system_id, offset = read_c_string(body)
    password, offset = read_c_string(body, offset)
    system_type, offset = read_c_string(body, offset)
    return system_id, password, system_type


def bind_resp(command_id: int, sequence: int, *, system_id: str, status: int = ESME_ROK) -> bytes:
    body = c_string(system_id) if status == ESME_ROK else b""
    return frame(command_id | Command.RESP, sequence, body, status)


def submit_sm_resp(sequence: int, *, message_id: str = "", status: int = ESME_ROK) -> bytes:
    # SMPP 3.4, 4.4.2: the body is not returned when the status is an error.
    body = c_string(message_id) if status == ESME_ROK else b""
    return frame(Command.SUBMIT_SM | Command.RESP, sequence, body, status)


def parse_message_id(body: bytes) -> str:
    """submit_sm_resp's message_id (tolerating a peer that leaves off the NUL)."""
    if not body:
        return ""
    end = body.find(b"\x00")
    return body[: end if end >= 0 else len(body)].decode("latin-1")


def deliver_sm_resp(sequence: int, *, status: int = ESME_ROK) -> bytes:
    return frame(Command.DELIVER_SM | Command.RESP, sequence, b"\x00", status)


def enquire_link(sequence: int) -> bytes:
    return frame(Command.ENQUIRE_LINK, sequence)


def enquire_link_resp(sequence: int) -> bytes:
    return frame(Command.ENQUIRE_LINK | Command.RESP, sequence)


def unbind(sequence: int) -> bytes:
    return frame(Command.UNBIND, sequence)


def unbind_resp(sequence: int) -> bytes:
    return frame(Command.UNBIND | Command.RESP, sequence)


def generic_nack(sequence: int, status: int) -> bytes:
    return frame(Command.GENERIC_NACK, sequence, status=status)


# --- submit_sm / deliver_sm (smpp34's codec) --------------------------------------------


def address(value: str) -> tuple[str, int, int]:
    """(address, TON, NPI): "+86138…" is international ISDN, other digits unknown, letters alphanumeric."""
    if value.startswith("+") and value[1:].isdigit():
        return value[1:], 1, 1
    if value.isdigit() or not value:
        return value, 0, 0
    return value, 5, 0


def submit_sm(
    sequence: int,
    *,
    source: str,
    destination: str,
    short_message: bytes,
    data_coding: int,
    esm_class: int = 0,
    registered_delivery: int = 1,
    service_type: str = "",
) -> bytes:
    source_addr, source_ton, source_npi = address(source)
    dest_addr, dest_ton, dest_npi = address(destination)
    return smpp34.SubmitSm(
        source_addr=source_addr,
        destination_addr=dest_addr,
        short_message=short_message,
        service_type=service_type,
        source_addr_ton=source_ton,
        source_addr_npi=source_npi,
        dest_addr_ton=dest_ton,
        dest_addr_npi=dest_npi,
        esm_class=esm_class,
        registered_delivery=registered_delivery,
        data_coding=data_coding,
        sequence_number=sequence,
    ).encode()


def deliver_sm(
    sequence: int,
    *,
    source: str,
    destination: str,
    short_message: bytes = b"",
    data_coding: int = 0,
    esm_class: int = 0,
    tlvs: list[tuple[int, bytes]] = (),
) -> bytes:
    source_addr, source_ton, source_npi = address(source)
    dest_addr, dest_ton, dest_npi = address(destination)
    return smpp34.DeliverSm(
        source_addr=source_addr,
        destination_addr=dest_addr,
        short_message=short_message,
        source_addr_ton=source_ton,
        source_addr_npi=source_npi,
        dest_addr_ton=dest_ton,
        dest_addr_npi=dest_npi,
        esm_class=esm_class,
        data_coding=data_coding,
        tlvs=[smpp34.Tlv(tag, value) for tag, value in tlvs],
        sequence_number=sequence,
    ).encode()


@dataclass(frozen=True)
class ShortMessage:
    """A decoded submit_sm or deliver_sm: the fields this side uses, bytes as received."""

    source_addr: str
    destination_addr: str
    esm_class: int
    data_coding: int
    registered_delivery: int
    short_message: bytes
    tlvs: tuple[tuple[int, bytes], ...]

    def tlv(self, tag: int) -> bytes | None:
        for key, value in self.tlvs:
            if key == tag:
                return value
        return None

    def tlv_int(self, tag: int) -> int | None:
        value = self.tlv(tag)
        return int.from_bytes(value, "big") if value else None

    @property
    def message(self) -> bytes:
        """short_message, or message_payload when the text travels there."""
        return self.short_message or self.tlv(TLV_MESSAGE_PAYLOAD) or b""


def decode_short_message(raw: bytes) -> ShortMessage:
    try:
        decoded = smpp34.decode(raw)
    except smpp34.SmppError as exc:
        raise PduError(str(exc), status=_status_of(str(exc))) from exc
    if not isinstance(decoded, smpp34.SubmitSm | smpp34.DeliverSm):
        raise PduError("not a submit_sm or deliver_sm", status=ESME_RINVCMDID)
    return ShortMessage(
        source_addr=decoded.source_addr,
        destination_addr=decoded.destination_addr,
        esm_class=decoded.esm_class,
        data_coding=decoded.data_coding,
        registered_delivery=decoded.registered_delivery,
        short_message=bytes(decoded.short_message),
        tlvs=tuple((tlv.tag, bytes(tlv.value)) for tlv in decoded.tlvs),
    )


def _status_of(message: str) -> int:
    match = re.search(r"\(0x([0-9A-Fa-f]{8})\)", message)
    return int(match.group(1), 16) if match else ESME_RSYSERR


# --- the delivery receipt text (SMPP 3.4, appendix B) ------------------------------------

_RECEIPT_FIELD = re.compile(rb"(?i)(?P<key>id|sub|dlvrd|submit date|done date|stat|err):(?P<value>\S*)")
_RECEIPT_TEXT = re.compile(rb"(?is)\btext:(?P<text>.*)$")


def parse_receipt_text(message: bytes) -> dict[str, str]:
    """The fields of `id:… sub:… dlvrd:… submit date:… done date:… stat:… err:… text:…`.

    Keys are lower case with spaces as underscores ("submit_date"); `text` is left out
    (it may hold any bytes, NUL included: the caller keeps it as hex). Fields a peer
    leaves out are absent, never guessed.
    """
    text_match = _RECEIPT_TEXT.search(message)
    head = message[: text_match.start()] if text_match else message
    fields = {}
    for match in _RECEIPT_FIELD.finditer(head):
        key = match.group("key").decode("ascii").lower().replace(" ", "_")
        fields.setdefault(key, match.group("value").decode("latin-1"))
    return fields


def receipt_text_bytes(message: bytes) -> bytes | None:
    """The raw bytes after `text:`, or None when the receipt has no text field."""
    match = _RECEIPT_TEXT.search(message)
    return match.group("text") if match else None


def printable(data: bytes) -> str:
    """Bytes as text that JSON and PostgreSQL accept: printable ASCII kept, the rest \\xNN."""
    return "".join(chr(b) if 0x20 <= b < 0x7F and b != 0x5C else f"\\x{b:02x}" for b in data)


def decode_text(data: bytes, data_coding: int) -> tuple[str, str]:
    """(the text, how it was read) of an inbound message's user data; a NUL character is
    dropped (PostgreSQL stores none, and no customer types one)."""
    text, how = _decode_text(data, data_coding)
    return text.replace("\x00", ""), how


def _decode_text(data: bytes, data_coding: int) -> tuple[str, str]:
    if data_coding == 0x08:
        return decode(data, Alphabet.UCS2), "ucs2"
    if data_coding == 0x00:
        return decode(data, Alphabet.GSM7), "gsm7"
    if data_coding == 0x01:
        return data.decode("ascii", errors="replace"), "ascii"
    if data_coding == 0x03:
        return data.decode("latin-1"), "latin-1"
    if data_coding == 0x0F:  # not in SMPP 3.4, but what Chinese SMSCs use for GB text
        return data.decode("gbk", errors="replace"), "gbk"
    if data_coding & 0xF0 == 0xF0:  # GSM message class: bit 2 says 8-bit data, else GSM 7-bit
        if data_coding & 0x04:
            return data.decode("latin-1"), "latin-1"
        return decode(data, Alphabet.GSM7), "gsm7"
    return data.decode("latin-1"), f"latin-1 (data_coding {data_coding})"
