"""Reads of customers that more than one page uses: what staff mean by a search term."""

from __future__ import annotations

from django.db.models import Q

from .models import Customer, Loan
from .phones import phone_normalize


def customer_ids_matching(term: str):
    """Ids of the customers staff mean by `term`: exact, index-friendly matches of a
    mobile, a customer number, a name (from the start) or one of their loan accounts.

    A UNION of index lookups rather than one OR: PostgreSQL cannot combine the loan
    lookup (a subquery) with the others through indexes, and would read every customer.
    """
    term = term.strip()
    direct = Q(customer_no=term) | Q(name__startswith=term)
    mobile, _problem = phone_normalize(term)
    if mobile:
        direct |= Q(mobile=mobile)
    by_customer = Customer.objects.filter(direct).order_by().values_list("pk", flat=True)
    by_loan = Loan.objects.filter(loan_account=term).order_by().values_list("customer_id", flat=True)
    return by_customer.union(by_loan)


def search_customers_q(term: str) -> Q:
    """Customers matching what staff type (see `customer_ids_matching`)."""
    return Q(pk__in=customer_ids_matching(term))


# What staff type mostly names a handful of customers (a number, a mobile, a full name):
# those are looked up first and passed on as ids, so that PostgreSQL knows how few loans,
# messages or feedback to expect. From the subquery it guesses a name prefix's customers
# from a coarse histogram, several times too many for a common name, and then reads all
# 3,000,000 messages rather than the few thousand of those customers.
LOOKED_UP_FIRST = 5000


def customers_matching(term: str):
    """The matching customers' ids: a list when there are at most LOOKED_UP_FIRST of them,
    else the query (for `customer_id__in=`)."""
    ids = customer_ids_matching(term)
    found = list(ids[: LOOKED_UP_FIRST + 1])
    return found if len(found) <= LOOKED_UP_FIRST else ids
