"""Failed logins limited per client address and per username, wherever a password is
checked: the web login, the admin login and the API's token endpoint share counters.

Every failed password check made with a request counts (Django's user_login_failed
signal), in fixed windows (RANKWISE_LOGIN_FAILURES_PER_ADDRESS and …_PER_USERNAME,
"30/10m": 30 per 10 minutes). Once either count is reached, logins from that address
or for that username are refused with 429 and Retry-After until the window ends,
before any password is hashed: each check costs ~0.4 s of CPU, so unthrottled
guesses from a few connections would occupy every web worker. A success resets
nothing, so one valid account does not buy an attacker more guesses at others.

The counters live in the default cache, which must be shared by every web process
(config/settings.py: Redis when CACHE_REDIS_URL names it, else a table in the
database, which `migrate` creates).
"""

from __future__ import annotations

import contextlib
import hashlib
import math
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import wraps
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import ImproperlyConfigured
from django.core.management import call_command
from django.http import HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import render
from rest_framework.throttling import BaseThrottle

_RATE = re.compile(r"^\s*(\d+)\s*/\s*(\d*)\s*([smhd])\w*\s*$")
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


@dataclass(frozen=True)
class Rate:
    """`limit` failures allowed per window of `seconds`."""

    limit: int
    seconds: int


def rate_parse(*, setting: str) -> Rate:
    """The rate a setting holds: "30/10m", "10/h" (units s, m, h, d)."""
    value = getattr(settings, setting)
    match = _RATE.match(value)
    if not match or int(match[1]) < 1:
        raise ImproperlyConfigured(
            f"{setting}={value!r}: expected failures per period, e.g. '30/10m' "
            "(30 per 10 minutes) or '10/h'; units s, m, h, d."
        )
    return Rate(int(match[1]), int(match[2] or 1) * _UNIT_SECONDS[match[3]])


def client_address(request: HttpRequest) -> str:
    """The client's address: REMOTE_ADDR, or the one RANKWISE_NUM_PROXIES proxies
    put in X-Forwarded-For (DRF's rule; a client cannot choose it)."""
    # Empty when the server gives none (a WSGI call, a Unix socket without proxy).
    return BaseThrottle().get_ident(request) or ""


def _keys(request: HttpRequest, username: str) -> list[tuple[str, Rate]]:
    """(cache key, rate) of each counter a login attempt is judged by, this window."""
    now = time.time()
    keys = []
    for kind, value in (
        ("ADDRESS", client_address(request)),
        ("USERNAME", username.strip().casefold()),
    ):
        rate = rate_parse(setting=f"RANKWISE_LOGIN_FAILURES_PER_{kind}")
        window = int(now // rate.seconds)
        # Hashed: usernames can hold characters some cache backends refuse in keys.
        digest = hashlib.sha256(value.encode()).hexdigest()[:32]
        keys.append((f"login-failures:{kind}:{rate.seconds}:{window}:{digest}", rate))
    return keys


def _window_left(rate: Rate) -> int:
    return max(1, math.ceil(rate.seconds - time.time() % rate.seconds))


def login_wait_seconds(*, request: HttpRequest, username: str) -> int | None:
    """Seconds until a login for `username` from this client may be tried, or None."""
    keys = _keys(request, username)
    counts = cache.get_many([key for key, _ in keys])
    waits = [
        _window_left(rate) for key, rate in keys if counts.get(key, 0) >= rate.limit
    ]
    return max(waits) if waits else None


def login_failure_record(*, request: HttpRequest, username: str) -> None:
    """Count one failed login against the client's address and the username."""
    for key, rate in _keys(request, username):
        timeout = _window_left(rate) + 1
        if cache.add(key, 1, timeout):
            continue
        # Expired since add() found it (a slow database): this failure is lost.
        with contextlib.suppress(ValueError):
            # Atomic on Redis; the database backend's incr also resets the expiry.
            cache.incr(key)
            cache.touch(key, timeout)


def count_failed_login(
    sender: Any, credentials: dict[str, Any], request: Any = None, **kwargs: Any
) -> None:
    """user_login_failed receiver: every password check that fails with a request
    (web login, admin login, API token) counts, whatever view made it."""
    if request is not None:
        username = str(credentials.get("username", ""))
        login_failure_record(request=request, username=username)


def login_throttled(
    view: Callable[..., HttpResponseBase],
) -> Callable[..., HttpResponseBase]:
    """Wrap a login view (the site's, the admin's): a POST while the address or the
    username is throttled gets a 429 page and checks no password."""

    @wraps(view)
    def wrapped(
        request: HttpRequest, *args: object, **kwargs: object
    ) -> HttpResponseBase:
        if request.method == "POST":
            username = request.POST.get("username", "")
            wait = login_wait_seconds(request=request, username=username)
            if wait is not None:
                return _throttled_page(request, wait)
        return view(request, *args, **kwargs)

    return wrapped


def _throttled_page(request: HttpRequest, wait: int) -> HttpResponse:
    minutes = math.ceil(wait / 60)
    response = render(
        request,
        "registration/login_throttled.html",
        {"minutes": minutes, "login_url": request.get_full_path()},
        status=429,
    )
    response["Retry-After"] = str(wait)
    return response


def cache_table_create(sender: Any, using: str, **kwargs: Any) -> None:
    """post_migrate receiver: the database cache's table, where one is configured."""
    call_command("createcachetable", database=using, verbosity=0)
