"""API tokens' lifecycle: each expires RANKWISE_TOKEN_TTL_HOURS after it was issued,
asking again for an expired one issues a new one, and logging out revokes it.

DRF's one Token per user is kept (an admin can still make one under Tokens); its
`created` time is the issue time, so no table of our own is needed.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone
from rest_framework.authtoken.models import Token


def token_expires_at(*, token: Token) -> datetime:
    """When the token stops authenticating."""
    return token.created + timedelta(hours=settings.RANKWISE_TOKEN_TTL_HOURS)


def token_is_expired(*, token: Token) -> bool:
    return token_expires_at(token=token) <= timezone.now()


@transaction.atomic
def token_issue(*, user: AbstractBaseUser) -> Token:
    """The user's token, a new one when there was none or it had expired."""
    token = Token.objects.select_for_update().filter(user=user).first()
    if token is not None and not token_is_expired(token=token):
        return token
    if token is not None:
        token.delete()
    return Token.objects.create(user=user)


def token_revoke(*, user: AbstractBaseUser) -> bool:
    """Delete the user's token; whether there was one."""
    deleted, _ = Token.objects.filter(user=user).delete()
    return deleted > 0


def revoke_on_logout(
    sender: Any, request: HttpRequest, user: AbstractBaseUser | None, **kwargs: Any
) -> None:
    """user_logged_out receiver: ending a browser session ends API access too."""
    if user is not None:
        token_revoke(user=user)
