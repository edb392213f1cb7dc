"""Failed logins are throttled per client address and per username, with one set of
counters for the site's login, the admin login and the API token endpoint."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.test import Client

from annotate import throttling

pytestmark = pytest.mark.django_db

# 100 s into a 10-minute window: a refused login waits out the other 500 s.
NOW = 600 * 1_000_000 + 100
WAIT = "500"
WEB = "/accounts/login/"
ADMIN = "/admin/login/"
TOKEN = "/api/v1/auth/token/"
THROTTLED_API = {
    "errors": {
        "detail": "Too many failed logins from this address or for this username. "
        f"Expected available in {WAIT} seconds."
    }
}


@pytest.fixture(autouse=True)
def small_limits(settings, monkeypatch):
    settings.RANKWISE_LOGIN_FAILURES_PER_ADDRESS = "3/10m"
    settings.RANKWISE_LOGIN_FAILURES_PER_USERNAME = "2/10m"
    monkeypatch.setattr(throttling, "time", SimpleNamespace(time=lambda: NOW))


def log_in(url: str, username: str, password: str, address: str = "10.0.0.1", **h):
    """One login attempt at `url` from `address`, by form or (token) by JSON."""
    client = Client(REMOTE_ADDR=address, **h)
    credentials = {"username": username, "password": password}
    if url == TOKEN:
        return client.post(url, credentials, content_type="application/json")
    return client.post(url, credentials)


def assert_throttled_page(response):
    assert response.status_code == 429
    assert response["Retry-After"] == WAIT
    html = response.content.decode()
    assert "Too many failed log-ins" in html
    assert "Try again in 9 minutes." in html


@pytest.mark.parametrize("url", [WEB, ADMIN])
def test_a_login_page_refuses_an_address_after_its_failures(url, lead, annotator):
    lead.is_staff = True
    lead.save(update_fields=["is_staff"])
    for username in ("ada_annotator", "lena_lead", "nobody"):
        assert log_in(url, username, "wrong").status_code == 200  # the form again
    # Refused before the password is checked, however right it is.
    assert_throttled_page(log_in(url, "lena_lead", "pw-lead-123"))
    assert (
        log_in(url, "lena_lead", "pw-lead-123", address="10.0.0.2").status_code == 302
    )


def test_the_token_endpoint_refuses_an_address_after_its_failures(lead, annotator):
    for username in ("ada_annotator", "lena_lead", "nobody"):
        refused = log_in(TOKEN, username, "wrong")
        assert refused.status_code == 400
        assert "credentials" in refused.json()["errors"]["body"]
    throttled = log_in(TOKEN, "lena_lead", "pw-lead-123")
    assert throttled.status_code == 429
    assert throttled["Retry-After"] == WAIT
    assert throttled.json() == THROTTLED_API
    assert log_in(TOKEN, "lena_lead", "pw-lead-123", "10.0.0.2").status_code == 200


@pytest.mark.parametrize("url", [WEB, ADMIN, TOKEN])
def test_a_username_is_throttled_from_every_address(url, lead):
    lead.is_staff = True
    lead.save(update_fields=["is_staff"])
    log_in(url, "lena_lead", "wrong", address="10.0.0.1")
    log_in(url, "LENA_lead ", "wrong", address="10.0.0.2")  # same name, other case
    throttled = log_in(url, "lena_lead", "pw-lead-123", address="10.0.0.3")
    assert throttled.status_code == 429
    assert throttled["Retry-After"] == WAIT
    # Another account from the same addresses is not held back.
    assert log_in(url, "ada_nobody", "wrong", address="10.0.0.3").status_code in (
        200,
        400,
    )


def test_web_admin_and_token_failures_count_together(lead):
    log_in(WEB, "a", "wrong")
    log_in(ADMIN, "b", "wrong")
    log_in(TOKEN, "c", "wrong")
    assert log_in(TOKEN, "d", "wrong").json() == THROTTLED_API
    assert_throttled_page(log_in(WEB, "e", "wrong"))
    assert_throttled_page(log_in(ADMIN, "f", "wrong"))


def test_a_success_resets_no_counter(lead, annotator):
    log_in(WEB, "nobody", "wrong")
    log_in(WEB, "ada_annotator", "wrong", address="10.0.0.9")
    # The attacker's own account logs in fine from the same address …
    assert log_in(WEB, "lena_lead", "pw-lead-123").status_code == 302
    assert log_in(TOKEN, "ada_annotator", "pw-ada-123", "10.0.0.5").status_code == 200
    # … which earns no more guesses for the address or for ada's username.
    log_in(WEB, "someone", "wrong")
    log_in(WEB, "someone else", "wrong")
    assert_throttled_page(log_in(WEB, "lena_lead", "pw-lead-123"))
    log_in(WEB, "ada_annotator", "wrong", address="10.0.0.7")
    assert_throttled_page(log_in(WEB, "ada_annotator", "pw-ada-123", "10.0.0.8"))


def test_a_forged_forwarded_for_does_not_change_the_address(lead):
    for n in range(3):
        log_in(WEB, f"user{n}", "wrong", HTTP_X_FORWARDED_FOR=f"192.0.2.{n}")
    assert_throttled_page(
        log_in(WEB, "user9", "wrong", HTTP_X_FORWARDED_FOR="192.0.2.99")
    )


def test_behind_a_proxy_the_forwarded_address_is_the_client(settings, lead):
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "NUM_PROXIES": 1}
    proxy = "10.0.0.1"
    for n in range(3):
        log_in(WEB, f"user{n}", "wrong", proxy, HTTP_X_FORWARDED_FOR="192.0.2.1")
    assert_throttled_page(
        log_in(WEB, "user9", "wrong", proxy, HTTP_X_FORWARDED_FOR="192.0.2.1")
    )
    # Another client behind the same proxy logs in.
    forwarded = "203.0.113.5, 192.0.2.2"  # what the client sent, then the proxy's
    other = log_in(
        WEB, "lena_lead", "pw-lead-123", proxy, HTTP_X_FORWARDED_FOR=forwarded
    )
    assert other.status_code == 302


def test_a_get_of_the_login_page_is_never_throttled(lead):
    for n in range(3):
        log_in(WEB, f"user{n}", "wrong")
    assert Client(REMOTE_ADDR="10.0.0.1").get(WEB).status_code == 200


@pytest.mark.parametrize("rate", ["30", "ten/m", "0/m", "5/10y"])
def test_a_malformed_rate_names_the_setting(settings, rate):
    settings.RANKWISE_LOGIN_FAILURES_PER_ADDRESS = rate
    with pytest.raises(ImproperlyConfigured, match="_PER_ADDRESS="):
        throttling.rate_parse(setting="RANKWISE_LOGIN_FAILURES_PER_ADDRESS")


@pytest.mark.parametrize(
    ("rate", "limit", "seconds"),
    [("30/10m", 30, 600), ("10/h", 10, 3600), ("5/min", 5, 60), ("2/2d", 2, 172800)],
)
def test_rates_read_as_failures_per_period(settings, rate, limit, seconds):
    settings.RANKWISE_LOGIN_FAILURES_PER_USERNAME = rate
    parsed = throttling.rate_parse(setting="RANKWISE_LOGIN_FAILURES_PER_USERNAME")
    assert (parsed.limit, parsed.seconds) == (limit, seconds)
