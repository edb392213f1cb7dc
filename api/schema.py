"""OpenAPI generation: every operation documents the error body it can answer with."""

from __future__ import annotations

from typing import Any

from drf_spectacular.openapi import AutoSchema
from drf_spectacular.utils import OpenApiResponse
from rest_framework import serializers


class ErrorSerializer(serializers.Serializer):
    errors = serializers.DictField(
        child=serializers.CharField(),
        help_text='Field → what is wrong with it. Nested fields are dotted ("0.text");'
        ' "body", "authorization" and "detail" stand for the request as a whole.',
    )


class ConflictSerializer(ErrorSerializer):
    warnings = serializers.ListField(
        child=serializers.CharField(),
        help_text="Where the ranking contradicts the ratings, one line each.",
    )


_ERRORS = {
    "400": "A field of the body or query is wrong; the body names each one.",
    "401": "No valid token or session.",
    "403": "Authenticated, but this role may not do this.",
    "404": "No such object among those you may see.",
    "413": "The body is larger than one request may send.",
    "503": "The database is unavailable; try again after Retry-After seconds.",
}


class ApiAutoSchema(AutoSchema):
    """drf-spectacular's schema with the shared error body added for every status
    any operation may answer (400, 401, 403, 404, 413, 503)."""

    def _get_response_bodies(self, direction: Any = "response") -> dict[str, Any]:
        responses = super()._get_response_bodies(direction)
        for code, description in _ERRORS.items():
            if code not in responses:
                responses[code] = self._get_response_for_code(
                    OpenApiResponse(ErrorSerializer, description), code
                )
        return responses
