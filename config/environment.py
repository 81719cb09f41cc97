"""Settings read from the environment, each checked for the form it must have.

A value that cannot be read does not start the app with a Python traceback from deep
inside a parser ("hour must be in 0..23"): start-up stops with one line per bad setting,
naming it, the value it was given and the form expected, e.g.

    SMS_CONTACT_WINDOW='08:00-25:00' is not valid: expected HH:MM-HH:MM, e.g. 08:00-22:00 (24:00 may end the day)

Every value is read, so a deployment with three mistakes hears of all three at once.
The settings module calls `Environment.stop_if_invalid()` once it has read them all.
"""

from __future__ import annotations

import datetime
import ipaddress
import os
import re
import sys
import warnings
from decimal import Decimal, InvalidOperation
from urllib.parse import urlparse

import environ
from django.core.exceptions import ImproperlyConfigured

REQUIRED = object()
TRUE_WORDS = ("true", "yes", "on", "1")
FALSE_WORDS = ("false", "no", "off", "0")
CLOCK = re.compile(r"^(\d{1,2}):(\d{2})$")


class Invalid(ValueError):
    """A value that does not have the expected form (the message says which)."""


def clock_time(text: str, *, end_of_day: bool = False) -> datetime.time:
    """HH:MM → time; with `end_of_day`, 24:00 is the end of the day (00:00 of the next)."""
    match = CLOCK.match(text.strip())
    if not match:
        raise Invalid
    hour, minute = int(match.group(1)), int(match.group(2))
    if end_of_day and (hour, minute) == (24, 0):
        return datetime.time(0, 0)
    if hour > 23 or minute > 59:
        raise Invalid
    return datetime.time(hour, minute)


def time_range(text: str) -> tuple[datetime.time, datetime.time]:
    """ "HH:MM-HH:MM" → (start, end). The end may be 24:00; a range that ends where it
    starts (00:00-24:00) is the whole day (see notices.policy.in_contact_window)."""
    start, sep, end = text.partition("-")
    if not sep:
        raise Invalid
    return clock_time(start), clock_time(end, end_of_day=True)


class Environment:
    """Reads and checks settings; collects what is wrong instead of raising at once."""

    def __init__(self, environ_map=None):
        self.environ = os.environ if environ_map is None else environ_map
        self.problems: list[str] = []

    @staticmethod
    def read_env_file(path) -> None:
        environ.Env.read_env(path, overwrite=False)

    # --- the readers -------------------------------------------------------------------

    def _read(self, name: str, default, expected: str, parse):
        raw = self.environ.get(name)
        if raw is None:
            if default is REQUIRED:
                self.problems.append(f"{name} is not set: expected {expected}")
                return None
            return default
        try:
            return parse(raw)
        except (Invalid, ValueError, ArithmeticError):
            self.problems.append(f"{name}={raw!r} is not valid: expected {expected}")
            return None if default is REQUIRED else default

    def __call__(self, name: str, default=REQUIRED, *, expected: str = "a value") -> str:
        return self.str(name, default, expected=expected)

    def str(self, name: str, default=REQUIRED, *, expected: str = "a value") -> str:
        def parse(raw: str) -> str:
            if default is REQUIRED and not raw.strip():
                raise Invalid
            return raw

        return self._read(name, default, expected, parse)

    def bool(self, name: str, default=REQUIRED) -> bool:
        def parse(raw: str) -> bool:
            word = raw.strip().lower()
            if word in TRUE_WORDS:
                return True
            if word in FALSE_WORDS:
                return False
            raise Invalid

        return self._read(name, default, "true or false", parse)

    def int(self, name: str, default=REQUIRED, *, minimum: int | None = None, maximum: int | None = None):
        expected = _number_form("a whole number", minimum, maximum, default)

        def parse(raw: str) -> int:
            value = int(raw.strip())
            if (minimum is not None and value < minimum) or (maximum is not None and value > maximum):
                raise Invalid
            return value

        return self._read(name, default, expected, parse)

    def float(self, name: str, default=REQUIRED, *, above: float | None = None) -> float:
        expected = "a number" + (f" above {above:g}" if above is not None else "")
        expected += f", e.g. {default:g}" if isinstance(default, float | int) else ""

        def parse(raw: str) -> float:
            value = float(raw.strip())
            if value != value or value in (float("inf"), float("-inf")):
                raise Invalid
            if above is not None and value <= above:
                raise Invalid
            return value

        return self._read(name, default, expected, parse)

    def decimal(self, name: str, default=REQUIRED, *, minimum: Decimal | None = None) -> Decimal:
        expected = "an amount such as 10.00" + (f", at least {minimum}" if minimum is not None else "")

        def parse(raw: str) -> Decimal:
            try:
                value = Decimal(raw.strip())
            except InvalidOperation as exc:
                raise Invalid from exc
            if not value.is_finite() or (minimum is not None and value < minimum):
                raise Invalid
            return value

        return self._read(name, default, expected, parse)

    def list(self, name: str, default=REQUIRED, *, choices=None, expected: str = "") -> list[str]:
        expected = expected or (
            "names separated by commas, each one of " + ", ".join(choices)
            if choices
            else "values separated by commas"
        )

        def parse(raw: str) -> list[str]:
            items = [item.strip() for item in raw.split(",") if item.strip()]
            if choices is not None and any(item not in choices for item in items):
                raise Invalid
            return items

        return self._read(name, default, expected, parse)

    def networks(self, name: str, default=REQUIRED) -> list[str]:
        """Addresses or networks (1.2.3.4, 10.0.0.0/8, ::1) separated by commas."""

        def parse(raw: str) -> list[str]:
            items = [item.strip() for item in raw.split(",") if item.strip()]
            for item in items:
                ipaddress.ip_network(item, strict=False)  # ValueError: refused
            return items

        return self._read(
            name, default, "addresses or networks separated by commas, e.g. 10.0.0.5,::1", parse
        )

    def choice(self, name: str, default=REQUIRED, *, choices) -> str:
        def parse(raw: str) -> str:
            if raw.strip() not in choices:
                raise Invalid
            return raw.strip()

        return self._read(name, default, "one of " + ", ".join(choices), parse)

    def time(self, name: str, default=REQUIRED) -> str:
        """A clock time HH:MM (00:00–23:59), returned as written, e.g. "07:30"."""

        def parse(raw: str) -> str:
            clock_time(raw)
            return raw.strip()

        return self._read(name, default, "a time HH:MM, e.g. 07:30", parse)

    def time_range(self, name: str, default=REQUIRED) -> tuple[datetime.time, datetime.time]:
        return self._read(
            name,
            time_range(default) if isinstance(default, str) else default,
            "HH:MM-HH:MM, e.g. 08:00-22:00 (24:00 may end the day: 00:00-24:00 is all day)",
            time_range,
        )

    def url(self, name: str, default=REQUIRED) -> str:
        def parse(raw: str) -> str:
            parts = urlparse(raw.strip())
            if parts.scheme not in ("http", "https") or not parts.netloc:
                raise Invalid
            return raw.strip()

        return self._read(
            name, default, "an http:// or https:// address, e.g. https://sms.bank.example", parse
        )

    def db(self, name: str, default=REQUIRED) -> dict:
        def parse(raw: str) -> dict:
            if urlparse(raw.strip()).scheme not in environ.Env.DB_SCHEMES:
                raise Invalid
            with warnings.catch_warnings():  # an unknown scheme: refused below, not warned about
                warnings.simplefilter("ignore")
                config = environ.Env.db_url_config(raw.strip())
            if not config.get("ENGINE"):
                raise Invalid
            return config

        expected = "a database URL, e.g. postgres://user:password@host:5432/name or sqlite:///path/db.sqlite3"
        value = self._read(name, default, expected, parse)
        if isinstance(value, str):  # the default, written as a URL
            return environ.Env.db_url_config(value)
        return value or {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"}

    def cache(self, name: str, default=REQUIRED) -> dict:
        def parse(raw: str) -> dict:
            if urlparse(raw.strip()).scheme not in environ.Env.CACHE_SCHEMES:
                raise Invalid
            try:
                config = environ.Env.cache_url_config(raw.strip())
            except ImproperlyConfigured as exc:
                raise Invalid from exc
            if not config.get("BACKEND"):
                raise Invalid
            return config

        expected = "a cache URL, e.g. redis://host:6379/1 or filecache:///var/cache/notices"
        value = self._read(name, default, expected, parse)
        if isinstance(value, str):
            return environ.Env.cache_url_config(value)
        return value or {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}

    # --- the end ------------------------------------------------------------------------

    def stop_if_invalid(self) -> None:
        """One line per bad setting on stderr, and no start-up (exit status 2)."""
        if self.problems:
            sys.stderr.write("".join(f"{problem}\n" for problem in self.problems))
            sys.stderr.flush()
            raise SystemExit(2)


def _number_form(kind: str, minimum, maximum, default) -> str:
    if minimum is not None and maximum is not None:
        form = f"{kind} from {minimum} to {maximum}"
    elif minimum is not None:
        form = f"{kind} of at least {minimum}"
    elif maximum is not None:
        form = f"{kind} of at most {maximum}"
    else:
        form = kind
    if isinstance(default, int) and not isinstance(default, bool):
        form += f", e.g. {default}"
    return form
