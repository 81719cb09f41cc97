"""Batch generation against a bulk insert of the same message rows (issue 4).

Builds a synthetic overdue book (default 100,000 loans for 70,000 customers, spread over
the six default stages, a few percent of them excluded for do-not-contact, phone
problems, plans, deceased or small amounts) in a database of its own, then measures in
the same run and on the same tables:

- generate: `batch_generate(as_of=...)` for a date with no earlier notices: wall time and
  the number of SQL statements it sends (every `execute`/`executemany` counts once);
- baseline: `SmsMessage.objects.bulk_create(..., batch_size=CHUNK)` in one transaction of
  exactly the rows that generate wrote (same count of pending and excluded rows, same
  bodies, phones and keys' shapes), the model instances built before the clock starts.

Each round is generate, delete what it wrote, baseline, delete that; the medians of
`--rounds` rounds (default 3) are reported. Target: ratio ≤ 3.

    .venv/bin/python bench/batch.py [--loans 100000] [--customers 70000] [--rounds 3]
        [--database-url postgres://postgres@127.0.0.1:5432/bench_batch] [--json]

The default database is a fresh SQLite file (WAL, immediate transactions: the project's
settings) in a temporary directory. A PostgreSQL database named in `--database-url` is
dropped and created afresh, and dropped again at the end, so its name must start with
`bench` (the test suite's `test` database is never touched).
"""

from __future__ import annotations

import argparse
import cProfile
import datetime
import gc
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
from decimal import Decimal
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent

SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘欧阳"
GIVEN = ["伟", "芳", "娜", "秀英", "敏", "静", "丽", "强", "磊", "军", "洋", "勇", "艳", "杰", "建华"]
PRODUCTS = ["个人消费贷", "个人经营贷", "信用卡分期", "住房按揭贷"]
BRANCHES = ["杭州西湖支行", "杭州滨江支行", "宁波海曙支行", "温州鹿城支行", "上海浦东支行"]
# Allocated mainland mobile prefixes (valid for `phonenumbers` and `phone_normalize`).
MOBILE_PREFIXES = [str(p) for p in (*range(130, 140), 150, 151, 152, *range(155, 160), 186, 187, 188, 189)]
# (first day, last day) of the six default stages; the last one is open-ended.
STAGE_DAYS = [(1, 3), (4, 15), (16, 30), (31, 60), (61, 90), (91, 400)]
INSERT_BATCH = 5000


# --- The database ---------------------------------------------------------------------


def _postgres_admin_url(url: str) -> tuple[str, str]:
    """(URL of the server's `postgres` database, name of the bench database)."""
    parts = urlsplit(url)
    name = parts.path.lstrip("/")
    if not name.startswith("bench"):
        raise SystemExit(
            f"refusing to drop and create database {name!r}: the bench database's name must start "
            "with 'bench' (e.g. postgres://postgres@127.0.0.1:5432/bench_batch)"
        )
    return urlunsplit(parts._replace(path="/postgres")), name


def _postgres_recreate(url: str, *, drop_only: bool = False) -> None:
    import psycopg
    from psycopg import sql

    admin_url, name = _postgres_admin_url(url)
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
        if not drop_only:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))


def prepare_database(url: str | None) -> tuple[str, callable]:
    """Point DATABASE_URL at a fresh database; returns (url, cleanup)."""
    if url is None:
        tmp = tempfile.mkdtemp(prefix="bench-batch-")
        url = f"sqlite:///{tmp}/bench.sqlite3"
        return url, lambda: shutil.rmtree(tmp, ignore_errors=True)
    scheme = urlsplit(url).scheme
    if scheme.startswith("postgres"):
        _postgres_recreate(url)
        return url, lambda: _postgres_recreate(url, drop_only=True)
    if scheme == "sqlite":
        path = Path(urlsplit(url).path[1:] if url.startswith("sqlite:////") else urlsplit(url).path)
        if path.exists():
            raise SystemExit(f"refusing to reuse {path}: give a SQLite path that does not exist yet")
        return url, lambda: None
    raise SystemExit(f"unsupported database URL: {url}")


def setup_django(url: str) -> None:
    os.environ["DATABASE_URL"] = url
    os.environ["DJANGO_SETTINGS_MODULE"] = "config.settings.base"
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0, interactive=False)


# --- The book -------------------------------------------------------------------------


def build_book(*, loans: int, customers: int, as_of: datetime.date) -> dict:
    """Bulk-insert `customers` customers and `loans` overdue loans; returns counts."""
    from django.db import transaction

    from customers.models import Customer, Loan, LoanStatus, PhoneProblem
    from notices.models import PlanKind, PlanLoan, PlanStatus, RepaymentPlan

    flags = {"do_not_contact": 0, "phone_problem": 0, "deceased": 0, "disputed": 0}
    with transaction.atomic():
        rows = []
        for k in range(customers):
            # 7919 is prime to 10⁸, so the eight digits differ for every customer.
            national = f"{MOBILE_PREFIXES[k % len(MOBILE_PREFIXES)]}{(k * 7919) % 100_000_000:08d}"
            birth = datetime.date(1960, 1, 1) + datetime.timedelta(days=(k * 37) % 14600)
            surname = SURNAMES[k % len(SURNAMES)] if k % 50 else "欧阳"
            customer = Customer(
                customer_no=f"B{k:09d}",
                name=surname + GIVEN[(k // 7) % len(GIVEN)],
                id_number=f"{330100 + k % 7:06d}{birth:%Y%m%d}{k % 1000:03d}{'0123456789X'[k % 11]}",
                mobile=f"+86{national}",
                mobile_raw=national,
            )
            if k % 97 == 3:
                customer.do_not_contact, customer.do_not_contact_reason = True, "律师代理"
                flags["do_not_contact"] += 1
            elif k % 89 == 5:
                customer.mobile, customer.phone_problem = "", PhoneProblem.MISSING
                flags["phone_problem"] += 1
            elif k % 83 == 7:
                customer.mobile, customer.phone_problem = "", PhoneProblem.NOT_MOBILE
                customer.mobile_raw = f"0571-8765{k % 10000:04d}"
                flags["phone_problem"] += 1
            elif k % 211 == 11:
                customer.phone_problem = PhoneProblem.SHARED
                flags["phone_problem"] += 1
            elif k % 499 == 13:
                customer.deceased = True
                flags["deceased"] += 1
            elif k % 503 == 17:
                customer.disputed = True
                flags["disputed"] += 1
            rows.append(customer)
        Customer.objects.bulk_create(rows, batch_size=INSERT_BATCH)
        customer_ids = list(Customer.objects.order_by("customer_no").values_list("pk", flat=True))

        rows, in_plan, small = [], 0, 0
        for i in range(loans):
            lo, hi = STAGE_DAYS[i % len(STAGE_DAYS)]
            days = lo + (i * 7919 // len(STAGE_DAYS)) % (hi - lo + 1)
            overdue_principal = Decimal(30_000 + (i * 7919) % 2_000_000) / 100
            interest = (overdue_principal / 20).quantize(Decimal("0.01"))
            amount = overdue_principal + interest
            status = LoanStatus.OVERDUE
            if i % 151 == 9:
                status, in_plan = LoanStatus.IN_PLAN, in_plan + 1
            elif i % 173 == 21:
                overdue_principal, interest, amount = Decimal("5.00"), Decimal("0.00"), Decimal("5.00")
                small += 1
            rows.append(
                Loan(
                    loan_account=f"62{i + 1:014d}",
                    customer_id=customer_ids[i * customers // loans],
                    product=PRODUCTS[i % len(PRODUCTS)],
                    branch=BRANCHES[i % len(BRANCHES)],
                    principal=Decimal((10 + i % 290) * 1000),
                    balance=Decimal((10 + i % 290) * 600),
                    overdue_principal=overdue_principal,
                    overdue_interest=interest,
                    overdue_amount=amount,
                    overdue_since=as_of - datetime.timedelta(days=days),
                    status=status,
                    as_of=as_of,
                )
            )
        Loan.objects.bulk_create(rows, batch_size=INSERT_BATCH)
        plan_loans = list(
            Loan.objects.filter(status=LoanStatus.OVERDUE)
            .order_by("pk")
            .values_list("pk", "customer_id", "overdue_amount")[: max(loans // 500, 1)]
        )
        plans = RepaymentPlan.objects.bulk_create(
            [
                RepaymentPlan(customer_id=customer_id, kind=PlanKind.EXTENSION, status=PlanStatus.ACTIVE)
                for _pk, customer_id, _amount in plan_loans
            ],
            batch_size=INSERT_BATCH,
        )
        PlanLoan.objects.bulk_create(
            [
                PlanLoan(plan=plan, loan_id=pk, amount=amount)
                for plan, (pk, _customer, amount) in zip(plans, plan_loans, strict=True)
            ],
            batch_size=INSERT_BATCH,
        )
    return {**flags, "in_plan": in_plan + len(plans), "below_minimum": small}


def analyze() -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")


# --- The measurements -----------------------------------------------------------------


class QueryCounter:
    def __init__(self):
        self.count = 0

    def __call__(self, execute, sql, params, many, context):
        self.count += 1
        return execute(sql, params, many, context)


def measure_generate(as_of: datetime.date, profile: str | None) -> tuple[float, int, object]:
    from django.db import connection

    from notices.services import batch_generate

    counter = QueryCounter()
    gc.collect()
    profiler = cProfile.Profile() if profile else None
    with connection.execute_wrapper(counter):
        started = time.perf_counter()
        if profiler:
            profiler.enable()
        batch = batch_generate(as_of=as_of)
        if profiler:
            profiler.disable()
        elapsed = time.perf_counter() - started
    if profiler:
        profiler.dump_stats(profile)
    return elapsed, counter.count, batch


def written_rows(batch) -> list[dict]:
    from notices.models import SmsMessage

    fields = [
        "purpose",
        "customer_id",
        "loan_id",
        "stage_id",
        "template_id",
        "template_version_id",
        "variant",
        "phone",
        "body",
        "segments",
        "loan_count",
        "overdue_total",
        "days_overdue",
        "status",
        "exclusion_reason",
        "dedupe_key",
        "created_by_id",
    ]
    return list(SmsMessage.objects.filter(batch=batch).order_by("pk").values(*fields))


def delete_batch_rows(batch_id: int, *, batch_too: bool) -> None:
    """Remove what a round wrote (raw SQL: the ORM's cascade collector would dominate)."""
    from django.db import connection, transaction

    from notices.models import NoticeBatch, NotifiedLoan, SmsMessage

    message, notified = SmsMessage._meta.db_table, NotifiedLoan._meta.db_table
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            f"DELETE FROM {notified} WHERE message_id IN (SELECT id FROM {message} WHERE batch_id = %s)",  # noqa: S608
            [batch_id],
        )
        cursor.execute(f"DELETE FROM {message} WHERE batch_id = %s", [batch_id])  # noqa: S608
        if batch_too:
            NoticeBatch.objects.filter(pk=batch_id).delete()


def measure_baseline(rows: list[dict], batch, round_no: int) -> float:
    from django.db import transaction

    from notices.models import SmsMessage
    from notices.services.batches import CHUNK

    objects = [
        SmsMessage(batch=batch, idempotency_key=f"bench-{round_no}-{n}", **row) for n, row in enumerate(rows)
    ]
    gc.collect()
    started = time.perf_counter()
    with transaction.atomic():
        SmsMessage.objects.bulk_create(objects, batch_size=CHUNK)
    return time.perf_counter() - started


def run(args) -> dict:
    from django.db import connection
    from django.utils import timezone

    from notices.models import BatchStatus, ContactPolicy, MessageStatus, NoticeBatch, NotifiedLoan

    as_of = timezone.localdate()
    started = time.perf_counter()
    book = build_book(loans=args.loans, customers=args.customers, as_of=as_of)
    analyze()
    print(
        f"book: {args.loans:,} loans for {args.customers:,} customers on {connection.vendor} "
        f"in {time.perf_counter() - started:.1f}s ({book})",
        flush=True,
    )
    ContactPolicy.current()  # a running system has its policy row: not part of any round
    holder = NoticeBatch.objects.create(as_of=datetime.date(2000, 1, 1), status=BatchStatus.CANCELLED)
    if args.profile:  # an extra round, not measured: the profiler slows it down
        _elapsed, _count, batch = measure_generate(as_of, args.profile)
        delete_batch_rows(batch.pk, batch_too=True)
        print(f"profile of one generate written to {args.profile}", flush=True)
    generate_runs, baseline_runs, queries, result = [], [], [], {}
    for round_no in range(args.rounds):
        elapsed, count, batch = measure_generate(as_of, None)
        rows = written_rows(batch)
        pending = sum(1 for r in rows if r["status"] == MessageStatus.PENDING)
        result = {
            "messages": batch.message_count,
            "excluded": batch.excluded_count,
            "rows": len(rows),
            "notified_loans": NotifiedLoan.objects.filter(message__batch=batch).count(),
            "excluded_by_reason": batch.excluded_by_reason,
        }
        assert pending == batch.message_count and len(rows) == pending + batch.excluded_count
        delete_batch_rows(batch.pk, batch_too=True)
        baseline = measure_baseline(rows, holder, round_no)
        delete_batch_rows(holder.pk, batch_too=False)
        generate_runs.append(elapsed)
        baseline_runs.append(baseline)
        queries.append(count)
        print(
            f"round {round_no + 1}: generate {elapsed:.2f}s ({count} queries, {len(rows):,} rows), "
            f"baseline {baseline:.2f}s, ratio {elapsed / baseline:.2f}",
            flush=True,
        )
    generate_s = statistics.median(generate_runs)
    baseline_s = statistics.median(baseline_runs)
    return {
        "loans": args.loans,
        "customers": args.customers,
        "generate_s": round(generate_s, 3),
        "baseline_s": round(baseline_s, 3),
        "ratio": round(generate_s / baseline_s, 2),
        "queries": max(queries),
        **result,
        "rounds": args.rounds,
        "generate_runs_s": [round(x, 3) for x in generate_runs],
        "baseline_runs_s": [round(x, 3) for x in baseline_runs],
        "db": connection.vendor,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--loans", type=int, default=100_000)
    parser.add_argument("--customers", type=int, default=70_000)
    parser.add_argument("--rounds", type=int, default=3, help="measure this many times, report medians")
    parser.add_argument("--database-url", help="default: a fresh SQLite file in a temporary directory")
    parser.add_argument("--profile", metavar="FILE", help="also profile one extra, unmeasured generate")
    parser.add_argument("--json", action="store_true", help="print one JSON object on the last line")
    args = parser.parse_args(argv)
    if args.loans < 1 or args.customers < 1 or args.customers > args.loans or args.rounds < 1:
        parser.error("need 1 ≤ customers ≤ loans and at least one round")

    url, cleanup = prepare_database(args.database_url)
    try:
        setup_django(url)
        result = run(args)
    finally:
        from django.db import connections

        connections.close_all()
        cleanup()
    print(
        f"batch_generate: {result['generate_s']:.2f}s, {result['queries']} queries for {result['loans']:,} "
        f"loans → {result['messages']:,} messages + {result['excluded']:,} excluded; "
        f"bulk_create baseline {result['baseline_s']:.2f}s; ratio {result['ratio']:.2f} (target ≤ 3) "
        f"on {result['db']}"
    )
    if args.json:
        print(json.dumps(result, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
