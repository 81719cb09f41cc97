"""The link process end to end over CMPP: the runner, a CmppSession and the fake ISMG
over real sockets — notices out, receipts back, long replies in, nothing twice."""

import asyncio

import pytest
from django.utils import timezone

from notices.links.cmpp.pdu import Version
from notices.links.cmpp.session import CmppSession
from notices.links.runner import LinkRunner
from notices.models import Feedback, InboundMessage, MessagePart, MessageStatus, SmsMessage
from notices.services import batch_approve, batch_generate
from tests.factories import CustomerFactory, LoanFactory, supervisor_user

from .cmpp.harness import ismg_config, link_config, run_in_new_loop
from .test_runner import statuses, until

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def _cmpp_backend(settings):
    from notices.backends import reset_backends

    settings.SMS_BACKEND = "cmpp"
    reset_backends()


def queue(n):
    for i in range(n):
        LoanFactory(days=10 + i % 50, customer=CustomerFactory(mobile=f"+86139{i:08d}"))
    batch = batch_generate(as_of=timezone.localdate())
    batch_approve(batch=batch, user=supervisor_user(username="approver"))
    return batch


def cmpp_runner(ismg, version=Version.V3_0, **kwargs):
    def factory(*, on_event):
        return CmppSession(on_event=on_event, config=link_config(ismg, version=version, window=8))

    return LinkRunner(link="cmpp", session_factory=factory, slots=1, max_backoff=0.05, **kwargs)


@pytest.mark.parametrize("version", [Version.V3_0, Version.V2_0], ids=["3.0", "2.0"])
def test_notices_go_out_over_cmpp_and_their_receipts_deliver_them(clock, version):
    from notices.links.cmpp.fake_ismg import FakeIsmg

    queue(12)

    async def scenario():
        async with FakeIsmg(ismg_config(receipts="shuffle", receipt_duplicates=1, latency_s=0.005)) as ismg:
            link = cmpp_runner(ismg, version)
            task = asyncio.create_task(link.run())
            await until(
                link,
                lambda: (
                    not SmsMessage.objects.exclude(
                        status__in=(MessageStatus.DELIVERED, MessageStatus.EXCLUDED)
                    ).exists()
                ),
                timeout=20,
            )
            link.stop()
            await task
            return ismg.duplicates()

    duplicates = run_in_new_loop(scenario)
    assert duplicates == {}
    assert set(statuses().values()) == {MessageStatus.DELIVERED}
    # Msg_Ids are kept per part as unsigned decimals.
    assert all(int(p) > 0 for p in MessagePart.objects.values_list("provider_id", flat=True))


def test_throttling_and_a_dropped_connection_never_submit_anything_twice(clock):
    from notices.links.cmpp.fake_ismg import FakeIsmg

    queue(30)

    async def scenario():
        config = ismg_config(throttle_rate=0.3, drop_after=12, latency_s=0.01, receipts="none")
        async with FakeIsmg(config) as ismg:
            link = cmpp_runner(ismg)
            link.once = True
            await link.run()
            config.drop_after = 0
            again = cmpp_runner(ismg, once=True)
            await again.run()
            return ismg.duplicates(), ismg.stats

    duplicates, stats = run_in_new_loop(scenario)
    assert duplicates == {}
    assert stats["throttled"] > 0 and stats["dropped"] == 1 and stats["window_violations"] == 0
    final = statuses()
    assert set(final.values()) <= {MessageStatus.SENT, MessageStatus.UNKNOWN}
    assert MessageStatus.SENT in final.values() and MessageStatus.UNKNOWN in final.values()
    unknown = SmsMessage.objects.filter(status=MessageStatus.UNKNOWN)
    assert all(m.error_code.startswith("cmpp:") for m in unknown)


def test_a_long_reply_in_parts_becomes_one_feedback_item(clock):
    from notices.links.cmpp.fake_ismg import FakeIsmg

    customer = CustomerFactory(mobile="+8613955556666")
    LoanFactory(days=10, customer=customer)
    text = "我已经在网点把逾期的钱都还上了，请核实后不要再给我发催收短信，谢谢。" * 2

    async def scenario():
        async with FakeIsmg(ismg_config()) as ismg:
            link = cmpp_runner(ismg)
            task = asyncio.create_task(link.run())
            while not ismg.live():
                await asyncio.sleep(0.02)
            await ismg.send_mo(sender="8613955556666", text=text, order="reverse", duplicates=1)
            await until(link, lambda: InboundMessage.objects.exists(), timeout=10)
            link.stop()
            await task

    run_in_new_loop(scenario)
    inbound = InboundMessage.objects.get()
    assert inbound.text == text and inbound.customer == customer
    assert Feedback.objects.filter(inbound=inbound).count() == 1
