from __future__ import annotations

import datetime

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from core.audit import audit_record
from core.exceptions import ServiceError

from ..models import Customer, PhoneProblem

CONTACT_FIELDS = (
    "do_not_contact",
    "do_not_contact_reason",
    "do_not_contact_until",
    "deceased",
    "disputed",
)


def _describe(customer: Customer) -> str:
    parts = []
    if customer.do_not_contact:
        until = customer.do_not_contact_until.isoformat() if customer.do_not_contact_until else "∞"
        parts.append(f"do_not_contact[{customer.do_not_contact_reason}→{until}]")
    if customer.deceased:
        parts.append("deceased")
    if customer.disputed:
        parts.append("disputed")
    return ", ".join(parts) or "contactable"


def customer_update_contact(
    *,
    customer: Customer,
    user,
    do_not_contact: bool | None = None,
    do_not_contact_reason: str | None = None,
    do_not_contact_until: datetime.date | None | bool = False,
    deceased: bool | None = None,
    disputed: bool | None = None,
    note: str = "",
) -> Customer:
    """Change a customer's contact flags (do-not-contact, deceased, disputed), audited."""
    with transaction.atomic():
        current = Customer.objects.select_for_update().get(pk=customer.pk)
        before = _describe(current)
        if do_not_contact is not None:
            current.do_not_contact = do_not_contact
        if do_not_contact_reason is not None:
            current.do_not_contact_reason = do_not_contact_reason.strip()
        if do_not_contact_until is not False:
            current.do_not_contact_until = do_not_contact_until
        if deceased is not None:
            current.deceased = deceased
        if disputed is not None:
            current.disputed = disputed
        if not current.do_not_contact:
            current.do_not_contact_reason = ""
            current.do_not_contact_until = None
        elif not current.do_not_contact_reason:
            raise ServiceError(_("A do-not-contact flag needs a reason."), code="reason_required")
        after = _describe(current)
        if before == after:
            return current
        current.save(update_fields=[*CONTACT_FIELDS, "updated_at"])
        audit_record(
            actor=user,
            action="customer.contact_update",
            obj=current,
            from_state=before,
            to_state=after,
            note=note,
        )
    for field in CONTACT_FIELDS:
        setattr(customer, field, getattr(current, field))
    return current


def customer_reveal(*, customer: Customer, user) -> Customer:
    """Record that `user` was shown this customer's whole mobile and ID number."""
    audit_record(actor=user, action="customer.reveal", obj=customer, note="mobile, id_number")
    return customer


def customer_phone_flag_wrong(*, customer: Customer, user, note: str = "") -> Customer:
    """Someone answering this mobile says it is not the customer's: no SMS go to it."""
    with transaction.atomic():
        before = customer.phone_problem
        moved = (
            Customer.objects.filter(pk=customer.pk)
            .exclude(phone_problem=PhoneProblem.WRONG_NUMBER)
            .update(phone_problem=PhoneProblem.WRONG_NUMBER, updated_at=timezone.now())
        )
        if moved:
            audit_record(
                actor=user,
                action="customer.phone_flagged",
                obj=customer,
                from_state=before or "ok",
                to_state=PhoneProblem.WRONG_NUMBER,
                note=note,
            )
    customer.phone_problem = PhoneProblem.WRONG_NUMBER
    return customer


def customer_sms_stop(*, customer: Customer, user, note: str = "") -> Customer:
    """The customer asked for no more SMS (退订/TD): none go until staff resume them."""
    with transaction.atomic():
        if Customer.objects.filter(pk=customer.pk, sms_stopped=False).update(
            sms_stopped=True, updated_at=timezone.now()
        ):
            audit_record(
                actor=user,
                action="customer.sms_stopped",
                obj=customer,
                from_state="sms",
                to_state="stopped",
                note=note,
            )
    customer.sms_stopped = True
    return customer


def customer_phone_verify(*, customer: Customer, user) -> Customer:
    """Staff confirmed the mobile belongs to the customer: notices may go to it again."""
    with transaction.atomic():
        moved = Customer.objects.filter(pk=customer.pk, phone_problem=PhoneProblem.WRONG_NUMBER).update(
            phone_problem=PhoneProblem.NONE, updated_at=timezone.now()
        )
        if not moved:
            raise ServiceError(_("This number is not flagged as a wrong number."), code="wrong_state")
        audit_record(
            actor=user,
            action="customer.phone_verified",
            obj=customer,
            from_state="wrong_number",
            to_state="ok",
        )
    customer.refresh_from_db()
    return customer


def customer_sms_resume(*, customer: Customer, user, note: str = "") -> Customer:
    """Staff decided SMS may go to this customer again after a stop request."""
    with transaction.atomic():
        if not Customer.objects.filter(pk=customer.pk, sms_stopped=True).update(
            sms_stopped=False, updated_at=timezone.now()
        ):
            raise ServiceError(_("SMS are not stopped for this customer."), code="wrong_state")
        audit_record(
            actor=user,
            action="customer.sms_resumed",
            obj=customer,
            from_state="stopped",
            to_state="sms",
            note=note,
        )
    customer.refresh_from_db()
    return customer


def customer_set_salutation(*, customer: Customer, user, salutation: str) -> Customer:
    """Set (or clear, with "") how messages address this customer; imports never change it."""
    from ..salutations import salutation_problem

    salutation = (salutation or "").strip()
    problem = salutation_problem(salutation)
    if problem:
        raise ServiceError(problem, code="salutation_invalid")
    with transaction.atomic():
        current = Customer.objects.select_for_update().get(pk=customer.pk)
        before = current.salutation
        if before != salutation:
            Customer.objects.filter(pk=current.pk).update(salutation=salutation, updated_at=timezone.now())
            audit_record(
                actor=user,
                action="customer.salutation",
                obj=current,
                from_state=before,
                to_state=salutation,
            )
    customer.salutation = salutation
    return customer
