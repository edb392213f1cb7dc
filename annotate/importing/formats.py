"""Records of each import format → what to store: a prompt, its outputs, a verdict.

No database here. TRL-shaped records go through the trainer's own validators
(`training.core.data`), so a file the trainer reads is a file rankwise imports, with
the same messages; HH-RLHF and UltraFeedback records are parsed here. Every string of
a record is first cleaned by annotate.text's rule, so the checks (blank, repeated
outputs) judge the text that will be stored.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any

from annotate import limits
from annotate.models import K_MAX, LIKERT_MAX, LIKERT_MIN, Annotation, Candidate
from annotate.text import NOTHING_READABLE, clean_json, is_blank
from training.core.data import PARSERS, DataError, Text

# Sources with no rating get the scale's midpoint: pairs expand with a Likert gap of
# 0, and the unpaired export reads it as neither good nor bad.
UNRATED_LIKERT = (LIKERT_MIN + LIKERT_MAX) // 2
HH_TURN = re.compile(r"\n\n(Human|Assistant):")
HH_ROLES = {"Human": "user", "Assistant": "assistant"}
ASPECT_SCALE = (1.0, 5.0)  # UltraFeedback's per-aspect ratings
OVERALL_SCALE = (1.0, 10.0)  # UltraFeedback's critique `overall_score`
# Where a format's prompt comes from, when not from 'prompt' or 'messages'.
PROMPT_FIELDS = {"ultrafeedback": "instruction", "hh-rlhf": "chosen"}
MODEL_NAME_CHARS = int(Candidate._meta.get_field("source").max_length or 0)
ANNOTATOR_CHARS = int(Annotation._meta.get_field("import_annotator").max_length or 0)


@dataclass(frozen=True)
class Output:
    """One model output to store as a candidate of the prompt."""

    text: str
    source: str


@dataclass(frozen=True)
class Verdict:
    """An output's place in an imported judgement: rank bucket (1 = best), rating,
    and the flags ticked (or answered Yes) and answered No, when the data has them."""

    rank: int
    likert: int
    flags: tuple[str, ...] = ()
    flags_no: tuple[str, ...] = ()


@dataclass(frozen=True)
class Item:
    """One record: a prompt, its outputs, and their judgement if the data has one."""

    prompt: Text
    outputs: tuple[Output, ...]
    verdicts: tuple[Verdict, ...] | None = None  # aligned with outputs
    # Kept with a judgement: who made it (an export's pseudonymous annotator, so two
    # people's identical rankings stay two) and TRL's margin and weight columns.
    annotator: str = ""
    margin: float | None = None
    weight: float | None = None
    # The judgement becomes its prompt's gold reference (annotate.quality).
    gold: bool = False
    # The prompt checklist's answers (a rankwise rankings export carries them).
    prompt_flags: tuple[str, ...] = ()
    prompt_flags_no: tuple[str, ...] = ()


def detect_format(record: Any) -> str:
    """The import format told by which fields the (first) record has."""
    if not isinstance(record, dict):
        raise DataError(f"expected an object, got {type(record).__name__}")
    record = clean_json(record)
    present = set(_present(record))
    if {"instruction", "completions"} <= present:
        return "ultrafeedback"
    if {"completions", "ranks"} <= present:
        return "rankings"
    if {"chosen", "rejected"} <= present:
        return "hh-rlhf" if _is_hh_record(record) else "trl"
    if {"completion", "label"} <= present:
        return "trl-unpaired"
    if "completions" in present:
        return "candidates"
    if present & {"prompt", "messages"}:
        return "prompts"
    raise DataError(
        f"cannot tell the format from fields {sorted(present)}; expected prompt or "
        "messages (prompts), prompt+completions (candidates), prompt+chosen+rejected "
        "(trl), chosen+rejected transcripts (hh-rlhf), prompt+completion+label "
        "(trl-unpaired), instruction+completions (ultrafeedback) or "
        "prompt+completions+ranks (rankings)"
    )


def parse_record(fmt: str, record: Any) -> Item:
    """Validate one record of format `fmt`; DataError names the field at fault."""
    if not isinstance(record, dict):
        raise DataError(f"expected an object, got {type(record).__name__}")
    record = _present(clean_json(record))
    item = ITEM_PARSERS[fmt](record, f"import:{fmt}")
    _require_storable_prompt(item.prompt, fmt, record)
    gold = _gold(record, item)
    if item.verdicts is None:
        return item
    return replace(item, annotator=_annotator(record), gold=gold)


def _present(record: dict[str, Any]) -> dict[str, Any]:
    """The record without nulls (Parquet and datasets fill absent columns with None)."""
    return {key: value for key, value in record.items() if value is not None}


def _require_storable_prompt(prompt: Text, fmt: str, record: dict[str, Any]) -> None:
    texts = [prompt] if isinstance(prompt, str) else [m["content"] for m in prompt]
    default = "messages" if "messages" in record else "prompt"
    field = PROMPT_FIELDS.get(fmt, default)
    if all(is_blank(text) for text in texts):
        raise DataError(f"field '{field}' {NOTHING_READABLE}; expected the prompt")
    too_long = limits.PROMPT.error(sum(len(text) for text in texts))
    if too_long:
        raise DataError(f"field '{field}' {too_long}")


def _annotator(record: dict[str, Any]) -> str:
    """The record's `annotator` (an export's pseudonym, or an id), "" when absent."""
    annotator = record.get("annotator", "")
    if isinstance(annotator, int) and not isinstance(annotator, bool):
        annotator = str(annotator)
    if not isinstance(annotator, str):
        raise DataError(
            f"field 'annotator' is {_described(annotator)}; expected the annotator's "
            "pseudonym (a string)"
        )
    annotator = annotator.strip()
    if len(annotator) > ANNOTATOR_CHARS:
        raise DataError(
            f"field 'annotator' has {len(annotator):,} characters; expected a "
            f"pseudonym of at most {ANNOTATOR_CHARS}"
        )
    return annotator


def _gold(record: dict[str, Any], item: Item) -> bool:
    """The record's optional `gold` flag, checked against what a reference needs."""
    gold = record.get("gold", False)
    if not isinstance(gold, bool):
        raise DataError(f"field 'gold' is {_described(gold)}; expected true or false")
    if gold and item.verdicts is None:
        raise DataError(
            "field 'gold' is true on a row without a judgement; expected a ranked "
            "row (rankings, pairs or rated outputs) to be the prompt's reference"
        )
    if gold and len({verdict.rank for verdict in item.verdicts or ()}) < 2:
        raise DataError(
            "field 'gold' is true on a row that ties every output; a reference "
            "needs at least two different ranks"
        )
    return gold


def _given_weight(record: dict[str, Any], weight: float) -> float | None:
    """TRL's per-row weight as the trainer's parser checked it; None when absent."""
    return weight if "weight" in record else None


def _is_hh_record(record: dict[str, Any]) -> bool:
    chosen = record["chosen"]
    return (
        "prompt" not in record
        and isinstance(chosen, str)
        and chosen.lstrip(" ").startswith("\n\nHuman:")
    )


def _with_prompt_from_messages(record: dict[str, Any]) -> dict[str, Any]:
    """Chat prompts may come as `messages`; the trainer's validators read `prompt`."""
    if "messages" not in record:
        return record
    if "prompt" in record:
        raise DataError("fields 'prompt' and 'messages' both given; expected one")
    rest = {key: value for key, value in record.items() if key != "messages"}
    return {**rest, "prompt": record["messages"]}


def _parse_prompts(record: dict[str, Any], source: str) -> Item:
    example = PARSERS["prompts"](_with_prompt_from_messages(record))
    return Item(example.prompt, ())


def _parse_candidates(record: dict[str, Any], source: str) -> Item:
    prompt = PARSERS["prompts"](_with_prompt_from_messages(record)).prompt
    completions = record.get("completions")
    if not isinstance(completions, list) or not 1 <= len(completions) <= K_MAX:
        raise DataError(
            f"field 'completions' is {_described(completions)}; expected a list of "
            f"1 to {K_MAX} outputs"
        )
    outputs = tuple(
        _candidate(item, f"completions[{i}]", source)
        for i, item in enumerate(completions)
    )
    _require_distinct(outputs, [f"completions[{i}]" for i in range(len(outputs))])
    return Item(prompt, outputs)


def _candidate(value: Any, field: str, source: str) -> Output:
    """A string, or an object with `text` and optionally the `model` that wrote it."""
    if isinstance(value, str):
        return _output(value, field, source)
    if not isinstance(value, dict) or not isinstance(value.get("text"), str):
        raise DataError(
            f"field '{field}' is {_described(value)}; expected a string or an "
            'object {"text": ..., "model": ...}'
        )
    return _output(value["text"], f"{field}.text", _model_name(value, field, source))


def _output(text: str, field: str, source: str) -> Output:
    """An output to store; refused when nothing readable is left, or it is too long."""
    if is_blank(text):
        raise DataError(f"field '{field}' {NOTHING_READABLE}; expected the output")
    too_long = limits.OUTPUT.error(len(text))
    if too_long:
        raise DataError(f"field '{field}' {too_long}")
    return Output(text, source)


def _model_name(value: dict[str, Any], field: str, default: str) -> str:
    model = value.get("model", default)
    if not isinstance(model, str) or is_blank(model):
        raise DataError(f"field '{field}.model' is {model!r}; expected a model name")
    if len(model.strip()) > MODEL_NAME_CHARS:
        raise DataError(
            f"field '{field}.model' has {len(model.strip()):,} characters; expected a "
            f"model name of at most {MODEL_NAME_CHARS}"
        )
    return model.strip()


def _parse_trl(record: dict[str, Any], source: str) -> Item:
    pair = PARSERS["pairs"](record)
    outputs = (
        _output(_reply_text(pair.chosen, "chosen"), "chosen", source),
        _output(_reply_text(pair.rejected, "rejected"), "rejected", source),
    )
    _require_distinct(outputs, ["chosen", "rejected"])
    return Item(
        pair.prompt,
        outputs,
        _unrated([1, 2]),
        margin=pair.margin,
        weight=_given_weight(record, pair.weight),
    )


def _parse_unpaired(record: dict[str, Any], source: str) -> Item:
    example = PARSERS["unpaired"](record)
    # A true/false label is the far end of the scale, so exports read it back as is.
    likert = LIKERT_MAX if example.label else LIKERT_MIN
    text = _reply_text(example.completion, "completion")
    output = _output(text, "completion", source)
    return Item(example.prompt, (output,), (Verdict(1, likert),))


def _parse_rankings(record: dict[str, Any], source: str) -> Item:
    ranking = PARSERS["rankings"](record)
    fields = [f"completions[{i}]" for i in range(len(ranking.completions))]
    outputs = tuple(
        _output(_reply_text(text, field), field, source)
        for text, field in zip(ranking.completions, fields, strict=True)
    )
    _require_distinct(outputs, fields)
    ranks = _dense(ranking.ranks)
    likert = _per_output(record, "likert", len(outputs), _rating)
    flags = _per_output(record, "flags", len(outputs), _flag_keys)
    flags_no = _per_output(record, "flags_no", len(outputs), _flag_keys)
    verdicts = tuple(
        Verdict(
            rank,
            UNRATED_LIKERT if likert is None else likert[i],
            () if flags is None else flags[i],
            () if flags_no is None else flags_no[i],
        )
        for i, rank in enumerate(ranks)
    )
    return Item(
        ranking.prompt,
        outputs,
        verdicts,
        weight=_given_weight(record, ranking.weight),
        prompt_flags=_flag_keys(record.get("prompt_flags", []), "prompt_flags"),
        prompt_flags_no=_flag_keys(
            record.get("prompt_flags_no", []), "prompt_flags_no"
        ),
    )


def _per_output(
    record: dict[str, Any],
    field: str,
    count: int,
    parse: Callable[[Any, str], Any],
) -> list[Any] | None:
    """An optional list with one value per completion, each checked by `parse`."""
    values = record.get(field)
    if values is None:
        return None
    if not isinstance(values, list) or len(values) != count:
        raise DataError(
            f"field '{field}' is {_described(values)}; expected one value per "
            f"completion ({count})"
        )
    return [parse(value, f"{field}[{i}]") for i, value in enumerate(values)]


def _rating(value: Any, field: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise DataError(f"field '{field}' is {_described(value)}; expected a rating")
    if not LIKERT_MIN <= value <= LIKERT_MAX:
        raise DataError(
            f"field '{field}' is {value}; expected a rating from {LIKERT_MIN} to "
            f"{LIKERT_MAX}"
        )
    return value


def _flag_keys(value: Any, field: str) -> tuple[str, ...]:
    """A list of flag keys (checked against the project's checklists on writing)."""
    if not isinstance(value, list) or not all(isinstance(k, str) for k in value):
        raise DataError(
            f"field '{field}' is {_described(value)}; expected a list of flag keys"
        )
    return tuple(dict.fromkeys(key.strip() for key in value))


def _parse_hh(record: dict[str, Any], source: str) -> Item:
    """HH-RLHF: two transcripts; the turns they share are the prompt."""
    for field in ("chosen", "rejected"):
        if not isinstance(record.get(field), str):
            raise DataError(
                f"field '{field}' is {_described(record.get(field))}; expected a "
                'transcript of "\\n\\nHuman: …" and "\\n\\nAssistant: …" turns'
            )
    chosen, rejected = _hh_turns(record, "chosen"), _hh_turns(record, "rejected")
    if chosen == rejected:
        raise DataError("fields 'chosen' and 'rejected' are the same transcript")
    shared = 0
    while (
        shared < min(len(chosen), len(rejected)) and chosen[shared] == rejected[shared]
    ):
        shared += 1
    if not shared or chosen[shared - 1]["role"] != "user":
        raise DataError(
            "fields 'chosen' and 'rejected' do not share their turns up to a Human "
            "turn; expected the same conversation with different last replies"
        )
    replies = {"chosen": chosen[shared:], "rejected": rejected[shared:]}
    for field, rest in replies.items():
        if len(rest) != 1:
            raise DataError(
                f"field '{field}' goes on for {len(rest)} turns after the shared "
                "conversation; expected one final Assistant reply"
            )
    outputs = tuple(
        _output(rest[0]["content"], field, source) for field, rest in replies.items()
    )
    return Item(chosen[:shared], outputs, _unrated([1, 2]))


def _hh_turns(record: dict[str, Any], field: str) -> list[dict[str, str]]:
    """'\\n\\nHuman: a\\n\\nAssistant: b' → [{user: a}, {assistant: b}]."""
    head, *pieces = HH_TURN.split(record[field])
    if head.strip() or not pieces:
        raise DataError(
            f"field '{field}' does not start with a \"\\n\\nHuman:\" turn; expected an "
            "HH-RLHF transcript"
        )
    return [
        {"role": HH_ROLES[speaker], "content": text.strip()}
        for speaker, text in zip(pieces[::2], pieces[1::2], strict=True)
    ]


def _parse_ultrafeedback(record: dict[str, Any], source: str) -> Item:
    """UltraFeedback: completions ranked by their overall score, which sets Likert."""
    prompt = record.get("instruction")
    if not isinstance(prompt, str) or not prompt.strip():
        raise DataError(
            f"field 'instruction' is {_described(prompt)}; expected the prompt text"
        )
    completions = record["completions"]
    if not isinstance(completions, list) or not 2 <= len(completions) <= K_MAX:
        raise DataError(
            f"field 'completions' is {_described(completions)}; expected a list of "
            f"2 to {K_MAX} rated completions"
        )
    fields = [f"completions[{i}]" for i in range(len(completions))]
    rated = [_rated_output(c, fields[i], source) for i, c in enumerate(completions)]
    outputs = tuple(output for output, _ in rated)
    _require_distinct(outputs, fields)
    scores = [score for _, score in rated]
    verdicts = tuple(
        Verdict(rank, _likert(score))
        for rank, score in zip(_dense([-s for s in scores]), scores, strict=True)
    )
    return Item(prompt, outputs, verdicts)


def _rated_output(value: Any, field: str, source: str) -> tuple[Output, float]:
    """(output, overall score on 1–7) of one UltraFeedback completion."""
    if not isinstance(value, dict) or not isinstance(value.get("response"), str):
        raise DataError(
            f"field '{field}' is {_described(value)}; expected an object with a "
            "'response' string"
        )
    return (
        _output(
            value["response"], f"{field}.response", _model_name(value, field, source)
        ),
        _overall_score(value, field),
    )


def _overall_score(completion: dict[str, Any], field: str) -> float:
    """Mean of the per-aspect ratings (1–5), else the critique's overall_score (1–10).

    Returned on the Likert scale (1–7) so either kind of score ranks the same way.
    """
    annotations = completion.get("annotations", {})
    if not isinstance(annotations, dict):
        raise DataError(
            f"field '{field}.annotations' is {_described(annotations)}; expected an "
            'object {aspect: {"Rating": …}}'
        )
    ratings = [
        rating
        for aspect, annotation in sorted(annotations.items())
        if (rating := _aspect_rating(annotation, f"{field}.annotations.{aspect}"))
        is not None
    ]
    if ratings:
        return _rescaled(sum(ratings) / len(ratings), ASPECT_SCALE, field)
    overall = completion.get("overall_score")
    if isinstance(overall, int | float) and not isinstance(overall, bool):
        return _rescaled(float(overall), OVERALL_SCALE, f"{field}.overall_score")
    raise DataError(
        f"field '{field}' has no rating; expected 'annotations' with a numeric "
        "'Rating' per aspect, or a numeric 'overall_score'"
    )


def _aspect_rating(annotation: Any, field: str) -> float | None:
    """An aspect's 'Rating' as a number; None where UltraFeedback says "N/A".

    Public copies hold an aspect's annotation as an object or as a list of one.
    """
    if isinstance(annotation, list):
        if len(annotation) != 1:
            raise DataError(
                f"field '{field}' is {_described(annotation)}; expected one "
                'annotation {"Rating": …}, or a list of one'
            )
        annotation, field = annotation[0], f"{field}[0]"
    rating = annotation.get("Rating") if isinstance(annotation, dict) else annotation
    if rating in (None, "N/A"):
        return None
    try:
        value = float(rating)
    except (TypeError, ValueError):
        raise DataError(
            f"field '{field}.Rating' is {rating!r}; expected a number or \"N/A\""
        ) from None
    if not math.isfinite(value):
        raise DataError(f"field '{field}.Rating' is {rating!r}; expected a number")
    return value


def _rescaled(score: float, scale: tuple[float, float], field: str) -> float:
    low, high = scale
    if not low <= score <= high:
        raise DataError(
            f"field '{field}' scores {score:g}; expected {low:g} to {high:g}"
        )
    return LIKERT_MIN + (score - low) * (LIKERT_MAX - LIKERT_MIN) / (high - low)


def _likert(score: float) -> int:
    """The nearest whole rating, halves rounded up."""
    return math.floor(score + 0.5)


def _reply_text(value: Text, field: str) -> str:
    """A completion as text: a string, or a conversational completion of one reply."""
    if isinstance(value, str):
        return value
    if len(value) != 1:
        raise DataError(
            f"field '{field}' has {len(value)} messages; expected one assistant "
            "reply, stored as the output"
        )
    return value[0]["content"]


def _require_distinct(outputs: Sequence[Output], fields: Sequence[str]) -> None:
    """Refuse a record that lists the same output twice: one judgement per output."""
    first_seen: dict[Output, str] = {}
    for output, field in zip(outputs, fields, strict=True):
        if output in first_seen:
            raise DataError(
                f"field '{field}' repeats '{first_seen[output]}'; expected distinct "
                "outputs"
            )
        first_seen[output] = field


def _dense(ranks: Sequence[float]) -> list[int]:
    """Ranks renumbered 1, 2, 3… keeping order and ties: [1, 4, 4] → [1, 2, 2]."""
    position = {value: i for i, value in enumerate(sorted(set(ranks)), start=1)}
    return [position[value] for value in ranks]


def _unrated(ranks: Sequence[int]) -> tuple[Verdict, ...]:
    return tuple(Verdict(rank, UNRATED_LIKERT) for rank in ranks)


def _described(value: Any) -> str:
    """'a list of 3', 'a str', 'missing': for error messages."""
    if value is None:
        return "missing"
    if isinstance(value, list):
        return f"a list of {len(value)}"
    return f"a {type(value).__name__}"


ITEM_PARSERS: dict[str, Callable[[dict[str, Any], str], Item]] = {
    "prompts": _parse_prompts,
    "candidates": _parse_candidates,
    "trl": _parse_trl,
    "trl-unpaired": _parse_unpaired,
    "hh-rlhf": _parse_hh,
    "ultrafeedback": _parse_ultrafeedback,
    "rankings": _parse_rankings,
}
