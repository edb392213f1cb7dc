"""The API's JSON parser: DRF's, reading bodies by annotate.bodies' rules."""

from __future__ import annotations

from typing import IO, Any

from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser

from annotate.bodies import BodyError, json_body_load


class JsonParser(JSONParser):
    """UTF-8 only, no NaN or Infinity, nesting bounded: each refused as a 400 that
    names what is wrong, never a RecursionError's 500."""

    def parse(
        self,
        stream: IO[bytes],
        media_type: str | None = None,
        parser_context: dict[str, Any] | None = None,
    ) -> Any:
        try:
            return json_body_load(stream.read())
        except BodyError as error:
            raise ParseError(str(error)) from error
