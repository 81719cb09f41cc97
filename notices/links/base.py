"""The contract between a carrier protocol and the link process.

A `LinkSession` speaks one protocol over one connection (an SMPP transceiver bind, a
CMPP connection). It knows nothing of the database: the link process claims messages
from the outbox, splits them (`parts.split`), hands each part to `submit`, and writes
what comes back. Everything the peer sends on its own (delivery receipts, customers'
messages) goes to the `on_event` callback, and the session answers the peer only after
the callback has returned, so an event the process could not store is sent again by the
peer rather than lost (a callback that raises makes the session answer with a temporary
error). Callbacks may run concurrently (several PDUs in flight), and a slow one does not
hold back the answers to submits read after it.

Outcomes of a submit, and what the link process does with each:
- ACCEPTED: the peer took the part and gave its id (`provider_id`) — kept per part, it
  is how receipts find the message;
- THROTTLED: the peer refused the part for now (SMPP ESME_RTHROTTLED / ESME_RMSGQFUL,
  CMPP Result 8): nothing was accepted, so the part is submitted again after slowing down.
  Also when the session is not open (code "not_bound"): nothing was written;
- FAILED: refused for good, `code` names the protocol's status (e.g. "ESME_RINVDSTADR",
  "cmpp:9");
- UNKNOWN: the request may have reached the peer but no answer came (connection lost,
  response timeout): never submitted again automatically.
"""

from __future__ import annotations

import abc
import datetime
import enum
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from . import parts
from .parts import Alphabet, Part


class SubmitStatus(enum.StrEnum):
    ACCEPTED = "accepted"
    THROTTLED = "throttled"
    FAILED = "failed"
    UNKNOWN = "unknown"


@dataclass(frozen=True)
class PartSubmit:
    """One part of one message, as the link process asks a session to send it."""

    client_ref: str  # the message's idempotency key (for logs; protocols do not carry it)
    to: str  # E.164, e.g. "+8613812345678"
    part: Part
    alphabet: Alphabet


@dataclass(frozen=True)
class SubmitResult:
    status: SubmitStatus
    provider_id: str = ""  # the peer's id for this part (SMPP message_id, CMPP Msg_Id as decimal)
    code: str = ""  # the protocol's status, named ("ESME_ROK", "ESME_RTHROTTLED", "cmpp:8")
    detail: str = ""


@dataclass(frozen=True)
class ReceiptEvent:
    """A delivery report for one part, as the peer sent it."""

    provider_id: str  # the id the peer gave the part when it was accepted
    stat: str  # DELIVRD, EXPIRED, DELETED, UNDELIV, ACCEPTD, UNKNOWN, REJECTD, or CMPP's own (MA:0001…)
    err: str = ""
    submitted_at: datetime.datetime | None = None
    done_at: datetime.datetime | None = None
    raw: dict = field(default_factory=dict)  # JSON-safe: bytes as hex, text without NUL
    # Where the peer says, the handset the report is about and the start of the part's
    # text (SMPP's "text:" field): how a part whose submit was never answered is found.
    recipient: str = ""
    text: str = ""

    @property
    def delivered(self) -> bool:
        return self.stat.upper() == "DELIVRD"

    @property
    def final(self) -> bool:
        """Whether the report ends the part's story (ACCEPTD and ENROUTE do not)."""
        return self.stat.upper() not in ("ACCEPTD", "ENROUTE", "")


@dataclass(frozen=True)
class InboundPartEvent:
    """A message (or one part of a long message) a customer sent.

    Parts of a long message may arrive on different connections, in any order, twice:
    the link process reassembles them in the database by (sender, reference, total).
    """

    sender: str  # as the peer gave it (normalised later)
    recipient: str
    text: str  # this part's text, decoded
    provider_id: str = ""  # the peer's id for it, when it gives one
    concatenation: tuple[int, int, int] | None = None  # (reference, total, seq)
    raw: dict = field(default_factory=dict)


LinkEvent = ReceiptEvent | InboundPartEvent
EventHandler = Callable[[LinkEvent], Awaitable[None]]


class LinkClosed(Exception):
    """The connection ended (or never opened); `reason` says why."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


@dataclass
class LinkHealth:
    """What the administrators' dashboard shows of a connection."""

    connected_since: datetime.datetime | None = None
    in_flight: int = 0
    window: int = 0
    submitted: int = 0
    throttled: int = 0
    last_error: str = ""
    last_error_at: datetime.datetime | None = None


class LinkSession(abc.ABC):
    """One connection to the peer. `open` connects and authenticates (bind, CMPP_CONNECT);
    `serve` keeps it (keep-alives, incoming PDUs) until it ends; `submit` may be called
    concurrently and waits for room in the window, then for the peer's answer."""

    kind: str = ""  # "smpp", "cmpp"

    def __init__(self, *, on_event: EventHandler, window: int):
        self.on_event = on_event
        self.window = window
        self.health = LinkHealth(window=window)

    @abc.abstractmethod
    async def open(self) -> None:
        """Connect and authenticate; raise LinkClosed with the reason when refused."""

    @abc.abstractmethod
    async def serve(self) -> None:
        """Run the connection until it ends; then raise LinkClosed. Outstanding submits
        resolve as UNKNOWN when the connection is lost."""

    def alphabet_for(self, text: str) -> Alphabet:
        """The alphabet this protocol sends the text in: split with it (`parts.split(text,
        reference=…, alphabet=session.alphabet_for(text))`) before calling `submit`. GSM 7-bit
        where the text allows by default; CMPP has no GSM 7-bit format and sends UCS2."""
        return parts.alphabet_for(text)

    @abc.abstractmethod
    async def submit(self, request: PartSubmit) -> SubmitResult:
        """Submit one part and wait for the answer (never raises for the peer's trouble).

        Raises LinkClosed only when the part was never written: the connection had already
        ended, or ended while the part waited for room in the window, or `close` had begun.
        Nothing reached the peer, so the part may go on another connection as it is."""

    @abc.abstractmethod
    async def close(self) -> None:
        """Wait for the outstanding submits, then unbind / terminate politely."""
