"""The http backend against the fake platform, over real sockets."""

import pytest

from notices.backends.base import Outcome, Outgoing, RemoteState
from notices.backends.http import HttpBackend
from notices.fake_gateway import FakeGateway


@pytest.fixture
def gateway():
    fake = FakeGateway(port=0, token="t0k", secret="s3cret").start()
    yield fake
    fake.stop()


def backend(gateway, **kwargs):
    return HttpBackend(base_url=gateway.url, token="t0k", **kwargs)


def test_send_is_accepted_with_a_message_id_and_the_status_call_finds_it(gateway):
    http = backend(gateway)
    result = http.send(Outgoing("+8613812345678", "【民丰银行】您好", "n-1-1"))
    assert result.outcome == Outcome.ACCEPTED and result.provider_message_id.startswith("gw-")
    status = http.status("n-1-1")
    assert status.state == RemoteState.ACCEPTED and status.provider_message_id == result.provider_message_id
    assert http.status("never-sent").state == RemoteState.NOT_FOUND


def test_the_same_client_ref_twice_is_not_a_new_send(gateway):
    http = backend(gateway)
    first = http.send(Outgoing("+8613812345678", "x", "n-1-2"))
    second = http.send(Outgoing("+8613812345678", "x", "n-1-2"))
    assert first.provider_message_id == second.provider_message_id
    assert gateway.state.stats()["duplicates"] == 1 and gateway.state.stats()["unique"] == 1


def test_5xx_is_retry_and_4xx_is_permanent(gateway):
    gateway.state.fail_rate = 1.0
    assert backend(gateway).send(Outgoing("+8613812345678", "x", "a")).outcome == Outcome.RETRY
    gateway.state.fail_rate, gateway.state.permanent_fail_rate = 0.0, 1.0
    result = backend(gateway).send(Outgoing("+8613812345678", "x", "b"))
    assert result.outcome == Outcome.FAILED and result.code == "400"


def test_a_wrong_token_is_a_permanent_failure(gateway):
    result = HttpBackend(base_url=gateway.url, token="wrong").send(Outgoing("+8613812345678", "x", "c"))
    assert result.outcome == Outcome.FAILED and result.code == "401"


def test_timeout_after_accepting_is_unknown_and_the_status_call_says_accepted(gateway):
    gateway.state.timeout_rate, gateway.state.timeout_sleep = 1.0, 1.0
    http = backend(gateway, timeout=0.3)
    result = http.send(Outgoing("+8613812345678", "x", "n-9"))
    assert result.outcome == Outcome.UNKNOWN and result.code == "timeout"
    assert http.status("n-9").state == RemoteState.ACCEPTED


def test_nothing_listening_is_retry():
    http = HttpBackend(base_url="http://127.0.0.1:9", token="t")
    assert http.send(Outgoing("+8613812345678", "x", "d")).outcome == Outcome.RETRY
    assert http.status("d").state == RemoteState.UNKNOWN


def test_sends_run_concurrently_inside_a_worker(gateway, settings):
    settings.SMS_SEND_CONCURRENCY = 8
    gateway.state.latency = 0.05
    results = backend(gateway).send_many([Outgoing("+8613812345678", "x", f"m-{i}") for i in range(32)])
    assert [r.outcome for r in results] == [Outcome.ACCEPTED] * 32
    assert 2 <= gateway.state.stats()["max_in_flight"] <= 8
