import pytest

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
