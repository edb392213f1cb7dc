"""One error body for the whole API: `{"errors": {field: why}}`, 409 adds warnings.

Also where Django, not DRF, would answer with an HTML page: a body over
DATA_UPLOAD_MAX_MEMORY_SIZE (413), a database that cannot be reached (503, with
Retry-After), and the 400/404/500 handlers for paths under /api/.
"""

from __future__ import annotations

import sys

from django.core.exceptions import (
    RequestDataTooBig,
    TooManyFieldsSent,
    TooManyFilesSent,
)
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import InterfaceError, OperationalError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views import defaults
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler

from annotate.bodies import body_too_large_message, field_errors
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


# Errors Django raises before or beside DRF, with the status and body they answer.
# OperationalError/InterfaceError: the server is down, restarting or refusing
# connections, or SQLite stayed locked past its timeout; worth retrying.
DATABASE_UNAVAILABLE = "The database is unavailable; try again in a moment."
DATABASE_RETRY_AFTER_SECONDS = 10
_DATABASE_DOWN = (OperationalError, InterfaceError)
_TOO_MANY_PARTS = (TooManyFieldsSent, TooManyFilesSent)


Refusal = tuple[int, dict[str, str], dict[str, str]]  # status, errors, headers


def _request_refused(exc: object) -> Refusal | None:
    """What to answer when Django refuses the request or the database is away."""
    if isinstance(exc, RequestDataTooBig):
        return 413, {"body": body_too_large_message()}, {}
    if isinstance(exc, _TOO_MANY_PARTS):
        return 400, {"body": f"{exc} Send fewer fields or files."}, {}
    if isinstance(exc, _DATABASE_DOWN):
        retry = {"Retry-After": str(DATABASE_RETRY_AFTER_SECONDS)}
        return 503, {"detail": DATABASE_UNAVAILABLE}, retry
    return None


def api_exception_handler(exc: Exception, context: dict) -> Response | None:
    """DRF's handler, plus the services' refusals, with every message keyed."""
    if isinstance(exc, ConflictWarning):
        return _conflict_response(exc)
    refused = _request_refused(exc)
    if refused:
        code, errors, headers = refused
        return Response({"errors": errors}, status=code, headers=headers)
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


def _json_refusal(exc: BaseException | None) -> JsonResponse | None:
    refused = _request_refused(exc)
    if refused is None:
        return None
    code, errors, headers = refused
    return JsonResponse({"errors": errors}, status=code, headers=headers)


def not_found(request: HttpRequest, exception: Exception) -> HttpResponse:
    """Django's 404 page, except under /api/, where the body is the API's JSON error."""
    if request.path.startswith("/api/"):
        return JsonResponse(
            {"errors": {"detail": f"No API endpoint at {request.path}."}}, status=404
        )
    return defaults.page_not_found(request, exception)


def bad_request(request: HttpRequest, exception: Exception) -> HttpResponse:
    """Django's 400 page (a request it refused before any view), JSON under /api/."""
    if request.path.startswith("/api/"):
        return _json_refusal(exception) or JsonResponse(
            {"errors": {"body": "The request could not be read."}}, status=400
        )
    return defaults.bad_request(request, exception)


def server_error(request: HttpRequest) -> HttpResponse:
    """Django's 500 page, JSON under /api/: 503 when the database is unreachable."""
    if request.path.startswith("/api/"):
        return _json_refusal(sys.exc_info()[1]) or JsonResponse(
            {"errors": {"detail": "Server error; it has been logged."}}, status=500
        )
    return defaults.server_error(request)
