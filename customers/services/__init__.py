"""Writes and state changes of customers and loans. Every one records an AuditEvent."""

from .customers import (
    customer_phone_flag_wrong,
    customer_phone_verify,
    customer_reveal,
    customer_set_salutation,
    customer_sms_resume,
    customer_sms_stop,
    customer_update_contact,
)
from .loan_import import (
    loan_book_apply,
    loan_book_cancel,
    loan_book_confirm,
    loan_book_import,
    loan_book_upload,
    loan_book_validate,
)

__all__ = [
    "customer_phone_flag_wrong",
    "customer_phone_verify",
    "customer_sms_resume",
    "customer_sms_stop",
    "customer_reveal",
    "customer_set_salutation",
    "customer_update_contact",
    "loan_book_apply",
    "loan_book_cancel",
    "loan_book_confirm",
    "loan_book_import",
    "loan_book_upload",
    "loan_book_validate",
]
