"""How much one import may read: the file's bytes, its rows, and one row's size.

Two settings (environment variables of the same name), read at each check:

    RANKWISE_IMPORT_MAX_BYTES  the file, or a datasets folder, as stored   1 GiB
    RANKWISE_IMPORT_MAX_ROWS   records in it                               1,000,000

Both are checked while the file streams in, before a row is parsed: an upload's size
as it is copied, a Parquet file's or datasets folder's row count from its metadata
before anything is decoded (11.9 KB of Parquet can hold 3M dictionary-encoded rows),
JSON lines and CSV rows as they are counted. One row is bounded too, so a file with
no line breaks or a JSON bomb cannot hold a worker: it may be as long as the longest
prompt and K_MAX outputs the text limits allow, written entirely as \\uXXXX escapes,
and nest as deep as MAX_DEPTH.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings

from annotate import limits
from annotate.models import K_MAX

DEFAULT_MAX_BYTES = 1 << 30
DEFAULT_MAX_ROWS = 1_000_000
# UltraFeedback's records are the deepest a format reads (record → completions →
# completion → annotations → aspect list → {"Rating": …} → rating: 7 levels); a
# nesting bomb goes thousands deep.
MAX_DEPTH = 32
TOO_DEEP = f"nests more than {MAX_DEPTH} levels deep; expected at most {MAX_DEPTH}"
ESCAPED_CHAR_BYTES = 6  # "\u0000": how long one character of a JSON string can get
ROW_OVERHEAD_BYTES = 1 << 20  # field names, ids, ratings, rationales


def max_bytes() -> int:
    """The most bytes an import file (or datasets folder) may have."""
    return int(getattr(settings, "RANKWISE_IMPORT_MAX_BYTES", DEFAULT_MAX_BYTES))


def max_rows() -> int:
    """The most records one import may hold."""
    return int(getattr(settings, "RANKWISE_IMPORT_MAX_ROWS", DEFAULT_MAX_ROWS))


def max_row_bytes() -> int:
    """The most bytes one record (a JSON line, an array element) may take."""
    chars = limits.PROMPT.chars() + K_MAX * limits.OUTPUT.chars()
    return min(max_bytes(), ESCAPED_CHAR_BYTES * chars + ROW_OVERHEAD_BYTES)


def bytes_error(size: int) -> str | None:
    """'is N bytes; expected at most M (RANKWISE_IMPORT_MAX_BYTES)', or None."""
    cap = max_bytes()
    if size <= cap:
        return None
    return f"is {size:,} bytes; expected at most {cap:,} (RANKWISE_IMPORT_MAX_BYTES)"


def rows_error(rows: int) -> str | None:
    """'has N rows; expected at most M (RANKWISE_IMPORT_MAX_ROWS)', or None."""
    cap = max_rows()
    if rows <= cap:
        return None
    return f"has {rows:,} rows; expected at most {cap:,} (RANKWISE_IMPORT_MAX_ROWS)"


def depth_error(value: Any) -> str | None:
    """'nests more than N levels deep', or None; walked without recursion."""
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if depth > MAX_DEPTH:
            return TOO_DEEP
        if isinstance(item, dict):
            stack.extend((child, depth + 1) for child in item.values())
        elif isinstance(item, list | tuple):
            stack.extend((child, depth + 1) for child in item)
    return None
