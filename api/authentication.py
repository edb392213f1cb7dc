"""How API requests authenticate: DRF's token, expiring (annotate.tokens).

A module of its own: DRF imports the authentication classes while it defines
APIView, so this one must not import rest_framework.views (api.auth does).
"""

from __future__ import annotations

from typing import Any

from rest_framework import exceptions
from rest_framework.authentication import TokenAuthentication
from rest_framework.authtoken.models import Token

from annotate import tokens


class ExpiringTokenAuthentication(TokenAuthentication):
    """DRF's token authentication, refusing tokens older than the TTL setting."""

    def authenticate_credentials(self, key: str) -> tuple[Any, Token]:
        user, token = super().authenticate_credentials(key)
        if tokens.token_is_expired(token=token):
            raise exceptions.AuthenticationFailed(
                "Token has expired; POST your username and password to "
                "/api/v1/auth/token/ for a new one."
            )
        return user, token
