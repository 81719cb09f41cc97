"""Plans cover one or more loans of a customer (PlanLoan); stages carry their repay-by rule."""

import django.core.validators
import django.db.models.deletion
import notices.models
from decimal import Decimal
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('customers', '0007_customer_salutation'),
        ('notices', '0009_carrier_links'),
    ]

    operations = [
        migrations.AddField(
            model_name='collectionstage',
            name='repay_by_days',
            field=models.PositiveSmallIntegerField(default=notices.models.default_repay_by_days, help_text="The notices' repay-by date {repay_by}: the data date plus this many days (e.g. data of 12月2日 + 3 = 请于12月5日前还款).", validators=[django.core.validators.MinValueValidator(1), django.core.validators.MaxValueValidator(90)], verbose_name='repay within (days)'),
        ),
        migrations.AddField(
            model_name='repaymentplan',
            name='customer',
            field=models.ForeignKey(null=True, on_delete=django.db.models.deletion.PROTECT, related_name='plans', to='customers.customer', verbose_name='customer'),
        ),
        migrations.AlterField(
            model_name='smsmessage',
            name='exclusion_reason',
            field=models.CharField(blank=True, choices=[('do_not_contact', 'do not contact'), ('deceased', 'deceased'), ('disputed', 'disputed'), ('stop_request', 'asked to stop SMS'), ('phone_missing', 'no mobile number'), ('phone_invalid', 'invalid mobile number'), ('phone_landline', 'landline, not a mobile'), ('phone_shared', 'mobile shared with another customer'), ('phone_wrong', 'reported as wrong number'), ('active_plan', 'active repayment plan'), ('already_notified', 'already notified this cycle'), ('below_minimum', 'amount below the minimum'), ('daily_cap', 'daily SMS limit reached'), ('no_template', 'no active template for the stage'), ('no_multi_template', 'no active template true for several loans')], max_length=20, verbose_name='exclusion reason'),
        ),
        migrations.CreateModel(
            name='PlanLoan',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('amount', models.DecimalField(decimal_places=2, max_digits=14, verbose_name='share of the plan')),
                ('baseline_overdue', models.DecimalField(blank=True, decimal_places=2, max_digits=14, null=True, verbose_name='overdue amount when activated')),
                ('repaid', models.DecimalField(decimal_places=2, default=Decimal('0.00'), max_digits=14, verbose_name='repaid so far')),
                ('open', models.BooleanField(default=True, help_text='While the plan waits for approval or runs.', verbose_name='plan open')),
                ('loan', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='plan_links', to='customers.loan', verbose_name='loan')),
                ('plan', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='plan_loans', to='notices.repaymentplan', verbose_name='plan')),
            ],
            options={
                'verbose_name': 'loan in a plan',
                'verbose_name_plural': 'loans in a plan',
                'ordering': ['plan', '-amount', 'loan'],
                'constraints': [models.UniqueConstraint(fields=('plan', 'loan'), name='planloan_once_per_plan'), models.UniqueConstraint(condition=models.Q(('open', True)), fields=('loan',), name='planloan_one_open_per_loan'), models.CheckConstraint(condition=models.Q(('amount__gte', 0)), name='planloan_amount_not_negative')],
            },
        ),
    ]
