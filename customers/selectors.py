"""Reads of customers that more than one page uses: what staff mean by a search term."""

from __future__ import annotations

import re

from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from .models import Customer, Loan
from .phones import phone_normalize

ID_NUMBER = re.compile(r"^(\d{17}[\dXx]|\d{15})$")  # resident ID: 18 characters (or the old 15)
LAST_FOUR = re.compile(r"^\d{3}[\dXx]$")  # as the masked pages show them: 138****5678, …123X


# What the search boxes that look customers up understand (customer_ids_matching).
CUSTOMER_SEARCH_HELP = _(
    "Customer number, name (from the start), mobile, ID number or loan account, "
    "or the last four digits of a mobile, ID number or loan account"
)


def customer_ids_matching(term: str):
    """Ids of the customers staff mean by `term`: exact, index-friendly matches of a
    mobile, a customer number, a name (from the start), a whole ID number, one of their
    loan accounts, or the last four digits of their mobile, ID number or a loan account
    (what the masked pages show, so staff can go from a masked number to its customer).

    A UNION of index lookups rather than one OR: PostgreSQL cannot combine the loan
    lookup (a subquery) with the others through indexes, and would read every customer.
    The last fours are columns the database computes and indexes (Customer.mobile_tail,
    id_number_tail, Loan.account_tail).
    """
    term = term.strip()
    direct = Q(customer_no=term) | Q(name__startswith=term)
    mobile, _problem = phone_normalize(term)
    if mobile:
        direct |= Q(mobile=mobile)
    if ID_NUMBER.match(term):
        direct |= Q(id_number__in={term, term.upper(), term.lower()})
    by_loan = Q(loan_account=term)
    if LAST_FOUR.match(term):
        tail = term.upper()
        direct |= Q(id_number_tail=tail)
        if tail.isdigit():
            direct |= Q(mobile_tail=tail)
            by_loan |= Q(account_tail=tail)
    by_customer = Customer.objects.filter(direct).order_by().values_list("pk", flat=True)
    by_loans = Loan.objects.filter(by_loan).order_by().values_list("customer_id", flat=True)
    return by_customer.union(by_loans)


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
