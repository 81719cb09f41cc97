"""Each existing plan covers its one loan: a PlanLoan with the plan's amount and baseline."""

from decimal import Decimal

from django.db import migrations

OPEN = ("pending_approval", "approved", "active")


def forwards(apps, schema_editor):
    Plan = apps.get_model("notices", "RepaymentPlan")
    PlanLoan = apps.get_model("notices", "PlanLoan")
    links = []
    for plan in Plan.objects.select_related("loan").iterator(chunk_size=2000):
        loan = plan.loan
        Plan.objects.filter(pk=plan.pk).update(customer_id=loan.customer_id)
        repaid = Decimal("0.00")
        if plan.status == "active":
            baseline = plan.baseline_overdue if plan.baseline_overdue is not None else plan.total_amount
            repaid = min(plan.total_amount, max(Decimal("0.00"), baseline - loan.overdue_amount))
        links.append(
            PlanLoan(
                plan_id=plan.pk,
                loan_id=loan.pk,
                amount=plan.total_amount,
                baseline_overdue=plan.baseline_overdue,
                repaid=repaid,
                open=plan.status in OPEN,
            )
        )
        if len(links) >= 2000:
            PlanLoan.objects.bulk_create(links)
            links = []
    PlanLoan.objects.bulk_create(links)


def backwards(apps, schema_editor):
    Plan = apps.get_model("notices", "RepaymentPlan")
    PlanLoan = apps.get_model("notices", "PlanLoan")
    for link in PlanLoan.objects.order_by("plan_id", "-amount"):
        Plan.objects.filter(pk=link.plan_id, loan__isnull=True).update(loan_id=link.loan_id)
    PlanLoan.objects.all().delete()


class Migration(migrations.Migration):
    dependencies = [("notices", "0010_multi_loan_plans")]

    operations = [migrations.RunPython(forwards, backwards)]
