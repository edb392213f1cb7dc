"""API tokens: issued for a username and password (throttled), expiring, revocable."""

from __future__ import annotations

from collections.abc import Mapping

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import exceptions, parsers, permissions, serializers, status
from rest_framework.authtoken.serializers import AuthTokenSerializer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.throttling import BaseThrottle
from rest_framework.views import APIView

from annotate import throttling, tokens
from api.parsers import JsonParser
from api.schema import ErrorSerializer


class LoginThrottle(BaseThrottle):
    """Refuse the token endpoint while the client's address or the username sent
    has too many failed logins (annotate.throttling; failures count there)."""

    def allow_request(self, request: Request, view: APIView) -> bool:
        body = request.data if isinstance(request.data, Mapping) else {}
        self.seconds = throttling.login_wait_seconds(
            request=request, username=str(body.get("username", ""))
        )
        return self.seconds is None

    def wait(self) -> float | None:
        return self.seconds


class TokenSerializer(serializers.Serializer):
    token = serializers.CharField(help_text="Send as `Authorization: Token <token>`.")
    expires = serializers.DateTimeField(
        help_text="When it stops working; ask again then for a new one."
    )


_THROTTLED = OpenApiResponse(
    ErrorSerializer,
    "Too many failed logins from this address or for this username; Retry-After "
    "says after how many seconds to try again.",
)


class ObtainTokenView(APIView):
    """Your API token for a username and password: the current one, or a new one
    when you had none or it expired. Failed attempts are throttled per address
    and per username (429)."""

    authentication_classes: list = []
    permission_classes = [permissions.AllowAny]
    throttle_classes = [LoginThrottle]
    parser_classes = [JsonParser, parsers.FormParser]

    @extend_schema(
        request=AuthTokenSerializer,
        responses={200: TokenSerializer, 429: _THROTTLED},
        auth=[],
    )
    def post(self, request: Request) -> Response:
        credentials = AuthTokenSerializer(
            data=request.data, context={"request": request}
        )
        credentials.is_valid(raise_exception=True)
        token = tokens.token_issue(user=credentials.validated_data["user"])
        expires = tokens.token_expires_at(token=token)
        return Response(TokenSerializer({"token": token.key, "expires": expires}).data)

    def throttled(self, request: Request, wait: float) -> None:
        raise exceptions.Throttled(
            wait,
            detail="Too many failed logins from this address or for this username.",
        )


class RevokeTokenView(APIView):
    """Revoke your API token: it stops working at once (so does logging out of the
    site). Ask for a new one at /api/v1/auth/token/."""

    @extend_schema(request=None, responses={204: None})
    def post(self, request: Request) -> Response:
        tokens.token_revoke(user=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)
