"""The SMPP session against the npm `smpp` package's SMSC, over real sockets."""

import asyncio
import json

import pytest

from notices.links.base import InboundPartEvent, LinkClosed, PartSubmit, ReceiptEvent, SubmitStatus
from notices.links.parts import Alphabet, split
from notices.links.smpp.session import SmppSession

from .link import MOBILE, Link, run, wait_for

CHINESE = "【民丰银行】尊敬的王先生，您尾号2603的贷款已逾期3天，合计待还1,234.56元，请于11月5日前通过手机银行、网点柜台或自动扣款还款。如已还款请忽略。咨询95588。"


def test_binds_as_a_transceiver_with_the_configured_credentials(smsc):
    async def scenario():
        async with Link(smsc, system_type="NOTICE") as link:
            assert link.session.health.connected_since is not None
            assert link.session.smsc_system_id == "npm-smsc"
        assert link.session.health.connected_since is None

    run(scenario())
    bind = smsc.wait("bind")
    assert bind["ok"] and bind["system_id"] == "esme" and bind["system_type"] == "NOTICE"
    smsc.wait("unbind")  # close() unbinds politely


def test_a_wrong_password_is_refused_with_the_smpp_status_named(smsc):
    with pytest.raises(LinkClosed, match="bind refused: ESME_RBINDFAIL"):
        run(Link(smsc, password="wrong").session.open())


def test_nothing_listening_is_a_closed_link_not_a_crash():
    session = SmppSession(
        on_event=None, host="127.0.0.1", port=9, system_id="x", password="y", source_addr="1"
    )
    with pytest.raises(LinkClosed, match="cannot connect to 127.0.0.1:9"):
        run(session.open())


def test_a_long_chinese_message_goes_as_ucs2_parts_with_one_reference(smsc):
    async def scenario():
        async with Link(smsc) as link:
            return await link.send(CHINESE, reference=0x2A)

    results = run(scenario())
    assert len(results) == 2
    assert [r.status for r in results] == [SubmitStatus.ACCEPTED] * 2
    assert len({r.provider_id for r in results}) == 2 and all(r.code == "ESME_ROK" for r in results)
    submits = sorted(smsc.submits("accepted"), key=lambda s: s["udh"])
    assert [s["udh"] for s in submits] == ["00032a0201", "00032a0202"]  # ref 0x2A, 2 parts, seq 1 and 2
    assert all(s["data_coding"] == 8 and s["esm_class"] & 0x40 for s in submits)
    assert "".join(s["text"] for s in submits) == CHINESE
    assert all(s["destination"] == "8613812345678" and s["dest_ton"] == 1 for s in submits)
    assert all(s["registered_delivery"] == 1 and s["source"] == "95588" for s in submits)


def test_text_the_gsm_alphabet_carries_goes_as_gsm_7_bit_in_one_part(smsc):
    text = (
        "Minfeng Bank: loan 2603 is 3 days overdue, 1,234.56 due. Pay by 05/11 @ any branch. {Info} 95588 €"
    )

    async def scenario():
        async with Link(smsc) as link:
            return await link.send(text)

    (result,) = run(scenario())
    assert result.status == SubmitStatus.ACCEPTED
    (submit,) = smsc.submits("accepted")
    assert submit["data_coding"] == 0 and submit["esm_class"] == 0 and submit["udh"] == ""
    assert submit["text"] == text


def test_the_window_bounds_submits_waiting_for_an_answer(smsc):
    smsc.set(latency_ms=200)
    in_flight = []

    async def scenario():
        async with Link(smsc, window=3) as link:
            session = link.session

            async def watch():
                while True:
                    in_flight.append(session.health.in_flight)
                    await asyncio.sleep(0.01)

            watcher = asyncio.create_task(watch())
            part = split("hello", reference=1)[0]
            results = await asyncio.gather(
                *(session.submit(PartSubmit(f"n-{i}", MOBILE, part, Alphabet.GSM7)) for i in range(9))
            )
            watcher.cancel()
            return results

    results = run(scenario())
    assert [r.status for r in results] == [SubmitStatus.ACCEPTED] * 9
    assert max(in_flight) == 3
    assert smsc.stats()["accepted"] == 9


def test_throttling_comes_back_as_throttled_and_nothing_was_taken(smsc):
    smsc.set(throttle_next=2)

    async def scenario():
        async with Link(smsc) as link:
            first = [await link.send("one", client_ref="a"), await link.send("two", client_ref="b")]
            again = await link.send("one", client_ref="a")
            return first, again, link.session.health.throttled

    first, again, throttled = run(scenario())
    assert [r[0].status for r in first] == [SubmitStatus.THROTTLED] * 2
    assert first[0][0].code == "ESME_RTHROTTLED" and throttled == 2
    assert again[0].status == SubmitStatus.ACCEPTED
    assert smsc.stats()["accepted"] == 1  # only what was accepted counts as submitted


def test_a_queue_full_answer_is_throttling_too(smsc):
    smsc.set(error_next=1, error_status="ESME_RMSGQFUL")
    (result,) = run(_send_one(smsc))
    assert result.status == SubmitStatus.THROTTLED and result.code == "ESME_RMSGQFUL"


@pytest.mark.parametrize("status", ["ESME_RINVDSTADR", "ESME_RSUBMITFAIL", "ESME_RINVSRCADR"])
def test_other_errors_fail_the_part_with_the_status_named(smsc, status):
    smsc.set(error_next=1, error_status=status)
    (result,) = run(_send_one(smsc))
    assert result.status == SubmitStatus.FAILED and result.code == status


async def _send_one(smsc, text="hello"):
    async with Link(smsc) as link:
        return await link.send(text)


def test_no_answer_in_time_is_unknown_and_the_link_stays_up(smsc):
    smsc.set(ignore_next=1)

    async def scenario():
        async with Link(smsc, response_timeout_s=2.0) as link:
            lost = await link.send("first")
            later = await link.send("second")
            return lost, later, link.session.health.last_error

    (lost,), (later,), error = run(scenario())
    assert lost.status == SubmitStatus.UNKNOWN and lost.code == "timeout"
    assert later.status == SubmitStatus.ACCEPTED
    assert "timeout" in error
    assert [s["times"] for s in smsc.submits()] == [1, 1]


def test_a_connection_dropped_mid_window_leaves_every_unanswered_part_unknown_and_sends_nothing_twice(smsc):
    smsc.set(latency_ms=1000, drop_after_next=3)

    async def scenario():
        link = Link(smsc, window=5)
        await link.session.open()
        serving = asyncio.create_task(link.session.serve())
        results = await asyncio.gather(
            *(
                link.session.submit(
                    PartSubmit(f"n-{i}", MOBILE, split(f"hello {i}", reference=1)[0], Alphabet.GSM7)
                )
                for i in range(5)
            )
        )
        with pytest.raises(LinkClosed, match="connection lost"):
            await serving
        after = await link.session.submit(
            PartSubmit("n-9", MOBILE, split("later", reference=1)[0], Alphabet.GSM7)
        )
        return results, after, link.session.health

    results, after, health = run(scenario())
    # The answers were delayed and the line cut after the third was taken: none answered.
    assert [r.status for r in results] == [SubmitStatus.UNKNOWN] * 5
    assert all(r.code == "connection_lost" for r in results)
    assert after.status == SubmitStatus.THROTTLED and after.code == "not_bound"  # nothing left
    assert health.connected_since is None and health.in_flight == 0
    stats = smsc.stats()
    # The SMSC took the third and whatever was already in its buffer: each exactly once.
    assert stats["duplicates"] == 0 and 3 <= stats["accepted"] <= 5


def test_receipts_per_part_out_of_order_and_repeated_each_reach_the_callback(smsc):
    async def scenario():
        async with Link(smsc) as link:
            results = await link.send(CHINESE)
            first, second = (r.provider_id for r in results)
            smsc.send("receipt", message_id=second, stat="DELIVRD")
            smsc.send("receipt", message_id=first, stat="UNDELIV", err="012", style="text")
            smsc.send("receipt", message_id=second, stat="DELIVRD", times=2, style="tlv")
            await link.until(lambda: len(link.events) == 4)
            return first, second, link.events

    first, second, events = run(scenario())
    assert all(isinstance(e, ReceiptEvent) for e in events)
    assert [e.provider_id for e in events] == [second, first, second, second]
    assert [e.stat for e in events] == ["DELIVRD", "UNDELIV", "DELIVRD", "DELIVRD"]
    assert events[1].err == "012" and not events[1].delivered and events[1].final
    assert events[0].delivered and events[0].done_at is not None
    assert [r["status"] for r in smsc.matching("deliver_resp")] == [0, 0, 0, 0]


def test_a_receipt_whose_text_carries_nul_and_raw_bytes_is_kept_json_safe(smsc):
    async def scenario():
        async with Link(smsc) as link:
            (result,) = await link.send("hello")
            smsc.send("receipt", message_id=result.provider_id, text_hex="68690000ff0a")
            await link.until(lambda: link.events)
            return link.events[0]

    event = run(scenario())
    encoded = json.dumps(event.raw)
    assert "\\u0000" not in encoded and "\x00" not in encoded
    assert event.raw["text_hex"] == "68690000ff0a"
    assert event.raw["receipt"].endswith("text:hi\\x00\\x00\\xff\\x0a")
    assert bytes.fromhex(event.raw["pdu"]).count(b"\x00\x00\xff") == 1  # the PDU as received


def test_a_callback_that_fails_is_answered_with_a_temporary_error_so_the_smsc_delivers_again(smsc):
    async def scenario():
        async with Link(smsc) as link:
            (result,) = await link.send("hello")
            link.fail_events = 1
            smsc.send("receipt", message_id=result.provider_id)
            await wait_for(smsc, "deliver_resp")
            smsc.send("receipt", message_id=result.provider_id)
            await link.until(lambda: link.events)
            return link.events, link.session.health.last_error

    events, error = run(scenario())
    assert [r["status"] for r in smsc.matching("deliver_resp")] == [0x64, 0]  # ESME_RX_T_APPN, then OK
    assert len(events) == 1 and "storing a deliver_sm failed" in error


@pytest.mark.parametrize("via", ["udh", "sar"])
def test_a_long_reply_arrives_as_parts_in_any_order_and_twice(smsc, via):
    parts = [
        {"text": "我上个月已经", "seq": 1},
        {"text": "在网点还清了，", "seq": 2},
        {"text": "请核实。", "seq": 3},
    ]
    shuffled = [parts[2], parts[0], parts[2], parts[1]]

    async def scenario():
        async with Link(smsc) as link:
            smsc.send("mo", **{"from": "8613812345678", "parts": shuffled, "total": 3, "ref": 77, "via": via})
            await link.until(lambda: len(link.events) == 4)
            return link.events

    events = run(scenario())
    assert all(isinstance(e, InboundPartEvent) for e in events)
    assert {e.concatenation for e in events} == {(77, 3, 1), (77, 3, 2), (77, 3, 3)}
    assert all(e.sender == "8613812345678" and e.recipient == "95588" for e in events)
    by_seq = {e.concatenation[2]: e.text for e in events}
    assert "".join(by_seq[i] for i in (1, 2, 3)) == "我上个月已经在网点还清了，请核实。"
    assert [r["status"] for r in smsc.matching("deliver_resp")] == [0, 0, 0, 0]


def test_a_short_reply_has_no_concatenation(smsc):
    async def scenario():
        async with Link(smsc) as link:
            smsc.send("mo", **{"from": "8613812345678", "text": "已还"})
            await link.until(lambda: link.events)
            return link.events[0]

    event = run(scenario())
    assert event.text == "已还" and event.concatenation is None and event.raw["decoded_as"] == "ucs2"


def test_receipts_may_arrive_on_another_bind(smsc):
    async def scenario():
        async with Link(smsc) as one, Link(smsc) as two:
            (result,) = await one.send("hello")
            smsc.send("receipt", message_id=result.provider_id, session=1)
            await two.until(lambda: two.events)
            return result, one.events, two.events

    result, first, second = run(scenario())
    assert first == [] and second[0].provider_id == result.provider_id


def test_enquire_links_both_ways(smsc):
    async def scenario():
        async with Link(smsc, enquire_link_s=0.2):
            await wait_for(smsc, "enquire_link")
            smsc.send("enquire_link")
            await wait_for(smsc, "enquire_link_resp")

    run(scenario())
    assert smsc.matching("enquire_link") and smsc.matching("enquire_link_resp")


def test_close_waits_for_the_window_then_unbinds(smsc):
    smsc.set(latency_ms=300)

    async def scenario():
        link = Link(smsc)
        await link.session.open()
        serving = asyncio.create_task(link.session.serve())
        sending = asyncio.create_task(link.send("hello"))
        await wait_for(smsc, "submit")
        await link.session.close()
        with pytest.raises(LinkClosed, match="unbound"):
            await serving
        return await sending

    (result,) = run(scenario())
    assert result.status == SubmitStatus.ACCEPTED
    assert smsc.matching("unbind")


def test_the_smsc_unbinding_ends_the_session(smsc):
    async def scenario():
        link = Link(smsc)
        await link.session.open()
        serving = asyncio.create_task(link.session.serve())
        smsc.send("unbind")
        with pytest.raises(LinkClosed, match="the SMSC unbound"):
            await serving

    run(scenario())
