"""Scale: the dashboard and the main changelists on a bank-sized book (issue 7).

Fills a PostgreSQL database of its own with a synthetic book — by default 700,000
customers, 1,000,000 loans (every stage, overdue_since spread over ~200 days, some
current, settled or written off; several loans for some customers), their loan events,
a batch per day for the last 90 days, 3,000,000 messages in every status with the
NotifiedLoan rows of the notices, repayment plans and 50,000 feedback items — with
PostgreSQL COPY (psycopg 3's `cursor.copy()`), the tables' secondary indexes dropped
during the load and built afterwards, then VACUUM ANALYZE (the state autovacuum keeps a
live database in).

Then, logged in with Django's test client as a supervisor, it requests the dashboard
(/admin/) and, for loans, customers, messages and feedback, the plain changelist, one
search and one filter, each once to warm up and then `--repeat` times (default 7), and
reports per page:

- the median wall time of the repeats (target ≤ 500 ms) and the warm-up's (`first`:
  cold caches, among them the dashboard's counts of settled days, which a running
  system makes once a day; the bench uses a cache of its own, empty at every start),
- the number of SQL queries the page sends (counted on one more request, untimed),
- every sequential scan of a large table in the plans of those queries
  (EXPLAIN (FORMAT JSON) of each SELECT the page sent, with its parameters).

`ok` is true when every page meets the target and no plan scans a large table
sequentially. A query running longer than `--timeout` seconds (default 60) is cancelled
and its page reported as a timeout.

    .venv/bin/python bench/scale.py [--database-url postgres://postgres@127.0.0.1:5432/bench_scale]
        [--loans 1000000] [--customers 700000] [--messages 3000000] [--feedback 50000]
        [--repeat 7] [--timeout 60] [--only dashboard,messages_search] [--reuse] [--drop] [--json]

The database's name must start with `bench`: it is dropped and created afresh (the test
suite's `test` database is never touched). It is kept afterwards so that `--reuse` can
skip the fill next time (the fill is the slow part: about 3.5 minutes here); pending
migrations are applied to it either way, so new indexes are measured on the same data.
`--drop` removes it at the end. `--json` prints one JSON object on the last line:
{"pages": {name: {"median_ms", "first_ms", "queries", "seq_scans", "url"}}, "rows": {...},
"fill_s": seconds or null, "ok": bool}. The exit status is 0 when `ok`, else 1.
"""

from __future__ import annotations

import argparse
import datetime
import json
import logging
import os
import random
import statistics
import sys
import time
from decimal import Decimal
from pathlib import Path
from urllib.parse import quote, urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent

TARGET_MS = 500
LARGE_TABLES = (
    "customers_customer",
    "customers_loan",
    "customers_loanevent",
    "notices_smsmessage",
    "notices_notifiedloan",
    "notices_feedback",
)
MARKER = "bench_scale_fill"
HISTORY_DAYS = 90  # messages, batches and feedback span the last 90 days

SURNAMES = (
    "王" * 10
    + "李" * 10
    + "张" * 9
    + "刘" * 7
    + "陈" * 6
    + "杨" * 4
    + "黄" * 3
    + "赵" * 3
    + "吴" * 3
    + "周" * 3
    + "徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤"
)
GIVEN = "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超秀兰霞平刚桂英华建国志红玉兰文斌鹏辉晨宇浩然欣怡子涵梓轩雨婷思远佳琪"
PRODUCTS = ["个人消费贷", "个人经营贷", "信用卡分期", "住房按揭贷", "汽车消费贷", "助学贷款"]
BRANCHES = [
    "杭州西湖支行",
    "杭州滨江支行",
    "杭州拱墅支行",
    "宁波海曙支行",
    "宁波鄞州支行",
    "温州鹿城支行",
    "绍兴越城支行",
    "嘉兴南湖支行",
    "湖州吴兴支行",
    "金华婺城支行",
    "台州椒江支行",
    "上海浦东支行",
]
MOBILE_PREFIXES = [str(p) for p in (*range(130, 140), 150, 151, 152, *range(155, 160), 186, 187, 188, 189)]
FEEDBACK_TEXTS = {
    "already_paid": ["已还", "我昨天已经还了", "已经通过手机银行还款了，请核实", "钱已经转了"],
    "installment_request": ["能不能分期", "申请分6期还款", "可以分期吗，一次还不上"],
    "extension_request": ["能否延期一个月", "下月发工资再还，申请延期", "延期到月底可以吗"],
    "wrong_number": ["不是本人", "你们打错了，我不认识这个人", "号码不是我的"],
    "stop_request": ["退订", "TD", "别再发了，退订"],
    "complaint": ["一天发好几条，投诉", "态度太差，我要投诉"],
    "dispute": ["这笔贷款金额不对", "我没有借过这笔钱", "利息算错了"],
    "hardship": ["最近失业了，实在困难", "生病住院，暂时还不上", "生意亏了，能宽限几天吗"],
    "plan_broken": ["这期没来得及还"],
    "other": ["收到", "好的", "请问怎么还款", "网点几点开门"],
}


# --- The database ---------------------------------------------------------------------


def _split_url(url: str) -> tuple[str, str]:
    """(URL of the server's `postgres` database, name of the bench database)."""
    parts = urlsplit(url)
    if not parts.scheme.startswith("postgres"):
        raise SystemExit(f"the scale bench needs PostgreSQL, not {parts.scheme!r}")
    name = parts.path.lstrip("/")
    if not name.startswith("bench"):
        raise SystemExit(
            f"refusing to drop and create database {name!r}: the bench database's name must start "
            "with 'bench' (e.g. postgres://postgres@127.0.0.1:5432/bench_scale)"
        )
    return urlunsplit(parts._replace(path="/postgres")), name


def _admin_execute(url: str, statement) -> list:
    import psycopg

    admin_url, _name = _split_url(url)
    with psycopg.connect(admin_url, autocommit=True) as conn:
        cursor = conn.execute(statement)
        return cursor.fetchall() if cursor.description else []


def recreate_database(url: str, *, drop_only: bool = False) -> None:
    from psycopg import sql

    _admin_url, name = _split_url(url)
    _admin_execute(url, sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
    if not drop_only:
        _admin_execute(url, sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))


def filled_before(url: str, wanted: dict) -> dict | None:
    """The marker a complete fill left, when it was made with the same sizes."""
    import psycopg

    _admin_url, name = _split_url(url)
    exists = psycopg.sql.SQL("SELECT 1 FROM pg_database WHERE datname = {}").format(psycopg.sql.Literal(name))
    if not _admin_execute(url, exists):
        return None
    with psycopg.connect(url, autocommit=True) as conn:
        if conn.execute("SELECT to_regclass(%s)", [MARKER]).fetchone()[0] is None:
            return None
        last = f"SELECT params, filled_on, seconds FROM {MARKER} ORDER BY id DESC LIMIT 1"  # noqa: S608
        row = conn.execute(last).fetchone()
    if row is None or row[0] != wanted:
        return None
    return {"filled_on": row[1], "seconds": row[2]}


def setup_django(url: str) -> None:
    os.environ["DATABASE_URL"] = url
    os.environ["DJANGO_SETTINGS_MODULE"] = "config.settings.base"
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    # A cache of this process's own: every run starts cold (the first request of each page
    # is reported apart), and nothing measured here lands in the project's file cache.
    os.environ["CACHE_URL"] = "locmemcache://"
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from django.conf import settings

    settings.DEBUG = False  # no query log of our own; CaptureQueriesContext counts
    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "testserver"]


def migrate() -> int:
    """Apply pending migrations; returns how many were applied."""
    from django.core.management import call_command
    from django.db import connection
    from django.db.migrations.executor import MigrationExecutor

    executor = MigrationExecutor(connection)
    pending = executor.migration_plan(executor.loader.graph.leaf_nodes())
    started = time.perf_counter()
    call_command("migrate", verbosity=0, interactive=False)
    if pending:
        print(f"migrations: applied {len(pending)} in {time.perf_counter() - started:.1f}s", flush=True)
    return len(pending)


# --- The fill -------------------------------------------------------------------------


class Copier:
    """COPY rows into a model's table: the listed columns per row, every other column at
    its default. Secondary indexes and unique constraints (not the primary key, which
    foreign keys need) are dropped first and built again by `rebuild()`."""

    def __init__(self, cursor):
        self.cursor = cursor
        self.dropped: list[str] = []  # statements that put them back

    def drop_indexes(self, model) -> None:
        table = model._meta.db_table
        cur = self.cursor
        constraints = cur.execute(
            "SELECT conname, pg_get_constraintdef(oid), conindid::regclass::text FROM pg_constraint "
            "WHERE conrelid = %s::regclass AND contype = 'u'",
            [table],
        ).fetchall()
        backing = {index for _name, _definition, index in constraints}
        primary = cur.execute(
            "SELECT conindid::regclass::text FROM pg_constraint WHERE conrelid = %s::regclass AND contype = 'p'",
            [table],
        ).fetchall()
        backing |= {index for (index,) in primary}
        for name, definition, _index in constraints:
            cur.execute(f'ALTER TABLE {table} DROP CONSTRAINT "{name}"')
            self.dropped.append(f'ALTER TABLE {table} ADD CONSTRAINT "{name}" {definition}')
        for name, definition in cur.execute(
            "SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = current_schema() AND tablename = %s",
            [table],
        ).fetchall():
            if name in backing:
                continue
            cur.execute(f'DROP INDEX "{name}"')
            self.dropped.append(definition)

    def rebuild(self) -> None:
        for statement in self.dropped:
            self.cursor.execute(statement)
        self.dropped = []

    def copy(self, model, columns: list[str], rows, *, lines: bool = False) -> int:
        """COPY `rows`: tuples of the `columns`' values, or (`lines=True`) those values
        already in COPY's text format, tab-separated, without the newline."""
        from django.db import connection
        from django.utils import timezone

        now = timezone.now()
        fields = {f.attname: f for f in model._meta.concrete_fields}
        rest = [f for name, f in fields.items() if name not in columns and not f.generated]  # the database's
        constants = []
        for field in rest:
            if getattr(field, "auto_now", False) or getattr(field, "auto_now_add", False):
                value = now
            else:
                value = field.get_default()
            constants.append(value if lines else field.get_db_prep_save(value, connection))
        constants = tuple(constants)
        names = ", ".join(f'"{fields[c].column}"' for c in columns) + "".join(f', "{f.column}"' for f in rest)
        table = model._meta.db_table
        count = 0
        with self.cursor.copy(f"COPY {table} ({names}) FROM STDIN") as copy:  # noqa: S608
            if lines:
                end = "".join("\t" + _copy_text(value) for value in constants) + "\n"
                chunk: list[str] = []
                for line in rows:
                    chunk.append(line)
                    if len(chunk) == 10_000:
                        copy.write(end.join(chunk) + end)
                        count += len(chunk)
                        chunk = []
                if chunk:
                    copy.write(end.join(chunk) + end)
                    count += len(chunk)
            else:
                write = copy.write_row
                for row in rows:
                    write(row + constants)
                    count += 1
        self.cursor.execute(
            f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))"  # noqa: S608
        )
        return count


def _copy_text(value) -> str:
    """A value in COPY's text format."""
    if value is None:
        return "\\N"
    if isinstance(value, bool):
        return "t" if value else "f"
    if isinstance(value, (dict, list)):
        value = json.dumps(value, ensure_ascii=False)
    text = value.isoformat() if isinstance(value, (datetime.date, datetime.datetime)) else str(value)
    for char, escaped in (("\\", "\\\\"), ("\t", "\\t"), ("\n", "\\n"), ("\r", "\\r")):
        text = text.replace(char, escaped)
    return text


def _day_start(day: datetime.date) -> datetime.datetime:
    from django.utils import timezone

    return timezone.make_aware(datetime.datetime.combine(day, datetime.time.min))


def fill(args) -> dict:
    """Write the whole book; returns the row counts."""
    from django.contrib.auth.models import Group, User
    from django.db import connection, transaction
    from django.utils import timezone

    from core.roles import STAFF, SUPERVISOR
    from customers.models import Customer, Loan, LoanEvent, LoanEventKind, LoanStatus, PhoneProblem
    from notices.models import (
        BatchStatus,
        CollectionStage,
        ExclusionReason,
        Feedback,
        FeedbackCategory,
        FeedbackChannel,
        FeedbackStatus,
        MessageStatus,
        NoticeBatch,
        NotifiedLoan,
        PlanKind,
        PlanLoan,
        PlanStatus,
        RepaymentPlan,
        SmsMessage,
        SmsTemplate,
        TemplatePurpose,
    )

    rng = random.Random(20261101)
    now = timezone.now()
    today = timezone.localdate(now)
    first_day = today - datetime.timedelta(days=HISTORY_DAYS - 1)
    counts: dict[str, int] = {}

    supervisor, _ = User.objects.get_or_create(username="bench_supervisor", defaults={"is_staff": True})
    supervisor.groups.add(Group.objects.get(name=SUPERVISOR))
    staff = []
    for n in range(1, 7):
        user, _ = User.objects.get_or_create(username=f"bench_staff{n}", defaults={"is_staff": True})
        user.groups.add(Group.objects.get(name=STAFF))
        staff.append(user.pk)
    stages = list(CollectionStage.objects.order_by("min_days"))
    notice_templates = SmsTemplate.objects.filter(purpose=TemplatePurpose.OVERDUE_NOTICE)
    templates = {t.stage_id: t.pk for t in notice_templates}
    versions = {t.stage_id: t.versions.order_by("-version").first().pk for t in notice_templates}
    other_templates = {
        t.purpose: (t.pk, t.versions.order_by("-version").first().pk)
        for t in SmsTemplate.objects.exclude(purpose=TemplatePurpose.OVERDUE_NOTICE)
    }

    def stage_of(days: int):
        for stage in stages:
            if stage.contains(days):
                return stage
        return stages[-1]

    raw = connection.cursor().cursor  # the psycopg cursor under Django's wrapper
    copier = Copier(raw)
    raw.execute("SET maintenance_work_mem = '512MB'")
    try:  # no foreign-key triggers during the load: the rows are consistent by construction
        raw.execute("SET session_replication_role = replica")
    except Exception:  # noqa: BLE001 (not a superuser: the triggers run, the fill is slower)
        connection.connection.rollback()
    models = (
        Customer,
        Loan,
        LoanEvent,
        NoticeBatch,
        RepaymentPlan,
        PlanLoan,
        SmsMessage,
        NotifiedLoan,
        Feedback,
    )
    for model in models:
        copier.drop_indexes(model)
    connection.connection.commit()

    def step(name: str, started: float) -> None:
        print(f"  {name}: {counts[name]:,} rows in {time.perf_counter() - started:.1f}s", flush=True)

    # Customers ------------------------------------------------------------------------
    n_customers = args.customers
    mobiles: list[str] = [""] * n_customers
    names: list[str] = [""] * n_customers

    def customers():
        for k in range(n_customers):
            national = f"{MOBILE_PREFIXES[k % len(MOBILE_PREFIXES)]}{(k * 7919 + 12345) % 100_000_000:08d}"
            mobile, raw_phone, problem = f"+86{national}", national, PhoneProblem.NONE
            r = rng.random()
            if r < 0.02:
                mobile, raw_phone, problem = "", "", PhoneProblem.MISSING
            elif r < 0.025:
                mobile, raw_phone, problem = "", national[:7], PhoneProblem.INVALID
            elif r < 0.03:
                mobile, raw_phone, problem = "", f"0571-8{k % 10_000_000:07d}", PhoneProblem.NOT_MOBILE
            elif r < 0.033 and k:
                mobile, problem = mobiles[k - 1] or mobile, PhoneProblem.SHARED
            elif r < 0.035:
                problem = PhoneProblem.WRONG_NUMBER
            mobiles[k] = mobile
            name = (
                rng.choice(SURNAMES) + rng.choice(GIVEN) + (rng.choice(GIVEN) if rng.random() < 0.6 else "")
            )
            names[k] = name
            birth = datetime.date(1960, 1, 1) + datetime.timedelta(days=rng.randrange(14_600))
            flags = rng.random()
            dnc = flags < 0.01
            yield (
                k + 1,
                f"C{k + 1:09d}",
                name,
                f"{330100 + k % 7:06d}{birth:%Y%m%d}{k % 1000:03d}{'0123456789X'[k % 11]}",
                mobile,
                raw_phone,
                problem,
                dnc,
                "律师代理" if dnc else "",
                0.01 <= flags < 0.012,  # deceased
                0.012 <= flags < 0.014,  # disputed
                0.014 <= flags < 0.017,  # asked to stop
                now - datetime.timedelta(days=rng.randrange(30, 1500)),
            )

    started = time.perf_counter()
    with transaction.atomic():
        counts["customers"] = copier.copy(
            Customer,
            [
                "id",
                "customer_no",
                "name",
                "id_number",
                "mobile",
                "mobile_raw",
                "phone_problem",
                "do_not_contact",
                "do_not_contact_reason",
                "deceased",
                "disputed",
                "sms_stopped",
                "created_at",
            ],
            customers(),
        )
    step("customers", started)

    # Loans ------------------------------------------------------------------------------
    n_loans = args.loans
    loan_customer = [0] * n_loans
    loan_since: list[datetime.date | None] = [None] * n_loans
    loan_amount: list[Decimal] = [Decimal("0.00")] * n_loans
    loan_account: list[str] = [""] * n_loans
    open_loans: list[int] = []  # indexes of overdue and in-plan loans
    in_plan: list[int] = []
    cured: list[tuple[int, datetime.date]] = []
    cents = Decimal("0.01")

    def loans():
        several = max(1, n_customers * 3 // 10)  # extra loans go to the first 30% of customers
        for i in range(n_loans):
            customer = i if i < n_customers else rng.randrange(several)
            loan_customer[i] = customer + 1
            r = rng.random()
            since, amount = None, Decimal("0.00")
            principal = Decimal(rng.randrange(5, 300) * 1000)
            if r < 0.58:
                status = LoanStatus.OVERDUE if r < 0.55 else LoanStatus.IN_PLAN
                days = 1 + int(200 * rng.random() ** 1.1)  # a few more loans early in collections
                since = today - datetime.timedelta(days=days)
                open_loans.append(i)
                if status == LoanStatus.IN_PLAN:
                    in_plan.append(i)
            elif r < 0.88:
                status = LoanStatus.CURRENT
                if rng.random() < 0.3:
                    cured.append((i, today - datetime.timedelta(days=rng.randrange(HISTORY_DAYS))))
            elif r < 0.97:
                status = LoanStatus.SETTLED
            else:
                status = LoanStatus.WRITTEN_OFF
                since = today - datetime.timedelta(days=rng.randrange(200, 700))
            if since is not None:
                overdue_principal = Decimal(rng.randrange(3_000, 5_000_000)) / 100
                interest = (overdue_principal / 20).quantize(cents)
                penalty = (overdue_principal / 100).quantize(cents)
                amount = overdue_principal + interest + penalty
            else:
                overdue_principal = interest = penalty = Decimal("0.00")
            loan_since[i], loan_amount[i] = since, amount
            account = f"62{(i * 7_919_011 + 104_729) % 10**14:014d}"
            loan_account[i] = account
            yield (
                i + 1,
                account,
                customer + 1,
                PRODUCTS[i % len(PRODUCTS)],
                BRANCHES[(i // 7) % len(BRANCHES)],
                principal,
                principal * Decimal("0.6"),
                overdue_principal,
                interest,
                penalty,
                amount,
                since,
                today + datetime.timedelta(days=rng.randrange(1, 30)),
                status,
                today,
                now - datetime.timedelta(days=rng.randrange(200, 2000)),
            )

    started = time.perf_counter()
    with transaction.atomic():
        counts["loans"] = copier.copy(
            Loan,
            [
                "id",
                "loan_account",
                "customer_id",
                "product",
                "branch",
                "principal",
                "balance",
                "overdue_principal",
                "overdue_interest",
                "overdue_penalty",
                "overdue_amount",
                "overdue_since",
                "next_due_date",
                "status",
                "as_of",
                "created_at",
            ],
            loans(),
        )
    step("loans", started)

    # Loan events: became overdue (first overdue day) and cured -------------------------
    def events():
        n = 0
        for i in open_loans:
            since = loan_since[i]
            if (today - since).days <= 150:
                n += 1
                yield (
                    n,
                    i + 1,
                    LoanEventKind.BECAME_OVERDUE,
                    since + datetime.timedelta(days=1),
                    Decimal("0.00"),
                    loan_amount[i],
                )
                if rng.random() < 0.15:
                    n += 1
                    yield (n, i + 1, LoanEventKind.AMOUNT_CHANGED, today, loan_amount[i] * 2, loan_amount[i])
        for i, day in cured:
            amount = Decimal(rng.randrange(3_000, 500_000)) / 100
            n += 1
            yield (
                n,
                i + 1,
                LoanEventKind.BECAME_OVERDUE,
                day - datetime.timedelta(days=rng.randrange(2, 40)),
                Decimal("0.00"),
                amount,
            )
            n += 1
            yield (n, i + 1, LoanEventKind.CURED, day, amount, Decimal("0.00"))

    started = time.perf_counter()
    with transaction.atomic():
        counts["loan_events"] = copier.copy(
            LoanEvent,
            ["id", "loan_id", "kind", "on_date", "overdue_amount_before", "overdue_amount_after"],
            events(),
        )
    step("loan_events", started)

    # Batches: one a day; today's waits for approval until 09:00, then it is sending ---
    local_now = timezone.localtime(now)
    today_status = BatchStatus.SENDING if local_now.hour >= 9 else BatchStatus.PENDING_APPROVAL
    batch_ids = {first_day + datetime.timedelta(days=d): d + 1 for d in range(HISTORY_DAYS)}
    batch_totals = {
        bid: [0, 0, set(), Decimal("0.00")] for bid in batch_ids.values()
    }  # sent, excl, customers, amount

    # Messages, with the NotifiedLoan rows of the notices ----------------------------------
    notified: list[str] = []
    exclusion_reasons = [
        (ExclusionReason.DO_NOT_CONTACT, 10),
        (ExclusionReason.PHONE_MISSING, 20),
        (ExclusionReason.PHONE_INVALID, 5),
        (ExclusionReason.PHONE_LANDLINE, 5),
        (ExclusionReason.PHONE_SHARED, 3),
        (ExclusionReason.ACTIVE_PLAN, 15),
        (ExclusionReason.ALREADY_NOTIFIED, 20),
        (ExclusionReason.BELOW_MINIMUM, 8),
        (ExclusionReason.DAILY_CAP, 10),
        (ExclusionReason.STOP_REQUEST, 2),
        (ExclusionReason.DECEASED, 1),
        (ExclusionReason.DISPUTED, 1),
    ]
    reasons = [r for r, w in exclusion_reasons for _ in range(w)]
    day_starts = {day: _day_start(day) for day in batch_ids}
    outcomes = (
        [MessageStatus.DELIVERED] * 800
        + [MessageStatus.SENT] * 60
        + [MessageStatus.FAILED] * 60
        + [MessageStatus.UNKNOWN] * 5
        + [MessageStatus.CANCELLED] * 10
        + [MessageStatus.EXPIRED] * 5
    )

    stage_by_days = [stage_of(d) for d in range(1000)]
    stage_pks = [s.pk for s in stage_by_days]
    offsets = [datetime.timedelta(seconds=s) for s in range(86_400)]
    day_list = [first_day + datetime.timedelta(days=d) for d in range(HISTORY_DAYS)]
    day_text = [day.isoformat() for day in day_list]
    amount_text = [str(amount) for amount in loan_amount]  # formatting is a good part of the time
    # Times as naive UTC, written with an explicit +00 (naive arithmetic is much faster).
    utc_now = now.astimezone(datetime.UTC).replace(tzinfo=None)
    utc_day_starts = [day_starts[day].astimezone(datetime.UTC).replace(tzinfo=None) for day in day_list]
    n_open = len(open_loans)
    rnd = rng.random
    notice, excluded_status = TemplatePurpose.OVERDUE_NOTICE.value, MessageStatus.EXCLUDED.value
    not_live = (excluded_status, MessageStatus.CANCELLED.value, MessageStatus.EXPIRED.value)
    pending_today = today_status == BatchStatus.PENDING_APPROVAL
    approval = datetime.timedelta(hours=1, minutes=30)
    second = datetime.timedelta(seconds=1)
    outcomes = [str(o) for o in outcomes]
    n_outcomes = len(outcomes)
    reasons = [str(r) for r in reasons]
    n_reasons = len(reasons)
    delivered_status, failed_status = MessageStatus.DELIVERED.value, MessageStatus.FAILED.value
    sent_status, pending_status = MessageStatus.SENT.value, MessageStatus.PENDING.value
    other_purposes = [
        (TemplatePurpose.FEEDBACK_REPLY.value, *other_templates[TemplatePurpose.FEEDBACK_REPLY]),
        (TemplatePurpose.PLAN_REMINDER.value, *other_templates[TemplatePurpose.PLAN_REMINDER]),
        (TemplatePurpose.PLAN_CONFIRMATION.value, *other_templates[TemplatePurpose.PLAN_CONFIRMATION]),
    ]
    null = "\\N"

    def ts(value) -> str:
        return f"{value}+00" if value is not None else null

    # Which message goes out on which day, in time order (as ids grow in a live system):
    # every open loan's notices on the days its stages and cadences make one due (the
    # first always, the repeats thinned to fit `--messages`), the rest replies and plan
    # messages on random days. Encoded as day << 32 | kind << 28 | loan index.
    schedules: dict[int, list[int]] = {}

    def schedule(days_overdue: int) -> list[int]:
        if days_overdue not in schedules:
            due = []
            for stage in stages:
                k = stage.min_days
                while k <= days_overdue and (stage.max_days is None or k <= stage.max_days):
                    due.append(k)
                    if not stage.cadence_days:
                        break
                    k += stage.cadence_days
            schedules[days_overdue] = due
        return schedules[days_overdue]

    def in_window(i: int) -> list[tuple[int, int]]:
        since = loan_since[i]
        offset = (since - first_day).days
        return [(offset + k, k) for k in schedule((today - since).days) if offset + k >= 0]

    firsts = repeats = 0
    for i in open_loans:
        for _d, k in in_window(i):
            firsts, repeats = (firsts + 1, repeats) if k == 1 else (firsts, repeats + 1)
    notice_budget = int(args.messages * 0.92)
    keep_repeat = min(1.0, max(0.0, (notice_budget - firsts) / repeats)) if repeats else 0.0
    events: list[int] = []
    for i in open_loans:
        for d, k in in_window(i):
            if k == 1 or rnd() < keep_repeat:
                events.append(d << 32 | i)
    while len(events) < args.messages:
        i = open_loans[int(rnd() * n_open)]
        first = max((loan_since[i] - first_day).days + 1, 0)
        kind = 1 + min(int(rnd() * 3), 2)
        events.append((first + int(rnd() * (HISTORY_DAYS - first))) << 32 | kind << 28 | i)
    if len(events) > args.messages:
        rng.shuffle(events)
        del events[args.messages :]
    events.sort()
    print(f"  message schedule: {len(events):,} ({firsts:,} first notices)", flush=True)

    def messages():
        for m, event in enumerate(events, 1):
            d, kind, i = event >> 32, (event >> 28) & 0xF, event & 0xFFFFFFF
            since = loan_since[i]
            day = day_list[d]
            days = (day - since).days
            customer = loan_customer[i]
            stage = stage_pks[days] if days < 1000 else stage_pks[-1]
            if kind == 0:
                batch_id, purpose = d + 1, notice
                template, version = templates[stage], versions[stage]
                created = utc_day_starts[d] + offsets[27_000 + int(rnd() * 1800)]
            else:
                batch_id = None
                purpose, template, version = other_purposes[kind - 1]
                created = utc_day_starts[d] + offsets[32_400 + int(rnd() * 32_400)]
            if created > utc_now:
                created = utc_now - offsets[1 + int(rnd() * 3600)]
            amount = loan_amount[i]
            phone = mobiles[customer - 1]
            status, reason = pending_status, ""
            sent = delivered = failed = claimed = None
            body = (
                f"{names[customer - 1][0]}先生您好，您尾号{loan_account[i][-4:]}的贷款已逾期{days}天，"
                f"待还{amount_text[i]}元，请及时通过手机银行还款。客服95588【民丰银行】"
            )
            if batch_id is not None and (rnd() < 0.10 or not phone):
                status, reason = (
                    excluded_status,
                    reasons[int(rnd() * n_reasons)] if phone else "phone_missing",
                )
                body = ""
            elif batch_id is not None and pending_today and d == HISTORY_DAYS - 1:
                pass
            else:
                sent = created + offsets[60 + int(rnd() * 4 * 3600)]
                if batch_id is not None:
                    sent += approval
                if sent > utc_now:
                    status, sent = ("sending" if rnd() < 0.05 else "queued"), None
                else:
                    status = outcomes[int(rnd() * n_outcomes)]
                    claimed = sent - second
                    if status == delivered_status:
                        delivered = sent + offsets[3 + int(rnd() * 900)]
                        if delivered > utc_now:
                            status, delivered = sent_status, None
                    elif status == failed_status:
                        failed = sent + offsets[3 + int(rnd() * 600)]
                        if failed > utc_now:
                            status, failed = sent_status, None
                    elif status in not_live:
                        sent = claimed = None
            is_excluded = status == excluded_status
            if batch_id is not None:
                totals = batch_totals[batch_id]
                if is_excluded:
                    totals[1] += 1
                else:
                    totals[0] += 1
                    totals[2].add(customer)
                    totals[3] += amount
                    notified.append(f"{m}\t{i + 1}\t{stage}\t{day_text[d]}\t{days}\t{amount_text[i]}")
            yield (
                f"{m}\t{batch_id or null}\t{purpose}\t{customer}\t{i + 1}\t"
                f"{stage if batch_id is not None else null}\t"
                f"{null if is_excluded else template}\t{null if is_excluded else version}\t"
                f"{'' if is_excluded else 'A'}\t{phone}\t{body}\t{(2 if len(body) > 70 else 1) if body else 0}\t"
                f"{amount_text[i]}\t{days}\t{status}\t{reason}\t{'x' if is_excluded else 'n'}-{batch_id or 0}-{m}\t"
                f"{f'notice:{customer}:{day_text[d]}:{m}' if batch_id is not None and status not in not_live else null}\t"
                f"{f'gw{m:012d}' if sent else ''}\t{1 if sent else 0}\t"
                f"{'E101' if failed else ''}\t{'用户关机或停机' if failed else ''}\t"
                f"{created}+00\t{ts(claimed)}\t{ts(sent)}\t{ts(delivered)}\t{ts(failed)}\t"
                f"{failed or delivered or sent or created}+00"
            )

    started = time.perf_counter()
    with transaction.atomic():
        counts["messages"] = copier.copy(
            SmsMessage,
            [
                "id",
                "batch_id",
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
                "overdue_total",
                "days_overdue",
                "status",
                "exclusion_reason",
                "idempotency_key",
                "dedupe_key",
                "provider_message_id",
                "attempts",
                "error_code",
                "last_error",
                "created_at",
                "claimed_at",
                "sent_at",
                "delivered_at",
                "failed_at",
                "updated_at",
            ],
            messages(),
            lines=True,
        )
    step("messages", started)

    started = time.perf_counter()
    with transaction.atomic():
        counts["notified_loans"] = copier.copy(
            NotifiedLoan,
            ["id", "message_id", "loan_id", "stage_id", "as_of", "days_overdue", "overdue_amount"],
            (f"{n}\t{row}" for n, row in enumerate(notified, 1)),
            lines=True,
        )
    notified.clear()
    step("notified_loans", started)

    # Batches (after the messages: their totals) ------------------------------------------
    def batches():
        for day, bid in batch_ids.items():
            sent, excluded, customers_, amount = batch_totals[bid]
            status = today_status if day == today else BatchStatus.DONE
            decided = (
                None
                if status == BatchStatus.PENDING_APPROVAL
                else day_starts[day] + datetime.timedelta(hours=9)
            )
            yield (
                bid,
                day,
                status,
                staff[bid % len(staff)],
                staff[bid % len(staff)],
                None if decided is None else supervisor.pk,
                sent,
                len(customers_),
                sent,
                amount,
                excluded,
                day_starts[day] + datetime.timedelta(hours=7, minutes=30),
                day_starts[day] + datetime.timedelta(hours=7, minutes=31),
                decided,
            )
        # Two rejected ones on the way.
        for n, day in enumerate((today - datetime.timedelta(days=20), today - datetime.timedelta(days=50))):
            yield (
                HISTORY_DAYS + n + 1,
                day,
                BatchStatus.REJECTED,
                staff[0],
                staff[0],
                supervisor.pk,
                0,
                0,
                0,
                Decimal("0.00"),
                0,
                day_starts[day],
                day_starts[day],
                day_starts[day],
            )

    started = time.perf_counter()
    with transaction.atomic():
        counts["batches"] = copier.copy(
            NoticeBatch,
            [
                "id",
                "as_of",
                "status",
                "created_by_id",
                "submitted_by_id",
                "approved_by_id",
                "message_count",
                "customer_count",
                "loan_count",
                "overdue_total",
                "excluded_count",
                "created_at",
                "submitted_at",
                "decided_at",
            ],
            batches(),
        )
    step("batches", started)

    # Repayment plans: every in-plan loan's active one, plus waiting, broken, completed --
    plan_links: list[tuple] = []  # (plan, loan, share, open): each plan covers one loan here

    def plans():
        n = 0
        for i in in_plan:
            n += 1
            plan_links.append((n, n, i + 1, loan_amount[i], True))
            yield (
                n,
                loan_customer[i],
                PlanKind.INSTALLMENTS,
                PlanStatus.ACTIVE,
                loan_amount[i],
                staff[n % 6],
                supervisor.pk,
                now - datetime.timedelta(days=rng.randrange(1, 120)),
                None,
            )
        others = rng.sample(open_loans, min(len(open_loans), max(10, len(open_loans) // 100)))
        for i in others:
            if i in in_plan_set:
                continue
            n += 1
            r = rng.random()
            status = (
                PlanStatus.PENDING_APPROVAL
                if r < 0.3
                else PlanStatus.BROKEN
                if r < 0.7
                else PlanStatus.COMPLETED
            )
            ended = (
                None
                if status == PlanStatus.PENDING_APPROVAL
                else now - datetime.timedelta(days=rng.randrange(30))
            )
            plan_links.append((n, n, i + 1, loan_amount[i], status == PlanStatus.PENDING_APPROVAL))
            yield (
                n,
                loan_customer[i],
                PlanKind.EXTENSION,
                status,
                loan_amount[i],
                staff[n % 6],
                None if status == PlanStatus.PENDING_APPROVAL else supervisor.pk,
                now - datetime.timedelta(days=rng.randrange(30, 200)),
                ended,
            )

    in_plan_set = set(in_plan)
    started = time.perf_counter()
    with transaction.atomic():
        counts["plans"] = copier.copy(
            RepaymentPlan,
            [
                "id",
                "customer_id",
                "kind",
                "status",
                "total_amount",
                "requested_by_id",
                "approved_by_id",
                "created_at",
                "ended_at",
            ],
            plans(),
        )
        copier.copy(PlanLoan, ["id", "plan_id", "loan_id", "amount", "open"], iter(plan_links))
    step("plans", started)

    # Feedback -------------------------------------------------------------------------
    categories = [
        c
        for c, w in zip(FeedbackCategory.values, (25, 12, 10, 6, 8, 4, 5, 10, 2, 18), strict=True)
        for _ in range(w)
    ]
    channels = (
        [FeedbackChannel.SMS_REPLY] * 70
        + [FeedbackChannel.PHONE] * 15
        + [FeedbackChannel.BRANCH] * 8
        + [FeedbackChannel.ONLINE] * 7
    )

    def feedback():
        for n in range(1, args.feedback + 1):
            i = rng.randrange(n_loans)
            customer = loan_customer[i]
            age = datetime.timedelta(seconds=int(HISTORY_DAYS * 86400 * rng.random() ** 1.3))
            created = now - age
            category = rng.choice(categories)
            r = rng.random()
            if age < datetime.timedelta(days=3):
                status = (
                    FeedbackStatus.NEW
                    if r < 0.5
                    else FeedbackStatus.IN_PROGRESS
                    if r < 0.8
                    else FeedbackStatus.RESOLVED
                )
            else:
                status = (
                    FeedbackStatus.NEW
                    if r < 0.03
                    else FeedbackStatus.IN_PROGRESS
                    if r < 0.06
                    else FeedbackStatus.RESOLVED
                    if r < 0.6
                    else FeedbackStatus.CLOSED
                )
            unmatched = rng.random() < 0.03
            assignee = None if status == FeedbackStatus.NEW and rng.random() < 0.7 else rng.choice(staff)
            channel = rng.choice(channels)
            resolved = (
                created + datetime.timedelta(hours=rng.randrange(1, 48))
                if status in (FeedbackStatus.RESOLVED, FeedbackStatus.CLOSED)
                else None
            )
            yield (
                n,
                None if unmatched else customer,
                None if unmatched else i + 1,
                channel,
                category,
                status,
                category in ("complaint", "dispute") and rng.random() < 0.5,
                rng.choice(FEEDBACK_TEXTS[category]),
                (mobiles[customer - 1] or "+8613900000000") if channel == FeedbackChannel.SMS_REPLY else "",
                assignee,
                created + datetime.timedelta(hours=rng.choice((2, 4, 8, 24, 72))),
                "已核实处理" if resolved else "",
                created,
                resolved,
                resolved or created,
            )

    started = time.perf_counter()
    with transaction.atomic():
        counts["feedback"] = copier.copy(
            Feedback,
            [
                "id",
                "customer_id",
                "loan_id",
                "channel",
                "category",
                "status",
                "urgent",
                "text",
                "phone",
                "assignee_id",
                "sla_due_at",
                "resolution",
                "created_at",
                "resolved_at",
                "updated_at",
            ],
            feedback(),
        )
    step("feedback", started)

    started = time.perf_counter()
    copier.rebuild()
    raw.execute("SET session_replication_role = origin")
    connection.connection.commit()
    print(f"  indexes and unique constraints built in {time.perf_counter() - started:.1f}s", flush=True)
    return counts


def vacuum_analyze() -> float:
    from django.db import connection

    started = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute("VACUUM (ANALYZE)")
    return time.perf_counter() - started


def write_marker(params: dict, seconds: float) -> None:
    from django.db import connection
    from django.utils import timezone

    with connection.cursor() as cursor:
        cursor.execute(
            f"CREATE TABLE IF NOT EXISTS {MARKER} (id serial PRIMARY KEY, params jsonb NOT NULL, "
            "filled_on date NOT NULL, seconds real NOT NULL)"
        )
        cursor.execute(
            f"INSERT INTO {MARKER} (params, filled_on, seconds) VALUES (%s::jsonb, %s, %s)",  # noqa: S608
            [json.dumps(params), timezone.localdate(), seconds],
        )


def row_counts() -> dict:
    """Rows per large table (the planner's estimate: exact counts take seconds here)."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT relname, reltuples::bigint FROM pg_class WHERE relname = ANY(%s) AND relkind = 'r'",
            [list(LARGE_TABLES)],
        )
        return dict(sorted(cursor.fetchall()))


# --- The pages ------------------------------------------------------------------------


def pages() -> list[tuple[str, str, str]]:
    """(name, url, kind) for every page measured; the search terms come from the data."""
    from customers.models import Customer, Loan

    last = Customer.objects.order_by("-pk").values_list("pk", flat=True)[0]
    middle = Customer.objects.filter(pk__gte=last // 3, phone_problem="").order_by("pk")[0]
    account = (
        Loan.objects.filter(customer__pk__lte=last // 5)
        .order_by("-pk")
        .values_list("loan_account", flat=True)[0]
    )
    prefix = middle.name[:2]
    return [
        ("dashboard", "/admin/", "page"),
        ("loans", "/admin/customers/loan/", "page"),
        ("loans_search", f"/admin/customers/loan/?q={account}", "search"),
        ("loans_filter", "/admin/customers/loan/?stage=31-60", "filter"),
        ("customers", "/admin/customers/customer/", "page"),
        ("customers_search", f"/admin/customers/customer/?q={quote(prefix)}", "search"),
        ("customers_filter", "/admin/customers/customer/?phone_problem=missing", "filter"),
        ("customers_search_id", f"/admin/customers/customer/?q={middle.id_number}", "search"),
        ("customers_search_tail", f"/admin/customers/customer/?q={middle.mobile[-4:]}", "search"),
        ("loans_search_tail", f"/admin/customers/loan/?q={account[-4:]}", "search"),
        ("messages", "/admin/notices/smsmessage/", "page"),
        ("messages_search", f"/admin/notices/smsmessage/?q={middle.mobile[3:]}", "search"),
        ("messages_filter", "/admin/notices/smsmessage/?status__exact=failed", "filter"),
        ("messages_search_tail", f"/admin/notices/smsmessage/?q={middle.id_number[-4:]}", "search"),
        ("feedback", "/admin/notices/feedback/", "page"),
        ("feedback_search", f"/admin/notices/feedback/?q={middle.customer_no}", "search"),
        ("feedback_filter", "/admin/notices/feedback/?work=overdue", "filter"),
    ]


class Recorder:
    """Every statement a request sends, with its parameters (for EXPLAIN)."""

    def __init__(self):
        self.statements: list[tuple[str, object]] = []

    def __call__(self, execute, sql, params, many, context):
        self.statements.append((sql, params))
        return execute(sql, params, many, context)


def _seq_scans(plan: dict) -> list[str]:
    found = []
    if plan.get("Node Type") == "Seq Scan" and plan.get("Relation Name") in LARGE_TABLES:
        found.append(plan["Relation Name"])
    for child in plan.get("Plans", ()):
        found += _seq_scans(child)
    return found


def explain(statements) -> list[str]:
    """Large tables some SELECT of the page scans sequentially ("table (query n)")."""
    from django.db import connection

    found = []
    with connection.cursor() as cursor:
        for n, (sql, params) in enumerate(statements, 1):
            if not sql.lstrip().upper().startswith(("SELECT", "WITH", "(")):
                continue
            cursor.execute("EXPLAIN (FORMAT JSON) " + sql, params)
            plan = cursor.fetchone()[0]
            if isinstance(plan, str):
                plan = json.loads(plan)
            found += [f"{table} (query {n})" for table in _seq_scans(plan[0]["Plan"])]
    return found


def measure(repeat: int, timeout_s: int, only: set[str] | None = None) -> dict:
    from django.contrib.auth.models import User
    from django.db import connection
    from django.db.utils import OperationalError
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    logging.getLogger("django.request").setLevel(logging.CRITICAL)  # a timeout is reported below
    connection.ensure_connection()
    with connection.cursor() as cursor:  # a page that would take minutes is cut short
        cursor.execute(f"SET statement_timeout = '{int(timeout_s)}s'")
    client = Client()
    client.force_login(
        User.objects.get(username="bench_supervisor"), backend="django.contrib.auth.backends.ModelBackend"
    )
    results = {}
    for name, url, kind in pages():
        if only and name not in only:
            continue
        row = results[name] = {
            "median_ms": None,
            "first_ms": None,
            "queries": None,
            "seq_scans": [],
            "kind": kind,
            "url": url,
        }
        warm, recorder = Recorder(), Recorder()
        try:
            started = time.perf_counter()
            with connection.execute_wrapper(warm):
                response = client.get(url)  # warm-up: templates, caches, the session's last-seen
            warm_up_ms = (time.perf_counter() - started) * 1000
            assert response.status_code == 200, (url, response.status_code)
            row["first_ms"] = round(warm_up_ms, 1)
            with CaptureQueriesContext(connection) as captured, connection.execute_wrapper(recorder):
                assert client.get(url).status_code == 200
            row["queries"] = len(captured)  # now: the next request's request_started empties the log
            times = []
            # A page ten times over the target is timed once: its median would not tell more.
            for _ in range(repeat if warm_up_ms < 10 * TARGET_MS else 1):
                started = time.perf_counter()
                response = client.get(url)
                times.append((time.perf_counter() - started) * 1000)
                assert response.status_code == 200, (url, response.status_code)
            row["median_ms"] = round(statistics.median(times), 1)
        except OperationalError as exc:  # statement_timeout
            row["error"] = str(exc).splitlines()[0]
        row["seq_scans"] = explain(recorder.statements or warm.statements)
        print(
            f"  {name:<18} {_ms(row['median_ms']):>10} (first {_ms(row['first_ms'])})"
            f"  {row['queries'] if row['queries'] is not None else '?':>3} queries"
            f"{'  SEQ SCAN: ' + ', '.join(row['seq_scans']) if row['seq_scans'] else ''}"
            f"{'  ' + row['error'] if 'error' in row else ''}",
            flush=True,
        )
    return results


def _ms(value: float | None) -> str:
    return "timeout" if value is None else f"{value:.1f} ms"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", default="postgres://postgres@127.0.0.1:5432/bench_scale")
    parser.add_argument("--loans", type=int, default=1_000_000)
    parser.add_argument("--customers", type=int, default=700_000)
    parser.add_argument("--messages", type=int, default=3_000_000)
    parser.add_argument("--feedback", type=int, default=50_000)
    parser.add_argument("--repeat", type=int, default=7, help="timed requests per page (median reported)")
    parser.add_argument("--only", help="comma-separated page names to measure (default: all)")
    parser.add_argument("--timeout", type=int, default=60, help="seconds any one query may take")
    parser.add_argument("--reuse", action="store_true", help="skip the fill when the database already has it")
    parser.add_argument("--drop", action="store_true", help="drop the database at the end")
    parser.add_argument("--json", action="store_true", help="print one JSON object on the last line")
    args = parser.parse_args(argv)
    if not (1 <= args.customers <= args.loans) or args.messages < 1 or args.feedback < 1 or args.repeat < 1:
        parser.error("need 1 ≤ customers ≤ loans, messages and feedback ≥ 1, repeat ≥ 1")
    url = args.database_url
    params = {
        "loans": args.loans,
        "customers": args.customers,
        "messages": args.messages,
        "feedback": args.feedback,
    }

    previous = filled_before(url, params) if args.reuse else None
    fill_s = None
    try:
        if previous is None:
            recreate_database(url)
            setup_django(url)
            migrate()
            print(f"filling {url.rsplit('/', 1)[-1]}: {params}", flush=True)
            started = time.perf_counter()
            counts = fill(args)
            vacuum_s = vacuum_analyze()
            fill_s = time.perf_counter() - started
            print(f"  VACUUM ANALYZE in {vacuum_s:.1f}s; fill done in {fill_s:.1f}s: {counts}", flush=True)
            write_marker(params, fill_s)
        else:
            setup_django(url)
            from django.utils import timezone

            print(f"reusing the fill of {previous['filled_on']} ({previous['seconds']:.0f}s)", flush=True)
            if previous["filled_on"] != timezone.localdate():
                print("  note: 'today' on the dashboard is relative to the fill date", flush=True)
            if migrate():
                print(f"  VACUUM ANALYZE in {vacuum_analyze():.1f}s", flush=True)
        rows = row_counts()
        print(f"measuring ({args.repeat} requests per page, median):", flush=True)
        results = measure(args.repeat, args.timeout, set(args.only.split(",")) if args.only else None)
    finally:
        from django.db import connections

        connections.close_all()
        if args.drop:
            recreate_database(url, drop_only=True)
    ok = all(
        r["median_ms"] is not None and r["median_ms"] <= TARGET_MS and not r["seq_scans"]
        for r in results.values()
    )
    print()
    print(f"{'page':<18} {'median':>12} {'first':>12} {'queries':>8}  seq scans of large tables")
    for name, r in results.items():
        queries = "?" if r["queries"] is None else r["queries"]
        print(
            f"{name:<18} {_ms(r['median_ms']):>12} {_ms(r['first_ms']):>12} {queries:>8}  "
            f"{', '.join(r['seq_scans']) or '—'}"
        )
    print(
        f"target: every page ≤ {TARGET_MS} ms median, no sequential scan of {', '.join(LARGE_TABLES)} → "
        f"{'OK' if ok else 'NOT MET'}" + (f"; fill {fill_s:.0f}s" if fill_s is not None else "")
    )
    if args.json:
        output = {
            "pages": {
                name: {k: r[k] for k in ("median_ms", "first_ms", "queries", "seq_scans", "url")}
                for name, r in results.items()
            },
            "rows": rows,
            "fill_s": None if fill_s is None else round(fill_s, 1),
            "ok": ok,
        }
        print(json.dumps(output, ensure_ascii=False))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
