"""The link process against an in-process peer: claims, parts, window, throttling, lost
connections, receipts per part, long replies, and the bind lease."""

import asyncio
import datetime

import pytest
from django.utils import timezone

from notices.links.base import InboundPartEvent, ReceiptEvent
from notices.links.runner import LinkRunner
from notices.models import (
    DeliveryReceipt,
    Feedback,
    InboundMessage,
    LinkSlot,
    MessagePart,
    MessageStatus,
    SendAttempt,
    SmsMessage,
)
from notices.services import batch_approve, batch_generate
from tests.factories import CustomerFactory, LoanFactory, supervisor_user

from .cmpp.harness import run_in_new_loop
from .fake_peer import Peer

pytestmark = pytest.mark.django_db(transaction=True)


def queue(n=3, **customer):
    for i in range(n):
        LoanFactory(days=10, customer=CustomerFactory(mobile=f"+86139{i:08d}", **customer))
    batch = batch_generate(as_of=timezone.localdate())
    batch_approve(batch=batch, user=supervisor_user(username="approver"))
    return list(SmsMessage.objects.filter(batch=batch, status=MessageStatus.QUEUED).order_by("pk"))


def runner(peer, **kwargs):
    kwargs.setdefault("once", True)
    kwargs.setdefault("slots", 1)
    return LinkRunner(link="smpp", session_factory=peer.factory(window=kwargs.pop("window", 8)), **kwargs)


def run(coro):
    return run_in_new_loop(lambda: coro)


def statuses():
    return dict(SmsMessage.objects.exclude(status=MessageStatus.EXCLUDED).values_list("pk", "status"))


async def until(link, predicate, timeout=10):
    """Wait for a state of the database, asked on the link's own database thread (an
    in-memory SQLite shared between threads locks rather than waits)."""
    loop = asyncio.get_running_loop()
    end = loop.time() + timeout
    while not await link.db(predicate):
        assert loop.time() < end, "timed out"
        await asyncio.sleep(0.02)


def test_queued_notices_go_out_once_with_an_id_per_part(clock):
    messages = queue(3)
    peer = Peer()
    stats = run(runner(peer).run())
    assert set(statuses().values()) == {MessageStatus.SENT}
    assert sum(peer.accepted.values()) == sum(m.segments for m in messages)
    assert max(peer.accepted.values()) == 1
    for message in messages:
        parts = list(MessagePart.objects.filter(message=message).order_by("seq"))
        assert [p.seq for p in parts] == list(range(1, message.segments + 1))
        assert all(p.provider_id.startswith("P") for p in parts)
        assert SmsMessage.objects.get(pk=message.pk).provider_message_id == parts[0].provider_id
    assert SendAttempt.objects.filter(outcome="accepted", backend="smpp").count() == 3
    assert stats["accepted"] == 3
    assert not LinkSlot.objects.exclude(holder="").exists()  # the bind was given back


def test_a_long_message_goes_as_concatenated_parts_in_order_with_one_reference(clock):
    customer = CustomerFactory(mobile="+8613900000001", name="欧阳" + "明" * 3)
    LoanFactory(days=10, customer=customer)
    batch = batch_generate(as_of=timezone.localdate())
    message = SmsMessage.objects.get(batch=batch, status=MessageStatus.PENDING)
    long_body = message.body + "请您尽快还款，如已还款请忽略本短信。" * 4
    SmsMessage.objects.filter(pk=message.pk).update(body=long_body)
    batch.content_hash = ""
    from notices.services.batches import batch_content_hash

    batch.__class__.objects.filter(pk=batch.pk).update(content_hash=batch_content_hash(batch))
    batch.refresh_from_db()
    batch_approve(batch=batch, user=supervisor_user(username="approver"))
    peer = Peer()
    run(runner(peer).run())
    submitted = [s for s in peer.submits if s.client_ref == message.idempotency_key]
    assert len(submitted) >= 2
    assert [s.part.seq for s in submitted] == list(range(1, len(submitted) + 1))
    assert len({s.part.udh[3] for s in submitted}) == 1 and all(
        s.part.udh[:3] == b"\x05\x00\x03" for s in submitted
    )
    assert "".join(s.part.text for s in submitted) == long_body


def test_the_window_is_respected(clock):
    queue(12)
    peer = Peer()
    peer.latency = 0.02
    run(runner(peer, window=3).run())
    assert max(s.max_in_flight for s in peer.sessions) <= 3
    assert set(statuses().values()) == {MessageStatus.SENT}


def test_throttling_slows_down_and_resubmits_the_refused_part_only(clock):
    queue(4)
    peer = Peer()
    peer.throttle_next = 3
    stats = run(runner(peer).run())
    assert stats["throttled"] == 3
    assert set(statuses().values()) == {MessageStatus.SENT}
    assert max(peer.accepted.values()) == 1  # nothing accepted twice


def test_a_refused_destination_fails_with_the_status_named(clock):
    messages = queue(2)
    peer = Peer()
    peer.refuse[messages[0].phone] = "ESME_RINVDSTADR"
    run(runner(peer).run())
    first = SmsMessage.objects.get(pk=messages[0].pk)
    assert first.status == MessageStatus.FAILED and first.error_code == "ESME_RINVDSTADR"
    assert SmsMessage.objects.get(pk=messages[1].pk).status == MessageStatus.SENT


def test_submits_left_unanswered_by_a_lost_connection_become_unknown_and_are_never_resent(clock):
    queue(6)
    peer = Peer()
    peer.latency = 0.05
    peer.drop_after = 3
    run(runner(peer, window=4, max_backoff=0.05).run())
    after_first = statuses()
    unknown = [pk for pk, status in after_first.items() if status == MessageStatus.UNKNOWN]
    assert unknown, after_first
    assert all(
        status in (MessageStatus.SENT, MessageStatus.UNKNOWN, MessageStatus.QUEUED)
        for status in after_first.values()
    )
    # Later runs send what was never submitted, and never the unknown ones again.
    peer.drop_after = None
    run(runner(peer).run())
    final = statuses()
    assert all(final[pk] == MessageStatus.UNKNOWN for pk in unknown)
    assert set(final.values()) <= {MessageStatus.SENT, MessageStatus.UNKNOWN}
    unknown_refs = set(SmsMessage.objects.filter(pk__in=unknown).values_list("idempotency_key", flat=True))
    assert sum(1 for s in peer.submits if s.client_ref in unknown_refs) == len(unknown)
    assert all(SmsMessage.objects.get(pk=pk).error_code == "connection_lost" for pk in unknown)


def part_ids(message):
    return list(
        MessagePart.objects.filter(message=message).order_by("seq").values_list("provider_id", flat=True)
    )


def _receipt(peer, provider_id, stat="DELIVRD", err="000"):
    return ReceiptEvent(
        provider_id=provider_id, stat=stat, err=err, done_at=timezone.now(), raw={"id": provider_id}
    )


def _long_queued(n_extra=4):
    customer = CustomerFactory(mobile="+8613900000009")
    LoanFactory(days=10, customer=customer)
    batch = batch_generate(as_of=timezone.localdate())
    message = SmsMessage.objects.get(batch=batch, status=MessageStatus.PENDING)
    SmsMessage.objects.filter(pk=message.pk).update(body=message.body + "如已还款请忽略。" * 2 * n_extra)
    from notices.services.batches import batch_content_hash

    batch.__class__.objects.filter(pk=batch.pk).update(content_hash=batch_content_hash(batch))
    batch.refresh_from_db()
    batch_approve(batch=batch, user=supervisor_user(username="approver"))
    return SmsMessage.objects.get(pk=message.pk)


def test_delivered_only_when_every_part_is_out_of_order_and_twice(clock):
    message = _long_queued()
    peer = Peer()

    async def scenario():
        link = runner(peer, once=False)
        task = asyncio.create_task(link.run())
        await until(link, lambda: SmsMessage.objects.get(pk=message.pk).status == MessageStatus.SENT)
        ids = await link.db(part_ids, message)
        assert len(ids) >= 2
        for provider_id in reversed(ids[1:]):
            report = _receipt(peer, provider_id)
            await peer.deliver(report)
            await peer.deliver(report)  # the same report again
        assert await link.db(lambda: SmsMessage.objects.get(pk=message.pk).status) == MessageStatus.SENT
        await peer.deliver(_receipt(peer, ids[0]))
        link.stop()
        await task
        return ids

    ids = run(scenario())
    assert SmsMessage.objects.get(pk=message.pk).status == MessageStatus.DELIVERED
    assert DeliveryReceipt.objects.filter(message=message).count() == len(ids)


def test_one_failed_part_fails_the_message_with_the_receipts_state(clock):
    message = _long_queued()
    peer = Peer()

    async def scenario():
        link = runner(peer, once=False)
        task = asyncio.create_task(link.run())
        await until(link, lambda: MessagePart.objects.filter(message=message).exists())
        await until(link, lambda: SmsMessage.objects.get(pk=message.pk).status == MessageStatus.SENT)
        ids = await link.db(part_ids, message)
        await peer.deliver(_receipt(peer, ids[0]))
        await peer.deliver(_receipt(peer, ids[1], stat="UNDELIV", err="012"))
        link.stop()
        await task

    run(scenario())
    failed = SmsMessage.objects.get(pk=message.pk)
    assert failed.status == MessageStatus.FAILED and failed.error_code == "UNDELIV:012"


def test_a_receipt_that_comes_before_its_part_is_written_is_applied_when_it_is(clock):
    from notices.links.base import SubmitResult, SubmitStatus
    from notices.links.parts import split
    from notices.services.links import Submitted, link_receipt_apply, link_results_record

    (message,) = queue(1)
    SmsMessage.objects.filter(pk=message.pk).update(status=MessageStatus.SENDING)
    parts = split(message.body, reference=1)
    link_receipt_apply(link="smpp", event=_receipt(None, "EARLY-1"))
    assert DeliveryReceipt.objects.get(provider_message_id="EARLY-1").message is None
    applied = link_results_record(
        link="smpp",
        submitted=[
            Submitted(
                message=message,
                parts=[(parts[0], SubmitResult(SubmitStatus.ACCEPTED, provider_id="EARLY-1"))],
                submitted_at=timezone.now(),
            )
        ],
    )
    assert applied == 1
    assert SmsMessage.objects.get(pk=message.pk).status == MessageStatus.DELIVERED


def test_an_unanswered_part_is_settled_by_the_one_receipt_that_fits_it(clock):
    from notices.links.base import SubmitResult, SubmitStatus
    from notices.links.parts import split
    from notices.services.links import Submitted, link_receipt_apply, link_results_record

    first, second = queue(2)
    SmsMessage.objects.filter(pk__in=[first.pk, second.pk]).update(status=MessageStatus.SENDING)
    now = timezone.now()
    link_results_record(
        link="smpp",
        submitted=[
            Submitted(
                message=m,
                parts=[
                    (split(m.body, reference=1)[0], SubmitResult(SubmitStatus.UNKNOWN, code="no_response"))
                ],
                submitted_at=now,
            )
            for m in (first, second)
        ],
    )
    assert SmsMessage.objects.get(pk=first.pk).status == MessageStatus.UNKNOWN
    event = ReceiptEvent(
        provider_id="X9",
        stat="DELIVRD",
        err="000",
        submitted_at=now,
        done_at=now,
        recipient=first.phone.lstrip("+"),
        text=first.body[:20],
    )
    link_receipt_apply(link="smpp", event=event)
    assert SmsMessage.objects.get(pk=first.pk).status == MessageStatus.DELIVERED
    assert SmsMessage.objects.get(pk=second.pk).status == MessageStatus.UNKNOWN
    # A report that fits no part, or more than one, settles nothing.
    link_receipt_apply(
        link="smpp", event=ReceiptEvent(provider_id="X10", stat="DELIVRD", recipient="8613700000000")
    )
    assert SmsMessage.objects.get(pk=second.pk).status == MessageStatus.UNKNOWN


def test_a_long_reply_in_parts_on_two_binds_out_of_order_and_twice_is_one_feedback_item(clock):
    customer = CustomerFactory(mobile="+8613911112222")
    LoanFactory(days=10, customer=customer)
    peer = Peer()
    texts = ["我已经在网点", "还款了，请不要", "再发短信。谢谢"]

    async def scenario():
        link_a, link_b = runner(peer, once=False, slots=2), runner(peer, once=False, slots=2)
        tasks = [asyncio.create_task(link_a.run()), asyncio.create_task(link_b.run())]
        await until(
            link_a, lambda: len(peer.sessions) == 2 and LinkSlot.objects.exclude(holder="").count() == 2
        )
        order = [(2, 0), (0, 1), (2, 1), (1, 0)]  # (part index, session)
        for index, session in order:
            await peer.deliver(
                InboundPartEvent(
                    sender="8613911112222",
                    recipient="106",
                    text=texts[index],
                    concatenation=(77, 3, index + 1),
                ),
                session=session,
            )
        for link in (link_a, link_b):
            link.stop()
        await asyncio.gather(*tasks)

    run(scenario())
    inbound = InboundMessage.objects.get()
    assert inbound.text == "".join(texts) and inbound.customer == customer
    assert Feedback.objects.filter(inbound=inbound).count() == 1


def test_never_more_binds_than_allowed_across_processes(clock):
    queue(1)
    peer = Peer()

    async def scenario():
        holder = runner(peer, once=False, slots=1)
        task = asyncio.create_task(holder.run())
        await until(holder, lambda: LinkSlot.objects.exclude(holder="").count() == 1)
        other = await runner(peer, once=True, slots=1).run()
        holder.stop()
        await task
        return other

    other = run(scenario())
    assert other["no_free_slot"] == 1 and len(peer.sessions) == 1


def test_a_lease_left_by_a_dead_process_is_taken_over(clock):
    LinkSlot.objects.create(
        link="smpp", slot=0, holder="gone:1:x", lease_until=timezone.now() - datetime.timedelta(seconds=1)
    )
    queue(1)
    peer = Peer()
    run(runner(peer).run())
    assert set(statuses().values()) == {MessageStatus.SENT}


def test_a_message_left_by_a_dead_link_process_is_settled_by_its_receipt(clock, settings):
    from notices.services.sending import sending_sweep

    first, second = queue(2)
    long_ago = timezone.now() - datetime.timedelta(seconds=settings.SMS_SEND_LEASE_SECONDS + 5)
    SmsMessage.objects.filter(pk__in=[first.pk, second.pk]).update(
        status=MessageStatus.SENDING, claimed_at=long_ago
    )
    sending_sweep(now=timezone.now())  # the link process died with them claimed
    assert set(
        SmsMessage.objects.filter(pk__in=[first.pk, second.pk]).values_list("error_code", flat=True)
    ) == {"link_lost"}
    event = ReceiptEvent(
        provider_id="Z1",
        stat="DELIVRD",
        submitted_at=long_ago,
        done_at=timezone.now(),
        recipient=first.phone.lstrip("+"),
    )
    from notices.services.links import link_receipt_apply

    link_receipt_apply(link="smpp", event=event)
    assert SmsMessage.objects.get(pk=first.pk).status == MessageStatus.DELIVERED
    assert MessagePart.objects.get(message=first).provider_id == "Z1"
    assert SmsMessage.objects.get(pk=second.pk).status == MessageStatus.UNKNOWN
