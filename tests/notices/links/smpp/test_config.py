"""SMS_SMPP_* settings: a bad value is one line naming the setting, the value and the form."""

import pytest
from django.core.checks import run_checks
from django.core.exceptions import ImproperlyConfigured

from notices.links.smpp import session_from_settings, smpp_config


@pytest.fixture
def smpp(settings):
    settings.SMS_BACKEND = "smpp"
    settings.SMS_SMPP_HOST = "smsc.carrier.example"
    settings.SMS_SMPP_SYSTEM_ID = "minfeng"
    settings.SMS_SMPP_PASSWORD = "pw123456"
    settings.SMS_SMPP_SOURCE_ADDR = "95588"
    return settings


def test_the_defaults_of_the_contract(smpp):
    config = smpp_config()
    assert (config.port, config.window, config.binds, config.enquire_link_s, config.system_type) == (
        2775,
        10,
        1,
        30,
        "",
    )
    session = session_from_settings(on_event=None)
    assert session.window == 10 and session.host == "smsc.carrier.example" and session.source_addr == "95588"


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("SMS_SMPP_WINDOW", "ten", "SMS_SMPP_WINDOW='ten': expected a whole number from 1 to 1000"),
        ("SMS_SMPP_PORT", "0", "SMS_SMPP_PORT='0': expected a whole number from 1 to 65535"),
        ("SMS_SMPP_HOST", "", "SMS_SMPP_HOST='': expected required"),
        (
            "SMS_SMPP_SYSTEM_ID",
            "a-very-long-system-id",
            "SMS_SMPP_SYSTEM_ID='a-very-long-system-id': expected",
        ),
        (
            "SMS_SMPP_PASSWORD",
            "far-too-long",
            "SMS_SMPP_PASSWORD (hidden, 12 characters): expected at most 8",
        ),
    ],
)
def test_a_bad_value_is_one_line_naming_it(smpp, name, value, message):
    setattr(smpp, name, value)
    with pytest.raises(ImproperlyConfigured) as refused:
        session_from_settings(on_event=None)
    assert str(refused.value).startswith(message) and "\n" not in str(refused.value)
    assert "far-too-long" not in str(refused.value)  # a password is never printed
    errors = [e for e in run_checks() if e.id == "notices.E001"]
    assert [e.msg for e in errors] == [str(refused.value)]
