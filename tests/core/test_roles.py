import pytest
from django.contrib.auth.models import Group

from core import roles


@pytest.mark.django_db
def test_the_three_roles_exist_after_migrating():
    assert set(Group.objects.values_list("name", flat=True)) >= {
        roles.STAFF,
        roles.SUPERVISOR,
        roles.ADMINISTRATOR,
    }


@pytest.mark.django_db
def test_only_supervisors_approve_and_see_full_data(staff, supervisor, administrator):
    for perm in (
        "notices.approve_noticebatch",
        "notices.approve_repaymentplan",
        "customers.view_full_personal_data",
    ):
        assert supervisor.has_perm(perm)
        assert not staff.has_perm(perm)
        assert not administrator.has_perm(perm)
    assert supervisor.has_perm("customers.export_data") and not staff.has_perm("customers.export_data")
    assert administrator.has_perm("auth.change_user") and not supervisor.has_perm("auth.change_user")
    assert staff.has_perm("customers.change_customer")
