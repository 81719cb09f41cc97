"""A plan's loans are its PlanLoans now; the single loan column goes."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('customers', '0007_customer_salutation'),
        ('notices', '0011_plans_to_plan_loans'),
    ]

    operations = [
        migrations.RemoveConstraint(
            model_name='repaymentplan',
            name='repaymentplan_one_open_per_loan',
        ),
        migrations.RemoveField(
            model_name='repaymentplan',
            name='loan',
        ),
        migrations.AddField(
            model_name='repaymentplan',
            name='loans',
            field=models.ManyToManyField(related_name='plans', through='notices.PlanLoan', to='customers.loan', verbose_name='loans'),
        ),
        migrations.AlterField(
            model_name='repaymentplan',
            name='customer',
            field=models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='plans', to='customers.customer', verbose_name='customer'),
        ),
    ]
