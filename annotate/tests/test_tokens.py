"""API tokens expire, a new one replaces an expired one, and they can be revoked:
by the revoke endpoint and by logging out of the site or the admin."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

pytestmark = pytest.mark.django_db

EXPIRED = {
    "errors": {
        "authorization": "Token has expired; POST your username and password to "
        "/api/v1/auth/token/ for a new one."
    }
}


@pytest.fixture(autouse=True)
def one_day_tokens(settings):
    settings.RANKWISE_TOKEN_TTL_HOURS = 24


def token_aged(user, age: timedelta) -> Token:
    token = Token.objects.create(user=user)
    Token.objects.filter(pk=token.pk).update(created=timezone.now() - age)
    return token


def get_projects(key: str):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    return client.get("/api/v1/projects/")


def obtain(username: str, password: str):
    return APIClient().post(
        "/api/v1/auth/token/",
        {"username": username, "password": password},
        format="json",
    )


def test_a_token_works_until_its_ttl_then_answers_401(lead):
    fresh = token_aged(lead, timedelta(hours=23, minutes=59))
    assert get_projects(fresh.key).status_code == 200
    Token.objects.filter(pk=fresh.pk).update(
        created=timezone.now() - timedelta(hours=24, seconds=1)
    )
    expired = get_projects(fresh.key)
    assert expired.status_code == 401
    assert expired.json() == EXPIRED
    assert expired["WWW-Authenticate"] == "Token"


def test_asking_again_returns_the_same_token_with_its_expiry(lead):
    first = obtain("lena_lead", "pw-lead-123").json()
    again = obtain("lena_lead", "pw-lead-123").json()
    assert again["token"] == first["token"]
    token = Token.objects.get(user=lead)
    expires = token.created + timedelta(hours=24)
    assert again["expires"] == expires.isoformat().replace("+00:00", "Z")


def test_asking_after_expiry_issues_a_new_token(lead):
    old = token_aged(lead, timedelta(days=2))
    answer = obtain("lena_lead", "pw-lead-123")
    assert answer.status_code == 200
    new_key = answer.json()["token"]
    assert new_key != old.key
    assert list(Token.objects.values_list("key", flat=True)) == [new_key]
    assert get_projects(new_key).status_code == 200
    assert get_projects(old.key).json() == {
        "errors": {"authorization": "Invalid token."}
    }


def test_the_revoke_endpoint_ends_the_callers_token(lead, annotator):
    mine = Token.objects.create(user=lead)
    theirs = Token.objects.create(user=annotator)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {mine.key}")
    revoked = client.post("/api/v1/auth/token/revoke/")
    assert revoked.status_code == 204
    assert revoked.content == b""
    assert client.get("/api/v1/projects/").status_code == 401
    assert list(Token.objects.all()) == [theirs]


def test_revoking_needs_authentication():
    refused = APIClient().post("/api/v1/auth/token/revoke/")
    assert refused.status_code == 401
    assert "authorization" in refused.json()["errors"]


@pytest.mark.parametrize("logout_url", ["/accounts/logout/", "/admin/logout/"])
def test_logging_out_revokes_the_users_api_token(logout_url, lead, annotator):
    lead.is_staff = True
    lead.save(update_fields=["is_staff"])
    mine = Token.objects.create(user=lead)
    theirs = Token.objects.create(user=annotator)
    browser = Client()
    browser.force_login(lead)
    assert browser.post(logout_url).status_code in (200, 302)
    assert get_projects(mine.key).status_code == 401
    assert get_projects(theirs.key).status_code == 200
