"""Reading preference data in TRL's formats from JSONL, Parquet or a `datasets` folder.

Every row is validated before anything is returned, so training never starts on bad
data; errors name the file, the 1-based row and the field, and say what was expected.
"""

from __future__ import annotations

import itertools
import json
import math
import os
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

KINDS = ("pairs", "rankings", "unpaired", "prompts", "demos")
MIN_K, MAX_K = 2, 9  # a ranking screen shows 2 to 9 outputs
MAX_REPORTED_ERRORS = 10  # enough to see a pattern without flooding the log


Messages = list[dict[str, str]]
Text = str | Messages  # TRL's standard (str) or conversational (messages) format


class DataError(ValueError):
    """Bad or unreadable training data; the message names file, row and field."""


@dataclass(frozen=True)
class PairExample:
    """One comparison: `chosen` was preferred over `rejected`."""

    prompt: Text
    chosen: Text
    rejected: Text
    margin: float | None = None
    weight: float = 1.0


@dataclass(frozen=True)
class RankingExample:
    """K completions of one prompt with ranks (1 = best; equal ranks are ties)."""

    prompt: Text
    completions: list[Text]
    ranks: list[int]
    weight: float = 1.0
    # The tokens each completion was sampled as (None: written by a person), and the
    # fingerprint of the encoding they follow (batching.encoding_fingerprint).
    completion_token_ids: tuple[tuple[int, ...] | None, ...] | None = None
    tokenizer: str | None = None

    def sampled_ids(self, fingerprint: str) -> list[tuple[int, ...] | None]:
        """Per completion its sampled ids when they are `fingerprint`'s, else None."""
        if self.completion_token_ids is None or self.tokenizer != fingerprint:
            return [None] * len(self.completions)
        return list(self.completion_token_ids)


@dataclass(frozen=True)
class UnpairedExample:
    """One completion judged good (True) or bad (False) on its own, as KTO reads."""

    prompt: Text
    completion: Text
    label: bool


@dataclass(frozen=True)
class PromptExample:
    """A prompt to generate from."""

    prompt: Text


@dataclass(frozen=True)
class DemoExample:
    """A demonstration: the completion to imitate for the prompt."""

    prompt: Text
    completion: Text


Example = PairExample | RankingExample | UnpairedExample | PromptExample | DemoExample


def detect_kind(record: Any) -> str:
    """The record kind ('pairs', 'rankings', ...) told by which fields it has."""
    if not isinstance(record, dict):
        raise DataError(f"expected an object, got {type(record).__name__}")
    present = {key for key, value in record.items() if value is not None}
    if {"completions", "ranks"} <= present:
        return "rankings"
    if {"chosen", "rejected"} <= present:
        return "pairs"
    if {"completion", "label"} <= present:
        return "unpaired"
    if "completion" in present:
        return "demos"
    if "prompt" in present:
        return "prompts"
    raise DataError(
        f"cannot tell the record kind from fields {sorted(present)}; expected "
        "prompt+chosen+rejected, prompt+completions+ranks, prompt+completion(+label) "
        "or prompt"
    )


def load_examples(path: str | Path, kind: str | None = None) -> list[Any]:
    """Read and validate every row of `path` as `kind` (detected from row 1 if None)."""
    path = Path(path)
    rows = read_records(path)
    if kind is None:
        kind = _located(path, rows[0][0], lambda: detect_kind(rows[0][1]))
    if kind not in PARSERS:
        raise ValueError(f"unknown data kind {kind!r}; expected one of {KINDS}")
    examples, errors = [], []
    for row, record in rows:
        try:
            examples.append(PARSERS[kind](_as_record(record)))
        except DataError as err:
            errors.append(f"{path} row {row}: {err}")
    if errors:
        raise DataError(_summarise(errors))
    return examples


def load_rankings(path: str | Path) -> list[RankingExample]:
    """Rankings from a rankings file, or K=2 rankings from a pairs file."""
    examples = load_examples(path)
    return as_rankings(examples) if isinstance(examples[0], PairExample) else examples


def load_pairs(path: str | Path) -> list[PairExample]:
    """Pairs from a pairs file, or pairs expanded from a rankings file."""
    examples = load_examples(path)
    if isinstance(examples[0], RankingExample):
        return rankings_to_pairs(examples)
    return examples


def as_rankings(pairs: Sequence[PairExample]) -> list[RankingExample]:
    """Each pair as a K=2 ranking (chosen rank 1, rejected rank 2)."""
    return [
        RankingExample(p.prompt, [p.chosen, p.rejected], [1, 2], p.weight)
        for p in pairs
    ]


def rankings_to_pairs(
    rankings: Sequence[RankingExample], *, margin_from_ranks: bool = False
) -> list[PairExample]:
    """Expand rankings into their untied pairs, each weighted 1/#pairs of a ranking."""
    pairs = []
    for ranking in rankings:
        ordered = [
            (i, j)
            for i, j in itertools.combinations(range(len(ranking.ranks)), 2)
            if ranking.ranks[i] != ranking.ranks[j]  # a tie says nothing
        ]
        for i, j in ordered:
            best, worst = (i, j) if ranking.ranks[i] < ranking.ranks[j] else (j, i)
            gap = ranking.ranks[worst] - ranking.ranks[best]
            pairs.append(
                PairExample(
                    ranking.prompt,
                    ranking.completions[best],
                    ranking.completions[worst],
                    margin=float(gap) if margin_from_ranks else None,
                    weight=ranking.weight / len(ordered),
                )
            )
    return pairs


def read_records(path: Path) -> list[tuple[int, Any]]:
    """(1-based row, record) for every record in a JSONL, Parquet or datasets folder."""
    if not path.exists():
        raise DataError(f"{path}: no such file or folder")
    if path.is_dir():
        rows = _read_dataset_folder(path)
    elif path.suffix == ".jsonl":
        rows = _read_jsonl(path)
    elif path.suffix == ".parquet":
        rows = _read_parquet(path)
    else:
        raise DataError(
            f"{path}: unknown extension {path.suffix!r}; expected .jsonl, .parquet "
            "or a folder written by datasets' save_to_disk"
        )
    if not rows:
        raise DataError(f"{path}: no records (the file is empty)")
    return rows


def write_jsonl(path: Path, records: Iterable[Any]) -> Path:
    """Write JSON lines atomically: a concurrent reader sees the old file or the new."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    with tmp.open("w", encoding="utf-8") as file:
        for record in records:
            file.write(json.dumps(record, ensure_ascii=False) + "\n")
    os.replace(tmp, path)
    return path


def read_jsonl(path: Path) -> list[Any]:
    """The records of a JSON-lines file (rows checked as read_records does)."""
    return [record for _, record in _read_jsonl(path)]


def _read_jsonl(path: Path) -> list[tuple[int, Any]]:
    """Records of a JSON-lines file; blank lines are skipped but still counted."""
    rows = []
    try:
        # JSON lines end at "\n" only; splitlines() would also cut at U+2028 etc.
        lines = path.read_text(encoding="utf-8").split("\n")
    except UnicodeDecodeError as err:
        raise DataError(f"{path}: not UTF-8 text ({err.reason})") from err
    for row, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            rows.append((row, json.loads(line)))
        except json.JSONDecodeError as err:
            raise DataError(
                f"{path} row {row}: invalid JSON ({err.msg} at column {err.colno})"
            ) from err
    return rows


def _read_parquet(path: Path) -> list[tuple[int, Any]]:
    """Records of a Parquet file, numbered from 1."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        records = pq.read_table(path).to_pylist()
    except (pa.ArrowException, OSError) as err:
        raise DataError(f"{path}: not a readable Parquet file ({err})") from err
    return list(enumerate(records, start=1))


def _read_dataset_folder(path: Path) -> list[tuple[int, Any]]:
    """Records of a `save_to_disk` folder: its train split, or its only split."""
    return list(enumerate(train_split(path, str(path)).to_list(), start=1))


def train_split(path: Path, name: str) -> Any:
    """The `datasets.Dataset` a `save_to_disk` folder trains on: its train split, or
    its only split; `name` is how errors call the folder."""
    import datasets

    try:
        loaded = datasets.load_from_disk(str(path))
    except FileNotFoundError as err:
        raise DataError(
            f"{name}: folder is not a datasets save_to_disk folder ({err})"
        ) from err
    if isinstance(loaded, datasets.DatasetDict):
        if "train" in loaded:
            return loaded["train"]
        if len(loaded) == 1:
            return next(iter(loaded.values()))
        raise DataError(
            f"{name}: no 'train' split and several splits {sorted(loaded)}; "
            "expected a train split or exactly one split"
        )
    return loaded


def _located(path: Path, row: int, fn: Callable[[], Any]) -> Any:
    """Run fn, prefixing any DataError with the file and row."""
    try:
        return fn()
    except DataError as err:
        raise DataError(f"{path} row {row}: {err}") from err


def _summarise(errors: list[str]) -> str:
    """The first few row errors, one a line, and how many more there were."""
    shown = errors[:MAX_REPORTED_ERRORS]
    more = len(errors) - len(shown)
    return "\n".join(shown + ([f"... and {more} more bad rows"] if more else []))


def _as_record(record: Any) -> dict[str, Any]:
    """The record as a dict without nulls (Parquet fills absent columns with None)."""
    if not isinstance(record, dict):
        raise DataError(f"expected an object, got {type(record).__name__}")
    return {key: value for key, value in record.items() if value is not None}


def _parse_pair(record: dict[str, Any]) -> PairExample:
    """A pairs record; with no prompt, the shared start of chosen/rejected is it."""
    _require(record, "pairs", ("chosen", "rejected"))
    if "prompt" not in record:
        prompt, chosen, rejected = _split_implicit_prompt(
            record["chosen"], record["rejected"]
        )
        record = {**record, "prompt": prompt, "chosen": chosen, "rejected": rejected}
    prompt = _prompt(record)
    return PairExample(
        prompt,
        _completion(record, "chosen", prompt),
        _completion(record, "rejected", prompt),
        margin=_number(record, "margin"),
        weight=_weight(record),
    )


def _parse_ranking(record: dict[str, Any]) -> RankingExample:
    """A rankings record: K completions and K ranks, K from 2 to 9."""
    _require(record, "rankings", ("prompt", "completions", "ranks"))
    prompt = _prompt(record)
    completions, ranks = record["completions"], record["ranks"]
    if not isinstance(completions, list) or not MIN_K <= len(completions) <= MAX_K:
        raise DataError(
            f"field 'completions' has {_count(completions)}; "
            f"expected a list of {MIN_K} to {MAX_K} completions"
        )
    if not isinstance(ranks, list) or len(ranks) != len(completions):
        raise DataError(
            f"field 'ranks' has {_count(ranks)} but 'completions' has "
            f"{len(completions)}"
        )
    texts = [
        _text(item, f"completions[{i}]", like=prompt, empty_ok=True)
        for i, item in enumerate(completions)
    ]
    return RankingExample(
        prompt,
        texts,
        [_rank(r, i) for i, r in enumerate(ranks)],
        weight=_weight(record),
        completion_token_ids=_token_ids(record, len(texts)),
        tokenizer=record.get("tokenizer"),
    )


def _parse_unpaired(record: dict[str, Any]) -> UnpairedExample:
    """An unpaired record: a completion with a true/false label."""
    _require(record, "unpaired", ("prompt", "completion", "label"))
    if not isinstance(record["label"], bool):
        raise DataError(f"field 'label' is {record['label']!r}; expected true or false")
    prompt = _prompt(record)
    return UnpairedExample(
        prompt, _completion(record, "completion", prompt), record["label"]
    )


def _parse_prompt(record: dict[str, Any]) -> PromptExample:
    """A prompts record."""
    _require(record, "prompts", ("prompt",))
    return PromptExample(_prompt(record))


def _parse_demo(record: dict[str, Any]) -> DemoExample:
    """A demonstrations record: prompt and the completion to imitate."""
    _require(record, "demos", ("prompt", "completion"))
    prompt = _prompt(record)
    return DemoExample(prompt, _completion(record, "completion", prompt))


PARSERS: dict[str, Callable[[dict[str, Any]], Any]] = {
    "pairs": _parse_pair,
    "rankings": _parse_ranking,
    "unpaired": _parse_unpaired,
    "prompts": _parse_prompt,
    "demos": _parse_demo,
}


def _require(record: dict[str, Any], kind: str, fields: Sequence[str]) -> None:
    """Raise naming the first missing field and what a `kind` record needs."""
    for field in fields:
        if field not in record:
            raise DataError(
                f"missing field '{field}' (a {kind} record needs {', '.join(fields)})"
            )


def _prompt(record: dict[str, Any]) -> Text:
    """The record's prompt: a non-empty string or a non-empty list of messages."""
    return _text(record["prompt"], "prompt", like=None, empty_ok=False)


def _completion(record: dict[str, Any], field: str, prompt: Text) -> Text:
    """A completion in the same format as its prompt (may be an empty string)."""
    return _text(record[field], field, like=prompt, empty_ok=True)


def _text(value: Any, field: str, *, like: Text | None, empty_ok: bool) -> Text:
    """A string, or messages when conversational; `like` is the prompt to match."""
    if isinstance(value, str):
        if not empty_ok and not value.strip():
            raise DataError(f"field '{field}' is empty; expected some text")
        if like is not None and not isinstance(like, str):
            raise DataError(
                f"field '{field}' is a string but 'prompt' is a list of messages; "
                "use one format per record"
            )
        return value
    if isinstance(value, list):
        if like is not None and isinstance(like, str):
            raise DataError(
                f"field '{field}' is a list of messages but 'prompt' is a string; "
                "use one format per record"
            )
        return _messages(value, field, completion=like is not None)
    raise DataError(
        f"field '{field}' is {type(value).__name__}; expected a string "
        "or a list of {role, content} messages"
    )


def _messages(value: list[Any], field: str, *, completion: bool) -> Messages:
    """Validated {role, content} messages; a completion starts with the assistant."""
    if not value:
        raise DataError(f"field '{field}' is an empty list; expected messages")
    messages = []
    for n, message in enumerate(value, start=1):
        if not isinstance(message, dict):
            raise DataError(f"field '{field}' message {n} is not an object")
        for key in ("role", "content"):
            if not isinstance(message.get(key), str):
                raise DataError(
                    f"field '{field}' message {n} has no string '{key}'; "
                    "expected {role, content}"
                )
        messages.append({"role": message["role"], "content": message["content"]})
    if completion and messages[0]["role"] != "assistant":
        raise DataError(
            f"field '{field}' starts with a '{messages[0]['role']}' message; "
            "expected the assistant's reply"
        )
    return messages


def _rank(value: Any, index: int) -> int:
    """A rank: a whole number from 1 (best)."""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise DataError(
            f"field 'ranks' value {index + 1} is {value!r}; "
            "expected a whole number >= 1"
        )
    return value


def _number(record: dict[str, Any], field: str) -> float | None:
    """An optional finite number field."""
    value = record.get(field)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise DataError(f"field '{field}' is {value!r}; expected a number")
    if not math.isfinite(value):
        raise DataError(f"field '{field}' is {value!r}; expected a finite number")
    return float(value)


def _token_ids(
    record: dict[str, Any], k: int
) -> tuple[tuple[int, ...] | None, ...] | None:
    """The optional `completion_token_ids`: per completion a list of ids or null."""
    value = record.get("completion_token_ids")
    if value is None:
        return None
    if not isinstance(value, list) or len(value) != k:
        raise DataError(
            f"field 'completion_token_ids' has {_count(value)}; expected {k} "
            "(a list of token ids or null per completion)"
        )
    if not isinstance(record.get("tokenizer"), str):
        raise DataError(
            "field 'tokenizer' is missing; 'completion_token_ids' needs the "
            "fingerprint of the tokenizer they belong to"
        )
    for i, ids in enumerate(value):
        if ids is not None and not (
            isinstance(ids, list)
            and ids
            and all(
                isinstance(t, int) and not isinstance(t, bool) and t >= 0 for t in ids
            )
        ):
            raise DataError(
                f"field 'completion_token_ids[{i}]' is not a non-empty list of "
                "token ids (integers >= 0) or null"
            )
    return tuple(None if ids is None else tuple(ids) for ids in value)


def _weight(record: dict[str, Any]) -> float:
    """The optional positive `weight` field (1.0 when absent)."""
    weight = _number(record, "weight")
    if weight is None:
        return 1.0
    if weight <= 0:
        raise DataError(f"field 'weight' is {weight!r}; expected a number > 0")
    return weight


def _count(value: Any) -> str:
    """'N values' for a list, else the type, for error messages."""
    if isinstance(value, list):
        return f"{len(value)} values"
    return f"a {type(value).__name__}"


def _split_implicit_prompt(chosen: Any, rejected: Any) -> tuple[Any, Any, Any]:
    """Split full chosen/rejected conversations (or texts) at their shared prompt."""
    if chosen == rejected:
        raise DataError("fields 'chosen' and 'rejected' are identical")
    if isinstance(chosen, list) and isinstance(rejected, list):
        n = _common_prefix_length(chosen, rejected)
    elif isinstance(chosen, str) and isinstance(rejected, str):
        n = _text_split_point(chosen, rejected)
    else:
        raise DataError(
            "field 'prompt' is missing, so 'chosen' and 'rejected' must both be "
            "strings or both lists of messages"
        )
    if n == 0:
        raise DataError(
            "field 'prompt' is missing and 'chosen'/'rejected' share no prompt; "
            "expected a 'prompt' field or conversations with a common start"
        )
    return chosen[:n], chosen[n:], rejected[n:]


def _common_prefix_length(a: Sequence[Any], b: Sequence[Any]) -> int:
    """How many leading items `a` and `b` share."""
    n = 0
    while n < min(len(a), len(b)) and a[n] == b[n]:
        n += 1
    return n


def _text_split_point(chosen: str, rejected: str) -> int:
    """Where the shared text ends, moved back to a space so no word is cut in two."""
    n = _common_prefix_length(chosen, rejected)
    at_boundary = n in (len(chosen), len(rejected)) or (
        chosen[n].isspace() or rejected[n].isspace()
    )
    if at_boundary:
        return n
    # The completion keeps the space in front of its first word, as TRL does.
    spaces = [i for i in range(n) if chosen[i].isspace()]
    return spaces[-1] if spaces else 0
