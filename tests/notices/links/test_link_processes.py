"""Real link processes against a real peer process (PostgreSQL only): two `sms_link`
processes share the outbox over CMPP, one is killed with SIGKILL mid-window, the ISMG
drops connections along the way — and no message is submitted twice (the ISMG counts),
every message ends final or `unknown` with a reason."""

from __future__ import annotations

import datetime
import json
import os
import re
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest
from django.db import connection
from django.utils import timezone

from customers.models import Customer, Loan, LoanStatus
from notices.backends import reset_backends
from notices.models import ContactPolicy, MessageStatus, NoticeBatch, SmsMessage
from notices.services import batch_approve, batch_generate
from notices.services.sending import sending_sweep
from tests.factories import supervisor_user

ROOT = Path(__file__).resolve().parents[3]
FINAL = {MessageStatus.SENT, MessageStatus.DELIVERED, MessageStatus.FAILED, MessageStatus.UNKNOWN}
SP_ID, SECRET = "901234", "process-test-secret"

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def _postgres_only():
    if connection.vendor != "postgresql":
        pytest.skip("real link processes sharing the outbox need PostgreSQL")


def _queued(n: int, monkeypatch) -> NoticeBatch:
    policy = ContactPolicy.current()
    policy.window_start, policy.window_end = datetime.time(0, 0), datetime.time(23, 59, 59, 999999)
    policy.rate_limit = 300
    policy.save()
    today = timezone.localdate()
    customers = Customer.objects.bulk_create(
        Customer(customer_no=f"LP{i:06d}", name="王芳", mobile=f"+86139{i:08d}") for i in range(n)
    )
    Loan.objects.bulk_create(
        Loan(
            loan_account=f"77{i:012d}",
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
    return batch


def _env(**extra) -> dict:
    db = connection.settings_dict
    env = dict(os.environ)
    env.update(
        DJANGO_SETTINGS_MODULE="config.settings.base",
        DATABASE_URL=f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}",
        SMS_CMPP_SP_ID=SP_ID,
        SMS_CMPP_SECRET=SECRET,
        SMS_SEND_LEASE_SECONDS="5",
        LOG_LEVEL="WARNING",
        REDIS_URL="",
        **extra,
    )
    return env


def _start(args: list[str], env: dict, log: Path) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=env,
        stdout=log.open("w"),
        stderr=subprocess.STDOUT,
        start_new_session=True,  # SIGKILL to its group takes everything it started
    )


def _listening(log: Path, process: subprocess.Popen, timeout: float = 30) -> int:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = re.search(r"127\.0\.0\.1:(\d+)", log.read_text(errors="replace"))
        if found:
            return int(found.group(1))
        assert process.poll() is None, log.read_text(errors="replace")
        time.sleep(0.05)
    raise AssertionError("the fake ISMG did not start")


def _statuses(batch) -> Counter:
    return Counter(
        SmsMessage.objects.filter(batch=batch)
        .exclude(status=MessageStatus.EXCLUDED)
        .values_list("status", flat=True)
    )


def _stop(process: subprocess.Popen, sig=signal.SIGTERM, wait: float = 20) -> None:
    if process.poll() is None:
        os.killpg(process.pid, sig)
    try:
        process.wait(wait)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(5)


def test_two_cmpp_links_one_killed_mid_window_submit_nothing_twice(monkeypatch, settings, tmp_path):
    n = 1200
    batch = _queued(n, monkeypatch)
    report = tmp_path / "ismg.json"
    ismg_log = tmp_path / "ismg.log"
    ismg = _start(
        [
            "fake_ismg",
            "--port", "0", "--sp-id", SP_ID, "--secret", SECRET, "--latency-ms", "30",
            "--drop-after", "350", "--drop-repeat", "--receipts", "in_order", "--receipt-delay", "0.2",
            "--report", str(report),
        ],
        _env(),
        ismg_log,
    )  # fmt: skip
    links = []
    try:
        port = _listening(ismg_log, ismg)
        env = _env(SMS_BACKEND="cmpp", SMS_CMPP_HOST="127.0.0.1", SMS_CMPP_PORT=str(port), SMS_CMPP_LINKS="2")
        links = [_start(["sms_link"], env, tmp_path / f"link{i}.log") for i in range(2)]
        # This process sweeps as the every-minute schedule does (for a link: claims a dead
        # process left become unknown).
        settings.SMS_BACKEND, settings.SMS_SEND_LEASE_SECONDS = "cmpp", 5
        reset_backends()
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            done = _statuses(batch)
            if done[MessageStatus.SENT] + done[MessageStatus.DELIVERED] >= 250:
                break
            time.sleep(0.1)
        else:
            raise AssertionError(f"the links did not start sending: {_statuses(batch)}")
        _stop(links[0], signal.SIGKILL)  # mid-window: its claims and answers are lost with it
        links[0] = _start(["sms_link"], env, tmp_path / "link2.log")
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline:
            counts = _statuses(batch)
            if not counts[MessageStatus.QUEUED] and not counts[MessageStatus.SENDING]:
                break
            if counts[MessageStatus.SENDING]:
                sending_sweep(wake=False)
            time.sleep(1)
        time.sleep(1.5)  # the last receipts
    finally:
        for link in links:
            _stop(link)
        _stop(ismg)
    counts = _statuses(batch)
    assert set(counts) <= FINAL, (counts, (tmp_path / "link1.log").read_text(errors="replace")[-3000:])
    seen = json.loads(report.read_text())
    assert seen["duplicates"] == 0
    assert all(item["count"] == 1 for item in seen["accepted"])
    assert seen["stats"]["dropped"] >= 2  # the ISMG did drop connections along the way
    accepted_to = Counter(item["dest"] for item in seen["accepted"])
    assert max(accepted_to.values()) == 1  # one notice per customer reached the ISMG once
    unknown = SmsMessage.objects.filter(batch=batch, status=MessageStatus.UNKNOWN)
    assert all(m.error_code for m in unknown)  # each says why
    assert counts[MessageStatus.SENT] + counts[MessageStatus.DELIVERED] + counts[MessageStatus.UNKNOWN] == n
    assert counts[MessageStatus.DELIVERED] > n // 2
