"""Text → SMS parts: the alphabet, the encoding and the concatenation header.

One place decides how a text travels, for every carrier link (SMPP, CMPP) and for the
part count staff see in the editor, so what they are shown is what is sent:

- text that the GSM 03.38 default alphabet can carry goes as GSM 7-bit: 160 septets in
  one SMS, 153 a part when concatenated (an extension character such as € takes two);
- anything else (Chinese) goes as UCS2 (UTF-16BE): 70 characters in one SMS, 67 a part.
  A character outside the Basic Multilingual Plane takes two UTF-16 units and is never
  split between parts.

Concatenated parts carry the 8-bit-reference UDH `05 00 03 <ref> <total> <seq>`; the
reference is the same for every part of a message (and for a part sent again).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

# GSM 03.38 default alphabet: the character at each septet value (0x1B is the escape).
_GSM_BASIC = (
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞ\x1bÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
_GSM_EXTENSION = {
    "\f": 0x0A,
    "^": 0x14,
    "{": 0x28,
    "}": 0x29,
    "\\": 0x2F,
    "[": 0x3C,
    "~": 0x3D,
    "]": 0x3E,
    "|": 0x40,
    "€": 0x65,
}
_GSM_CODE = {ch: i for i, ch in enumerate(_GSM_BASIC) if ch != "\x1b"}
_GSM_DECODE = {i: ch for ch, i in _GSM_CODE.items()}
_GSM_EXT_DECODE = {code: ch for ch, code in _GSM_EXTENSION.items()}

GSM_SINGLE, GSM_PART = 160, 153  # septets
UCS2_SINGLE, UCS2_PART = 70, 67  # UTF-16 code units


class Alphabet(enum.StrEnum):
    GSM7 = "gsm7"
    UCS2 = "ucs2"


@dataclass(frozen=True)
class Part:
    """One SMS of a message: its text, its encoded payload and, if concatenated, its UDH."""

    seq: int  # 1-based
    total: int
    text: str
    payload: bytes  # the encoded text of this part, without the UDH
    udh: bytes  # b"" for a single SMS

    @property
    def short_message(self) -> bytes:
        """What goes in the PDU's message field: the UDH (if any) then the payload."""
        return self.udh + self.payload


def gsm7_fits(text: str) -> bool:
    """Whether the GSM default alphabet (with its extension table) can carry the text."""
    return all(ch in _GSM_CODE or ch in _GSM_EXTENSION for ch in text)


def alphabet_for(text: str) -> Alphabet:
    return Alphabet.GSM7 if gsm7_fits(text) else Alphabet.UCS2


def _units(text: str, alphabet: Alphabet) -> list[tuple[str, int]]:
    """Each character with the units it takes (septets, or UTF-16 code units)."""
    if alphabet == Alphabet.GSM7:
        return [(ch, 2 if ch in _GSM_EXTENSION else 1) for ch in text]
    return [(ch, 2 if ord(ch) > 0xFFFF else 1) for ch in text]


def encode(text: str, alphabet: Alphabet) -> bytes:
    """GSM 7-bit unpacked (one septet an octet, as SMPP and CMPP carry it) or UTF-16BE."""
    if alphabet == Alphabet.UCS2:
        return text.encode("utf-16-be")
    out = bytearray()
    for ch in text:
        if ch in _GSM_EXTENSION:
            out += bytes((0x1B, _GSM_EXTENSION[ch]))
        else:
            out.append(_GSM_CODE[ch])
    return bytes(out)


def decode(payload: bytes, alphabet: Alphabet) -> str:
    """The inverse of `encode`; an unknown septet becomes U+FFFD, odd UCS2 bytes are replaced."""
    if alphabet == Alphabet.UCS2:
        return payload.decode("utf-16-be", errors="replace")
    out, escape = [], False
    for octet in payload:
        if escape:
            out.append(_GSM_EXT_DECODE.get(octet, "\ufffd"))
            escape = False
        elif octet == 0x1B:
            escape = True
        else:
            out.append(_GSM_DECODE.get(octet & 0x7F, "\ufffd"))
    return "".join(out)


def split_text(text: str, alphabet: Alphabet | None = None) -> list[str]:
    """The text of each part (one element when it fits in a single SMS)."""
    alphabet = alphabet or alphabet_for(text)
    single, per_part = (GSM_SINGLE, GSM_PART) if alphabet == Alphabet.GSM7 else (UCS2_SINGLE, UCS2_PART)
    units = _units(text, alphabet)
    if sum(n for _ch, n in units) <= single:
        return [text] if text else []
    chunks, current, used = [], [], 0
    for ch, n in units:
        if used + n > per_part:
            chunks.append("".join(current))
            current, used = [], 0
        current.append(ch)
        used += n
    if current:
        chunks.append("".join(current))
    return chunks


def part_count(text: str) -> int:
    """How many SMS the text takes."""
    return len(split_text(text))


def split(text: str, *, reference: int, alphabet: Alphabet | None = None) -> list[Part]:
    """The parts to submit for a message; `reference` (0–255) ties them together."""
    alphabet = alphabet or alphabet_for(text)
    chunks = split_text(text, alphabet)
    total = len(chunks)
    if total > 255:
        raise ValueError("a message may have at most 255 parts")
    ref = reference & 0xFF
    return [
        Part(
            seq=seq,
            total=total,
            text=chunk,
            payload=encode(chunk, alphabet),
            udh=bytes((0x05, 0x00, 0x03, ref, total, seq)) if total > 1 else b"",
        )
        for seq, chunk in enumerate(chunks, start=1)
    ]


@dataclass(frozen=True)
class Concatenation:
    """What a received message's UDH says: its reference, the part count and this part's number."""

    reference: int
    total: int
    seq: int


def parse_udh(short_message: bytes) -> tuple[Concatenation | None, bytes]:
    """(concatenation info or None, the payload after the UDH) of a message sent with UDHI set.

    Understands the 8-bit (IEI 0x00) and 16-bit (IEI 0x08) concatenation elements and skips
    any other information element. A malformed header is treated as no header.
    """
    if not short_message:
        return None, b""
    length = short_message[0]
    if length + 1 > len(short_message):
        return None, short_message
    header, payload = short_message[1 : 1 + length], short_message[1 + length :]
    found, i = None, 0
    while i + 2 <= len(header):
        iei, iel = header[i], header[i + 1]
        data = header[i + 2 : i + 2 + iel]
        if len(data) < iel:
            return None, short_message
        if iei == 0x00 and iel == 3:
            found = Concatenation(reference=data[0], total=data[1], seq=data[2])
        elif iei == 0x08 and iel == 4:
            found = Concatenation(reference=(data[0] << 8) | data[1], total=data[2], seq=data[3])
        i += 2 + iel
    if found and not (1 <= found.seq <= found.total):
        found = None
    return found, payload
