"""Files → numbered records, streamed: JSONL and CSV by line, JSON arrays by element,
Parquet by batch, `datasets` folders by batch; never the whole file in memory.

A RowSource can be read again from the start: the import checks every row in one
pass and writes in a second. A row that is not a record (bytes that are not UTF-8,
bad JSON, over caps.max_row_bytes(), nested past caps.MAX_DEPTH) comes out as
`Unreadable`, so the import lists it with the other bad rows; DataError is for the
file as a whole (missing, over a cap, not the kind its name says). Row numbers are
line numbers for JSONL and CSV (blank lines counted, as an editor shows them), and
1-based record numbers for JSON arrays, Parquet and `datasets`.
"""

from __future__ import annotations

import codecs
import csv
import json
import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from annotate.importing import caps
from training.core.data import DataError, train_split

# CSV cells are text; these columns hold JSON lists, and `label` a boolean.
CSV_JSON_COLUMNS = ("messages", "completions", "ranks")
CSV_BOOLEANS = {"true": True, "1": True, "false": False, "0": False}
READ_BYTES = 1 << 20  # what a streaming reader asks the file for at a time
BATCH_ROWS = 256  # Parquet / datasets rows decoded at a time
# Bytes that are not UTF-8, as "surrogateescape" decoding keeps them: a str cannot
# hold them otherwise, so in decoded text they only ever mean invalid input.
_UNDECODED = re.compile("[\udc80-\udcff]")
_WHITESPACE = re.compile(r"[ \t\n\r]*")  # JSON's


@dataclass(frozen=True)
class Unreadable:
    """A row that is not a record, and why."""

    message: str


Row = tuple[int, Any]  # (row number, the record or Unreadable)


@dataclass(frozen=True)
class RowSource:
    """The rows of one input; `read()` streams them from the start each time."""

    name: str
    total: int | None  # the row count where the file states it before decoding
    read: Callable[[], Iterator[Row]]


def open_file(path: Path, name: str) -> RowSource:
    """A JSONL, JSON, CSV or Parquet file, or a datasets folder, its size checked."""
    if not path.exists():
        raise DataError(f"{name}: no such file or folder")
    if path.is_dir():
        size = sum(f.stat().st_size for f in path.rglob("*") if f.is_file())
    else:
        size = path.stat().st_size
    too_big = caps.bytes_error(size)
    if too_big:
        raise DataError(f"{name} {too_big}")
    if path.is_dir():
        return _dataset_folder(path, name)
    opener = _OPENERS.get(path.suffix)
    if opener is None:
        raise DataError(
            f"{name}: unknown extension {path.suffix!r}; expected .jsonl, .json, "
            ".csv, .parquet or a folder written by datasets' save_to_disk"
        )
    return opener(path, name)


def records_source(records: Sequence[Any], name: str) -> RowSource:
    """Records already in memory (a request body), numbered from 1."""
    return RowSource(
        name,
        len(records),
        lambda: ((row, _bounded(r)) for row, r in enumerate(records, start=1)),
    )


def _bounded(record: Any) -> Any:
    """The record, or Unreadable when it nests deeper than any format does."""
    too_deep = caps.depth_error(record)
    return Unreadable(too_deep) if too_deep else record


def _json_value(text: str) -> Any:
    """One JSON value as a record, or Unreadable saying what is wrong."""
    bad_bytes = _UNDECODED.search(text)
    if bad_bytes:
        return Unreadable(f"is not UTF-8 text (bad byte at column {bad_bytes.end()})")
    try:
        return _bounded(json.loads(text))
    except json.JSONDecodeError as err:
        # Python's "Invalid control character at" names no column itself.
        why = err.msg.removesuffix(" at")
        return Unreadable(f"is not valid JSON ({why} at column {err.colno})")
    except RecursionError:
        return Unreadable(caps.TOO_DEEP)


def _text(file: IO[bytes]) -> Iterator[str]:
    """The file's text in pieces; bytes that are not UTF-8 kept as _UNDECODED."""
    decoder = codecs.getincrementaldecoder("utf-8-sig")(errors="surrogateescape")
    while piece := file.read(READ_BYTES):
        yield decoder.decode(piece)
    yield decoder.decode(b"", final=True)


def _lines(file: IO[bytes], limit: int) -> Iterator[str | Unreadable]:
    """Lines split at "\\n" only (JSON text may hold U+2028); each at most `limit`."""
    first = True
    while line := file.readline(limit + 1):
        if len(line) > limit and not line.endswith(b"\n"):
            while (rest := file.readline(READ_BYTES)) and not rest.endswith(b"\n"):
                pass
            yield Unreadable(f"is longer than {limit:,} bytes; expected one record")
            first = False
            continue
        text = line.decode("utf-8", errors="surrogateescape")
        yield text.removeprefix("\ufeff") if first else text
        first = False


def _jsonl_rows(path: Path) -> Iterator[Row]:
    with path.open("rb") as file:
        for row, line in enumerate(_lines(file, caps.max_row_bytes()), start=1):
            if isinstance(line, Unreadable):
                yield row, line
            elif line.strip():
                yield row, _json_value(line)


def _jsonl(path: Path, name: str) -> RowSource:
    return RowSource(name, None, lambda: _jsonl_rows(path))


def _json(path: Path, name: str) -> RowSource:
    """A JSON array of records, or JSON lines (what datasets' to_json writes)."""
    with path.open("rb") as file:
        start = file.read(READ_BYTES).decode("utf-8-sig", errors="replace").lstrip()
    if start.startswith("["):
        return RowSource(name, None, lambda: _json_array_rows(path, name))
    return RowSource(name, None, lambda: _jsonl_rows(path))


def _json_array_rows(path: Path, name: str) -> Iterator[Row]:
    """The elements of a top-level array, one at a time, each at most a row's bytes."""
    with path.open("rb") as file:
        elements = _ArrayElements(_text(file), name, caps.max_row_bytes())
        yield from enumerate(elements, start=1)


class _ArrayElements:
    """Iterates the elements of the JSON array that `pieces` spell, decoded lazily.

    An element JSON cannot parse (or nested past the interpreter's recursion limit)
    leaves no way to find the next one, so it ends the file with a DataError naming
    its row; a valid element nested past caps.MAX_DEPTH comes out as Unreadable.
    """

    def __init__(self, pieces: Iterator[str], name: str, limit: int):
        self.pieces, self.name, self.limit = pieces, name, limit
        self.buffer, self.at, self.done = "", 0, False
        self.decoder = json.JSONDecoder()

    def __iter__(self) -> Iterator[Any]:
        self._expect("[")
        row = 0
        more = self._peek() != "]"
        while more:
            row += 1
            yield self._element(row)
            separator = self._peek()
            if separator not in (",", "]"):
                raise self._error(row, f"expected ',' or ']' after row {row}")
            more = separator == ","
            if more:
                self.at += 1
        self._end()

    def _more(self) -> bool:
        """Read on; False at the end of the file."""
        piece = next(self.pieces, None)
        if piece is None:
            self.done = True
            return False
        self.buffer = self.buffer[self.at :] + piece
        self.at = 0
        return True

    def _peek(self) -> str:
        """The next character that is not whitespace ("" at the end)."""
        while True:
            found = _WHITESPACE.match(self.buffer, self.at)
            self.at = found.end() if found else self.at
            if self.at < len(self.buffer) or not self._more():
                return self.buffer[self.at : self.at + 1]

    def _expect(self, char: str) -> None:
        if self._peek() != char:
            raise DataError(f"{self.name}: expected a JSON array of records")
        self.at += 1

    def _end(self) -> None:
        self.at += 1
        if self._peek():
            raise DataError(f"{self.name}: text after the array's closing ']'")

    def _element(self, row: int) -> Any:
        self._peek()
        while True:
            try:
                value, end = self.decoder.raw_decode(self.buffer, self.at)
            except json.JSONDecodeError as err:
                # Where the text stops mid-element the error is at its end, or it is
                # a string not closed yet: read on. Elsewhere the element is bad.
                cut_short = err.pos >= len(self.buffer) - len("false") or (
                    err.msg.startswith("Unterminated string")
                )
                if cut_short and self._read_on(row):
                    continue
                raise self._error(row, f"is not valid JSON ({err.msg})") from err
            except RecursionError:
                raise self._error(row, caps.TOO_DEEP) from None
            # A number cut at the buffer's end parses too: only trust a delimited one.
            if end == len(self.buffer) and self._read_on(row):
                continue
            text = self.buffer[self.at : end]
            self.at = end
            if _UNDECODED.search(text):
                return Unreadable("is not UTF-8 text")
            return _bounded(value)

    def _read_on(self, row: int) -> bool:
        """Read more of an unfinished element; refuse one longer than a row may be."""
        if len(self.buffer) - self.at > self.limit:
            raise self._error(row, f"is longer than {self.limit:,} bytes")
        return not self.done and self._more()

    def _error(self, row: int, message: str) -> DataError:
        return DataError(f"{self.name} row {row}: {message}")


def _csv(path: Path, name: str) -> RowSource:
    return RowSource(name, None, lambda: _csv_rows(path, name))


def _csv_rows(path: Path, name: str) -> Iterator[Row]:
    """Records of a CSV file with a header line; empty cells count as absent."""
    limit = caps.max_row_bytes()
    with path.open("rb") as file:
        lines = _csv_lines(file, name, limit)
        reader = csv.DictReader(lines)
        line = 2  # the header is line 1
        try:
            for cells in reader:
                yield line, _csv_record(cells)
                line = reader.line_num + 1
        except csv.Error as err:
            raise DataError(f"{name} line {reader.line_num}: bad CSV ({err})") from err


def _csv_lines(file: IO[bytes], name: str, limit: int) -> Iterator[str]:
    for number, line in enumerate(_lines(file, limit), start=1):
        if isinstance(line, Unreadable):
            raise DataError(f"{name} line {number} {line.message}")
        yield line


def _csv_record(cells: dict[str | None, Any]) -> Any:
    """A CSV row as a record, or Unreadable naming each cell that did not decode."""
    if None in cells:
        return Unreadable(f"{len(cells[None])} more cells than the header has columns")
    record: dict[str, Any] = {}
    errors = []
    for column, text in cells.items():
        if not text or column is None:
            continue
        try:
            record[column] = _cell_value(column, text)
        except ValueError as err:
            errors.append(f"field '{column}' {err}")
    return Unreadable("; ".join(errors)) if errors else _bounded(record)


def _cell_value(column: str, text: str) -> Any:
    if _UNDECODED.search(text):
        raise ValueError("is not UTF-8 text")
    if column in CSV_JSON_COLUMNS:
        value = _json_value(text)
        if isinstance(value, Unreadable):
            raise ValueError(f"{value.message}; expected a list")
        return value
    if column == "label":
        if text.strip().lower() not in CSV_BOOLEANS:
            raise ValueError(f"is {text!r}; expected true or false")
        return CSV_BOOLEANS[text.strip().lower()]
    return text


def _parquet(path: Path, name: str) -> RowSource:
    """Rows counted from the footer, so a cap refuses a file before it is decoded."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        total = pq.read_metadata(path).num_rows
    except (pa.ArrowException, OSError) as err:
        raise DataError(f"{name}: not a readable Parquet file ({err})") from err
    too_many = caps.rows_error(total)
    if too_many:
        raise DataError(f"{name} {too_many}")
    return RowSource(name, total, lambda: _parquet_rows(path, name))


def _parquet_rows(path: Path, name: str) -> Iterator[Row]:
    import pyarrow as pa
    import pyarrow.parquet as pq

    row = 0
    try:
        with pq.ParquetFile(path) as parquet:
            for batch in parquet.iter_batches(batch_size=BATCH_ROWS, use_threads=False):
                for record in batch.to_pylist():
                    row += 1
                    yield row, _bounded(record)
    except (pa.ArrowException, OSError) as err:
        raise DataError(f"{name} row {row + 1}: not readable ({err})") from err


def _dataset_folder(path: Path, name: str) -> RowSource:
    """A `save_to_disk` folder: its train split, or its only split."""
    loaded = train_split(path, name)
    too_many = caps.rows_error(loaded.num_rows)
    if too_many:
        raise DataError(f"{name} {too_many}")

    def rows() -> Iterator[Row]:
        row = 0
        for batch in loaded.iter(batch_size=BATCH_ROWS):
            for values in zip(*batch.values(), strict=True):
                row += 1
                yield row, _bounded(dict(zip(batch, values, strict=True)))

    return RowSource(name, loaded.num_rows, rows)


_OPENERS: dict[str, Callable[[Path, str], RowSource]] = {
    ".jsonl": _jsonl,
    ".json": _json,
    ".csv": _csv,
    ".parquet": _parquet,
}
