"""The SMS_CMPP_* settings: read as given, checked once, a bad value refused in one line."""

from types import SimpleNamespace

import pytest
from django.test import override_settings
from django.utils import translation

from notices.links.cmpp.config import CmppConfigError, cmpp_config
from notices.links.cmpp.pdu import Version
from notices.links.cmpp.session import CmppSession, session_from_settings

GOOD = {
    "SMS_CMPP_HOST": "ismg.example.cn",
    "SMS_CMPP_PORT": "7890",
    "SMS_CMPP_VERSION": "2.0",
    "SMS_CMPP_SP_ID": "901234",
    "SMS_CMPP_SECRET": "s3cret-value",
    "SMS_CMPP_SERVICE_ID": "MFBANK",
    "SMS_CMPP_SRC_ID": "1069012345",
    "SMS_CMPP_WINDOW": "32",
    "SMS_CMPP_LINKS": "2",
    "SMS_CMPP_ACTIVE_TEST_S": "30",
}


def settings_with(**changes):
    return SimpleNamespace(**{**GOOD, **changes})


def test_the_development_defaults_reach_the_local_fake_ismg():
    config = cmpp_config()
    assert (config.host, config.port, config.version) == ("127.0.0.1", 7890, Version.V3_0)
    assert (config.window, config.links, config.active_test_s) == (16, 1, 60.0)


def test_values_from_the_environment_are_parsed():
    config = cmpp_config(settings_with())
    assert (config.port, config.version, config.window, config.links) == (7890, Version.V2_0, 32, 2)
    assert (config.sp_id, config.service_id, config.src_id) == ("901234", "MFBANK", "1069012345")
    assert "s3cret" not in repr(config)


@pytest.mark.parametrize(
    "name, value, expected",
    [
        ("SMS_CMPP_HOST", "", "host name"),
        ("SMS_CMPP_PORT", "70000", "from 1 to 65535"),
        ("SMS_CMPP_PORT", "abc", "from 1 to 65535"),
        ("SMS_CMPP_VERSION", "3", "3.0 or 2.0"),
        ("SMS_CMPP_SP_ID", "90123", "6-character"),
        ("SMS_CMPP_SP_ID", "9012345", "6-character"),
        ("SMS_CMPP_SERVICE_ID", "MFBANK-SERVICE", "1 to 10"),
        ("SMS_CMPP_SRC_ID", "106-9012", "digits"),
        ("SMS_CMPP_WINDOW", "0", "from 1 to 1024"),
        ("SMS_CMPP_LINKS", "many", "from 1 to 1000"),
        ("SMS_CMPP_ACTIVE_TEST_S", "0", "from 1 to 3600"),
    ],
)
def test_a_bad_value_is_refused_in_one_line_naming_setting_value_and_form(name, value, expected):
    with translation.override("en"), pytest.raises(CmppConfigError) as caught:
        cmpp_config(settings_with(**{name: value}))
    message = str(caught.value)
    assert message.startswith(f"{name}='{value}': expected ") and expected in message
    assert "\n" not in message


def test_the_secret_is_required_and_never_repeated():
    with (
        translation.override("en"),
        pytest.raises(CmppConfigError, match=r"^SMS_CMPP_SECRET=\(hidden\): expected"),
    ):
        cmpp_config(settings_with(SMS_CMPP_SECRET=""))


def test_the_message_is_in_the_operators_language():
    with translation.override("zh-hans"), pytest.raises(CmppConfigError) as caught:
        cmpp_config(settings_with(SMS_CMPP_PORT="abc"))
    assert "SMS_CMPP_PORT='abc'" in str(caught.value) and "应为" in str(caught.value)


@override_settings(SMS_CMPP_HOST="10.0.0.5", SMS_CMPP_PORT=7891, SMS_CMPP_WINDOW=8)
def test_session_from_settings():
    async def on_event(event):
        pass

    session = session_from_settings(on_event)
    assert isinstance(session, CmppSession) and session.kind == "cmpp"
    assert (session.config.host, session.config.port, session.window) == ("10.0.0.5", 7891, 8)
    assert session.health.window == 8 and session.on_event is on_event
