"""The one rule for text rankwise stores: what is dropped, and what counts as blank.

Every write path cleans with `clean_text` (prompts, outputs, notes and skip reasons in
annotate.services; import records and the API's text fields before they are checked),
so generation, imports and the API store the same text for the same input, and a
re-import hashes the text it stored. PostgreSQL refuses NUL in text and JSON, and
nothing UTF-8 can hold a lone surrogate; the other controls and U+FFFD are dropped
because here they only ever come from broken bytes (a tiny model's byte-level tokens,
a mis-decoded file), never from something a person meant to show. Such text is
cleaned, never refused, wherever it comes from; what is refused (by imports with the
row and field, by the API with the field) is an output or prompt with nothing
readable left, `is_blank`.

Leading and trailing whitespace is kept: the stored text is the text that was shown
or generated, and a leading space is part of what a model wrote (its tokens).
"""

from __future__ import annotations

import re
import unicodedata
from typing import Any

# C0 and C1 controls other than tab, newline and carriage return; DEL; U+FFFD.
_DROPPED = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ufffd]")
_SURROGATE = re.compile("[\ud800-\udfff]")
# Every line break becomes "\n": CR LF and CR (Windows, old Mac files), and Unicode's
# line and paragraph separators, which JSON-lines readers splitting lines cut at.
_LINE_BREAK = re.compile("\r\n|[\r\u2028\u2029]")
# Unicode calls these letters or symbols, but they render as nothing.
_INVISIBLE = frozenset("\u115f\u1160\u3164\uffa0\u2800")
# Letters, numbers, punctuation and symbols; not marks alone, separators, controls,
# format characters (zero-width spaces, joiners, bidi marks) or private use.
_READABLE_CATEGORIES = ("L", "N", "P", "S")
# How imports and the API refuse text that `is_blank`: "field 'x' " + this.
NOTHING_READABLE = (
    "has nothing readable: it is empty, or only whitespace, control or invisible "
    "characters"
)


def clean_text(text: str) -> str:
    """`text` as rankwise stores it: controls, U+FFFD and lone surrogates dropped.

    Tab and newline stay; every line break becomes "\\n". A surrogate pair left in a
    str (e.g. from UTF-16 data) becomes the character it encodes. Everything else,
    emoji with their zero-width joiners and every script included, is kept as is, and
    cleaning twice changes nothing.
    """
    if _SURROGATE.search(text):
        # Pairs decode to their character; a lone surrogate decodes to U+FFFD.
        utf16 = text.encode("utf-16-le", "surrogatepass")
        text = utf16.decode("utf-16-le", "replace")
    return _LINE_BREAK.sub("\n", _DROPPED.sub("", text))


def clean_json(value: Any) -> Any:
    """A JSON value with `clean_text` applied to every string in it, keys included."""
    if isinstance(value, str):
        return clean_text(value)
    if isinstance(value, dict):
        return {clean_json(key): clean_json(item) for key, item in value.items()}
    if isinstance(value, list):
        return [clean_json(item) for item in value]
    return value


def is_blank(text: str) -> bool:
    """Whether nothing readable is left of `text` once cleaned.

    Empty text, whitespace, controls, format characters (zero-width space, joiners,
    bidi marks), lone combining marks and U+FFFD are not something to read, rank or
    rate.
    """
    return not any(_readable(char) for char in clean_text(text))


def _readable(char: str) -> bool:
    return (
        unicodedata.category(char).startswith(_READABLE_CATEGORIES)
        and char not in _INVISIBLE
    )
