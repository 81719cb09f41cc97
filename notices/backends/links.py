"""Carrier links as SMS_BACKEND values: `smpp` and `cmpp`.

Their messages are not sent by the task queue's sender but by `manage.py sms_link`,
which holds the bind; their receipts and replies arrive over that bind. What the rest of
the app asks of a backend, these answer for a link: the sender leaves the outbox to the
link process, and a message left `sending` by a link process that died cannot be asked
about (the peer has no status call), so it becomes `unknown`, never sent again.
"""

from __future__ import annotations

from django.conf import settings
from django.utils.module_loading import import_string

from .base import BaseSmsBackend, Outcome, Outgoing, RemoteState, SendResult, StatusResult


class LinkBackend(BaseSmsBackend):
    link = True  # receipts and replies arrive over the link, not by webhooks
    kind = ""
    slots_setting = ""

    def send(self, message: Outgoing) -> SendResult:
        return SendResult(Outcome.RETRY, code="link", detail="sent by the link process (manage.py sms_link)")

    def status(self, client_ref: str) -> StatusResult:
        return StatusResult(RemoteState.UNKNOWN, code="link")

    @property
    def slots(self) -> int:
        return int(getattr(settings, self.slots_setting, 1))

    def session_factory(self):
        """A callable that makes a session from the settings: `factory(on_event=...)`."""
        return import_string(f"notices.links.{self.kind}.session.session_from_settings")


class SmppBackend(LinkBackend):
    """SMPP 3.4 transceiver binds (`notices/links/smpp/`)."""

    name = kind = "smpp"
    slots_setting = "SMS_SMPP_BINDS"

    @property
    def slots(self) -> int:
        from ..links.smpp.config import smpp_config

        return smpp_config().binds


class CmppBackend(LinkBackend):
    name = kind = "cmpp"
    slots_setting = "SMS_CMPP_LINKS"

    @property
    def slots(self) -> int:
        from ..links.cmpp.config import cmpp_config

        return cmpp_config().links
