"""Files → numbered records: JSONL, Parquet and `datasets` folders as the trainer reads
them, and CSV (whose cells are text, so list and boolean columns are decoded here)."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

from training.core.data import DataError, read_records

# CSV cells are text; these columns hold JSON lists, and `label` a boolean.
CSV_JSON_COLUMNS = ("messages", "completions", "ranks")
CSV_BOOLEANS = {"true": True, "1": True, "false": False, "0": False}

Row = tuple[int, Any]  # (line number, or 1-based row for Parquet/datasets; record)
CellError = tuple[int, str]  # (line number, what is wrong with which column)


def read_rows(path: Path) -> tuple[list[Row], list[CellError]]:
    """Every record of the file with its line number, and the CSV cells that failed.

    Raises DataError when the file as a whole cannot be read.
    """
    if path.suffix == ".csv":
        return _read_csv(path)
    return read_records(path), []


def _read_csv(path: Path) -> tuple[list[Row], list[CellError]]:
    """Records of a CSV file with a header line; empty cells count as absent."""
    try:
        with path.open(newline="", encoding="utf-8") as file:
            reader = csv.DictReader(file)
            rows: list[Row] = []
            errors: list[CellError] = []
            line = 2  # the header is line 1
            for cells in reader:
                record, cell_errors = _decoded(cells)
                rows.append((line, record))
                errors.extend((line, message) for message in cell_errors)
                line = reader.line_num + 1
    except UnicodeDecodeError as err:
        raise DataError(f"{path}: not UTF-8 text ({err.reason})") from err
    except csv.Error as err:
        raise DataError(f"{path} line {reader.line_num}: bad CSV ({err})") from err
    if not rows:
        raise DataError(f"{path}: no records (expected a header line, then rows)")
    return rows, errors


def _decoded(cells: dict[str | None, Any]) -> tuple[dict[str, Any], list[str]]:
    """A CSV row as a record, and a message for each cell that did not decode."""
    if None in cells:
        return {}, [f"{len(cells[None])} more cells than the header has columns"]
    record: dict[str, Any] = {}
    errors = []
    for column, text in cells.items():
        if not text or column is None:
            continue
        try:
            record[column] = _cell_value(column, text)
        except ValueError as err:
            errors.append(f"field '{column}' {err}")
    return record, errors


def _cell_value(column: str, text: str) -> Any:
    if column in CSV_JSON_COLUMNS:
        try:
            return json.loads(text)
        except json.JSONDecodeError as err:
            raise ValueError(f"is not valid JSON ({err.msg}); expected a list") from err
    if column == "label":
        if text.strip().lower() not in CSV_BOOLEANS:
            raise ValueError(f"is {text!r}; expected true or false")
        return CSV_BOOLEANS[text.strip().lower()]
    return text
