"""Request bodies as the web views and the API read them, and their errors as text.

Python's JSON parser recurses once per level of nesting and raises RecursionError
near a thousand levels; DRF's fields and the text cleaning recurse the same way on
what it returns. So a body nested deeper than any rankwise request needs is refused
before anything reads it, as are bytes that are not UTF-8 and NaN or Infinity (not
JSON), each with what was wrong.
"""

from __future__ import annotations

import json
from typing import Any, NoReturn

from django.conf import settings

# Arrays and objects inside one another; the deepest body rankwise reads (prompt
# metadata inside a bulk list) needs a handful, and DRF recurses once per level.
MAX_JSON_DEPTH = 32
_WHOLE_BODY = "body"


class BodyError(ValueError):
    """The request body cannot be read; the message says why, for the client."""

    def __init__(self, message: str, *, status: int = 400):
        super().__init__(message)
        self.status = status


def body_too_large_message() -> str:
    """Why a body over DATA_UPLOAD_MAX_MEMORY_SIZE (Django's RequestDataTooBig) is
    refused; answered with 413."""
    return (
        f"The body is larger than the {settings.DATA_UPLOAD_MAX_MEMORY_SIZE:,} bytes "
        "one request may send; send it in smaller parts."
    )


def json_body_load(raw: bytes) -> Any:
    """The JSON value of a request body, or BodyError naming what is wrong."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as error:
        raise BodyError(
            f"The body is not UTF-8 text: byte 0x{raw[error.start]:02x} at "
            f"position {error.start} cannot be read."
        ) from error
    try:
        value = json.loads(text, parse_constant=_refuse_constant)
    except RecursionError as error:
        raise BodyError(_too_deep()) from error
    except json.JSONDecodeError as error:
        raise BodyError(f"Invalid JSON: {error}.") from error
    if json_depth(value) > MAX_JSON_DEPTH:
        raise BodyError(_too_deep())
    return value


def _refuse_constant(name: str) -> NoReturn:
    raise BodyError(f"Invalid JSON: {name} is not a number JSON allows.")


def _too_deep() -> str:
    return f"The body nests arrays and objects more than {MAX_JSON_DEPTH} levels deep."


def json_depth(value: Any) -> int:
    """How many arrays and objects deep `value` goes; counted without recursion."""
    deepest = 0
    pending = [(value, 1)]
    while pending:
        node, depth = pending.pop()
        if isinstance(node, dict):
            node = list(node.values())
        if isinstance(node, list):
            deepest = max(deepest, depth)
            pending.extend(
                (child, depth + 1) for child in node if isinstance(child, dict | list)
            )
    return deepest


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
