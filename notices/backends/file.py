from __future__ import annotations

import json
import threading
import uuid
from pathlib import Path

from django.conf import settings
from django.utils import timezone

from .base import BaseSmsBackend, Outcome, Outgoing, RemoteState, SendResult, StatusResult
from .http import HttpWebhooks


class FileBackend(BaseSmsBackend):
    """Appends each message as a JSON line to SMS_FILE_PATH. For staging systems."""

    name = "file"
    webhooks = HttpWebhooks  # stands in for the platform: demos and tests post its webhooks
    _lock = threading.Lock()

    def __init__(self, path: str | None = None):
        self.path = Path(path or settings.SMS_FILE_PATH)
        self.path.parent.mkdir(parents=True, exist_ok=True)

    def send(self, message: Outgoing) -> SendResult:
        known = self.status(message.client_ref)
        if known.state == RemoteState.ACCEPTED:
            return SendResult(Outcome.ACCEPTED, known.provider_message_id, "200")
        provider_id = f"file-{uuid.uuid4().hex[:12]}"
        line = {
            "message_id": provider_id,
            "client_ref": message.client_ref,
            "to": message.to,
            "text": message.text,
            "at": timezone.now().isoformat(),
        }
        with self._lock, self.path.open("a", encoding="utf-8") as handle:
            handle.write(json.dumps(line, ensure_ascii=False) + "\n")
        return SendResult(Outcome.ACCEPTED, provider_id, "200")

    def status(self, client_ref: str) -> StatusResult:
        if not self.path.exists():
            return StatusResult(RemoteState.NOT_FOUND)
        with self._lock, self.path.open(encoding="utf-8") as handle:
            for line in handle:
                record = json.loads(line)
                if record.get("client_ref") == client_ref:
                    return StatusResult(RemoteState.ACCEPTED, record["message_id"])
        return StatusResult(RemoteState.NOT_FOUND)
