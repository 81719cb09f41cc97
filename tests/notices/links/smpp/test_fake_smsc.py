"""`manage.py fake_smsc`'s SMSC, driven by our session: the demo's gateway."""

import asyncio
import contextlib

from notices.links.base import InboundPartEvent, LinkClosed, PartSubmit, ReceiptEvent, SubmitStatus
from notices.links.parts import alphabet_for, split
from notices.links.smpp.fake_smsc import FakeSmsc
from notices.links.smpp.session import SmppSession

from .link import run as run_in_thread


def scenario(smsc: FakeSmsc, texts: list[str], *, password: str = "demo"):
    async def run():
        port = await smsc.start()
        events = []

        async def on_event(event):
            events.append(event)

        session = SmppSession(
            on_event=on_event,
            host="127.0.0.1",
            port=port,
            system_id="demo",
            password=password,
            source_addr="95588",
        )
        try:
            await session.open()
        except LinkClosed as closed:
            await smsc.stop()
            return closed, events
        serving = asyncio.create_task(session.serve())
        results = []
        for i, text in enumerate(texts):
            alphabet = alphabet_for(text)
            results += await asyncio.gather(
                *(
                    session.submit(PartSubmit(f"n-{i}", "+8613812345678", p, alphabet))
                    for p in split(text, reference=i)
                )
            )
        await asyncio.sleep(0.3)
        await session.close()
        with contextlib.suppress(LinkClosed):
            await serving
        await smsc.stop()
        return results, events

    return run_in_thread(run())


def test_it_acknowledges_every_part_and_sends_a_receipt_for_each():
    smsc = FakeSmsc(port=0, receipt_delay=0.05, undeliverable_rate=0.0, seed=1)
    long_text = "【民丰银行】" + "您的贷款已逾期，请尽快还款。" * 7
    results, events = scenario(smsc, [long_text, "Short GSM text"])
    assert [r.status for r in results] == [SubmitStatus.ACCEPTED] * 3
    receipts = [e for e in events if isinstance(e, ReceiptEvent)]
    assert sorted(e.provider_id for e in receipts) == sorted(r.provider_id for r in results)
    assert all(e.stat == "DELIVRD" for e in receipts)
    assert smsc.stats.as_dict()["duplicates"] == 0 and smsc.stats.submits == 3


def test_it_can_report_failures_and_send_replies():
    smsc = FakeSmsc(port=0, receipt_delay=0.05, undeliverable_rate=1.0, reply_rate=1.0, seed=1)
    _results, events = scenario(smsc, ["hello"])
    assert [e.stat for e in events if isinstance(e, ReceiptEvent)] == ["UNDELIV"]
    (reply,) = [e for e in events if isinstance(e, InboundPartEvent)]
    assert reply.sender == "8613812345678" and reply.text


def test_it_refuses_a_wrong_password_when_it_has_one():
    closed, _events = scenario(FakeSmsc(port=0, system_id="demo", password="demo"), [], password="nope")
    assert isinstance(closed, LinkClosed) and "ESME_RBINDFAIL" in closed.reason
