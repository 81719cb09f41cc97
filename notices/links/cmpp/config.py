"""The CMPP link's settings (`SMS_CMPP_*`), parsed and checked in one place.

`config/settings/base.py` reads them from the environment as given; `cmpp_config()`
turns them into a `CmppConfig` or refuses with one line naming the setting, the value
and the form expected (the secret's value is never repeated).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from django.conf import settings
from django.utils.translation import gettext as _

from .pdu import Version


class CmppConfigError(ValueError):
    """A bad SMS_CMPP_* value; its message is the one line to show the operator."""


@dataclass(frozen=True)
class CmppConfig:
    host: str
    port: int
    version: Version
    sp_id: str  # Source_Addr of CMPP_CONNECT and Msg_src of CMPP_SUBMIT
    secret: str
    service_id: str
    src_id: str  # the SP's number (106…), Src_Id of CMPP_SUBMIT
    window: int = 16
    links: int = 1  # most connections across all hosts (the link process's leases)
    active_test_s: float = 60.0
    # Not settings: the specification's timer (T = 60 s) and how long a TCP connect may take.
    response_timeout_s: float = 60.0
    connect_timeout_s: float = 10.0

    def __repr__(self) -> str:  # never the secret in a log line or a traceback
        return (
            f"CmppConfig(host={self.host!r}, port={self.port}, version={self.version.label}, "
            f"sp_id={self.sp_id!r}, service_id={self.service_id!r}, src_id={self.src_id!r}, "
            f"window={self.window}, links={self.links}, active_test_s={self.active_test_s})"
        )


_PRINTABLE_ASCII = re.compile(r"[\x21-\x7e]+")
_DIGITS = re.compile(r"[0-9]+")


def _fail(name: str, value: object, expected: str, *, hide: bool = False) -> CmppConfigError:
    shown = _("(hidden)") if hide else repr(str(value))
    return CmppConfigError(
        _("%(setting)s=%(value)s: expected %(expected)s")
        % {"setting": name, "value": shown, "expected": expected}
    )


def _integer(name: str, value: object, low: int, high: int) -> int:
    expected = _("a whole number from %(low)s to %(high)s") % {"low": low, "high": high}
    try:
        number = int(str(value).strip())
    except ValueError:
        raise _fail(name, value, expected) from None
    if not low <= number <= high:
        raise _fail(name, value, expected)
    return number


def _text(name: str, value: object, pattern: re.Pattern, low: int, high: int, expected: str) -> str:
    text = str(value).strip()
    if not (low <= len(text) <= high and pattern.fullmatch(text)):
        raise _fail(name, value, expected)
    return text


def cmpp_config(source: object = None) -> CmppConfig:
    """The CMPP settings, checked (CmppConfigError with a one-line message when one is bad)."""
    source = source if source is not None else settings

    def get(name: str, default: object = "") -> object:
        value = getattr(source, name, default)
        return default if value is None else value

    host = str(get("SMS_CMPP_HOST")).strip()
    if not host or any(ch.isspace() for ch in host):
        raise _fail("SMS_CMPP_HOST", host, _("the ISMG's host name or IP address"))
    port = _integer("SMS_CMPP_PORT", get("SMS_CMPP_PORT", 7890), 1, 65535)
    version_text = str(get("SMS_CMPP_VERSION", "3.0")).strip()
    try:
        version = Version.from_label(version_text)
    except ValueError:
        raise _fail("SMS_CMPP_VERSION", version_text, _("3.0 or 2.0")) from None
    sp_id = _text(
        "SMS_CMPP_SP_ID",
        get("SMS_CMPP_SP_ID"),
        _PRINTABLE_ASCII,
        6,
        6,
        _("the 6-character SP code (Source_Addr) China Mobile assigned"),
    )
    secret = str(get("SMS_CMPP_SECRET"))
    if not secret:
        raise _fail("SMS_CMPP_SECRET", secret, _("the shared secret agreed with China Mobile"), hide=True)
    service_id = _text(
        "SMS_CMPP_SERVICE_ID",
        get("SMS_CMPP_SERVICE_ID"),
        _PRINTABLE_ASCII,
        1,
        10,
        _("the service code (Service_Id), 1 to 10 ASCII characters"),
    )
    src_id = _text(
        "SMS_CMPP_SRC_ID",
        get("SMS_CMPP_SRC_ID"),
        _DIGITS,
        1,
        21,
        _("the SP's number (Src_Id, such as 1069…), 1 to 21 digits"),
    )
    window = _integer("SMS_CMPP_WINDOW", get("SMS_CMPP_WINDOW", 16), 1, 1024)
    links = _integer("SMS_CMPP_LINKS", get("SMS_CMPP_LINKS", 1), 1, 1000)
    raw_interval = get("SMS_CMPP_ACTIVE_TEST_S", 60)
    try:
        active_test_s = float(str(raw_interval).strip())
    except ValueError:
        active_test_s = -1.0
    if not 1 <= active_test_s <= 3600:
        raise _fail("SMS_CMPP_ACTIVE_TEST_S", raw_interval, _("a number of seconds from 1 to 3600"))
    return CmppConfig(
        host=host,
        port=port,
        version=version,
        sp_id=sp_id,
        secret=secret,
        service_id=service_id,
        src_id=src_id,
        window=window,
        links=links,
        active_test_s=active_test_s,
    )
