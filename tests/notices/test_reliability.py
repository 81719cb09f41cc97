"""Crashes, retries and races with real processes and threads (PostgreSQL only).

Nothing here may send a customer the same notice twice: the fake gateway counts every
client_ref it receives again as a duplicate.
"""

from __future__ import annotations

import datetime
import os
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path

import pytest
from django.db import connection
from django.utils import timezone

from customers.models import Customer, Loan, LoanStatus
from notices.backends import reset_backends
from notices.fake_gateway import FakeGateway
from notices.models import ContactPolicy, MessageStatus, NoticeBatch, SmsMessage
from notices.services import batch_approve, batch_generate
from notices.services.sending import sender_run, sending_sweep
from tests.factories import supervisor_user
from tests.notices import scripted_backend

ROOT = Path(__file__).resolve().parents[2]
FINAL = {
    MessageStatus.SENT,
    MessageStatus.DELIVERED,
    MessageStatus.FAILED,
    MessageStatus.CANCELLED,
    MessageStatus.UNKNOWN,
}

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def _postgres_only():
    if connection.vendor != "postgresql":
        pytest.skip("real concurrent workers need PostgreSQL")


def _open_window_and_rate(rate: int) -> None:
    policy = ContactPolicy.current()
    policy.window_start = datetime.time(0, 0)
    policy.window_end = datetime.time(23, 59, 59, 999999)
    policy.rate_limit = rate
    policy.save()


def _queued_batch(n: int, monkeypatch) -> NoticeBatch:
    """n customers with one overdue loan each, batched and approved (sender not woken)."""
    today = timezone.localdate()
    customers = Customer.objects.bulk_create(
        Customer(customer_no=f"R{i:06d}", name="周" + "明", mobile=f"+86137{i:08d}") for i in range(n)
    )
    Loan.objects.bulk_create(
        Loan(
            loan_account=f"88{i:012d}",
            customer=c,
            overdue_amount=100 + i,
            overdue_principal=100 + i,
            overdue_since=today - datetime.timedelta(days=10),
            status=LoanStatus.OVERDUE,
        )
        for i, c in enumerate(customers)
    )
    batch = batch_generate(as_of=today)
    monkeypatch.setattr("notices.services.batches.wake", lambda reason: None)
    batch_approve(batch=batch, user=supervisor_user(username="approver"))
    assert SmsMessage.objects.filter(batch=batch, status=MessageStatus.QUEUED).count() == n
    return batch


def _cluster_env(gateway: FakeGateway) -> dict:
    db = connection.settings_dict
    env = dict(os.environ)
    env.update(
        DJANGO_SETTINGS_MODULE="config.settings.base",
        DATABASE_URL=f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}",
        SMS_BACKEND="http",
        SMS_HTTP_BASE_URL=gateway.url,
        SMS_HTTP_TOKEN="t0k",
        SMS_SEND_CONCURRENCY="8",
        SMS_SENDER_TASKS="2",
        SMS_SENDER_MAX_SECONDS="20",
        SMS_SEND_LEASE_SECONDS="5",
        Q_CLUSTER_NAME="reliability",
        Q_WORKERS="2",
        Q_TIMEOUT="30",
        Q_RETRY="40",
        REDIS_URL="",
        LOG_LEVEL="WARNING",
    )
    return env


def _start_cluster(env) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "manage.py", "qcluster"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,  # its own process group: SIGKILL takes the workers too
    )


def _wake(env) -> None:
    subprocess.run(
        [
            sys.executable,
            "manage.py",
            "shell",
            "-c",
            "from notices.outbox import wake; wake(reason='test')",
        ],
        cwd=ROOT,
        env=env,
        check=True,
        capture_output=True,
    )


def _statuses(batch) -> Counter:
    return Counter(
        SmsMessage.objects.filter(batch=batch)
        .exclude(status=MessageStatus.EXCLUDED)
        .values_list("status", flat=True)
    )


def test_two_clusters_one_killed_midway_send_every_notice_exactly_once(monkeypatch, settings):
    _open_window_and_rate(400)
    batch = _queued_batch(2000, monkeypatch)
    gateway = FakeGateway(port=0, token="t0k", secret="s", latency=0.05).start()
    # This test process reconciles like the periodic sweep does, through the same gateway.
    settings.SMS_BACKEND, settings.SMS_HTTP_BASE_URL, settings.SMS_HTTP_TOKEN = "http", gateway.url, "t0k"
    settings.SMS_SEND_LEASE_SECONDS = 5
    reset_backends()
    env = _cluster_env(gateway)
    clusters = [_start_cluster(env), _start_cluster(env)]
    try:
        _wake(env)
        deadline = time.monotonic() + 60
        while gateway.state.stats()["unique"] < 300 and time.monotonic() < deadline:
            time.sleep(0.1)
        assert gateway.state.stats()["unique"] >= 300, "the clusters did not start sending"
        os.killpg(clusters[0].pid, signal.SIGKILL)
        clusters[0].wait(10)
        killed_at = gateway.state.stats()["unique"]
        assert killed_at < 2000, "killed too late to test anything"
        clusters[0] = _start_cluster(env)
        _wake(env)
        deadline = time.monotonic() + 150
        while time.monotonic() < deadline:
            counts = _statuses(batch)
            if sum(counts.values()) == sum(counts[s] for s in FINAL):
                break
            if counts[MessageStatus.SENDING]:
                sending_sweep(wake=False)  # reconcile only: the clusters do the sending
            time.sleep(1)
    finally:
        for cluster in clusters:
            if cluster.poll() is None:
                os.killpg(cluster.pid, signal.SIGTERM)
        for cluster in clusters:
            try:
                cluster.wait(3)
            except subprocess.TimeoutExpired:
                os.killpg(cluster.pid, signal.SIGKILL)
                cluster.wait(5)
        gateway.stop()
    counts = _statuses(batch)
    assert set(counts) <= FINAL, counts
    assert counts[MessageStatus.SENT] + counts[MessageStatus.DELIVERED] == 2000
    stats = gateway.state.stats()
    assert stats["duplicates"] == 0 and stats["unique"] == 2000


def test_the_same_send_task_twice_at_once_sends_each_message_once(monkeypatch, settings):
    _open_window_and_rate(1000)
    batch = _queued_batch(200, monkeypatch)
    settings.SMS_BACKEND = "tests.notices.scripted_backend.ScriptedBackend"
    reset_backends()
    scripted_backend.reset(slow=0.005)
    barrier = threading.Barrier(2)

    def run():
        from django.db import connection as thread_connection

        try:
            barrier.wait()
            sender_run(max_seconds=30, sleep=lambda: time.sleep(0.05))
        finally:
            thread_connection.close()

    threads = [threading.Thread(target=run) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(scripted_backend.calls) == 200 and len(set(scripted_backend.calls)) == 200
    assert _statuses(batch) == {MessageStatus.SENT: 200}


def test_two_sweeps_at_once_reconcile_each_stuck_message_once(monkeypatch, settings):
    _open_window_and_rate(1000)
    batch = _queued_batch(50, monkeypatch)
    settings.SMS_BACKEND = "tests.notices.scripted_backend.ScriptedBackend"
    reset_backends()
    scripted_backend.reset()
    long_ago = timezone.now() - datetime.timedelta(seconds=settings.SMS_SEND_LEASE_SECONDS + 60)
    SmsMessage.objects.filter(batch=batch, status=MessageStatus.QUEUED).update(
        status=MessageStatus.SENDING, claimed_at=long_ago
    )
    barrier = threading.Barrier(2)
    results = []

    def sweep():
        from django.db import connection as thread_connection

        try:
            barrier.wait()
            results.append(sending_sweep())
        finally:
            thread_connection.close()

    threads = [threading.Thread(target=sweep) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    # None had reached the gateway: each is requeued once and then sent once.
    assert len(scripted_backend.calls) == len(set(scripted_backend.calls)) == 50
    assert _statuses(batch) == {MessageStatus.SENT: 50}
