"""One error body for the whole API: `{"errors": {field: why}}`, 409 adds warnings."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views import defaults
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler

from annotate.exporting import ExportError
from annotate.importing.service import ImportRejected
from annotate.services import ConflictWarning, SubmissionError
from training.rounds import IllegalTransition
from training.services import LaunchRefused

# Errors that concern no single field are reported under the part of the request
# they are about; the rest (not found, forbidden, method) under "detail".
_REQUEST_PART = {
    exceptions.ParseError: "body",
    exceptions.UnsupportedMediaType: "body",
    exceptions.NotAuthenticated: "authorization",
    exceptions.AuthenticationFailed: "authorization",
}
_WHOLE_BODY = "body"


def field_errors(detail: Any, path: str = "") -> dict[str, str]:
    """Flatten DRF's nested error detail into {"field.sub.0.key": "message"}."""
    if isinstance(detail, dict):
        flat: dict[str, str] = {}
        for key, value in detail.items():
            inner = path if key in ("non_field_errors", "detail") else _join(path, key)
            flat.update(field_errors(value, inner))
        return flat
    if isinstance(detail, list) and any(isinstance(i, dict | list) for i in detail):
        flat = {}
        for index, item in enumerate(detail):
            flat.update(field_errors(item, _join(path, index)))
        return flat
    if isinstance(detail, list):
        return {path or _WHOLE_BODY: " ".join(str(message) for message in detail)}
    return {path or _WHOLE_BODY: str(detail)}


def _join(path: str, key: object) -> str:
    return f"{path}.{key}" if path else str(key)


def _option_error(error: ExportError) -> dict[str, str]:
    """ExportError messages start with the option they are about: "rounds: …"."""
    option, _, why = str(error).partition(": ")
    return {option: why} if why else {"body": str(error)}


def _row_errors(rejected: ImportRejected) -> dict[str, str]:
    """Each bad record keyed by its index in `records`; whole-input errors by it."""
    errors: dict[str, str] = {}
    for error in rejected.errors:
        key = "records" if error.row is None else f"records.{error.row - 1}"
        errors[key] = " ".join(filter(None, [errors.get(key), error.message]))
    return errors


def _conflict_response(warning: ConflictWarning) -> Response:
    return Response(
        {
            "errors": {
                "confirm_conflicts": "The ranking contradicts the ratings; send "
                "again with confirm_conflicts true to store it anyway."
            },
            "warnings": warning.warnings,
        },
        status=status.HTTP_409_CONFLICT,
    )


def api_exception_handler(exc: Exception, context: dict) -> Response | None:
    """DRF's handler, plus the services' refusals, with every message keyed."""
    if isinstance(exc, ConflictWarning):
        return _conflict_response(exc)
    if isinstance(exc, SubmissionError):
        exc = exceptions.ValidationError(exc.errors)
    elif isinstance(exc, LaunchRefused):
        exc = exceptions.ValidationError(exc.reasons)
    elif isinstance(exc, IllegalTransition):
        exc = exceptions.ValidationError({"state": str(exc)})
    elif isinstance(exc, ExportError):
        exc = exceptions.ValidationError(_option_error(exc))
    elif isinstance(exc, ImportRejected):
        exc = exceptions.ValidationError(_row_errors(exc))
    elif isinstance(exc, DjangoValidationError):
        exc = exceptions.ValidationError(
            exc.message_dict if hasattr(exc, "error_dict") else exc.messages
        )
    response = exception_handler(exc, context)
    if response is None:
        return None
    if isinstance(exc, exceptions.ValidationError):
        errors = field_errors(exc.detail)
    else:
        key = next(
            (part for kind, part in _REQUEST_PART.items() if isinstance(exc, kind)),
            "detail",
        )
        errors = {key: str(response.data.get("detail", response.data))}
    response.data = {"errors": errors}
    return response


def not_found(request: HttpRequest, exception: Exception) -> HttpResponse:
    """Django's 404 page, except under /api/, where the body is the API's JSON error."""
    if request.path.startswith("/api/"):
        return JsonResponse(
            {"errors": {"detail": f"No API endpoint at {request.path}."}}, status=404
        )
    return defaults.page_not_found(request, exception)
