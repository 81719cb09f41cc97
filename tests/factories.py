import datetime
from decimal import Decimal

import factory
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.utils import timezone

from core import roles
from customers.models import Customer, Loan, LoanStatus
from customers.salutations import id_check_digit


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ("username",)
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    is_staff = True
    password = factory.PostGenerationMethodCall("set_password", "pw-for-tests-1")

    @factory.post_generation
    def role(self, create, extracted, **kwargs):
        if extracted:
            self.groups.add(Group.objects.get(name=extracted))
        if create:
            self.save()


def staff_user(**kwargs):
    return UserFactory(role=roles.STAFF, **kwargs)


def supervisor_user(**kwargs):
    return UserFactory(role=roles.SUPERVISOR, **kwargs)


def administrator_user(**kwargs):
    return UserFactory(role=roles.ADMINISTRATOR, **kwargs)


class CustomerFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Customer

    customer_no = factory.Sequence(lambda n: f"C{900000 + n}")
    name = factory.Sequence(lambda n: "张" + "伟芳娜敏静丽强磊军洋"[n % 10])
    # Valid ID numbers (ISO 7064 check digit): the 17th digit n % 10, odd for a man.
    id_number = factory.Sequence(
        lambda n: (body := f"330102198{n % 10}0101{(n // 10) % 100:02d}{n % 10}") + id_check_digit(body)
    )
    mobile = factory.Sequence(lambda n: f"+86138{n:08d}")
    mobile_raw = factory.LazyAttribute(lambda o: o.mobile[3:])


class LoanFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Loan

    class Params:
        days = 10

    loan_account = factory.Sequence(lambda n: f"62{n:012d}")
    customer = factory.SubFactory(CustomerFactory)
    product = "个人消费贷"
    branch = "杭州西湖支行"
    principal = Decimal("50000.00")
    balance = Decimal("30000.00")
    overdue_principal = Decimal("1000.00")
    overdue_interest = Decimal("234.56")
    overdue_amount = Decimal("1234.56")
    status = LoanStatus.OVERDUE
    overdue_since = factory.LazyAttribute(
        lambda o: timezone.localdate() - datetime.timedelta(days=o.days) if o.days else None
    )
    as_of = factory.LazyFunction(timezone.localdate)


def notice_stage(min_days: int):
    """The seeded default stage that contains `min_days`."""
    from notices.models import CollectionStage

    return CollectionStage.objects.get(
        min_days__lte=min_days,
        **({"max_days__gte": min_days} if min_days <= 90 else {"max_days__isnull": True}),
    )
