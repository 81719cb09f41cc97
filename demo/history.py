"""Demo history for `seed_demo`: a month of notices, replies, plans and today's batch.

It uses the real services wherever the demo should look like real use (feedback,
plans, today's batch) and writes the past directly (sent notices, cures), since the past
cannot be sent again.
"""

from __future__ import annotations

import datetime
import random
from decimal import Decimal

from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone

from customers.models import Customer, Loan, LoanEvent, LoanEventKind, LoanStatus
from notices.models import (
    BatchStatus,
    CollectionStage,
    MessageStatus,
    NoticeBatch,
    NotifiedLoan,
    PlanKind,
    SmsMessage,
    SmsTemplate,
    SmsTemplateVersion,
)
from notices.outbox import compose
from notices.placeholders import LoanFacts, MessageFacts, context_for

REPLIES = [
    ("我想分期，这个月手头紧", None),
    ("已还，请查收", None),
    ("能不能宽限几天，下周发工资", None),
    ("不是本人，你们打错了", None),
    ("再发我就投诉了", None),
    ("你好，请问是什么贷款？", "+8613011112222"),
]


def demo_history(*, today: datetime.date | None = None) -> bool:
    """Create the demo's past and today's work once; False when it is already there."""
    if NoticeBatch.objects.exists():
        return False
    today = today or timezone.localdate()
    rng = random.Random(7)
    users = {
        u.username: u for u in get_user_model().objects.filter(username__in=["staff", "staff2", "supervisor"])
    }
    with transaction.atomic():
        _challenger_variant()
        _past_notices(today, rng, users.get("supervisor"))
    _replies_and_plans(users)
    from notices.services import batch_generate

    batch_generate(as_of=today, user=users.get("staff"))
    return True


def _challenger_variant() -> None:
    stage = CollectionStage.objects.filter(min_days=4).first()
    if stage is None or SmsTemplate.objects.filter(stage=stage, variant="B").exists():
        return
    body = (
        "{customer_name}，提醒您：{loans}{overdue_for}，{amount_due}，{repay_by}前用{repay_methods}还款"
        "可保护信用。客服{hotline}"
    )
    template = SmsTemplate.objects.create(
        name=f"{stage.name} B", stage=stage, variant="B", weight=50, body=body
    )
    SmsTemplateVersion.objects.create(template=template, version=1, body=body)
    SmsTemplate.objects.filter(stage=stage, variant="A").update(weight=50)


def _past_notices(today: datetime.date, rng: random.Random, approver) -> None:
    """30 days of approved, sent batches; some loans cured a few days after a notice."""
    from notices.services.batches import stage_for, stage_templates

    stages = stage_templates()
    loans = list(Loan.objects.filter(status=LoanStatus.OVERDUE).select_related("customer"))
    customers = list(
        Customer.objects.filter(phone_problem="", deceased=False, disputed=False, do_not_contact=False)
    )
    key = 0
    for back in range(30, 0, -1):
        day = today - datetime.timedelta(days=back)
        batch = NoticeBatch.objects.create(
            as_of=day,
            status=BatchStatus.DONE,
            approved_by=approver,
            created_by=None,
            decided_at=_at(day, 7, 50),
        )
        totals = {"messages": 0, "customers": set(), "loans": 0, "amount": Decimal("0.00")}
        excluded: dict[str, int] = {}
        picked = rng.sample(customers, k=min(len(customers), rng.randint(6, 14)))
        # Loans whose first overdue day this was got their first notice that morning.
        fresh = {x.customer_id for x in loans if x.overdue_since == day - datetime.timedelta(days=1)}
        picked = [c for c in customers if c.pk in fresh] + [c for c in picked if c.pk not in fresh]
        for loan in (x for x in loans if x.customer_id in fresh and x.customer not in customers):
            key += 1
            reason = _exclusion(loan.customer, day)
            excluded[reason] = excluded.get(reason, 0) + 1
            SmsMessage.objects.create(
                batch=batch,
                customer=loan.customer,
                loan=loan,
                status=MessageStatus.EXCLUDED,
                exclusion_reason=reason,
                overdue_total=loan.overdue_amount,
                days_overdue=(day - loan.overdue_since).days,
                idempotency_key=f"demo-x-{day:%Y%m%d}-{key}",
            )
        for customer in picked:
            # A past episode of a loan now settled, or the customer's present overdue loan.
            own = [
                x
                for x in loans
                if x.customer_id == customer.pk and x.overdue_since and (day - x.overdue_since).days >= 1
            ]
            loan = max(own, key=lambda x: x.overdue_since == day - datetime.timedelta(days=1), default=None)
            days = rng.randint(2, 60)
            if loan is None or loan.overdue_since is None or (day - loan.overdue_since).days < 1:
                loan = _settled_loan(customer, day - datetime.timedelta(days=days), rng)
            days = (day - loan.overdue_since).days if loan.status == LoanStatus.OVERDUE else days
            # The notice covers every loan of the customer's overdue that day, and says so.
            covered = [(loan, days, loan.overdue_amount or Decimal("800.00"))] + [
                (x, (day - x.overdue_since).days, x.overdue_amount) for x in own if x is not loan
            ]
            entry = stage_for(max(d for _x, d, _a in covered), stages)
            if entry is None:
                continue
            lead = max(covered, key=lambda c: (c[1], c[2]))
            variant = entry.pick_variant(lead[0].loan_account, several=len(covered) > 1)
            if variant is None:
                continue
            facts = MessageFacts(
                salutation=customer.honorific_name,
                loans=tuple(
                    LoanFacts(x.loan_account, amount, day - datetime.timedelta(days=d), d)
                    for x, d, amount in covered
                ),
                repay_by=entry.stage.repay_by_on(day),
            )
            composed = compose(variant.version.body, context_for(facts, variant.names))
            total = sum((amount for _x, _d, amount in covered), Decimal("0.00"))
            roll = rng.random()
            status = (
                MessageStatus.DELIVERED
                if roll < 0.86
                else MessageStatus.FAILED
                if roll < 0.92
                else MessageStatus.SENT
            )
            sent_at = _at(day, 9, rng.randint(0, 59))
            key += 1
            message = SmsMessage.objects.create(
                batch=batch,
                customer=customer,
                loan=lead[0],
                stage=entry.stage,
                template=variant.template,
                template_version=variant.version,
                variant=variant.template.variant,
                phone=customer.mobile,
                body=composed.body,
                segments=composed.segments,
                overdue_total=total,
                days_overdue=lead[1],
                loan_count=len(covered),
                status=status,
                idempotency_key=f"demo-{day:%Y%m%d}-{key}",
                dedupe_key=f"notice:{customer.pk}:{day.isoformat()}",
                attempts=1,
                sent_at=sent_at,
                delivered_at=sent_at + datetime.timedelta(seconds=rng.randint(5, 90))
                if status == MessageStatus.DELIVERED
                else None,
                failed_at=sent_at + datetime.timedelta(seconds=30)
                if status == MessageStatus.FAILED
                else None,
                error_code="UNDELIVERABLE" if status == MessageStatus.FAILED else "",
                provider_message_id=f"demo-{key}",
            )
            for covered_loan, covered_days, amount in covered:
                NotifiedLoan.objects.create(
                    message=message,
                    loan=covered_loan,
                    stage=(stage_for(covered_days, stages) or entry).stage,
                    as_of=day,
                    days_overdue=covered_days,
                    overdue_amount=amount,
                )
            if loan.status == LoanStatus.SETTLED and rng.random() < 0.6:
                cured_on = min(today, day + datetime.timedelta(days=rng.randint(1, 12)))
                LoanEvent.objects.create(
                    loan=loan,
                    kind=LoanEventKind.CURED,
                    on_date=cured_on,
                    overdue_amount_before=covered[0][2],
                    overdue_since=loan.overdue_since,
                )
            totals["messages"] += 1
            totals["customers"].add(customer.pk)
            totals["loans"] += len(covered)
            totals["amount"] += total
        _finish_past_batch(batch, day, totals, excluded)


def _finish_past_batch(batch: NoticeBatch, day: datetime.date, totals: dict, excluded: dict) -> None:
    """A past batch as the real flow leaves it: its real totals and content hash, made at
    07:30 by the schedule, submitted, approved at 07:50, its messages made before they went."""
    from notices.services.batches import batch_content_hash

    made = _at(day, 7, 30)
    SmsMessage.objects.filter(batch=batch).update(created_at=made, updated_at=made)
    NoticeBatch.objects.filter(pk=batch.pk).update(
        message_count=totals["messages"],
        customer_count=len(totals["customers"]),
        loan_count=totals["loans"],
        overdue_total=totals["amount"],
        excluded_count=sum(excluded.values()),
        excluded_by_reason=dict(sorted(excluded.items())),
        content_hash=batch_content_hash(batch),
        created_at=made,
        submitted_at=made,
    )


def _exclusion(customer: Customer, day: datetime.date) -> str:
    from notices.policy import contact_exclusion

    return contact_exclusion(customer, day) or "phone_invalid"


def _settled_loan(customer: Customer, since: datetime.date, rng: random.Random) -> Loan:
    """An older loan of the customer's, overdue in the past and repaid since."""
    loan = Loan.objects.create(
        loan_account=f"7{customer.pk:06d}{rng.randrange(10**6, 10**7)}",
        customer=customer,
        product="个人消费贷",
        branch="杭州西湖支行",
        principal=Decimal(rng.randrange(10, 90)) * 1000,
        overdue_amount=Decimal("0.00"),
        overdue_since=since,  # kept for the demo episode; the loan is settled now
        status=LoanStatus.SETTLED,
    )
    LoanEvent.objects.create(
        loan=loan,
        kind=LoanEventKind.BECAME_OVERDUE,
        on_date=since + datetime.timedelta(days=1),
        overdue_amount_after=Decimal("800.00"),
        overdue_since=since,
    )
    return loan


def _at(day: datetime.date, hour: int, minute: int) -> datetime.datetime:
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time(hour, minute)))


def _replies_and_plans(users: dict) -> None:
    from notices.backends.http import reply_from_item
    from notices.services.feedback import feedback_assign, feedback_record, feedback_set_status
    from notices.services.plans import plan_approve, plan_draft, plan_schedule
    from notices.services.webhooks import inbound_receive

    staff, staff2, supervisor = users.get("staff"), users.get("staff2"), users.get("supervisor")
    customers = list(
        Customer.objects.filter(
            phone_problem="",
            deceased=False,
            disputed=False,
            do_not_contact=False,
            loans__status=LoanStatus.OVERDUE,
        )
        .distinct()
        .order_by("customer_no")[:12]
    )
    for i, (text, phone) in enumerate(REPLIES):
        sender = phone or customers[i].mobile
        inbound_receive(
            report=reply_from_item(
                {
                    "from": sender,
                    "text": text,
                    "message_id": f"demo-in-{i}",
                    "at": timezone.now().isoformat(),
                }
            )
        )
    if staff and customers:
        item = feedback_record(
            user=staff, channel="phone", text="客户来电：本月已在网点还款，请核实。", customer=customers[6]
        )
        feedback_set_status(
            feedback=item, user=staff, status="resolved", resolution="核实已还款，已告知客户。"
        )
        from notices.models import Feedback

        first = Feedback.objects.filter(customer=customers[0]).first()
        if first:
            feedback_assign(feedback=first, user=staff, assignee=staff)
    today = timezone.localdate()
    if staff and staff2 and supervisor and len(customers) > 9:
        # The approved plan covers two loans of one customer when the book has such a one.
        several = next(
            (c for c in customers[7:] if c.loans.filter(status=LoanStatus.OVERDUE).count() > 1), customers[8]
        )
        other = customers[9] if several != customers[9] else customers[8]
        for customer, approve in ((several, True), (other, False)):
            # A plan covers all the customer's overdue loans (one confirmation SMS).
            loans = list(customer.loans.filter(status=LoanStatus.OVERDUE, overdue_amount__gt=0))
            if not loans:
                continue
            schedule = plan_schedule(
                kind=PlanKind.INSTALLMENTS,
                total=sum((x.overdue_amount for x in loans), Decimal("0.00")),
                today=today,
                count=6,
            )
            plan = plan_draft(
                loans=loans, user=staff if approve else staff2, kind=PlanKind.INSTALLMENTS, schedule=schedule
            )
            if approve:
                plan_approve(plan=plan, user=supervisor)
