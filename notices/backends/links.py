"""Carrier links as backends: what SMS_BACKEND=smpp (or cmpp) tells the rest of the app.

Their messages leave, and their receipts and replies come back, over a long-lived
connection held by `manage.py sms_link` (`notices/links/`), not through the task
queue's sender and not through webhooks.
"""

from __future__ import annotations

from .base import BaseSmsBackend, Outgoing, SendResult


class LinkBackend(BaseSmsBackend):
    over_link = True

    def send(self, message: Outgoing) -> SendResult:
        raise NotImplementedError(f"{self.name} messages are sent by `manage.py sms_link`, not by the sender")


class SmppBackend(LinkBackend):
    """SMPP 3.4 transceiver binds (`notices/links/smpp/`)."""

    name = "smpp"
