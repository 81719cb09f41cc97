"""The daily batch: who gets which words for an as-of date, and the four-eyes approval."""

from __future__ import annotations

import datetime
import hashlib
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from typing import NamedTuple

from django.db import IntegrityError, connections, router, transaction
from django.db.models import Max, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from core.audit import audit_record
from core.exceptions import ServiceError
from core.transitions import status_transition
from customers.models import OPEN_LOAN_STATUSES, ImportStatus, Loan, LoanBookImport, LoanStatus
from customers.salutations import salutation_for

from ..models import (
    LIVE_STATUSES,
    BatchStatus,
    CollectionStage,
    ContactPolicy,
    ExclusionReason,
    MessageStatus,
    NoticeBatch,
    NotifiedLoan,
    PlanLoan,
    PlanStatus,
    SmsMessage,
    SmsTemplate,
    SmsTemplateVersion,
    TemplatePurpose,
)
from ..outbox import compose, wake
from ..placeholders import LoanFacts, MessageFacts, context_for
from ..policy import CUSTOMER_FACTS, CancelCode, CustomerFacts, contact_exclusion
from ..rendering import TOKEN, template_fits
from .templates import template_current_version

APPROVE_PERMISSION = "notices.approve_noticebatch"
CHUNK = 2000
OPEN_BATCH_STATUSES = (
    BatchStatus.DRAFT,
    BatchStatus.PENDING_APPROVAL,
    BatchStatus.APPROVED,
    BatchStatus.SENDING,
    BatchStatus.DONE,
)

# --- Choosing words -------------------------------------------------------------------


@dataclass(frozen=True)
class Variant:
    """An active template of a stage, its current text, and whom that text is true for."""

    template: SmsTemplate
    version: SmsTemplateVersion
    names: tuple[str, ...]  # the placeholders its text holds
    fits_one: bool  # renders truly for a notice about one loan
    fits_several: bool  # and for one about several loans


@dataclass
class StageTemplates:
    stage: CollectionStage
    variants: list[Variant] = field(default_factory=list)

    def add(self, template: SmsTemplate, version: SmsTemplateVersion) -> None:
        fits_one, fits_several = template_fits(version.body, template.purpose)
        self.variants.append(
            Variant(
                template, version, tuple(dict.fromkeys(TOKEN.findall(version.body))), fits_one, fits_several
            )
        )

    def fitting(self, several: bool) -> list[Variant]:
        return [v for v in self.variants if (v.fits_several if several else v.fits_one)]

    def pick(
        self, loan_account: str, *, several: bool = False
    ) -> tuple[SmsTemplate, SmsTemplateVersion] | None:
        """The variant for this loan: a stable hash, so a loan keeps its variant; only
        among the variants whose text is true for a notice about this many loans."""
        variant = self.pick_variant(loan_account, several=several)
        return (variant.template, variant.version) if variant else None

    def pick_variant(self, loan_account: str, *, several: bool = False) -> Variant | None:
        variants = self.fitting(several)
        total = sum(v.template.weight for v in variants)
        if not total:
            return None
        digest = hashlib.sha256(f"{loan_account}:{self.stage.pk}".encode()).digest()
        point = int.from_bytes(digest[:8], "big") % total
        for variant in variants:
            if point < variant.template.weight:
                return variant
            point -= variant.template.weight
        return variants[-1]


def stage_templates() -> list[StageTemplates]:
    """Active stages with their active, weighted overdue-notice variants."""
    stages = {
        s.pk: StageTemplates(s) for s in CollectionStage.objects.filter(active=True).order_by("min_days")
    }
    templates = SmsTemplate.objects.filter(
        purpose=TemplatePurpose.OVERDUE_NOTICE, active=True, weight__gt=0, stage_id__in=stages
    ).order_by("variant", "pk")
    for template in templates:
        stages[template.stage_id].add(template, template_current_version(template))
    return list(stages.values())


def stage_for(days: int, stages: list[StageTemplates]) -> StageTemplates | None:
    for entry in stages:
        if entry.stage.contains(days):
            return entry
    return None


def variant_for_loan(loan: Loan, *, as_of: datetime.date) -> SmsTemplate | None:
    """Which template variant this loan gets today (for previews and A/B reports)."""
    entry = stage_for(loan.days_overdue_on(as_of), stage_templates())
    picked = entry.pick(loan.loan_account) if entry else None
    return picked[0] if picked else None


# --- Generation -----------------------------------------------------------------------


@dataclass
class _Loan:
    id: int
    account: str
    customer_id: int
    amount: Decimal
    since: datetime.date
    status: str
    days: int
    stage: StageTemplates | None = None


def _overdue_loans(as_of: datetime.date) -> Iterator[tuple[dict, list[_Loan]]]:
    """Overdue loans grouped by customer, streamed in customer order."""
    rows = (
        Loan.objects.filter(
            status__in=OPEN_LOAN_STATUSES,
            overdue_since__isnull=False,
            overdue_since__lt=as_of,
        )
        .order_by("customer_id", "id")
        .values_list(
            "id",
            "loan_account",
            "customer_id",
            "overdue_amount",
            "overdue_since",
            "status",
            *(f"customer__{field}" for field in CUSTOMER_FACTS),
        )
    )
    current_id, customer, loans = None, None, []
    for row in rows.iterator(chunk_size=CHUNK):
        (pk, account, customer_id, amount, since, status, *cust) = row
        if customer_id != current_id:
            if loans:
                yield customer, loans
            current_id, loans = customer_id, []
            customer = CustomerFacts(customer_id, *cust)
        loans.append(_Loan(pk, account, customer_id, amount, since, status, (as_of - since).days))
    if loans:
        yield customer, loans


def _last_notices(as_of: datetime.date, lookback_days: int) -> dict[tuple[int, int], datetime.date]:
    """(loan, stage) → date of the latest live notice within the lookback window."""
    since = as_of - datetime.timedelta(days=lookback_days)
    rows = (
        NotifiedLoan.objects.filter(as_of__gte=since, as_of__lte=as_of, message__status__in=LIVE_STATUSES)
        .values_list("loan_id", "stage_id")
        .annotate(last=Max("as_of"))
        .order_by()
    )
    return {(loan_id, stage_id): last for loan_id, stage_id, last in rows}


def _customers_at_cap(as_of: datetime.date, cap: int) -> set[int]:
    """Customers who already have `cap` live messages for this date (any purpose)."""
    start = timezone.make_aware(datetime.datetime.combine(as_of, datetime.time.min))
    end = start + datetime.timedelta(days=1)
    counts = Counter(
        SmsMessage.objects.filter(status__in=LIVE_STATUSES)
        .filter(Q(batch__as_of=as_of) | Q(batch__isnull=True, created_at__gte=start, created_at__lt=end))
        .values_list("customer_id", flat=True)
    )
    return {customer_id for customer_id, n in counts.items() if n >= cap}


def _loans_in_active_plans() -> set[int]:
    return set(
        PlanLoan.objects.filter(plan__status__in=(PlanStatus.APPROVED, PlanStatus.ACTIVE)).values_list(
            "loan_id", flat=True
        )
    )


def _is_due(loan: _Loan, last: dict, as_of: datetime.date) -> bool:
    """Never notified in its current stage, or the stage's cadence has come round again."""
    stage = loan.stage.stage
    previous = last.get((loan.id, stage.pk))
    if previous is None:
        return True
    entered = loan.since + datetime.timedelta(days=stage.min_days)
    if previous < entered:  # notified in an earlier overdue episode
        return True
    return bool(stage.cadence_days) and (as_of - previous).days >= stage.cadence_days


class _MessageRow(NamedTuple):
    """The columns of a generated message that differ from row to row."""

    customer_id: int
    loan_id: int
    stage_id: int | None
    overdue_total: Decimal
    days_overdue: int
    status: str
    idempotency_key: str
    exclusion_reason: str = ""
    template_id: int | None = None
    template_version_id: int | None = None
    variant: str = ""
    phone: str = ""
    body: str = ""
    segments: int = 0
    loan_count: int = 1
    dedupe_key: str | None = None  # only a notice holds one


class _NotifiedRow(NamedTuple):
    message_id: int
    loan_id: int
    stage_id: int
    days_overdue: int
    overdue_amount: Decimal


class _Rows:
    """Writes many rows of one model with one INSERT statement, the rows as named tuples.

    Not bulk_create: for a day's book it spent most of the generation building a model
    instance per row and preparing each of its fields one by one, and on SQLite it splits
    every chunk into statements of 999 parameters (a few dozen messages), so the number of
    queries grew with the book. Here only the row type's fields vary per row; every other
    column gets `fixed[attname]` or the field's default (auto_now fields: the time of the
    write), prepared once per write. PostgreSQL gets the rows as one array per column
    (UNNEST, as Django's own bulk insert does); other databases get one executemany.
    """

    def __init__(self, model, row_type: type[tuple], **fixed):
        meta = model._meta
        self.model, self.fixed = model, fixed
        self.varying = [meta.get_field(name) for name in row_type._fields]
        self.constant = [
            f
            for f in meta.concrete_fields
            if not f.primary_key
            and f.attname not in row_type._fields
            and not f.generated
            and (f.has_default() or not f.has_db_default() or f.attname in fixed)
        ]

    def write(self, rows: list[tuple]) -> None:
        if not rows:
            return
        connection = connections[router.db_for_write(self.model)]
        now = timezone.now()
        constants = []
        for f in self.constant:
            if f.attname in self.fixed:
                value = self.fixed[f.attname]
            elif getattr(f, "auto_now", False) or getattr(f, "auto_now_add", False):
                value = now
            else:
                value = f.get_default()
            constants.append(f.get_db_prep_save(value, connection))
        quote = connection.ops.quote_name
        table = quote(self.model._meta.db_table)
        names = ", ".join(quote(f.column) for f in (*self.varying, *self.constant))
        with connection.cursor() as cursor:
            if connection.vendor == "postgresql":
                fixed = "".join(f", %s::{self._pg_type(f, connection)}" for f in self.constant)
                arrays = ", ".join(f"%s::{self._pg_type(f, connection)}[]" for f in self.varying)
                cursor.execute(
                    f"INSERT INTO {table} ({names}) SELECT *{fixed} FROM UNNEST({arrays})",  # noqa: S608
                    [*constants, *(list(column) for column in zip(*rows, strict=True))],
                )
            else:
                placeholders = ", ".join(["%s"] * (len(self.varying) + len(self.constant)))
                tail = tuple(constants)
                cursor.executemany(
                    f"INSERT INTO {table} ({names}) VALUES ({placeholders})",  # noqa: S608
                    [(*row, *tail) for row in rows],
                )

    @staticmethod
    def _pg_type(field, connection) -> str:
        # Without the length: a cast to varchar(n) would silently truncate a longer value.
        return field.db_type(connection).split("(")[0]


class _Writer:
    """Buffers message rows and writes them a chunk at a time: three statements per chunk."""

    def __init__(self, batch: NoticeBatch, as_of: datetime.date, user):
        self.batch, self.as_of, self.user = batch, as_of, user
        self.message_rows = _Rows(
            SmsMessage,
            _MessageRow,
            batch_id=batch.pk,
            purpose=TemplatePurpose.OVERDUE_NOTICE.value,
            created_by_id=getattr(user, "pk", None),
        )
        self.notified_rows = _Rows(NotifiedLoan, _NotifiedRow, as_of=as_of)
        self.rows: list[_MessageRow] = []
        self.covered: dict[str, list[_Loan]] = {}  # idempotency key → loans of a notice
        self.last_id = 0  # highest id of this batch's notices written so far
        self.excluded = Counter()
        self.message_count = 0
        self.customers: set[int] = set()
        self.loan_count = 0
        self.total = Decimal("0.00")

    def exclude(self, loan: _Loan, reason: str) -> None:
        self.excluded[reason] += 1
        self.rows.append(
            _MessageRow(
                customer_id=loan.customer_id,
                loan_id=loan.id,
                stage_id=loan.stage.stage.pk if loan.stage else None,
                overdue_total=loan.amount,
                days_overdue=loan.days,
                status=MessageStatus.EXCLUDED.value,
                idempotency_key=f"x-{self.batch.pk}-{loan.id}",
                exclusion_reason=str(reason),
            )
        )
        self._maybe_flush()

    def notice(self, customer: CustomerFacts, loans: list[_Loan]) -> None:
        lead = max(loans, key=lambda x: (x.days, x.amount, x.account))
        variant = lead.stage.pick_variant(lead.account, several=len(loans) > 1)
        if variant is None:
            # Every variant of the stage says something true of one loan only.
            for loan in loans:
                self.exclude(loan, ExclusionReason.NO_MULTI_LOAN_TEMPLATE)
            return
        template, version = variant.template, variant.version
        facts = MessageFacts(
            salutation=salutation_for(
                name=customer.name, id_number=customer.id_number, override=customer.salutation
            ),
            loans=tuple(LoanFacts(x.account, x.amount, x.since, x.days) for x in loans),
            repay_by=lead.stage.stage.repay_by_on(self.as_of),
        )
        composed = compose(version.body, context_for(facts, variant.names))
        total = sum((x.amount for x in loans), Decimal("0.00"))
        key = f"n-{self.batch.pk}-{customer.id}"
        self.rows.append(
            _MessageRow(
                customer_id=customer.id,
                loan_id=lead.id,
                stage_id=lead.stage.stage.pk,
                overdue_total=total,
                days_overdue=lead.days,
                status=MessageStatus.PENDING.value,
                idempotency_key=key,
                template_id=template.pk,
                template_version_id=version.pk,
                variant=template.variant,
                phone=customer.mobile,
                body=composed.body,
                segments=composed.segments,
                loan_count=len(loans),
                dedupe_key=f"notice:{customer.id}:{self.as_of.isoformat()}",
            )
        )
        self.covered[key] = loans
        self.message_count += 1
        self.customers.add(customer.id)
        self.loan_count += len(loans)
        self.total += total
        self._maybe_flush()

    def _maybe_flush(self) -> None:
        if len(self.rows) >= CHUNK:
            self.flush()

    def flush(self) -> None:
        if not self.rows:
            return
        self.message_rows.write(self.rows)
        if self.covered:
            # Ids only grow, so the notices above the last id seen are this chunk's.
            ids = dict(
                SmsMessage.objects.filter(
                    batch_id=self.batch.pk, status=MessageStatus.PENDING, pk__gt=self.last_id
                ).values_list("idempotency_key", "pk")
            )
            self.last_id = max(ids.values())
            self.notified_rows.write(
                [
                    _NotifiedRow(ids[key], loan.id, loan.stage.stage.pk, loan.days, loan.amount)
                    for key, loans in self.covered.items()
                    for loan in loans
                ]
            )
        self.rows, self.covered = [], {}


def _supersede_older(as_of: datetime.date, user) -> None:
    """Unapproved batches for earlier dates will never be sent: cancel them."""
    for old in NoticeBatch.objects.filter(
        as_of__lt=as_of, status__in=(BatchStatus.DRAFT, BatchStatus.PENDING_APPROVAL)
    ):
        if not batch_may_cancel(batch=old, user=user):
            continue  # not theirs to withdraw: it stays for a supervisor (and goes stale)
        batch_cancel(
            batch=old, user=user, reason=_("Superseded by the batch for %(date)s.") % {"date": as_of}
        )


# --- Of the latest data ---------------------------------------------------------------


def batch_open_for(as_of: datetime.date) -> NoticeBatch | None:
    """The batch that stands for this date (not rejected or cancelled), if any."""
    return NoticeBatch.objects.filter(as_of=as_of, status__in=OPEN_BATCH_STATUSES).first()


def batch_newer_import(batch: NoticeBatch) -> LoanBookImport | None:
    """The latest loan-book import that changed loans after this batch was made: its
    amounts and loans may no longer be the book's (None: the batch is of the latest data)."""
    return (
        LoanBookImport.objects.filter(status=ImportStatus.DONE, finished_at__gt=batch.created_at)
        .filter(Q(created_count__gt=0) | Q(updated_count__gt=0) | Q(cured_count__gt=0))
        .order_by("-finished_at", "-pk")
        .first()
    )


def batch_may_replace(*, batch: NoticeBatch) -> bool:
    """A batch can give way to one of newer data while nothing in it can go out: waiting
    for approval (or a draft), or done with no message."""
    if batch.status in (BatchStatus.DRAFT, BatchStatus.PENDING_APPROVAL):
        return True
    return batch.status == BatchStatus.DONE and batch.message_count == 0


def batch_replace(*, batch: NoticeBatch, user=None) -> NoticeBatch:
    """Cancel a batch made before the latest import and generate its date again from the
    book as it is now; returns the new batch (for approval like any other)."""
    if getattr(user, "pk", None) and not user.has_perm("notices.add_noticebatch"):
        raise ServiceError(_("You do not have permission to generate batches."), code="not_allowed")
    batch = NoticeBatch.objects.get(pk=batch.pk)  # decide on its state now
    newer = batch_newer_import(batch)
    if newer is None:
        raise ServiceError(
            _("Batch #%(id)s is already of the latest loan-book data; there is nothing to replace.")
            % {"id": batch.pk},
            code="not_stale",
        )
    if not batch_may_replace(batch=batch):
        raise ServiceError(
            _("Batch #%(id)s is %(status)s: its messages are sent or on their way, so it cannot be replaced.")
            % {"id": batch.pk, "status": batch.get_status_display()},
            code="wrong_state",
        )
    reason = _("Replaced: made before the import of %(file)s (data of %(date)s) finished at %(time)s.") % {
        "file": newer.file_name,
        "date": newer.as_of,
        "time": timezone.localtime(newer.finished_at).strftime("%Y-%m-%d %H:%M"),
    }
    with transaction.atomic():
        before = batch.status
        if not status_transition(batch, before, BatchStatus.CANCELLED, reason=reason):
            raise ServiceError(
                _("Someone else has changed this batch; look at it again."), code="wrong_state"
            )
        SmsMessage.objects.filter(batch=batch, status=MessageStatus.PENDING).update(
            status=MessageStatus.CANCELLED, updated_at=timezone.now()
        )
        audit_record(
            actor=user,
            action="batch.replace",
            obj=batch,
            from_state=before,
            to_state=BatchStatus.CANCELLED,
            note=reason,
        )
        return batch_generate(as_of=batch.as_of, user=user)


def batch_generate(*, as_of: datetime.date, user=None) -> NoticeBatch:
    """Build the batch of notices for `as_of` and submit it for approval; when one already
    stands for that date it is returned as it is (see batch_open_for, batch_replace)."""
    existing = batch_open_for(as_of)
    if existing is not None:
        return existing
    policy = ContactPolicy.current()
    stages = stage_templates()
    try:
        with transaction.atomic():
            _supersede_older(as_of, user)
            batch = NoticeBatch.objects.create(
                as_of=as_of, created_by=user if getattr(user, "pk", None) else None
            )
            writer = _Writer(batch, as_of, batch.created_by)
            lookback = max(
                [
                    s.stage.cadence_days or ((s.stage.max_days or s.stage.min_days) - s.stage.min_days + 1)
                    for s in stages
                ]
                or [0]
            )
            last = _last_notices(as_of, lookback + 1)
            capped = _customers_at_cap(as_of, policy.daily_cap)
            in_plans = _loans_in_active_plans()
            minimum = policy.min_overdue_amount
            for customer, loans in _overdue_loans(as_of):
                due: list[_Loan] = []
                for loan in loans:
                    loan.stage = stage_for(loan.days, stages)
                    if loan.stage is None:
                        continue  # not in any active stage (e.g. day 0)
                    if loan.status == LoanStatus.IN_PLAN or loan.id in in_plans:
                        writer.exclude(loan, ExclusionReason.ACTIVE_PLAN)
                    elif loan.amount < minimum:
                        writer.exclude(loan, ExclusionReason.BELOW_MINIMUM)
                    elif not _is_due(loan, last, as_of):
                        writer.exclude(loan, ExclusionReason.ALREADY_NOTIFIED)
                    elif not loan.stage.fitting(several=False):
                        writer.exclude(loan, ExclusionReason.NO_TEMPLATE)
                    else:
                        due.append(loan)
                if not due:
                    continue
                reason = contact_exclusion(customer, as_of)
                if reason is None and customer.id in capped:
                    reason = ExclusionReason.DAILY_CAP
                if reason is not None:
                    for loan in due:
                        writer.exclude(loan, reason)
                else:
                    writer.notice(customer, due)
            writer.flush()
            writer.message_count += _plan_reminders(batch, as_of, writer)
            batch.message_count = writer.message_count
            batch.customer_count = len(writer.customers)
            batch.loan_count = writer.loan_count
            batch.overdue_total = writer.total
            batch.excluded_count = sum(writer.excluded.values())
            batch.excluded_by_reason = {str(k): v for k, v in sorted(writer.excluded.items())}
            batch.save()
            audit_record(
                actor=user,
                action="batch.generate",
                obj=batch,
                to_state=BatchStatus.DRAFT,
                note=_("%(messages)s messages, %(excluded)s excluded")
                % {"messages": batch.message_count, "excluded": batch.excluded_count},
            )
            if batch.message_count:
                batch = batch_submit(batch=batch, user=user)
            else:
                NoticeBatch.objects.filter(pk=batch.pk).update(status=BatchStatus.DONE)
                batch.status = BatchStatus.DONE
    except IntegrityError:
        # Someone generated the same date at the same moment; theirs stands.
        existing = NoticeBatch.objects.filter(as_of=as_of, status__in=OPEN_BATCH_STATUSES).first()
        if existing is None:
            raise
        return existing
    return batch


def _plan_reminders(batch: NoticeBatch, as_of: datetime.date, writer: _Writer) -> int:
    """A reminder a few days before each installment of an active plan is due."""
    from .plans import _plan_message, plan_reminders_due

    made = 0
    installments = plan_reminders_due(as_of)
    if not installments:
        return 0
    keys = {f"plan:m:{i.plan_id}:{i.seq}" for i in installments}
    live = set(
        SmsMessage.objects.filter(dedupe_key__in=keys, status__in=LIVE_STATUSES).values_list(
            "dedupe_key", flat=True
        )
    )
    for installment in installments:
        plan = installment.plan
        customer = plan.customer
        if f"plan:m:{plan.pk}:{installment.seq}" in live or customer.pk in writer.customers:
            continue  # already reminded, or already getting a message today
        if contact_exclusion(customer, as_of) is not None:
            continue
        _plan_message(
            plan=plan,
            installment=installment,
            purpose=TemplatePurpose.PLAN_REMINDER,
            user=writer.user,
            batch=batch,
            status=MessageStatus.PENDING,
        )
        installment.reminded_on = as_of
        installment.save(update_fields=["reminded_on"])
        writer.customers.add(customer.pk)
        made += 1
    return made


# --- The content hash -----------------------------------------------------------------


def batch_content_hash(batch: NoticeBatch) -> str:
    """SHA-256 of exactly what would be sent: each message's id, phone and text."""
    digest = hashlib.sha256()
    rows = (
        SmsMessage.objects.filter(batch=batch)
        .exclude(status__in=(MessageStatus.EXCLUDED, MessageStatus.CANCELLED))
        .order_by("pk")
        .values_list("pk", "phone", "body")
    )
    for pk, phone, body in rows.iterator(chunk_size=CHUNK):
        digest.update(f"{pk}\x1f{phone}\x1f{body}\x1e".encode())
    return digest.hexdigest()


# --- State changes --------------------------------------------------------------------


def batch_submit(*, batch: NoticeBatch, user=None) -> NoticeBatch:
    """Freeze the batch's content hash and put it in front of the supervisors."""
    with transaction.atomic():
        content_hash = batch_content_hash(batch)
        actor = user if getattr(user, "pk", None) else None
        if not status_transition(
            batch,
            BatchStatus.DRAFT,
            BatchStatus.PENDING_APPROVAL,
            content_hash=content_hash,
            submitted_by=actor,
            submitted_at=timezone.now(),
        ):
            raise ServiceError(_("Only a draft batch can be submitted."), code="wrong_state")
        audit_record(
            actor=user,
            action="batch.submit",
            obj=batch,
            from_state=BatchStatus.DRAFT,
            to_state=BatchStatus.PENDING_APPROVAL,
            note=content_hash,
        )
    return batch


def batch_approval_problems(*, batch: NoticeBatch, user) -> list[str]:
    """Why this user may not approve this batch now (empty: they may)."""
    problems = []
    if not user.has_perm(APPROVE_PERMISSION):
        problems.append(_("You do not have permission to approve batches."))
    if user.pk in (batch.created_by_id, batch.submitted_by_id):
        problems.append(_("You generated or submitted this batch; another supervisor must approve it."))
    if batch.status != BatchStatus.PENDING_APPROVAL:
        problems.append(
            _("This batch is %(status)s, not waiting for approval.") % {"status": batch.get_status_display()}
        )
    newer = batch_newer_import(batch) if batch.status == BatchStatus.PENDING_APPROVAL else None
    if newer is not None:
        problems.append(
            _(
                "The loan book was imported again after this batch was made (%(file)s, finished %(time)s): "
                "its amounts may no longer be true. Replace it with a batch of the latest data."
            )
            % {
                "file": newer.file_name,
                "time": timezone.localtime(newer.finished_at).strftime("%Y-%m-%d %H:%M"),
            }
        )
    max_age = ContactPolicy.current().batch_max_age_days
    if batch.as_of < timezone.localdate() - datetime.timedelta(days=max_age):
        problems.append(
            _(
                "This batch is for %(date)s: older than %(days)s day(s), its amounts are stale. Generate a new one."
            )
            % {"date": batch.as_of, "days": max_age}
        )
    return problems


def batch_approve(*, batch: NoticeBatch, user) -> NoticeBatch:
    """Four eyes: another supervisor approves exactly the messages that were submitted."""
    problems = batch_approval_problems(batch=batch, user=user)
    if problems:
        raise ServiceError(" ".join(problems), code="not_allowed")
    with transaction.atomic():
        if batch_content_hash(batch) != batch.content_hash:
            raise ServiceError(
                _("The messages changed after the batch was submitted; it cannot be approved as it was."),
                code="content_changed",
            )
        if not status_transition(
            batch,
            BatchStatus.PENDING_APPROVAL,
            BatchStatus.APPROVED,
            approved_by=user,
            decided_at=timezone.now(),
        ):
            raise ServiceError(_("Someone else has already decided on this batch."), code="wrong_state")
        SmsMessage.objects.filter(batch=batch, status=MessageStatus.PENDING).update(
            status=MessageStatus.QUEUED, updated_at=timezone.now()
        )
        audit_record(
            actor=user,
            action="batch.approve",
            obj=batch,
            from_state=BatchStatus.PENDING_APPROVAL,
            to_state=BatchStatus.APPROVED,
            note=batch.content_hash,
        )
        wake(reason=f"batch {batch.pk} approved")
    return batch


def batch_reject(*, batch: NoticeBatch, user, reason: str) -> NoticeBatch:
    """A supervisor (not the batch's author) turns the batch down, with a reason."""
    reason = (reason or "").strip()
    if not reason:
        raise ServiceError(_("A rejection needs a reason."), code="reason_required")
    if not user.has_perm(APPROVE_PERMISSION):
        raise ServiceError(_("You do not have permission to reject batches."), code="not_allowed")
    if user.pk in (batch.created_by_id, batch.submitted_by_id):
        raise ServiceError(_("You generated or submitted this batch; cancel it instead."), code="not_allowed")
    with transaction.atomic():
        if not status_transition(
            batch,
            BatchStatus.PENDING_APPROVAL,
            BatchStatus.REJECTED,
            approved_by=user,
            decided_at=timezone.now(),
            reason=reason,
        ):
            raise ServiceError(_("Someone else has already decided on this batch."), code="wrong_state")
        SmsMessage.objects.filter(batch=batch, status=MessageStatus.PENDING).update(
            status=MessageStatus.CANCELLED, updated_at=timezone.now()
        )
        audit_record(
            actor=user,
            action="batch.reject",
            obj=batch,
            from_state=BatchStatus.PENDING_APPROVAL,
            to_state=BatchStatus.REJECTED,
            note=reason,
        )
    return batch


CANCELLABLE = (BatchStatus.DRAFT, BatchStatus.PENDING_APPROVAL, BatchStatus.APPROVED)


def batch_may_cancel(*, batch: NoticeBatch, user) -> bool:
    """Whether this user may withdraw this batch now: a supervisor, or the batch's author
    (the schedule, `user` None, withdraws what it supersedes)."""
    if batch.status not in CANCELLABLE:
        return False
    if user is None or not getattr(user, "pk", None):
        return True
    return user.has_perm(APPROVE_PERMISSION) or user.pk == batch.created_by_id


def batch_cancel(*, batch: NoticeBatch, user, reason: str) -> NoticeBatch:
    """Withdraw a batch before it is sent, with a reason: its messages not yet handed to
    the gateway are cancelled (`batch_cancelled`); the loans they covered are due again."""
    reason = (reason or "").strip()
    if not reason:
        raise ServiceError(_("Cancelling a batch needs a reason."), code="reason_required")
    if batch.status not in CANCELLABLE:
        raise ServiceError(_("Only a batch that is not sending yet can be cancelled."), code="wrong_state")
    if not batch_may_cancel(batch=batch, user=user):
        raise ServiceError(
            _("Only a supervisor or the batch's author can cancel this batch."), code="not_allowed"
        )
    with transaction.atomic():
        before = NoticeBatch.objects.filter(pk=batch.pk).values_list("status", flat=True).first()
        if not status_transition(batch, CANCELLABLE, BatchStatus.CANCELLED, reason=reason):
            raise ServiceError(
                _("Only a batch that is not sending yet can be cancelled."), code="wrong_state"
            )
        SmsMessage.objects.filter(
            batch=batch, status__in=(MessageStatus.PENDING, MessageStatus.QUEUED)
        ).update(
            status=MessageStatus.CANCELLED, error_code=CancelCode.BATCH_CANCELLED, updated_at=timezone.now()
        )
        audit_record(
            actor=user,
            action="batch.cancel",
            obj=batch,
            from_state=before,
            to_state=BatchStatus.CANCELLED,
            note=reason,
        )
    return batch
