import datetime
import threading

import pytest
from django.db import connection
from django.utils import timezone

from core.exceptions import ServiceError
from core.models import AuditEvent
from notices.models import BatchStatus, MessageStatus, NoticeBatch, SmsMessage
from notices.services import batch_approve, batch_cancel, batch_generate, batch_reject
from tests.factories import LoanFactory, UserFactory, staff_user, supervisor_user

pytestmark = pytest.mark.django_db

TODAY = timezone.localdate()


@pytest.fixture
def batch(staff):
    LoanFactory(days=10)
    LoanFactory(days=40)
    return batch_generate(as_of=TODAY, user=staff)


def test_a_supervisor_approves_and_the_messages_are_queued(batch, supervisor):
    batch_approve(batch=batch, user=supervisor)
    batch.refresh_from_db()
    assert batch.status == BatchStatus.APPROVED and batch.approved_by == supervisor
    assert set(SmsMessage.objects.filter(batch=batch).values_list("status", flat=True)) <= {
        MessageStatus.QUEUED,
        MessageStatus.SENT,
        MessageStatus.SENDING,
    }
    assert AuditEvent.objects.filter(
        action="batch.approve", actor=supervisor, object_id=str(batch.pk)
    ).exists()


def test_the_author_cannot_approve_even_as_a_supervisor_or_superuser(db):
    LoanFactory(days=10)
    author = supervisor_user(username="author", is_superuser=True)
    batch = batch_generate(as_of=TODAY, user=author)
    with pytest.raises(ServiceError):
        batch_approve(batch=batch, user=author)
    assert NoticeBatch.objects.get(pk=batch.pk).status == BatchStatus.PENDING_APPROVAL


def test_staff_cannot_approve(batch):
    with pytest.raises(ServiceError):
        batch_approve(batch=batch, user=staff_user(username="other-staff"))


def test_a_stale_batch_cannot_be_approved(supervisor):
    LoanFactory(days=10)
    batch = batch_generate(as_of=TODAY - datetime.timedelta(days=3))
    with pytest.raises(ServiceError) as error:
        batch_approve(batch=batch, user=supervisor)
    assert error.value.code == "not_allowed"


def test_a_batch_whose_messages_changed_cannot_be_approved_as_it_was(batch, supervisor):
    message = SmsMessage.objects.filter(batch=batch, status=MessageStatus.PENDING).first()
    SmsMessage.objects.filter(pk=message.pk).update(body=message.body + "（已改）")
    with pytest.raises(ServiceError) as error:
        batch_approve(batch=batch, user=supervisor)
    assert error.value.code == "content_changed"
    assert NoticeBatch.objects.get(pk=batch.pk).status == BatchStatus.PENDING_APPROVAL


def test_approving_twice_approves_once(batch, supervisor):
    batch_approve(batch=batch, user=supervisor)
    other = supervisor_user(username="second")
    with pytest.raises(ServiceError):
        batch_approve(batch=NoticeBatch.objects.get(pk=batch.pk), user=other)
    assert AuditEvent.objects.filter(action="batch.approve").count() == 1


def test_reject_needs_a_reason_and_cancels_the_messages(batch, supervisor):
    with pytest.raises(ServiceError):
        batch_reject(batch=batch, user=supervisor, reason="  ")
    batch_reject(batch=batch, user=supervisor, reason="金额与核心系统不一致")
    batch.refresh_from_db()
    assert batch.status == BatchStatus.REJECTED and batch.reason == "金额与核心系统不一致"
    assert set(
        SmsMessage.objects.filter(batch=batch)
        .exclude(status=MessageStatus.EXCLUDED)
        .values_list("status", flat=True)
    ) == {MessageStatus.CANCELLED}


def test_the_author_can_cancel_but_not_reject(batch, staff):
    with pytest.raises(ServiceError):
        batch_reject(batch=batch, user=staff, reason="x")
    batch_cancel(batch=batch, user=staff, reason="重新生成")
    assert NoticeBatch.objects.get(pk=batch.pk).status == BatchStatus.CANCELLED


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_supervisors_approving_at_once_make_exactly_one_approval():
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL (real concurrent transactions)")
    LoanFactory(days=10)
    batch = batch_generate(as_of=TODAY)
    approvers = [supervisor_user(username=f"sup{i}") for i in range(2)]
    barrier = threading.Barrier(2)
    results = []

    def approve(user):
        from django.db import connection as thread_connection

        try:
            barrier.wait()
            batch_approve(batch=NoticeBatch.objects.get(pk=batch.pk), user=user)
            results.append("ok")
        except ServiceError:
            results.append("refused")
        finally:
            thread_connection.close()

    threads = [threading.Thread(target=approve, args=(u,)) for u in approvers]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results) == ["ok", "refused"]
    assert AuditEvent.objects.filter(action="batch.approve").count() == 1
    assert NoticeBatch.objects.get(pk=batch.pk).approved_by in approvers


def test_superuser_without_being_author_may_approve(batch):
    admin = UserFactory(username="root", is_superuser=True)
    batch_approve(batch=batch, user=admin)
    assert NoticeBatch.objects.get(pk=batch.pk).status == BatchStatus.APPROVED
