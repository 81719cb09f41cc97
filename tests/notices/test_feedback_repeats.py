"""The same reply twice from one phone is one piece of work: merged, counted, shown."""

import datetime
import itertools

import pytest
from django.utils import timezone

from core.models import AuditEvent
from notices.models import Feedback, FeedbackStatus, InboundMessage
from notices.services.feedback import feedback_from_inbound, feedback_set_status
from tests.factories import CustomerFactory

pytestmark = pytest.mark.django_db
START = timezone.now() - datetime.timedelta(hours=5)
IDS = itertools.count(1)


def reply(text, minutes=0, phone="+8613812345678"):
    """An SMS from `phone` received `minutes` after START, made into feedback."""
    inbound = InboundMessage.objects.create(
        provider_message_id=f"in-{next(IDS)}", phone=phone, text=text, payload={}, customer=None
    )
    InboundMessage.objects.filter(pk=inbound.pk).update(
        received_at=START + datetime.timedelta(minutes=minutes)
    )
    inbound.refresh_from_db()
    return feedback_from_inbound(inbound=inbound)


def test_the_same_text_again_soon_is_one_item_with_a_count(staff_client):
    CustomerFactory(mobile="+8613812345678", name="陈静")
    first = reply("已还")
    again = reply(" 已还 ", minutes=3)  # spaces do not make it another text
    third = reply("已还", minutes=50, phone="13812345678")  # the gateway spelling the number its way
    assert first.pk == again.pk == third.pk and Feedback.objects.count() == 1
    item = Feedback.objects.get()
    assert item.received_count == 3 and item.last_received_at == START + datetime.timedelta(minutes=50)
    assert item.repeats.count() == 2 and item.sla_due_at == first.sla_due_at  # answer-by from the first
    assert AuditEvent.objects.filter(action="feedback.repeat", object_id=str(item.pk)).count() == 2
    worklist = staff_client.get("/admin/notices/feedback/").content.decode()
    assert worklist.count('class="badge text-bg-warning received-count">收到 3 次<') == 1
    page = staff_client.get(f"/admin/notices/feedback/{item.pk}/change/").content.decode()
    assert 'id="received-count"' in page and "收到 3 次" in page


def test_the_window_runs_from_the_last_one(settings):
    settings.FEEDBACK_MERGE_MINUTES = 60
    first = reply("我想分期")
    assert reply("我想分期", minutes=59).pk == first.pk
    assert reply("我想分期", minutes=118).pk == first.pk  # 59 minutes after the last
    assert reply("我想分期", minutes=179).pk != first.pk  # 61 minutes after the last


@pytest.mark.parametrize(
    ("second", "why"),
    [
        ({"text": "已还款"}, "other words"),
        ({"text": "已还", "phone": "+8613900000000"}, "another phone"),
        ({"text": "已还", "minutes": 61}, "after the window"),
    ],
)
def test_otherwise_it_is_another_item(second, why):
    first = reply("已还")
    assert reply(**second).pk != first.pk, why
    assert Feedback.objects.get(pk=first.pk).received_count == 1


def test_a_closed_item_is_not_reopened_by_a_repeat(staff):
    first = reply("已还")
    feedback_set_status(feedback=first, user=staff, status=FeedbackStatus.CLOSED, resolution="已核实")
    assert reply("已还", minutes=5).pk != first.pk


def test_merging_can_be_turned_off(settings):
    settings.FEEDBACK_MERGE_MINUTES = 0
    assert reply("已还").pk != reply("已还", minutes=1).pk


def test_making_feedback_of_the_same_sms_twice_counts_it_once():
    first = reply("已还")
    again = reply("已还", minutes=2)
    inbound = InboundMessage.objects.order_by("-pk").first()
    assert feedback_from_inbound(inbound=inbound).pk == again.pk == first.pk
    assert Feedback.objects.get().received_count == 2


def test_retention_keeps_the_repeats_of_an_item_that_stays(staff):
    from notices.services.retention import data_purge

    kept = reply("我要投诉")
    reply("我要投诉", minutes=1)
    closed = reply("已还", minutes=2)
    reply("已还", minutes=3)
    feedback_set_status(feedback=closed, user=staff, status=FeedbackStatus.CLOSED, resolution="已核实")
    Feedback.objects.update(created_at=START)
    counts = data_purge(before=START + datetime.timedelta(minutes=10))
    assert counts["feedback"] == 1 and counts["inbound"] == 2  # the closed item and its two SMS
    assert Feedback.objects.get().pk == kept.pk and kept.repeats.count() == 1
    assert InboundMessage.objects.count() == 2
