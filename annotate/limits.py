"""How long an output, a prompt, instructions, notes and skip reasons may be, and how
large a prompt's metadata.

The limits bound the work one request does: a task page shows a prompt and up to K
outputs, and every stored text is rendered (annotate.rendering) when it is written.
The defaults fit what people judge: 100,000 characters is about 25,000 tokens, longer
than nearly every chat or reasoning answer and than a long document with a question
about it. Each is a setting (environment variable of the same name):

    RANKWISE_MAX_OUTPUT_CHARS        a candidate's text                     100000
    RANKWISE_MAX_PROMPT_CHARS        a prompt: its text plus every message   100000
    RANKWISE_MAX_INSTRUCTIONS_CHARS  a project's instructions                 50000
    RANKWISE_MAX_NOTES_CHARS         an annotation's notes                    10000
    RANKWISE_MAX_SKIP_REASON_CHARS   why a task was skipped                    1000
    RANKWISE_MAX_METADATA_BYTES      a prompt's metadata, as compact JSON     65536

Every write path refuses longer text with the field, its length and the limit:
annotate.services (prompt_create, candidate_create: what the API, imports, demo and
generation write through) raises TextTooLong; imports report the row; the API answers
400 naming the field; the admin's forms run the models' validators. Round generation
drops a longer sample instead of failing the round. Notes and skip reasons are
refused by annotation_submit and assignment_skip (SubmissionError naming `notes` or
`reason`: the web page, the API and the simulator submit through them) and by the
request bodies before that; a prompt's metadata by prompt_create (`metadata`). The
admin's forms run the models' validators for all three. Imports write no notes,
skip reasons or metadata. Lengths count characters of the text as stored, after
annotate.text cleans it; metadata counts the UTF-8 bytes of its compact JSON.
Settings are read at each check.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils.deconstruct import deconstructible

# kind → (setting, default)
_SETTINGS = {
    "output": ("RANKWISE_MAX_OUTPUT_CHARS", 100_000),
    "prompt": ("RANKWISE_MAX_PROMPT_CHARS", 100_000),
    "instructions": ("RANKWISE_MAX_INSTRUCTIONS_CHARS", 50_000),
    "notes": ("RANKWISE_MAX_NOTES_CHARS", 10_000),
    "skip_reason": ("RANKWISE_MAX_SKIP_REASON_CHARS", 1_000),
    "metadata": ("RANKWISE_MAX_METADATA_BYTES", 65_536),
}


@deconstructible
class TextLimit:
    """The length limit of one kind of text; also a validator for model fields."""

    def __init__(self, kind: str):
        self.kind = kind
        self.setting, self.default = _SETTINGS[kind]

    def __eq__(self, other: object) -> bool:
        return isinstance(other, TextLimit) and other.kind == self.kind

    def __hash__(self) -> int:
        return hash(self.kind)

    def chars(self) -> int:
        """The most characters allowed now."""
        return int(getattr(settings, self.setting, self.default))

    def error(self, length: int) -> str | None:
        """'has N characters; expected at most M (SETTING)', or None if it fits."""
        limit = self.chars()
        if length <= limit:
            return None
        return f"has {length:,} characters; expected at most {limit:,} ({self.setting})"

    def __call__(self, value: str) -> None:
        error = self.error(len(value))
        if error:
            raise ValidationError(f"This text {error}.", code="max_length")


@deconstructible
class JsonLimit(TextLimit):
    """The size limit of a stored JSON value, in bytes; also a validator."""

    def error(self, length: int) -> str | None:
        """'is N bytes as JSON; expected at most M (SETTING)', or None if it fits."""
        limit = self.chars()  # the setting's number, here of bytes
        if length <= limit:
            return None
        return (
            f"is {length:,} bytes as JSON; expected at most {limit:,} ({self.setting})"
        )

    def value_error(self, value: Any) -> str | None:
        """The error for this JSON value, measured as compact UTF-8 JSON."""
        return self.error(json_bytes(value))

    def __call__(self, value: Any) -> None:
        error = self.value_error(value)
        if error:
            raise ValidationError(f"This value {error}.", code="max_length")


def json_bytes(value: Any) -> int:
    """A JSON value's size as stored: compact, UTF-8."""
    compact = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    return len(compact.encode("utf-8", "surrogatepass"))


OUTPUT = TextLimit("output")
PROMPT = TextLimit("prompt")
INSTRUCTIONS = TextLimit("instructions")
NOTES = TextLimit("notes")
SKIP_REASON = TextLimit("skip_reason")
METADATA = JsonLimit("metadata")


class TextTooLong(ValidationError):
    """A text over its limit reached a service; `message_dict` names the field."""

    def __init__(self, field: str, noun: str, error: str):
        super().__init__({field: f"The {noun} {error}."}, code="max_length")


def prompt_chars(text: str, messages: Iterable[Mapping[str, object]]) -> int:
    """A prompt's length: its text and the content of every chat message."""
    contents = (m.get("content", "") for m in messages if isinstance(m, Mapping))
    return len(text) + sum(len(str(content)) for content in contents)
