import pytest

from notices.defaults import defaults_ensure
from tests.factories import administrator_user, staff_user, supervisor_user


@pytest.fixture
def staff(db):
    return staff_user(username="staff1")


@pytest.fixture
def supervisor(db):
    return supervisor_user(username="super1")


@pytest.fixture
def administrator(db):
    return administrator_user(username="admin1")


@pytest.fixture
def staff_client(client, staff):
    client.force_login(staff)
    return client


@pytest.fixture
def supervisor_client(client, supervisor):
    client.force_login(supervisor)
    return client


@pytest.fixture(autouse=True)
def _seeded_defaults(request):
    """Transactional tests flush the database; give them back the migration-seeded data."""
    marker = request.node.get_closest_marker("django_db")
    if marker and (marker.kwargs.get("transaction") or (marker.args and marker.args[0])):
        request.getfixturevalue("transactional_db")
        defaults_ensure()
