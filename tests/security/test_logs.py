"""Application logs never hold a whole mobile or ID number, tracebacks included."""

import io
import json
import logging

import pytest

from notices.services.webhooks import sign
from tests.factories import CustomerFactory
from tests.security.world import unmasked

pytestmark = pytest.mark.django_db


@pytest.fixture
def log_output():
    """What the configured console handler (the one production logs go through) writes."""
    handler = next(h for h in logging.getLogger().handlers if h.get_name() == "console")
    stream = io.StringIO()
    previous = handler.setStream(stream)
    yield stream
    handler.setStream(previous)


def test_log_lines_and_tracebacks_are_masked(log_output):
    log = logging.getLogger("notices.test")
    log.warning("reply from %s (ID %s)", "+8613812345678", "33010219800101123X")
    try:
        raise ValueError("duplicate key (mobile)=(13812345678), id_number=33010219800101123X")
    except ValueError:
        log.exception("import failed for 13912345678")
    text = log_output.getvalue()
    assert "138****5678" in text and "139****5678" in text and "330102********123X" in text
    assert "ValueError" in text  # the traceback is kept, masked
    assert unmasked(text) == []


def test_refused_webhooks_and_sign_in_attempts_log_no_numbers(client, log_output):
    CustomerFactory(mobile="+8613812345678")
    raw = json.dumps({"from": "13812345678", "text": "我的身份证33010219800101123X"}).encode()
    client.post(
        "/webhooks/sms/inbound/", data=raw, content_type="application/json", HTTP_X_SIGNATURE="0" * 64
    )
    client.post(
        "/webhooks/sms/inbound/", data=raw, content_type="application/json", HTTP_X_SIGNATURE=sign(raw)
    )
    client.post("/admin/login/", {"username": "13812345678", "password": "x"})  # a mobile typed as username
    assert unmasked(log_output.getvalue()) == []
