"""The CMPP session against the fake ISMG over real sockets (port 0), both versions."""

import asyncio
import datetime

import pytest

from notices.links.base import LinkClosed, PartSubmit, SubmitStatus
from notices.links.cmpp import pdu as p
from notices.links.cmpp.fake_ismg import FakeIsmg
from notices.links.cmpp.pdu import SHANGHAI, Version
from notices.links.cmpp.session import CmppSession
from notices.links.parts import Alphabet, split

from .harness import SP_ID, ismg_config, link_config, opened, run_async

VERSIONS = pytest.mark.parametrize("version", [Version.V3_0, Version.V2_0], ids=["3.0", "2.0"])
LONG = "【民丰银行】尊敬的客户，您的贷款已逾期，请尽快还款。" * 6  # 3 parts of 67 UCS2 characters


# --- connecting ----------------------------------------------------------------------------


@VERSIONS
@run_async
async def test_connects_with_the_version_it_is_set_to(version):
    async with FakeIsmg(ismg_config()) as ismg, opened(ismg, version=version) as link:
        assert link.session.health.connected_since is not None
        [connection] = ismg.live()
        assert connection.version == version
        assert ismg.stats["connects"] == 1


@VERSIONS
@run_async
async def test_a_wrong_secret_is_refused_with_the_status_named(version):
    async with FakeIsmg(ismg_config()) as ismg:
        session = CmppSession(on_event=None, config=link_config(ismg, version=version, secret="wrong"))
        with pytest.raises(LinkClosed, match=r"CMPP_CONNECT refused, Status 3 \(authentication failed\)"):
            await session.open()
        assert ismg.stats["connect_refused"] == 1 and not ismg.live()


@run_async
async def test_an_unknown_sp_code_and_a_version_the_ismg_lacks_are_refused():
    async with FakeIsmg(ismg_config(versions=(Version.V2_0,))) as ismg:
        session = CmppSession(on_event=None, config=link_config(ismg, version=Version.V2_0, sp_id="999999"))
        with pytest.raises(LinkClosed, match=r"Status 2 \(illegal source address\)"):
            await session.open()
        session = CmppSession(on_event=None, config=link_config(ismg, version=Version.V3_0))
        with pytest.raises(LinkClosed, match=r"Status 4 \(version too high\)"):
            await session.open()


@run_async
async def test_a_2_0_link_to_an_ismg_that_also_speaks_3_0_speaks_2_0():
    async with FakeIsmg(ismg_config()) as ismg, opened(ismg, version=Version.V2_0) as link:
        [result] = await link.send("【民丰银行】您好")
        assert result.status == SubmitStatus.ACCEPTED
        assert ismg.parts[0].version == Version.V2_0


@run_async
async def test_an_ismg_that_cannot_prove_it_knows_the_secret_is_left():
    async with FakeIsmg(ismg_config(ismg_authenticator="wrong")) as ismg:
        session = CmppSession(on_event=None, config=link_config(ismg))
        with pytest.raises(LinkClosed, match="AuthenticatorISMG does not match"):
            await session.open()
    async with FakeIsmg(ismg_config(ismg_authenticator="empty")) as ismg, opened(ismg) as link:
        assert link.session.health.connected_since is not None  # an empty one proves nothing: accepted


@run_async
async def test_nothing_listening_is_a_clear_link_closed():
    async with FakeIsmg(ismg_config()) as ismg:
        config = link_config(ismg)
    with pytest.raises(LinkClosed, match=f"cannot connect to 127.0.0.1:{config.port}"):
        await CmppSession(on_event=None, config=config).open()


# --- submitting ----------------------------------------------------------------------------


@VERSIONS
@run_async
async def test_a_long_message_goes_as_parts_with_their_header_and_numbers(version):
    async with FakeIsmg(ismg_config()) as ismg, opened(ismg, version=version) as link:
        results = await link.send(LONG, reference=42)
        assert [r.status for r in results] == [SubmitStatus.ACCEPTED] * 3
        by_id = {part.msg_id: part for part in ismg.parts}
        parts = [by_id[int(r.provider_id)] for r in results]  # the Msg_Id, as a decimal string
        expected = split(LONG, reference=42, alphabet=Alphabet.UCS2)
        for number, (accepted, part) in enumerate(zip(parts, expected, strict=True), start=1):
            submit = accepted.submit
            assert (submit.pk_total, submit.pk_number, submit.tp_udhi) == (3, number, 1)
            assert submit.msg_content == bytes.fromhex(f"0500032a03{number:02x}") + part.payload
            assert (submit.msg_fmt, submit.registered_delivery) == (8, 1)
            assert (submit.service_id, submit.src_id, submit.msg_src) == ("MFBANK", "1069012345", SP_ID)
            assert accepted.dest == "13812345678"
        assert len({r.provider_id for r in results}) == 3
        assert link.session.health.submitted == 3


@run_async
async def test_the_window_is_never_exceeded():
    async with FakeIsmg(ismg_config(latency_s=0.05, window=4)) as ismg, opened(ismg, window=4) as link:
        results = await asyncio.gather(
            *(link.send("【民丰银行】您好", to=f"+86138{i:08d}") for i in range(24))
        )
        assert all(r.status == SubmitStatus.ACCEPTED for [r] in results)
        assert ismg.stats["window_violations"] == 0
        assert max(c.max_unanswered for c in ismg.live()) == 4  # and it was used


@run_async
async def test_the_fake_ismg_notices_a_window_overrun():
    # The check above can fail: a link with a wider window than the ISMG allows is caught.
    async with FakeIsmg(ismg_config(latency_s=0.05, window=2)) as ismg, opened(ismg, window=4) as link:
        results = await asyncio.gather(
            *(link.send("【民丰银行】您好", to=f"+86138{i:08d}") for i in range(8))
        )
        assert ismg.stats["window_violations"] > 0
        assert {r.status for [r] in results} == {SubmitStatus.ACCEPTED, SubmitStatus.THROTTLED}


@VERSIONS
@run_async
async def test_flow_control_is_throttled_and_nothing_is_accepted(version):
    async with FakeIsmg(ismg_config(throttle_rate=1.0)) as ismg, opened(ismg, version=version) as link:
        [result] = await link.send("【民丰银行】您好")
        assert (result.status, result.code, result.provider_id) == (SubmitStatus.THROTTLED, "cmpp:8", "")
        assert link.session.health.throttled == 1 and not ismg.accepted
        ismg.config.throttle_rate = 0.0
        [again] = await link.send("【民丰银行】您好")  # what the link process does after slowing down
        assert again.status == SubmitStatus.ACCEPTED
        assert (
            ismg.accepted[
                ("13812345678", split("【民丰银行】您好", reference=1, alphabet=Alphabet.UCS2)[0].payload)
            ]
            == 1
        )


@run_async
async def test_a_share_throttled_and_a_rate_limit():
    async with FakeIsmg(ismg_config(throttle_rate=0.5)) as ismg, opened(ismg) as link:
        results = await asyncio.gather(
            *(link.send("【民丰银行】您好", to=f"+86138{i:08d}") for i in range(40))
        )
        statuses = [r.status for [r] in results]
        assert statuses.count(SubmitStatus.ACCEPTED) == ismg.stats["accepted"] > 0
        assert statuses.count(SubmitStatus.THROTTLED) == ismg.stats["throttled"] > 0
    async with FakeIsmg(ismg_config(rate_limit=5)) as ismg, opened(ismg) as link:
        results = await asyncio.gather(
            *(link.send("【民丰银行】您好", to=f"+86139{i:08d}") for i in range(12))
        )
        assert 1 <= ismg.stats["accepted"] <= 10  # at most 5 in each clock second the burst touched
        assert [r.status for [r] in results].count(SubmitStatus.THROTTLED) == 12 - ismg.stats["accepted"]


@VERSIONS
@run_async
async def test_an_error_result_fails_the_part_with_the_code_named(version):
    async with (
        FakeIsmg(ismg_config(error_rate=1.0, error_result=13)) as ismg,
        opened(ismg, version=version) as link,
    ):
        [result] = await link.send("【民丰银行】您好")
        assert (result.status, result.code) == (SubmitStatus.FAILED, "cmpp:13")
        assert result.detail == ("Dest_terminal_Id error" if version == Version.V3_0 else "other error")


@run_async
async def test_what_cmpp_cannot_carry_is_refused_before_anything_is_sent():
    async with FakeIsmg(ismg_config()) as ismg, opened(ismg) as link:
        [abroad] = await link.send("【民丰银行】您好", to="+85291234567")
        assert (abroad.status, abroad.code) == (SubmitStatus.FAILED, "cmpp:destination")
        assert link.session.alphabet_for("Hello") == Alphabet.UCS2  # CMPP has no GSM 7-bit format
        gsm = split("Hello", reference=1, alphabet=Alphabet.GSM7)[0]
        result = await link.session.submit(PartSubmit("m", "+8613812345678", gsm, Alphabet.GSM7))
        assert (result.status, result.code) == (SubmitStatus.FAILED, "cmpp:alphabet")
        assert ismg.stats["submits"] == 0


# --- losing the connection -------------------------------------------------------------------


@run_async
async def test_a_connection_dropped_mid_window_leaves_every_outstanding_part_unknown_and_resends_nothing():
    config = ismg_config(latency_s=0.3, drop_after=5)
    async with FakeIsmg(config) as ismg, opened(ismg) as link:
        texts = [f"【民丰银行】第{i}条" for i in range(10)]
        results = await asyncio.gather(
            *(link.send(text, to=f"+86138{i:08d}") for i, text in enumerate(texts))
        )
        assert {(r.status, r.code) for [r] in results} == {(SubmitStatus.UNKNOWN, "cmpp:connection_lost")}
        assert "closed the connection" in await link.ended()
        with pytest.raises(LinkClosed):
            await link.send("【民丰银行】之后")
        # The ISMG took the first five (the fifth "accepted" although its answer never left),
        # and none of the ten was sent again.
        assert ismg.stats["accepted"] == 5 and not ismg.duplicates()


@run_async
async def test_no_response_in_time_is_unknown_and_the_late_one_is_ignored():
    async with FakeIsmg(ismg_config(latency_s=0.5)) as ismg, opened(ismg, response_timeout_s=0.1) as link:
        [late] = await link.send("【民丰银行】您好")
        assert (late.status, late.code) == (SubmitStatus.UNKNOWN, "cmpp:timeout")
        ismg.config.latency_s = 0.0
        await asyncio.sleep(0.6)  # the late CMPP_SUBMIT_RESP arrives and matches nothing
        [next_one] = await link.send("【民丰银行】下一条", to="+8613900000000")
        assert next_one.status == SubmitStatus.ACCEPTED
        assert not link.serving.done() and ismg.stats["accepted"] == 2


# --- receipts and customers' messages ------------------------------------------------------


@VERSIONS
@run_async
async def test_receipts_per_part_reversed_and_duplicated_reach_on_event_each_answered(version):
    config = ismg_config(receipts="reverse", receipt_duplicates=1, receipt_stat="DELIVRD")
    async with FakeIsmg(config) as ismg, opened(ismg, version=version) as link:
        results = await link.send(LONG)
        await ismg.wait_until(lambda: len(link.receipts) == 6, what="six receipts")
        ids = [r.provider_id for r in results]
        assert [e.provider_id for e in link.receipts] == ids[::-1] + ids[::-1]  # part 3 first, then copies
        first = link.receipts[0]
        assert first.delivered and first.final and first.raw["dest_terminal_id"] == "13812345678"
        assert first.submitted_at.tzinfo == SHANGHAI
        assert abs(first.done_at - datetime.datetime.now(SHANGHAI)) < datetime.timedelta(minutes=2)
        await ismg.wait_until(lambda: ismg.stats["report_acked"] == 6, what="six DELIVER_RESP")


@run_async
async def test_receipts_on_another_connection_and_failures_named():
    config = ismg_config(receipts="shuffle", receipts_on="any", undeliverable_rate=1.0, receipt_delay_s=0.1)
    async with FakeIsmg(config) as ismg, opened(ismg) as one, opened(ismg) as two:
        results = await one.send(LONG)
        await ismg.wait_until(lambda: len(one.receipts) + len(two.receipts) == 3)
        receipts = one.receipts + two.receipts
        assert sorted(e.provider_id for e in receipts) == sorted(r.provider_id for r in results)
        assert {(e.stat, e.delivered, e.final) for e in receipts} == {("UNDELIV", False, True)}


@run_async
async def test_a_part_whose_siblings_never_came_is_reported_all_the_same():
    async with FakeIsmg(ismg_config(group_wait_s=0.1)) as ismg, opened(ismg) as link:
        first = split(LONG, reference=3, alphabet=Alphabet.UCS2)[0]
        result = await link.session.submit(PartSubmit("m", "+8613812345678", first, Alphabet.UCS2))
        await ismg.wait_until(lambda: link.receipts, what="the lone part's receipt")
        assert [e.provider_id for e in link.receipts] == [result.provider_id]


@run_async
async def test_a_receipt_that_could_not_be_stored_is_answered_for_a_retry_and_comes_again():
    stored, failures = [], []

    async def flaky(event):
        if not failures:
            failures.append(event)
            raise RuntimeError("database is locked")
        stored.append(event)

    async with FakeIsmg(ismg_config(redeliver_s=0.05)) as ismg, opened(ismg, on_event=flaky) as link:
        [result] = await link.send("【民丰银行】您好")
        await ismg.wait_until(lambda: len(stored) == 1, what="the receipt delivered again")
        assert failures[0].provider_id == stored[0].provider_id == result.provider_id
        assert ismg.stats["deliver_refused"] == 1 and ismg.stats["report_acked"] == 1
        assert "answered Result 8" in link.session.health.last_error


@run_async
async def test_a_receipt_is_answered_only_after_on_event_returned():
    release = asyncio.Event()

    async def slow(event):
        await release.wait()

    async with FakeIsmg(ismg_config()) as ismg, opened(ismg, on_event=slow) as link:
        await link.send("【民丰银行】您好")
        await ismg.wait_until(lambda: ismg.stats["report_sent"] == 1)
        await asyncio.sleep(0.1)
        assert ismg.stats["report_acked"] == 0  # still being stored: no DELIVER_RESP yet
        release.set()
        await ismg.wait_until(lambda: ismg.stats["report_acked"] == 1)


@VERSIONS
@run_async
async def test_customers_messages_long_ones_in_parts_in_any_order(version):
    async with FakeIsmg(ismg_config()) as ismg, opened(ismg, version=version) as link:
        text = "我上周已经通过手机银行还清了全部欠款，请核实后不要再发催收短信，谢谢。" * 4
        await ismg.send_mo(
            sender="13812345678", text=text, dest_id="106901234501", reference=9, order="shuffle"
        )
        await ismg.send_mo(sender="13812345678", text="延期", dest_id="1069012345")
        await ismg.send_mo(sender="13912345678", text="TD", msg_fmt=p.FMT_ASCII)
        await ismg.send_mo(sender="13912345678", text="你好", msg_fmt=p.FMT_GBK)
        await ismg.wait_until(lambda: len(link.inbound) == 6)
        long_parts = sorted((e for e in link.inbound if e.concatenation), key=lambda e: e.concatenation[2])
        assert [e.concatenation for e in long_parts] == [(9, 3, 1), (9, 3, 2), (9, 3, 3)]
        assert "".join(e.text for e in long_parts) == text
        assert {(e.sender, e.recipient) for e in long_parts} == {("13812345678", "106901234501")}
        singles = {e.text: e for e in link.inbound if not e.concatenation}
        assert set(singles) == {"延期", "TD", "你好"}
        assert singles["你好"].raw["msg_fmt"] == 15
        await ismg.wait_until(lambda: ismg.stats["mo_acked"] == 6)


# --- keeping the link and ending it -----------------------------------------------------------


@run_async
async def test_active_tests_both_ways():
    async with FakeIsmg(ismg_config()) as ismg, opened(ismg, active_test_s=0.05) as link:
        await ismg.wait_until(lambda: ismg.stats["active_tests"] >= 3, what="our ACTIVE_TESTs")
        assert await ismg.active_test()  # and the ISMG's are answered
        assert not link.serving.done()


@run_async
async def test_an_ismg_that_stops_answering_active_tests_is_left():
    config = ismg_config(answer_active_test=False, latency_s=10)
    async with FakeIsmg(config) as ismg, opened(ismg, active_test_s=0.05, response_timeout_s=5) as link:
        pending = asyncio.create_task(link.send("【民丰银行】您好"))
        reason = await link.ended()
        assert reason == "cmpp: no CMPP_ACTIVE_TEST_RESP to 3 active tests in a row"
        [result] = await pending
        assert result.status == SubmitStatus.UNKNOWN
        assert link.session.health.connected_since is None and link.session.health.last_error == reason


@run_async
async def test_close_waits_for_the_window_then_terminates():
    async with FakeIsmg(ismg_config(latency_s=0.2)) as ismg:
        async with opened(ismg) as link:
            sending = asyncio.create_task(link.send("【民丰银行】您好"))
            await ismg.wait_until(lambda: ismg.stats["submits"] == 1)
            await link.session.close()
            [result] = await sending
            assert result.status == SubmitStatus.ACCEPTED  # answered before CMPP_TERMINATE
            assert await link.ended() == "cmpp: closed by us (CMPP_TERMINATE)"
            assert link.session.health.last_error == ""
        await ismg.wait_until(lambda: ismg.stats["terminated_by_sp"] == 1 and not ismg.live())


@run_async
async def test_the_ismgs_terminate_is_answered_and_ends_the_link():
    async with FakeIsmg(ismg_config(latency_s=5)) as ismg, opened(ismg) as link:
        pending = asyncio.create_task(link.send("【民丰银行】您好"))
        await ismg.wait_until(lambda: ismg.stats["submits"] == 1)
        assert await ismg.terminate()  # the link answered CMPP_TERMINATE_RESP
        assert await link.ended() == "cmpp: the ISMG ended the connection (CMPP_TERMINATE)"
        [result] = await pending
        assert (result.status, result.code) == (SubmitStatus.UNKNOWN, "cmpp:connection_lost")


# --- a misbehaving ISMG ----------------------------------------------------------------------


@run_async
async def test_an_impossible_header_ends_the_link_with_the_reason():
    async with FakeIsmg(ismg_config()) as ismg, opened(ismg) as link:
        ismg.send_raw(bytes.fromhex("7fffffff0000000500000001"))
        reason = await link.ended()
        assert "impossible PDU header" in reason and "Total_Length 2147483647" in reason


@run_async
async def test_a_malformed_deliver_is_answered_as_such_and_the_link_goes_on():
    async with FakeIsmg(ismg_config()) as ismg, opened(ismg) as link:
        deliver = p.Deliver(msg_id=77, dest_id="1069012345", src_terminal_id="13812345678", msg_content=b"ab")
        frame = bytearray(p.encode(deliver, sequence_id=5, version=Version.V3_0))
        frame[12 + 8 + 21 + 10 + 3 + 32 + 1 + 1] = 200  # Msg_Length beyond the end of the PDU
        ismg.send_raw(bytes(frame))
        await ismg.wait_until(lambda: ismg.deliver_results)
        assert ismg.deliver_results == [(5, 77, 1)]  # Result 1: message structure error
        assert "malformed CMPP_DELIVER" in link.session.health.last_error
        assert not link.events
        [result] = await link.send("【民丰银行】您好")
        assert result.status == SubmitStatus.ACCEPTED
