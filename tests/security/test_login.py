"""Signing in: lockout (also behind a proxy), password rules, idle timeout, second factor."""

import pytest
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.test import RequestFactory
from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice

from core.models import AuditEvent
from core.net import client_ip
from tests.factories import staff_user, supervisor_user

pytestmark = pytest.mark.django_db
LOGIN = "/admin/login/"
PASSWORD = "pw-for-tests-1"


def attempt(client, password="wrong-password", username="wang", **meta):
    return client.post(LOGIN, {"username": username, "password": password}, **meta)


def signed_in(client) -> bool:
    return client.get("/admin/").status_code == 200


@pytest.fixture
def wang():
    return staff_user(username="wang")


def test_five_failures_lock_the_username_from_that_address_even_with_the_right_password(client, wang):
    for _ in range(4):
        assert attempt(client, REMOTE_ADDR="203.0.113.9").status_code == 200  # the form again
    assert attempt(client, REMOTE_ADDR="203.0.113.9").status_code == 429  # the fifth locks
    locked = attempt(client, PASSWORD, REMOTE_ADDR="203.0.113.9")
    assert locked.status_code == 429 and "locked-out" in locked.content.decode()
    assert not signed_in(client)
    assert AuditEvent.objects.filter(action="auth.lockout", to_state="wang").exists()
    # The same person from another address is not locked out by what happened elsewhere.
    assert attempt(client, PASSWORD, REMOTE_ADDR="198.51.100.20").status_code == 302
    assert signed_in(client)


def test_a_forged_x_forwarded_for_from_an_untrusted_client_changes_nothing(client, wang):
    for n in range(5):
        attempt(client, REMOTE_ADDR="203.0.113.9", HTTP_X_FORWARDED_FOR=f"10.0.0.{n}")
    assert (
        attempt(client, PASSWORD, REMOTE_ADDR="203.0.113.9", HTTP_X_FORWARDED_FOR="10.9.9.9").status_code
        == 429
    )
    assert not signed_in(client)


def test_behind_the_trusted_proxy_each_client_address_is_counted_apart(client, wang, settings):
    settings.TRUSTED_PROXIES = ["10.0.0.0/24"]
    proxy = {"REMOTE_ADDR": "10.0.0.2"}
    for n in range(5):  # the attacker prepends a new forged address each time: no use
        attempt(client, HTTP_X_FORWARDED_FOR=f"1.2.3.{n}, 203.0.113.9", **proxy)
    assert attempt(client, PASSWORD, HTTP_X_FORWARDED_FOR="203.0.113.9", **proxy).status_code == 429
    # A colleague behind the same proxy, from their own address, still signs in.
    assert attempt(client, PASSWORD, HTTP_X_FORWARDED_FOR="198.51.100.20", **proxy).status_code == 302


@pytest.mark.parametrize(
    ("remote", "forwarded", "expected"),
    [
        ("203.0.113.9", "", "203.0.113.9"),
        ("203.0.113.9", "10.0.0.1", "203.0.113.9"),  # not from our proxy: ignored
        ("10.0.0.2", "", "10.0.0.2"),
        ("10.0.0.2", "198.51.100.7", "198.51.100.7"),
        ("10.0.0.2", "6.6.6.6, 198.51.100.7", "198.51.100.7"),  # the left part is the client's word
        ("10.0.0.2", "198.51.100.7, 10.0.0.3", "198.51.100.7"),  # two of our proxies
        ("10.0.0.2", "not-an-address", "10.0.0.2"),
        ("10.0.0.2", "[2001:db8::1]:443", "2001:db8::1"),
    ],
)
def test_client_ip_believes_x_forwarded_for_only_from_trusted_proxies(settings, remote, forwarded, expected):
    settings.TRUSTED_PROXIES = ["10.0.0.0/24"]
    request = RequestFactory().get("/", REMOTE_ADDR=remote, HTTP_X_FORWARDED_FOR=forwarded)
    assert client_ip(request) == expected


@pytest.mark.parametrize("password", ["minfengbank", "abcdefghijkl", "123456789012", "password1234"])
def test_weak_passwords_are_refused(password):
    with pytest.raises(ValidationError):
        validate_password(password)


def test_a_long_mixed_password_is_accepted():
    validate_password("Minfeng-2026-pay")


def test_an_idle_session_ends_after_the_timeout(client, wang, settings, monkeypatch):
    settings.SESSION_IDLE_TIMEOUT = 30 * 60
    assert attempt(client, PASSWORD).status_code == 302
    import core.middleware

    start = core.middleware.time.time()
    monkeypatch.setattr(core.middleware.time, "time", lambda: start + 29 * 60)
    assert signed_in(client)  # activity within the limit renews it
    monkeypatch.setattr(core.middleware.time, "time", lambda: start + 29 * 60 + 30 * 60 + 1)
    response = client.get("/admin/")
    assert response.status_code == 302 and response.url.startswith(LOGIN)
    assert "idle-signed-out" in client.get(response.url).content.decode()
    assert AuditEvent.objects.filter(action="auth.logout", note__contains="idle").exists()


def code_for(device) -> str:
    return f"{TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift).token():06d}"


@pytest.fixture
def no_otp_throttle(settings):
    """django-otp slows down each retry after a wrong code (1 s, 2 s, …): not in these tests."""
    settings.OTP_TOTP_THROTTLE_FACTOR = 0


def test_a_supervisor_with_an_authenticator_must_give_its_code(client, no_otp_throttle):
    device = TOTPDevice.objects.create(user=supervisor_user(username="zhao"), name="phone", confirmed=True)
    assert attempt(client, PASSWORD, username="zhao").status_code == 200
    assert not signed_in(client)
    response = client.post(LOGIN, {"username": "zhao", "password": PASSWORD, "otp_token": "000000"})
    assert response.status_code == 200 and not signed_in(client)
    response = client.post(LOGIN, {"username": "zhao", "password": PASSWORD, "otp_token": code_for(device)})
    assert response.status_code == 302 and signed_in(client)
    assert AuditEvent.objects.filter(action="auth.login", note__contains="one-time code").exists()


def test_wrong_codes_count_towards_the_lockout(client):
    supervisor = supervisor_user(username="zhao")
    TOTPDevice.objects.create(user=supervisor, name="phone", confirmed=True)
    for _ in range(5):
        client.post(LOGIN, {"username": "zhao", "password": PASSWORD, "otp_token": "000000"})
    assert attempt(client, PASSWORD, username="zhao").status_code == 429


def test_demo_logins_without_an_authenticator_need_no_code(client):
    supervisor_user(username="zhao")
    assert attempt(client, PASSWORD, username="zhao").status_code == 302 and signed_in(client)


def test_a_role_that_requires_a_second_factor_sets_one_up_before_anything_else(
    client, settings, no_otp_throttle
):
    settings.OTP_REQUIRED_FOR_ROLES = ["supervisor"]
    supervisor = supervisor_user(username="zhao")
    assert attempt(client, PASSWORD, username="zhao").status_code == 302
    response = client.get("/admin/customers/customer/")
    assert response.status_code == 302 and response.url == "/account/two-factor/"
    page = client.get("/account/two-factor/")
    assert page.status_code == 200 and 'id="otp-secret"' in page.content.decode()
    device = TOTPDevice.objects.get(user=supervisor, confirmed=False)
    assert client.post("/account/two-factor/", {"token": "000000"}).status_code == 200
    assert client.post("/account/two-factor/", {"token": code_for(device)}).status_code == 302
    assert client.get("/admin/customers/customer/").status_code == 200
    assert AuditEvent.objects.filter(action="auth.otp_enabled", actor=supervisor).exists()
    # From now on the code is part of signing in.
    client.logout()
    assert attempt(client, PASSWORD, username="zhao").status_code == 200
