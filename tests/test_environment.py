"""Settings from the environment: a bad value stops start-up with one plain line, never a
traceback; "00:00-24:00" is a contact window open all day."""

import datetime
import os
import subprocess
import sys
from pathlib import Path

import pytest

from config.environment import Environment, Invalid, time_range

ROOT = Path(__file__).resolve().parents[1]


def start(**variables):
    """`manage.py check` with these variables, as an operator would start the app."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "SMS_", "DATABASE_URL"))}
    return subprocess.run(
        [sys.executable, "manage.py", "check"],
        cwd=ROOT,
        env={**clean, "DJANGO_SETTINGS_MODULE": "config.settings.base", **variables},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_an_all_day_window_starts_the_app():
    result = start(SMS_CONTACT_WINDOW="00:00-24:00")
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize(
    ("name", "value", "expected"),
    [
        ("SMS_CONTACT_WINDOW", "08:00-25:00", "HH:MM-HH:MM"),
        ("SMS_CONTACT_WINDOW", "8 to 10", "HH:MM-HH:MM"),
        ("SMS_RATE_LIMIT", "fast", "a whole number of at least 1"),
        ("SMS_MAX_PARTS", "9", "a whole number from 1 to 6"),
        ("DEBUG", "maybe", "true or false"),
        ("SMS_MIN_OVERDUE_AMOUNT", "ten", "an amount such as 10.00"),
        ("BATCH_SCHEDULE_TIME", "7.30", "a time HH:MM"),
        ("DATABASE_URL", "db.example:5432", "a database URL"),
        ("TRUSTED_PROXIES", "proxy.bank.example", "addresses or networks"),
        ("LOG_LEVEL", "LOUD", "one of DEBUG, INFO"),
    ],
)
def test_a_bad_value_stops_start_up_with_one_line_naming_it(name, value, expected):
    result = start(**{name: value})
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert lines == [lines[0]], result.stderr  # one line, no traceback
    assert lines[0].startswith(f"{name}={value!r} is not valid: expected {expected}")


def test_every_bad_setting_is_named_at_once():
    result = start(SMS_RATE_LIMIT="0", SMS_HTTP_TIMEOUT="soon", FEEDBACK_MERGE_MINUTES="-5")
    assert result.returncode == 2
    named = [line.split("=", 1)[0] for line in result.stderr.strip().splitlines()]
    assert named == ["SMS_RATE_LIMIT", "SMS_HTTP_TIMEOUT", "FEEDBACK_MERGE_MINUTES"]


def test_time_ranges():
    assert time_range("08:00-22:00") == (datetime.time(8), datetime.time(22))
    assert time_range(" 8:30 - 21:45 ") == (datetime.time(8, 30), datetime.time(21, 45))
    assert time_range("00:00-24:00") == (datetime.time(0), datetime.time(0))  # all day
    assert time_range("22:00-07:00") == (datetime.time(22), datetime.time(7))  # across midnight
    for bad in ("24:00-08:00", "08:00", "08:60-09:00", "08:00-24:01", "a-b"):
        with pytest.raises(Invalid):
            time_range(bad)


def test_required_values_are_named_when_missing_or_blank():
    env = Environment({"SECRET_KEY": "  "})
    env("SECRET_KEY", expected="a long random secret")
    env("SMS_HTTP_TOKEN", expected="the token")
    assert env.problems == [
        "SECRET_KEY='  ' is not valid: expected a long random secret",
        "SMS_HTTP_TOKEN is not set: expected the token",
    ]
