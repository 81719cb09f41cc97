"""Customers' replies, calls and visits: classified, owned, answered in time."""

from __future__ import annotations

import datetime
import hashlib
import re

from django.conf import settings
from django.db import connection, transaction
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from core.audit import audit_record
from core.exceptions import ServiceError
from core.workdays import is_working_day
from customers.models import OPEN_LOAN_STATUSES, Customer, Loan
from customers.phones import phone_normalize
from customers.services.customers import customer_phone_flag_wrong, customer_sms_stop

from ..models import (
    OPEN_FEEDBACK,
    ContactPolicy,
    Feedback,
    FeedbackCategory,
    FeedbackChannel,
    FeedbackSla,
    FeedbackStatus,
    InboundMessage,
    KeywordRule,
    SmsMessage,
    SmsTemplate,
    TemplatePurpose,
)
from ..outbox import compose, message_add
from ..placeholders import MessageFacts, context_for
from ..policy import next_window_opening
from ..rendering import render, text_problems

LATIN = re.compile(r"^[A-Za-z0-9]+$")


# --- Classification and SLA -----------------------------------------------------------


def _matches(keyword: str, text: str) -> bool:
    if LATIN.match(keyword):  # TD: a word of its own, not the middle of "STD"
        return (
            re.search(rf"(?<![A-Za-z0-9]){re.escape(keyword)}(?![A-Za-z0-9])", text, re.IGNORECASE)
            is not None
        )
    return keyword in text


def feedback_classify(text: str) -> str:
    """The category of the first active keyword rule the text matches, else "other"."""
    for rule in KeywordRule.objects.filter(active=True).order_by("priority", "pk"):
        if any(_matches(keyword, text) for keyword in rule.keyword_list):
            return rule.category
    return FeedbackCategory.OTHER


# --- Answer-by times -------------------------------------------------------------------
#
# The answer-by clock runs only while the bank may answer: inside the contact window on a
# working day of the mainland calendar (weekends and statutory holidays off, make-up
# working days on: core.workdays). Feedback that arrives outside those hours starts its
# clock when the window next opens on a working day. "Within H hours" is H hours of that
# clock; "within N working days" is N whole windows of it (N × the window's length), so
# it ends at the same clock time N working days on. A deadline therefore always falls
# inside the window, when a reply can go at once: a complaint at 03:17 with 4 hours is
# due at 12:00, not at 07:17 when no SMS may be sent.


def _window_on(day: datetime.date, policy: ContactPolicy) -> tuple[datetime.datetime, datetime.datetime]:
    """The contact window that opens on `day` (local), as aware datetimes; a window across
    midnight closes the next morning, an all-day window 24 hours after it opens."""
    opens = timezone.make_aware(datetime.datetime.combine(day, policy.window_start))
    closes_on = day if policy.window_start < policy.window_end else day + datetime.timedelta(days=1)
    return opens, timezone.make_aware(datetime.datetime.combine(closes_on, policy.window_end))


def service_hours(start: datetime.datetime, policy: ContactPolicy | None = None):
    """(from, to) stretches of the contact window on working days, from `start` on."""
    policy = policy or ContactPolicy.current()
    day = timezone.localtime(start).date() - datetime.timedelta(days=1)  # yesterday's may still be open
    for _day in range(3 * 366):
        if is_working_day(day):
            opens, closes = _window_on(day, policy)
            if closes > start:
                yield max(opens, start), closes
        day += datetime.timedelta(days=1)
    raise ServiceError(_("The calendar has no working day in the next three years."), code="calendar")


def service_time_after(
    start: datetime.datetime, duration: datetime.timedelta, policy: ContactPolicy | None = None
) -> datetime.datetime:
    """The moment `duration` of service hours (see above) has run from `start`."""
    remaining = duration
    for opens, closes in service_hours(start, policy):
        if remaining <= closes - opens:
            return timezone.localtime(opens + remaining)
        remaining -= closes - opens
    raise AssertionError("service_hours never ends")  # pragma: no cover


def window_length(policy: ContactPolicy) -> datetime.timedelta:
    opens, closes = _window_on(datetime.date(2000, 1, 3), policy)
    return closes - opens


def add_working_days(
    moment: datetime.datetime, days: int, policy: ContactPolicy | None = None
) -> datetime.datetime:
    """`days` working days of service hours after `moment` (see above)."""
    policy = policy or ContactPolicy.current()
    return service_time_after(moment, days * window_length(policy), policy)


def feedback_sla(category: str, received_at: datetime.datetime) -> tuple[datetime.datetime, bool]:
    """(answer-by time, urgent) for feedback of this category received at this time."""
    policy = ContactPolicy.current()
    rule = FeedbackSla.objects.filter(category=category).first()
    if rule is None:
        return add_working_days(received_at, 1, policy), False
    if rule.within_hours is not None:
        return service_time_after(
            received_at, datetime.timedelta(hours=rule.within_hours), policy
        ), rule.urgent
    return add_working_days(received_at, rule.within_working_days or 1, policy), rule.urgent


def answer_by_rule(policy: ContactPolicy | None = None) -> str:
    """The rule above in a sentence, for the pages that show answer-by times."""
    policy = policy or ContactPolicy.current()
    if policy.window_start == policy.window_end:
        window = _("all day")
    else:
        window = f"{policy.window_start:%H:%M}–{policy.window_end:%H:%M}"
    return _(
        "The answer-by clock runs only in the contact window (%(window)s) on working days: "
        "weekends and public holidays do not count, make-up working days do."
    ) % {"window": window}


def reply_sends_at(moment: datetime.datetime) -> datetime.datetime:
    """When a reply written at `moment` goes out: now in the contact window (any day: the
    window, not the working calendar, limits sending), else when it next opens."""
    return next_window_opening(moment, ContactPolicy.current())


def reply_sending_note(moment: datetime.datetime) -> str:
    """When a reply written at `moment` goes: "at once (…)" or "at 08:00 on 12-03" (for pages)."""
    goes = reply_sends_at(moment)
    if goes <= moment:
        return _("it goes out at once (the contact window is open)")
    local = timezone.localtime(goes)
    if local.date() == timezone.localtime(moment).date():
        return _("the contact window is closed: it goes out at %(time)s") % {"time": local.strftime("%H:%M")}
    return _("the contact window is closed: it goes out on %(date)s at %(time)s") % {
        "time": local.strftime("%H:%M"),
        "date": local.strftime("%m-%d"),
    }


def sla_state(feedback: Feedback, now: datetime.datetime | None = None) -> str:
    """overdue / due_soon / on_track / done, as the worklist shows it."""
    if not feedback.is_open:
        return "done"
    now = now or timezone.now()
    if feedback.sla_due_at <= now:
        return "overdue"
    if feedback.sla_due_at - now <= datetime.timedelta(hours=2):
        return "due_soon"
    return "on_track"


# --- Recording ------------------------------------------------------------------------


def _single_overdue_loan(customer: Customer | None) -> Loan | None:
    if customer is None:
        return None
    loans = list(customer.loans.filter(status__in=OPEN_LOAN_STATUSES)[:2])
    return loans[0] if len(loans) == 1 else None


def _apply_effects(feedback: Feedback, user) -> None:
    """What a category means for contacting the customer."""
    customer = feedback.customer
    if customer is None:
        return
    if feedback.category == FeedbackCategory.WRONG_NUMBER:
        customer_phone_flag_wrong(
            customer=customer,
            user=user,
            note=_("Reply says wrong number (feedback #%(id)s)") % {"id": feedback.pk},
        )
    if feedback.category == FeedbackCategory.STOP_REQUEST:
        customer_sms_stop(
            customer=customer,
            user=user,
            note=_("Reply asks to stop SMS (feedback #%(id)s)") % {"id": feedback.pk},
        )


def _create(**fields) -> Feedback:
    received = fields.pop("received_at", None) or timezone.now()
    due, urgent = feedback_sla(fields["category"], received)
    feedback = Feedback.objects.create(sla_due_at=due, urgent=urgent, **fields)
    return feedback


def _same_words(text: str) -> str:
    return " ".join(text.split())


def _lock_phone(phone: str) -> None:
    """On PostgreSQL, one transaction at a time looks for (and makes) a phone's item: two
    identical SMS arriving together must not both find nothing and both make one."""
    if connection.vendor == "postgresql":
        key = int.from_bytes(hashlib.sha256(f"feedback:{phone}".encode()).digest()[:8], "big", signed=True)
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [key])


def _open_item_with_the_same_text(inbound: InboundMessage) -> Feedback | None:
    """The open item an identical SMS from this phone made (or joined) within the last
    FEEDBACK_MERGE_MINUTES, if any."""
    minutes = settings.FEEDBACK_MERGE_MINUTES
    if not minutes:
        return None
    e164, _problem = phone_normalize(inbound.phone)
    spellings = {inbound.phone, e164, e164.removeprefix("+86")} - {""} if e164 else {inbound.phone}
    since = inbound.received_at - datetime.timedelta(minutes=minutes)
    candidates = Feedback.objects.filter(
        channel=FeedbackChannel.SMS_REPLY,
        status__in=OPEN_FEEDBACK,
        phone__in=spellings,
        last_received_at__gte=since,
    ).order_by("-last_received_at", "-pk")
    words = _same_words(inbound.text)
    return next((item for item in candidates.select_for_update() if _same_words(item.text) == words), None)


def feedback_from_inbound(*, inbound: InboundMessage) -> Feedback:
    """An inbound SMS becomes feedback: matched to the customer (and their one overdue loan).

    The same text from the same phone again within FEEDBACK_MERGE_MINUTES of the last one,
    while its item is open, joins that item (counted, kept in `repeats`) instead."""
    existing = Feedback.objects.filter(Q(inbound=inbound) | Q(repeats=inbound)).first()
    if existing is not None:
        return existing
    with transaction.atomic():
        _lock_phone(phone_normalize(inbound.phone)[0] or inbound.phone)
        same = _open_item_with_the_same_text(inbound)
        if same is not None:
            same.repeats.add(inbound)
            Feedback.objects.filter(pk=same.pk).update(
                received_count=F("received_count") + 1, last_received_at=inbound.received_at
            )
            same.refresh_from_db(fields=["received_count", "last_received_at"])
            audit_record(
                actor=None,
                action="feedback.repeat",
                obj=same,
                to_state=str(same.received_count),
                note=inbound.provider_message_id,
            )
            return same
        feedback = _create(
            customer=inbound.customer,
            loan=_single_overdue_loan(inbound.customer),
            channel=FeedbackChannel.SMS_REPLY,
            category=feedback_classify(inbound.text),
            text=inbound.text,
            phone=inbound.phone,
            inbound=inbound,
            received_at=inbound.received_at,
            last_received_at=inbound.received_at,
        )
        audit_record(actor=None, action="feedback.receive", obj=feedback, to_state=feedback.category)
        _apply_effects(feedback, None)
    return feedback


def feedback_record(
    *,
    user,
    channel: str,
    text: str,
    category: str | None = None,
    customer: Customer | None = None,
    loan: Loan | None = None,
) -> Feedback:
    """Feedback taken by phone, at a branch or online, recorded by staff."""
    if not text.strip():
        raise ServiceError(_("Write down what the customer said."), code="text_required")
    if loan is not None and customer is not None and loan.customer_id != customer.pk:
        raise ServiceError(_("That loan belongs to another customer."), code="wrong_loan")
    customer = customer or (loan.customer if loan else None)
    with transaction.atomic():
        feedback = _create(
            customer=customer,
            loan=loan or _single_overdue_loan(customer),
            channel=channel,
            category=category or feedback_classify(text),
            text=text.strip(),
            created_by=user,
            assignee=user,
            status=FeedbackStatus.IN_PROGRESS,
        )
        audit_record(actor=user, action="feedback.record", obj=feedback, to_state=feedback.category)
        _apply_effects(feedback, user)
    return feedback


# --- Working the queue ----------------------------------------------------------------


def _locked(feedback: Feedback) -> Feedback:
    return Feedback.objects.select_for_update().get(pk=feedback.pk)


def feedback_assign(*, feedback: Feedback, user, assignee) -> Feedback:
    """Give an open item to someone (or take it: assignee=user)."""
    with transaction.atomic():
        current = _locked(feedback)
        if not current.is_open:
            raise ServiceError(_("This feedback is already resolved."), code="wrong_state")
        before = current.assignee.get_username() if current.assignee else ""
        current.assignee = assignee
        if current.status == FeedbackStatus.NEW:
            current.status = FeedbackStatus.IN_PROGRESS
        current.save(update_fields=["assignee", "status", "updated_at"])
        audit_record(
            actor=user,
            action="feedback.assign",
            obj=current,
            from_state=before,
            to_state=assignee.get_username(),
        )
    return current


ALLOWED_MOVES = {
    FeedbackStatus.NEW: {FeedbackStatus.IN_PROGRESS, FeedbackStatus.RESOLVED, FeedbackStatus.CLOSED},
    FeedbackStatus.IN_PROGRESS: {FeedbackStatus.RESOLVED, FeedbackStatus.CLOSED, FeedbackStatus.NEW},
    FeedbackStatus.RESOLVED: {FeedbackStatus.CLOSED, FeedbackStatus.IN_PROGRESS},
    FeedbackStatus.CLOSED: set(),
}


def feedback_set_status(*, feedback: Feedback, user, status: str, resolution: str = "") -> Feedback:
    """new → in progress → resolved → closed; resolving needs a resolution note."""
    with transaction.atomic():
        current = _locked(feedback)
        if status == current.status and not resolution:
            return current
        if status != current.status and status not in ALLOWED_MOVES[current.status]:
            raise ServiceError(
                _("Feedback cannot go from %(from)s to %(to)s.")
                % {"from": current.get_status_display(), "to": FeedbackStatus(status).label},
                code="wrong_state",
            )
        resolution = (resolution or "").strip() or current.resolution
        if status in (FeedbackStatus.RESOLVED, FeedbackStatus.CLOSED) and not resolution:
            raise ServiceError(_("Write how it was resolved."), code="resolution_required")
        before = current.status
        current.status, current.resolution = status, resolution
        if status in (FeedbackStatus.RESOLVED, FeedbackStatus.CLOSED) and current.resolved_at is None:
            current.resolved_at = timezone.now()
        if status in OPEN_FEEDBACK:
            current.resolved_at = None
        if current.assignee_id is None and status == FeedbackStatus.IN_PROGRESS:
            current.assignee = user
        current.save()
        audit_record(
            actor=user,
            action="feedback.status",
            obj=current,
            from_state=before,
            to_state=status,
            note=resolution,
        )
    return current


def feedback_reclassify(*, feedback: Feedback, user, category: str) -> Feedback:
    """Staff correct the category; the SLA follows the new category from the time received."""
    with transaction.atomic():
        current = _locked(feedback)
        if current.category == category:
            return current
        before = current.category
        current.category = category
        current.sla_due_at, current.urgent = feedback_sla(category, current.created_at)
        current.save(update_fields=["category", "sla_due_at", "urgent", "updated_at"])
        audit_record(
            actor=user, action="feedback.reclassify", obj=current, from_state=before, to_state=category
        )
        _apply_effects(current, user)
    return current


def feedback_link_customer(
    *, feedback: Feedback, user, customer: Customer, loan: Loan | None = None
) -> Feedback:
    """Match an unmatched reply to a customer by hand."""
    if loan is not None and loan.customer_id != customer.pk:
        raise ServiceError(_("That loan belongs to another customer."), code="wrong_loan")
    with transaction.atomic():
        current = _locked(feedback)
        current.customer = customer
        current.loan = loan or _single_overdue_loan(customer)
        current.save(update_fields=["customer", "loan", "updated_at"])
        if current.inbound_id:
            InboundMessage.objects.filter(pk=current.inbound_id, customer__isnull=True).update(
                customer=customer
            )
        audit_record(actor=user, action="feedback.link", obj=current, to_state=customer.customer_no)
        _apply_effects(current, user)
    return current


def feedback_reply_text(*, feedback: Feedback, template: SmsTemplate) -> str:
    """A reply template's text for this feedback, placeholders filled, to go into the reply
    box for staff to read and edit (the signature is added when it is sent)."""
    if template.purpose != TemplatePurpose.FEEDBACK_REPLY or not template.active:
        raise ServiceError(_("Choose a feedback-reply template."), code="wrong_template")
    from .templates import template_current_version

    customer = feedback.customer
    facts = MessageFacts(salutation=customer.honorific_name if customer else "")
    return render(template_current_version(template).body, context_for(facts))


def feedback_reply(*, feedback: Feedback, user, text: str, template: SmsTemplate | None = None) -> SmsMessage:
    """Send exactly the text staff wrote (the signature is added), through the outbox with
    the same lint, signature and contact window as notices. `template` is the template the
    text started from: the message keeps it only while the text is still the template's."""
    customer = feedback.customer
    if customer is None:
        raise ServiceError(_("Link this feedback to a customer before replying."), code="no_customer")
    if not customer.mobile:
        raise ServiceError(_("The customer has no valid mobile number."), code="no_mobile")
    text = (text or "").strip()
    composed = compose(text)
    if len(composed.body.strip()) <= len(compose("").body):
        raise ServiceError(_("The reply is empty."), code="empty")
    problems = text_problems(composed.body)
    if problems:
        raise ServiceError(" ".join(problems), code="lint")
    version = None
    if template is not None:
        if text == feedback_reply_text(feedback=feedback, template=template).strip():
            from .templates import template_current_version

            version = template_current_version(template)
        else:
            template = None  # edited: the message is staff's own words
    with transaction.atomic():
        message = message_add(
            customer=customer,
            purpose=TemplatePurpose.FEEDBACK_REPLY,
            composed=composed,
            idempotency_key=f"r-{feedback.pk}-{timezone.now().strftime('%Y%m%d%H%M%S%f')}",
            loan=feedback.loan,
            template=template,
            template_version=version,
            feedback=feedback,
            user=user,
        )
        if feedback.status == FeedbackStatus.NEW:
            Feedback.objects.filter(pk=feedback.pk).update(
                status=FeedbackStatus.IN_PROGRESS, assignee=feedback.assignee or user
            )
        audit_record(actor=user, action="feedback.reply", obj=feedback, note=composed.body)
    return message
