"""The contact rules, in one place: when, to whom and with what words a message may go.

Both the batch (deciding who is excluded, and why) and the sender (checking again just
before each send) ask these functions, so the two can never disagree.

The contact policy's values (window, caps, rate, minimum amount, parts, batch age) start
from the environment (`SMS_CONTACT_WINDOW`, `SMS_DAILY_CAP`, `SMS_RATE_LIMIT`,
`SMS_MIN_OVERDUE_AMOUNT`, `SMS_MAX_PARTS`, `BATCH_MAX_AGE_DAYS`) when the policy row is
first created; from then on the administrators' page 联系策略 is the truth, and it shows
any environment value that differs from what it holds.
"""

from __future__ import annotations

import datetime
from typing import NamedTuple

from django.conf import settings
from django.utils import timezone

from customers.models import PhoneProblem

from .models import ContactPolicy, ExclusionReason, TemplatePurpose
from .rendering import BRACE, TOKEN, forbidden_phrases_in

# Purposes the per-customer daily cap applies to (replies and confirmations answer the
# customer and are never held back by it).
CAPPED_PURPOSES = (TemplatePurpose.OVERDUE_NOTICE, TemplatePurpose.PLAN_REMINDER, TemplatePurpose.EDUCATION)
# Purposes whose text quotes the overdue book of the day they were made.
DATED_PURPOSES = (TemplatePurpose.OVERDUE_NOTICE, TemplatePurpose.PLAN_REMINDER)


class CancelCode:
    """Why the sender cancelled a message at the last moment (its `error_code`)."""

    PAID_SINCE = "paid_since"
    NOT_CONTACTABLE = "not_contactable"
    PHONE_CHANGED = "phone_changed"
    DAILY_CAP = "daily_cap"
    CANCELLED_BY_USER = "cancelled_by_user"
    BATCH_CANCELLED = "batch_cancelled"  # its batch was withdrawn before it went
    # The final content guard (content_problem): what would go out is not lawful as is.
    NO_SIGNATURE = "no_signature"
    FORBIDDEN_EXPRESSION = "forbidden_expression"
    PLACEHOLDER_LEFT = "placeholder_left"
    # A notice whose amounts are days old (e.g. after a gateway outage) expires unsent.
    STALE = "stale"


# --- The contact window ---------------------------------------------------------------


def window_is_all_day(policy: ContactPolicy) -> bool:
    """A window that closes when it opens (00:00–24:00, stored as 00:00–00:00) is all day."""
    return policy.window_start == policy.window_end


def in_contact_window(moment: datetime.datetime, policy: ContactPolicy) -> bool:
    local = timezone.localtime(moment).time()
    start, end = policy.window_start, policy.window_end
    if start == end:
        return True
    if start < end:
        return start <= local < end
    return local >= start or local < end  # a window across midnight


def next_window_opening(moment: datetime.datetime, policy: ContactPolicy) -> datetime.datetime:
    """When sending may next start (now if the window is open)."""
    if in_contact_window(moment, policy):
        return moment
    local = timezone.localtime(moment)
    opening = local.replace(
        hour=policy.window_start.hour, minute=policy.window_start.minute, second=0, microsecond=0
    )
    if opening <= local:
        opening += datetime.timedelta(days=1)
    return opening


# --- Who may be contacted -------------------------------------------------------------

# The customer facts the contact rules decide on (the batch reads them with each loan).
CUSTOMER_FACTS = (
    "name",
    "id_number",
    "salutation",
    "mobile",
    "phone_problem",
    "do_not_contact",
    "do_not_contact_until",
    "deceased",
    "disputed",
    "sms_stopped",
)


class CustomerFacts(NamedTuple):
    """A customer as the batch reads it: the facts above, without a model instance."""

    id: int
    name: str
    id_number: str
    salutation: str
    mobile: str
    phone_problem: str
    do_not_contact: bool
    do_not_contact_until: datetime.date | None
    deceased: bool
    disputed: bool
    sms_stopped: bool


PHONE_REASONS = {
    PhoneProblem.MISSING: ExclusionReason.PHONE_MISSING,
    PhoneProblem.INVALID: ExclusionReason.PHONE_INVALID,
    PhoneProblem.NOT_MOBILE: ExclusionReason.PHONE_LANDLINE,
    PhoneProblem.SHARED: ExclusionReason.PHONE_SHARED,
    PhoneProblem.WRONG_NUMBER: ExclusionReason.PHONE_WRONG,
}


def contact_exclusion(customer, on: datetime.date) -> str | None:
    """Why this customer may not be messaged on this day (None: they may).

    `customer` is a Customer or a CustomerFacts: anything with the CUSTOMER_FACTS.
    """
    if customer.deceased:
        return ExclusionReason.DECEASED
    if customer.disputed:
        return ExclusionReason.DISPUTED
    if customer.do_not_contact and (
        customer.do_not_contact_until is None or on <= customer.do_not_contact_until
    ):
        return ExclusionReason.DO_NOT_CONTACT
    if customer.sms_stopped:
        return ExclusionReason.STOP_REQUEST
    if customer.phone_problem:
        return PHONE_REASONS.get(customer.phone_problem, ExclusionReason.PHONE_INVALID)
    if not customer.mobile:
        return ExclusionReason.PHONE_MISSING
    return None


def send_problem(customer, phone: str, today: datetime.date) -> str | None:
    """The sender's last look at the recipient: still contactable, still this number."""
    if contact_exclusion(customer, today) is not None:
        return CancelCode.NOT_CONTACTABLE
    if customer.mobile != phone:
        return CancelCode.PHONE_CHANGED
    return None


# --- What may be said -----------------------------------------------------------------


def content_problem(body: str, phrases: list[str]) -> str | None:
    """The last look at the text itself, whatever made it (notice, reply, plan message):
    the bank's signature leads it, no forbidden expression (today's list), no placeholder."""
    if not body.strip().startswith(settings.SMS_SIGNATURE):
        return CancelCode.NO_SIGNATURE
    if forbidden_phrases_in(body, phrases):
        return CancelCode.FORBIDDEN_EXPRESSION
    if TOKEN.search(body) or BRACE.search(body):
        return CancelCode.PLACEHOLDER_LEFT
    return None


# --- The policy's values and the environment ------------------------------------------


def environment_differences(policy: ContactPolicy) -> list[tuple[str, object, object]]:
    """(field, value in the environment, value in the policy) where the two differ."""
    fields = ContactPolicy._meta
    differences = []
    for name in ContactPolicy.SETTINGS_FIELDS:
        default = fields.get_field(name).get_default()
        if getattr(policy, name) != default:
            differences.append((name, default, getattr(policy, name)))
    return differences
