import datetime

import pytest
from django.db import connection
from django.template import Context, Template
from django.utils import timezone

from core import changelists
from core.changelists import EstimatedCount, EstimatedCountPaginator, PeriodProbingQuerySet
from customers.models import Customer
from notices.models import SmsMessage
from tests.factories import CustomerFactory

pytestmark = pytest.mark.django_db


def test_an_estimated_count_is_the_number_and_says_it_is_an_estimate():
    count = EstimatedCount(3_000_000)
    assert count == 3_000_000 and count > 50 and count // 50 == 60_000
    assert str(count) == "≈3000000"
    assert Template("{{ n }} rows").render(Context({"n": count})) == "≈3000000 rows"


def test_small_and_filtered_lists_are_counted_exactly(monkeypatch):
    for _ in range(3):
        CustomerFactory()
    monkeypatch.setattr(changelists, "ESTIMATE_FROM", 0)
    filtered = EstimatedCountPaginator(Customer.objects.filter(deceased=False), 50)
    assert filtered.count == 3 and not isinstance(filtered.count, EstimatedCount)
    if connection.vendor != "postgresql":
        assert not isinstance(EstimatedCountPaginator(Customer.objects.all(), 50).count, EstimatedCount)


@pytest.mark.postgres
def test_an_unfiltered_large_table_uses_the_planners_estimate(monkeypatch):
    if connection.vendor != "postgresql":
        pytest.skip("the planner's estimate is PostgreSQL's")
    for _ in range(3):
        CustomerFactory()
    with connection.cursor() as cursor:
        cursor.execute(f"ANALYZE {Customer._meta.db_table}")
    paginator = EstimatedCountPaginator(Customer.objects.all(), 50)
    assert paginator.count == 3 and not isinstance(paginator.count, EstimatedCount)  # below ESTIMATE_FROM
    monkeypatch.setattr(changelists, "ESTIMATE_FROM", 0)
    paginator = EstimatedCountPaginator(Customer.objects.all(), 50)
    assert isinstance(paginator.count, EstimatedCount) and paginator.count == 3


def _sms(customer, created_at):
    key = f"p-{SmsMessage.objects.count()}"
    message = SmsMessage.objects.create(customer=customer, body="x", idempotency_key=key)
    SmsMessage.objects.filter(pk=message.pk).update(created_at=created_at)


def test_the_date_hierarchy_periods_are_djangos():
    customer = CustomerFactory()
    tz = timezone.get_current_timezone()
    for day in (datetime.date(2025, 12, 31), datetime.date(2026, 1, 2), datetime.date(2026, 1, 2)):
        _sms(customer, timezone.make_aware(datetime.datetime.combine(day, datetime.time(23, 30)), tz))
    _sms(customer, timezone.make_aware(datetime.datetime(2026, 3, 5, 0, 10), tz))
    probing = PeriodProbingQuerySet.of(SmsMessage.objects.all())
    for kind in ("year", "month", "day"):
        assert list(probing.datetimes("created_at", kind)) == list(
            SmsMessage.objects.datetimes("created_at", kind)
        ), kind
    in_2026 = probing.filter(created_at__year=2026)
    assert list(in_2026.datetimes("created_at", "month")) == list(
        SmsMessage.objects.filter(created_at__year=2026).datetimes("created_at", "month")
    )
    assert list(probing.filter(pk__lt=0).datetimes("created_at", "day")) == []


def _choices(response, parameter: str) -> list[str]:
    changelist = response.context["cl"]
    spec = next(spec for spec in changelist.filter_specs if parameter in spec.expected_parameters())
    return [str(choice["display"]) for choice in spec.choices(changelist)][1:]  # after "all"


def test_the_branch_and_product_filters_list_every_value(admin_client):
    from tests.factories import LoanFactory

    LoanFactory(branch="宁波海曙支行", product="信用卡分期")
    LoanFactory(branch="杭州西湖支行", product="个人消费贷")
    LoanFactory(branch="杭州西湖支行", product="个人消费贷")
    response = admin_client.get("/admin/customers/loan/")
    assert _choices(response, "branch") == ["宁波海曙支行", "杭州西湖支行"]
    assert _choices(response, "product") == ["个人消费贷", "信用卡分期"]
    filtered = admin_client.get("/admin/customers/loan/", {"branch": "宁波海曙支行"})
    assert filtered.context["cl"].result_count == 1


def test_the_variant_filter_lists_the_templates_variants(admin_client):
    from notices.models import SmsTemplate

    SmsTemplate.objects.filter(pk=SmsTemplate.objects.order_by("pk").first().pk).update(variant="B")
    assert _choices(admin_client.get("/admin/notices/smsmessage/"), "variant") == ["A", "B"]
