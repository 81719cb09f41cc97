"""Plans made when a plan had one loan are migrated to plans covering that loan."""

import datetime
from decimal import Decimal

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

BEFORE = [("notices", "0008_policy_defaults_from_environment"), ("customers", "0007_customer_salutation")]


@pytest.mark.django_db(transaction=True)
def test_existing_plans_cover_their_loan_after_the_migration():
    executor = MigrationExecutor(connection)
    executor.migrate(BEFORE)
    old = executor.loader.project_state(BEFORE).apps
    Customer, Loan = old.get_model("customers", "Customer"), old.get_model("customers", "Loan")
    Plan = old.get_model("notices", "RepaymentPlan")
    customer = Customer.objects.create(customer_no="C1", name="林峰")
    loan = Loan.objects.create(
        loan_account="6228480012342603",
        customer=customer,
        overdue_amount=Decimal("600.00"),
        overdue_since=datetime.date(2026, 11, 1),
        status="in_plan",
    )
    done = Loan.objects.create(loan_account="6228480012342740", customer=customer, status="current")
    active = Plan.objects.create(
        loan=loan, kind="installments", status="active", total_amount=Decimal("900.00"),
        baseline_overdue=Decimal("900.00"),
    )  # fmt: skip
    finished = Plan.objects.create(
        loan=done, kind="extension", status="completed", total_amount=Decimal("50.00")
    )

    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(executor.loader.graph.leaf_nodes())
    from notices.models import PlanLoan, RepaymentPlan

    plan = RepaymentPlan.objects.get(pk=active.pk)
    assert plan.customer_id == customer.pk
    link = PlanLoan.objects.get(plan=plan)
    assert (link.loan_id, link.amount, link.baseline_overdue, link.repaid, link.open) == (
        loan.pk,
        Decimal("900.00"),
        Decimal("900.00"),
        Decimal("300.00"),  # 900 when activated, 600 now
        True,
    )
    assert not PlanLoan.objects.get(plan_id=finished.pk).open  # a completed plan holds no loan
