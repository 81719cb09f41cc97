import pytest
from django.contrib.auth import authenticate
from django.core.management import call_command
from django.test import RequestFactory

from customers.models import Customer, Loan, LoanStatus


@pytest.mark.django_db
def test_seed_demo_twice_duplicates_nothing_and_the_logins_work(monkeypatch, capsys):
    monkeypatch.setenv("DEMO_PASSWORD", "demo-pass-123")
    call_command("seed_demo", customers=30)
    counts = (Customer.objects.count(), Loan.objects.count())
    call_command("seed_demo", customers=30)
    assert (Customer.objects.count(), Loan.objects.count()) == counts
    out = capsys.readouterr().out
    assert "supervisor" in out and "demo-pass-123" in out
    for username in ("staff", "supervisor", "admin"):
        request = RequestFactory().post("/admin/login/")  # the lockout counts per request
        assert authenticate(request, username=username, password="demo-pass-123") is not None


@pytest.mark.django_db
def test_seed_demo_covers_every_stage(monkeypatch):
    monkeypatch.setenv("DEMO_PASSWORD", "demo-pass-123")
    call_command("seed_demo")
    days = {loan.days_overdue for loan in Loan.objects.filter(status=LoanStatus.OVERDUE)}
    for lower, upper in [(1, 3), (4, 15), (16, 30), (31, 60), (61, 90), (91, 10_000)]:
        assert any(lower <= d <= upper for d in days), (lower, upper)
