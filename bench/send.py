"""Sending throughput against the gateway's rate limit, and the sender's own cost (issue 5).

Two runs, each on freshly queued overdue notices in a database of its own, through the
fake SMS platform (notices.fake_gateway) over real HTTP, with real worker processes:

- throughput: `--messages` notices (default 20,000), gateway latency `--latency-ms`
  (50), rate limit `--rate-limit` (500 per second, in the contact policy, shared by the
  workers through the database), `--workers` worker processes (2). achieved = messages /
  elapsed; ratio = achieved / rate limit. Target: ratio ≥ 0.9.
- overhead: the same notices again with no latency and an effectively unlimited rate
  (1,000,000 per second), `--overhead-workers` workers (1). overhead_ms = elapsed × workers
  / messages: the wall time each message costs a worker when the gateway answers at once
  (the sender's own work: claim, re-checks, rate tokens, HTTP call, result writes; on this
  machine the fake gateway and the database share the CPUs with it). Target ≤ 2 ms on
  PostgreSQL.

elapsed runs from the first send's arrival at the gateway to the later of the last
send's answer and the last result written (the newest SendAttempt row). Every run checks
that every notice ended `sent`, that the gateway received each client_ref exactly once
and that no send was retried; a failed check makes the exit status 1.

Each run also reports, for reading the numbers: CPU per message of the workers and of
the fake gateway (less sensitive than wall time to other work on the machine), the load
average before it, the most sends the gateway saw within any one second and within one
clock second (the limit is counted per clock second, shared through the database, so a
chunk granted late in one second may still be arriving early in the next), and the most
calls in flight.

The notices are realistic: one overdue loan per customer, a NotifiedLoan row per notice,
the batch approved, so the sender's pre-send checks (still overdue per the latest import,
still contactable, same phone, daily cap) run on every chunk as in production. The
contact window is opened all day (00:00–23:59:59.999999) so the run may happen at any
hour.

    .venv/bin/python bench/send.py [--messages 20000] [--rate-limit 500] [--latency-ms 50]
        [--workers 2] [--overhead-workers 1] [--runner process|qcluster]
        [--database-url postgres://postgres@127.0.0.1:5432/bench_send] [--json]

`--backend cmpp` (or `smpp`) sends through a carrier link instead: the fake ISMG
(`manage.py fake_ismg`, its own process, status reports for every part) or the fake SMSC
(`manage.py fake_smsc`), and `--workers` link processes (`manage.py sms_link`, each
holding one of as many binds) in place of the sender; the window is SMS_CMPP_WINDOW /
SMS_SMPP_WINDOW (`--window`). elapsed runs from the first part's submit to the last
answer written; the run ends when every notice is delivered (its receipts applied), so
worker_cpu_ms covers claim, re-check, submit, record and receipt. The overhead run is
the http sender's only.

`--runner process` (default) starts each worker as a process that calls
`sender_run()` once all are ready; `--runner qcluster` starts one django-q2 cluster with
that many workers and wakes it with `notices.outbox.wake`, as production does.
`--chunk` and `--concurrency` override SMS_SENDER_CHUNK and SMS_SEND_CONCURRENCY for the
workers, `--skip-throughput` / `--skip-overhead` run one part only, and `--profile
PREFIX` writes a cProfile of each worker's main thread.
The PostgreSQL database named in `--database-url` is dropped, created and dropped again
at the end, so its name must start with `bench` (the suite's `test` database is never
touched). `--database-url sqlite:///path` runs on a new SQLite file instead.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime
import json
import os
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from decimal import Decimal
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/bench_send"
TOKEN = "bench-send-token"
UNLIMITED = 1_000_000
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘"
INSERT_BATCH = 5000


# --- The database ---------------------------------------------------------------------


def _postgres_recreate(url: str, *, drop_only: bool = False) -> None:
    import psycopg
    from psycopg import sql

    parts = urlsplit(url)
    name = parts.path.lstrip("/")
    if not name.startswith("bench"):
        raise SystemExit(f"refusing to drop and create {name!r}: a bench database's name starts with 'bench'")
    admin = urlunsplit(parts._replace(path="/postgres"))
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
        if not drop_only:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))


def prepare_database(url: str) -> tuple[str, callable]:
    """A fresh database at `url`; returns (url, cleanup)."""
    scheme = urlsplit(url).scheme
    if scheme.startswith("postgres"):
        _postgres_recreate(url)
        return url, lambda: _postgres_recreate(url, drop_only=True)
    if scheme == "sqlite":
        if url in ("sqlite://", "sqlite:///"):
            tmp = tempfile.mkdtemp(prefix="bench-send-")
            return f"sqlite:///{tmp}/bench.sqlite3", lambda: shutil.rmtree(tmp, ignore_errors=True)
        path = Path(url[len("sqlite:///") :])
        if path.exists():
            raise SystemExit(f"refusing to reuse {path}: give a SQLite path that does not exist yet")

        def cleanup():
            for suffix in ("", "-wal", "-shm"):
                Path(f"{path}{suffix}").unlink(missing_ok=True)

        return url, cleanup
    raise SystemExit(f"unsupported database URL: {url}")


def base_env(url: str) -> dict:
    env = dict(os.environ)
    env.update(
        DATABASE_URL=url,
        DJANGO_SETTINGS_MODULE="config.settings.base",
        LOG_LEVEL=os.environ.get("LOG_LEVEL", "WARNING"),
        REDIS_URL="",
        SMS_BACKEND="http",
        SMS_HTTP_TOKEN=TOKEN,
    )
    return env


def setup_django(url: str, *, migrate: bool) -> None:
    os.environ.update({k: v for k, v in base_env(url).items() if k != "SMS_HTTP_BASE_URL"})
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    if migrate:
        from django.core.management import call_command

        call_command("migrate", verbosity=0, interactive=False)


# --- The book and the notices ---------------------------------------------------------


def build_book(count: int, today: datetime.date) -> None:
    """`count` customers, each with one loan 10 days overdue."""
    from django.db import transaction

    from customers.models import Customer, Loan, LoanStatus

    with transaction.atomic():
        Customer.objects.bulk_create(
            (
                Customer(
                    customer_no=f"S{k:09d}",
                    name=SURNAMES[k % len(SURNAMES)] + "建华",
                    id_number=f"330106198{k % 10}0101{k % 1000:03d}{k % 10}",
                    mobile=f"+861{'3578'[k % 4]}{k * 7919 % 1_000_000_000:09d}",
                )
                for k in range(count)
            ),
            batch_size=INSERT_BATCH,
        )
        ids = list(Customer.objects.order_by("customer_no").values_list("pk", flat=True))
        Loan.objects.bulk_create(
            (
                Loan(
                    loan_account=f"62{k + 1:014d}",
                    customer_id=pk,
                    product="个人消费贷",
                    branch="杭州西湖支行",
                    principal=Decimal(50_000),
                    balance=Decimal(30_000),
                    overdue_principal=Decimal(1_000 + k % 900),
                    overdue_interest=Decimal("34.56"),
                    overdue_amount=Decimal(1_000 + k % 900) + Decimal("34.56"),
                    overdue_since=today - datetime.timedelta(days=10),
                    status=LoanStatus.OVERDUE,
                    as_of=today,
                )
                for k, pk in enumerate(ids)
            ),
            batch_size=INSERT_BATCH,
        )


def queue_notices(run: str, today: datetime.date) -> int:
    """One queued notice per loan, in an approved batch, with its NotifiedLoan row."""
    from django.db import transaction

    from customers.models import Loan
    from notices.models import (
        BatchStatus,
        CollectionStage,
        MessageStatus,
        NoticeBatch,
        NotifiedLoan,
        SmsMessage,
        SmsTemplate,
        TemplatePurpose,
    )
    from notices.rendering import with_signature

    stage = CollectionStage.objects.filter(min_days__lte=10).order_by("-min_days").first()
    template = SmsTemplate.objects.filter(stage=stage, purpose=TemplatePurpose.OVERDUE_NOTICE).first()
    repay_by = today + datetime.timedelta(days=3)
    with transaction.atomic():
        batch = NoticeBatch.objects.create(as_of=today, status=BatchStatus.APPROVED)
        loans = list(
            Loan.objects.order_by("pk").values_list(
                "pk", "customer_id", "customer__name", "customer__mobile", "loan_account", "overdue_amount"
            )
        )
        messages = []
        for loan_id, customer_id, name, mobile, account, amount in loans:
            body = with_signature(
                f"{name[0]}先生您好，您尾号{account[-4:]}的贷款已逾期10天，逾期金额{amount:,.2f}元，"
                f"请于{repay_by.month}月{repay_by.day}日前还款，如已还款请忽略。咨询95588"
            )
            messages.append(
                SmsMessage(
                    batch=batch,
                    purpose=TemplatePurpose.OVERDUE_NOTICE,
                    customer_id=customer_id,
                    loan_id=loan_id,
                    stage=stage,
                    template=template,
                    variant="A",
                    phone=mobile,
                    body=body,
                    segments=1,
                    overdue_total=amount,
                    days_overdue=10,
                    status=MessageStatus.QUEUED,
                    idempotency_key=f"n-{run}-{batch.pk}-{customer_id}",
                    dedupe_key=f"notice:{customer_id}:{today.isoformat()}:{run}",
                )
            )
        SmsMessage.objects.bulk_create(messages, batch_size=INSERT_BATCH)
        ids = dict(SmsMessage.objects.filter(batch=batch).values_list("loan_id", "pk"))
        NotifiedLoan.objects.bulk_create(
            (
                NotifiedLoan(
                    message_id=ids[loan_id],
                    loan_id=loan_id,
                    stage=stage,
                    as_of=today,
                    days_overdue=10,
                    overdue_amount=amount,
                )
                for loan_id, _c, _n, _m, _a, amount in loans
            ),
            batch_size=INSERT_BATCH,
        )
    return len(messages)


def clear_notices() -> None:
    """Remove the previous run's notices (raw SQL: the ORM's cascade collector is slow)."""
    from django.db import connection, transaction

    from notices.models import NoticeBatch, NotifiedLoan, RateWindow, SendAttempt, SmsMessage

    with transaction.atomic(), connection.cursor() as cursor:
        for model in (SendAttempt, NotifiedLoan, SmsMessage, NoticeBatch, RateWindow):
            cursor.execute(f"DELETE FROM {model._meta.db_table}")  # noqa: S608 (our table names)


def set_policy(rate_limit: int) -> None:
    from notices.models import ContactPolicy

    policy = ContactPolicy.current()
    policy.window_start = datetime.time(0, 0)
    policy.window_end = datetime.time(23, 59, 59, 999999)
    policy.rate_limit = rate_limit
    policy.daily_cap = 1
    policy.save()


def analyze() -> None:
    """Fresh statistics, and on PostgreSQL no dead rows left by the previous run."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE" if connection.vendor == "postgresql" else "ANALYZE")


# --- Workers --------------------------------------------------------------------------


def worker_main(max_seconds: float, profile: str | None) -> int:
    """One worker process (started by the bench): ready → wait for go → sender_run."""
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from django.db import connection

    from notices.backends import get_backend
    from notices.services.sending import sender_run

    connection.ensure_connection()
    get_backend()
    print("ready", flush=True)
    sys.stdin.readline()
    profiler = None
    if profile:
        import cProfile

        profiler = cProfile.Profile()
        profiler.enable()
    started, cpu = time.time(), _cpu_seconds()
    stats = sender_run(max_seconds=max_seconds)
    finished, cpu = time.time(), _cpu_seconds() - cpu
    if profiler:
        profiler.disable()
        profiler.dump_stats(f"{profile}.{os.getpid()}")
    report = {"stats": dict(stats), "started": started, "finished": finished, "cpu_s": cpu}
    print(json.dumps(report), flush=True)
    return 0


def _cpu_seconds() -> float:
    """CPU time (user + system, every thread) this process has used."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def run_processes(env: dict, workers: int, max_seconds: float, profile: str | None) -> list[dict]:
    command = [sys.executable, str(Path(__file__).resolve()), "--worker", "--max-seconds", str(max_seconds)]
    if profile:
        command += ["--profile", profile]
    procs = [
        subprocess.Popen(command, cwd=ROOT, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        for _ in range(workers)
    ]
    try:
        for proc in procs:
            line = proc.stdout.readline().strip()
            if line != "ready":
                raise SystemExit(f"a worker did not start (said {line!r})")
        for proc in procs:
            proc.stdin.write("go\n")
            proc.stdin.flush()
        reports = []
        for proc in procs:
            out, _err = proc.communicate(timeout=max_seconds + 60)
            reports.append(json.loads(out.strip().splitlines()[-1]))
        return reports
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()


def run_qcluster(env: dict, workers: int, max_seconds: float) -> list[dict]:
    from notices.models import MessageStatus, SmsMessage

    env = {
        **env,
        "Q_WORKERS": str(workers),
        "SMS_SENDER_TASKS": str(workers),
        "SMS_SENDER_MAX_SECONDS": str(int(max_seconds)),
        "Q_TIMEOUT": str(int(max_seconds) + 30),
        "Q_RETRY": str(int(max_seconds) + 60),
        "Q_CLUSTER_NAME": "bench-send",
    }
    cluster = subprocess.Popen(
        [sys.executable, "manage.py", "qcluster"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        time.sleep(3)  # let the cluster start its workers
        subprocess.run(
            [
                sys.executable,
                "manage.py",
                "shell",
                "-c",
                "from notices.outbox import wake; wake(reason='bench')",
            ],
            cwd=ROOT,
            env=env,
            check=True,
            capture_output=True,
        )
        deadline = time.monotonic() + max_seconds + 30
        busy = (MessageStatus.QUEUED, MessageStatus.SENDING)
        while time.monotonic() < deadline:
            if not SmsMessage.objects.filter(status__in=busy).exists():
                break
            time.sleep(0.5)
        return [{"stats": {"sent": SmsMessage.objects.filter(status=MessageStatus.SENT).count()}}]
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(cluster.pid, signal.SIGTERM)
        try:
            cluster.wait(10)
        except subprocess.TimeoutExpired:
            os.killpg(cluster.pid, signal.SIGKILL)
            cluster.wait(5)


# --- One measured run -----------------------------------------------------------------


def measure(args, *, name: str, latency_ms: float, rate_limit: int, workers: int, url: str) -> dict:
    from django.db import connection
    from django.db.models import Count, Max
    from django.utils import timezone

    from notices.fake_gateway import FakeGateway
    from notices.models import SendAttempt, SmsMessage

    today = timezone.localdate()
    clear_notices()
    set_policy(rate_limit)
    count = queue_notices(name, today)
    analyze()
    gateway = FakeGateway(port=0, token=TOKEN, secret="bench", latency=latency_ms / 1000).start()
    env = base_env(url)
    env["SMS_HTTP_BASE_URL"] = gateway.url
    if args.chunk:
        env["SMS_SENDER_CHUNK"] = str(args.chunk)
    if args.concurrency:
        env["SMS_SEND_CONCURRENCY"] = str(args.concurrency)
    # Generous: three times what the rate limit (or ~1,000 a second) needs, plus two minutes.
    max_seconds = 3.0 * count / min(rate_limit, 1_000) + 120
    connection.close()  # the bench holds no connection (or SQLite lock) while workers run
    load = os.getloadavg()[0]
    gateway_cpu = _cpu_seconds()  # this process does nothing else meanwhile: the gateway's share
    try:
        if args.runner == "qcluster":
            reports = run_qcluster(env, workers, max_seconds)
        else:
            profile = f"{args.profile}.{name}" if args.profile else None
            reports = run_processes(env, workers, max_seconds, profile)
    finally:
        gateway_cpu = _cpu_seconds() - gateway_cpu
        gateway.stop()
    stats = gateway.state.stats()
    by_status = dict(SmsMessage.objects.values_list("status").annotate(n=Count("pk")).order_by())
    last_write = SendAttempt.objects.aggregate(at=Max("created_at"))["at"]
    first = stats["first_send_at"]
    end = max(stats["last_send_at"] or 0, last_write.timestamp() if last_write else 0)
    elapsed = end - first if first else float("nan")
    problems = []
    if by_status != {"sent": count}:
        problems.append(f"statuses {by_status}, expected all {count} sent")
    if stats["duplicates"] or stats["unique"] != count or stats["sends"] != count:
        problems.append(
            f"gateway saw {stats['sends']} sends, {stats['unique']} unique, {stats['duplicates']} duplicates"
        )
    result = {
        "messages": count,
        "workers": workers,
        "latency_ms": latency_ms,
        "rate_limit": rate_limit,
        "elapsed_s": round(elapsed, 3),
        "achieved": round(count / elapsed, 1),
        "peak_per_second": stats["peak_per_second"],
        "peak_per_clock_second": stats["peak_per_clock_second"],
        "max_in_flight": stats["max_in_flight"],
        # CPU per message: less sensitive than wall time to other work on the machine.
        "worker_cpu_ms": (
            round(sum(r["cpu_s"] for r in reports) * 1000 / count, 3)
            if all("cpu_s" in r for r in reports)
            else None
        ),
        "gateway_cpu_ms": round(gateway_cpu * 1000 / count, 3),
        "load_before": round(load, 2),
        "worker_stats": [r["stats"] for r in reports],
        "problems": problems,
    }
    print(
        f"{name}: {count:,} messages, {workers} worker(s), latency {latency_ms:g} ms, limit {rate_limit:,}/s: "
        f"{elapsed:.2f}s → {count / elapsed:,.1f}/s (peak {stats['peak_per_second']} in any second, "
        f"{stats['peak_per_clock_second']} in one clock second, "
        f"{stats['max_in_flight']} in flight at most; CPU per message: workers {result['worker_cpu_ms']} ms, "
        f"gateway {result['gateway_cpu_ms']} ms; load average before {load:.2f})"
        + (f"  PROBLEMS: {problems}" if problems else ""),
        flush=True,
    )
    return result


LINKS = {
    "cmpp": {
        "fake": "fake_ismg",
        "port": "SMS_CMPP_PORT",
        "host": "SMS_CMPP_HOST",
        "slots": "SMS_CMPP_LINKS",
        "window": "SMS_CMPP_WINDOW",
    },
    "smpp": {
        "fake": "fake_smsc",
        "port": "SMS_SMPP_PORT",
        "host": "SMS_SMPP_HOST",
        "slots": "SMS_SMPP_BINDS",
        "window": "SMS_SMPP_WINDOW",
    },
}


def _start_fake_peer(backend: str, env: dict, latency_ms: float, log: Path) -> tuple[subprocess.Popen, int]:
    """The fake ISMG or SMSC in a process of its own; returns it and the port it listens on."""
    import re

    command = [
        sys.executable,
        "manage.py",
        LINKS[backend]["fake"],
        "--port",
        "0",
        "--latency-ms",
        str(latency_ms),
    ]
    if backend == "cmpp":
        command += ["--receipts", "in_order", "--receipt-delay", "0.05", "--window", "64"]
    peer = subprocess.Popen(
        command, cwd=ROOT, env=env, stdout=log.open("w"), stderr=subprocess.STDOUT, start_new_session=True
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        found = re.search(r"(?:127\.0\.0\.1|localhost):(\d+)", log.read_text(errors="replace"))
        if found:
            return peer, int(found.group(1))
        if peer.poll() is not None:
            raise SystemExit(f"the fake peer did not start: {log.read_text(errors='replace')[-500:]}")
        time.sleep(0.05)
    raise SystemExit("the fake peer did not start in 30 s")


def measure_link(args, *, url: str) -> dict:
    """The throughput run through a carrier link: link processes, the fake peer, receipts."""
    from django.db import connection
    from django.db.models import Count, Max, Min
    from django.utils import timezone

    from notices.models import MessagePart, MessageStatus, SendAttempt, SmsMessage

    name, backend, workers = "throughput", args.backend, args.workers
    today = timezone.localdate()
    clear_notices()
    set_policy(args.rate_limit)
    count = queue_notices(name, today)
    analyze()
    tmp = Path(tempfile.mkdtemp(prefix="bench-link-"))
    keys = LINKS[backend]
    env = {**base_env(url), "SMS_BACKEND": backend}
    connection.close()
    load = os.getloadavg()[0]
    peer, port = _start_fake_peer(backend, env, args.latency_ms, tmp / "peer.log")
    env.update({keys["host"]: "127.0.0.1", keys["port"]: str(port), keys["slots"]: str(workers)})
    if args.window:
        env[keys["window"]] = str(args.window)
    links = [
        subprocess.Popen(
            [sys.executable, "manage.py", "sms_link"],
            cwd=ROOT,
            env=env,
            stdout=(tmp / f"link{i}.log").open("w"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        for i in range(workers)
    ]
    usages = []
    try:
        deadline = time.monotonic() + 3.0 * count / min(args.rate_limit, 1_000) + 120
        while time.monotonic() < deadline:
            if not SmsMessage.objects.exclude(
                status__in=(MessageStatus.DELIVERED, MessageStatus.FAILED)
            ).exists():
                break
            if any(link.poll() is not None for link in links):
                break
            time.sleep(0.2)
        for link in links:
            if link.poll() is None:
                os.killpg(link.pid, signal.SIGTERM)
        for link in links:
            _pid, _status, usage = os.wait4(link.pid, 0)
            usages.append(usage.ru_utime + usage.ru_stime)
    finally:
        for process in [*links, peer]:
            if process.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.pid, signal.SIGTERM)
        with contextlib.suppress(subprocess.TimeoutExpired):
            peer.wait(20)
    by_status = dict(SmsMessage.objects.values_list("status").annotate(n=Count("pk")).order_by())
    first = MessagePart.objects.aggregate(at=Min("submitted_at"))["at"]
    last = SendAttempt.objects.aggregate(at=Max("created_at"))["at"]
    elapsed = (last - first).total_seconds() if first and last else float("nan")
    parts = MessagePart.objects.count()
    problems = []
    if by_status != {"delivered": count}:
        problems.append(f"statuses {by_status}, expected all {count} delivered")
    duplicated = (
        MessagePart.objects.values("message_id", "seq").annotate(n=Count("pk")).filter(n__gt=1).count()
    )
    if duplicated:
        problems.append(f"{duplicated} parts recorded twice")
    peer_log = (tmp / "peer.log").read_text(errors="replace")
    if '"duplicates": 0' not in peer_log and "duplicates=0" not in peer_log:
        problems.append(f"the peer saw duplicates or did not report: {peer_log[-300:]}")
    result = {
        "messages": count,
        "parts": parts,
        "workers": workers,
        "latency_ms": args.latency_ms,
        "rate_limit": args.rate_limit,
        "elapsed_s": round(elapsed, 3),
        "achieved": round(count / elapsed, 1),
        "worker_cpu_ms": round(sum(usages) * 1000 / count, 3) if usages else None,
        "load_before": round(load, 2),
        "problems": problems,
    }
    print(
        f"{backend} {name}: {count:,} messages ({parts:,} parts), {workers} link(s), latency {args.latency_ms:g} ms, "
        f"limit {args.rate_limit:,}/s: {elapsed:.2f}s → {count / elapsed:,.1f}/s; our CPU per message "
        f"{result['worker_cpu_ms']} ms (claim, re-check, submit, record, receipt); load before {load:.2f}"
        + (f"  PROBLEMS: {problems}" if problems else ""),
        flush=True,
    )
    shutil.rmtree(tmp, ignore_errors=True)
    return result


def run(args, url: str) -> dict:
    from django.db import connection
    from django.utils import timezone

    started = time.perf_counter()
    build_book(args.messages, timezone.localdate())
    print(
        f"book: {args.messages:,} customers and loans on {connection.vendor} in {time.perf_counter() - started:.1f}s"
    )
    runs = {}
    if args.backend != "http":
        runs["throughput"] = measure_link(args, url=url)
        args.skip_throughput = args.skip_overhead = True
    if not args.skip_throughput:
        runs["throughput"] = measure(
            args,
            name="throughput",
            latency_ms=args.latency_ms,
            rate_limit=args.rate_limit,
            workers=args.workers,
            url=url,
        )
    if not args.skip_overhead:
        runs["overhead"] = measure(
            args, name="overhead", latency_ms=0, rate_limit=UNLIMITED, workers=args.overhead_workers, url=url
        )
    throughput, overhead = runs.get("throughput"), runs.get("overhead")
    result = {
        "rate_limit": args.rate_limit,
        "achieved": throughput["achieved"] if throughput else None,
        "ratio": round(throughput["achieved"] / args.rate_limit, 3) if throughput else None,
        "overhead_ms": (
            round(overhead["elapsed_s"] * 1000 * overhead["workers"] / overhead["messages"], 3)
            if overhead
            else None
        ),
        "db": connection.vendor,
        "runner": args.runner,
        "backend": args.backend,
        "worker_cpu_ms": throughput["worker_cpu_ms"] if throughput else None,
        "ok": not any(r["problems"] for r in runs.values()),
        "runs": runs,
    }
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=20_000)
    parser.add_argument("--rate-limit", type=int, default=500, help="messages per second (contact policy)")
    parser.add_argument("--latency-ms", type=float, default=50.0, help="the fake gateway's latency")
    parser.add_argument("--workers", type=int, default=2, help="worker processes for the throughput run")
    parser.add_argument(
        "--overhead-workers", type=int, default=1, help="worker processes for the overhead run"
    )
    parser.add_argument("--runner", choices=("process", "qcluster"), default="process")
    parser.add_argument("--backend", choices=("http", "cmpp", "smpp"), default="http")
    parser.add_argument("--window", type=int, help="the link's window (SMS_CMPP_WINDOW / SMS_SMPP_WINDOW)")
    parser.add_argument(
        "--database-url", default=DEFAULT_URL, help=f"default {DEFAULT_URL}; or sqlite:///FILE"
    )
    parser.add_argument("--chunk", type=int, help="SMS_SENDER_CHUNK for the workers (default: settings)")
    parser.add_argument(
        "--concurrency", type=int, help="SMS_SEND_CONCURRENCY for the workers (default: settings)"
    )
    parser.add_argument("--skip-throughput", action="store_true")
    parser.add_argument("--skip-overhead", action="store_true")
    parser.add_argument("--profile", metavar="PREFIX", help="cProfile each worker to PREFIX.<run>.<pid>")
    parser.add_argument("--json", action="store_true", help="print one JSON object on the last line")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--max-seconds", type=float, default=600, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        return worker_main(args.max_seconds, args.profile)
    if args.messages < 1 or args.rate_limit < 1 or args.workers < 1 or args.overhead_workers < 1:
        parser.error("messages, rate limit and workers must be positive")

    url, cleanup = prepare_database(args.database_url)
    try:
        setup_django(url, migrate=True)
        result = run(args, url)
    finally:
        from django.db import connections

        connections.close_all()
        cleanup()
    line = f"sending on {result['db']} ({result['backend']}, {result['runner']} workers):"
    if result["achieved"] is not None:
        line += (
            f" achieved {result['achieved']:,.1f}/s of {result['rate_limit']:,}/s, ratio {result['ratio']:.3f}"
            " (target ≥ 0.9);"
        )
    if result["overhead_ms"] is not None:
        line += f" overhead {result['overhead_ms']:.3f} ms per message (target ≤ 2 on PostgreSQL)"
    if result["worker_cpu_ms"] is not None:
        line += f" our CPU {result['worker_cpu_ms']:.3f} ms per message"
    print(line + ("" if result["ok"] else "  — CHECKS FAILED"))
    if args.json:
        print(json.dumps(result, ensure_ascii=False))
    return 0 if result["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
