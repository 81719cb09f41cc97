import pytest
from django.core.management import call_command
from django.core.management.base import SystemCheckError

from core.checks import check_task_queue

SAFE = {"timeout": 60, "retry": 120, "max_attempts": 1, "catch_up": False}


def ids(settings_q, settings):
    settings.Q_CLUSTER = settings_q
    return sorted(error.id for error in check_task_queue())


def test_the_shipped_configuration_passes():
    assert check_task_queue() == []


@pytest.mark.parametrize(
    ("change", "error_id"),
    [
        ({"timeout": 120, "retry": 120}, "core.E002"),
        ({"timeout": 300, "retry": 120}, "core.E002"),
        ({"max_attempts": 0}, "core.E003"),
        ({"catch_up": True}, "core.E004"),
    ],
)
def test_configurations_that_can_run_a_task_twice_are_refused(settings, change, error_id):
    assert ids({**SAFE, **change}, settings) == [error_id]


def test_missing_timeout_is_refused_and_catch_up_defaults_to_on(settings):
    assert ids({"retry": 60, "max_attempts": 1}, settings) == ["core.E001", "core.E004"]


def test_manage_check_fails_on_an_unsafe_queue(settings):
    settings.Q_CLUSTER = {**SAFE, "catch_up": True}
    with pytest.raises(SystemCheckError):
        call_command("check")
