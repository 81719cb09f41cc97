"""django-q2 entry points: thin, take ids, safe to run twice (the services claim the
import with a conditional status update before doing anything)."""

from __future__ import annotations

from .models import LoanBookImport
from .services.loan_import import loan_book_apply, loan_book_validate


def loan_import_validate_task(import_id: int) -> str:
    """Dry-run an uploaded loan book for its preview."""
    loan_import = LoanBookImport.objects.filter(pk=import_id).first()
    if loan_import is None:
        return "missing"
    return loan_book_validate(loan_import=loan_import).status


def loan_import_apply_task(import_id: int) -> str:
    """Apply a confirmed loan-book import."""
    loan_import = LoanBookImport.objects.filter(pk=import_id).first()
    if loan_import is None:
        return "missing"
    return loan_book_apply(loan_import=loan_import).status
