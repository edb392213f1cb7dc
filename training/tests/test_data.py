"""Reading every TRL record format, and the messages bad data must produce."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from training.core.data import (
    DataError,
    DemoExample,
    PairExample,
    PromptExample,
    RankingExample,
    UnpairedExample,
    as_rankings,
    detect_kind,
    load_examples,
    load_pairs,
    load_rankings,
    rankings_to_pairs,
)

Writer = Callable[..., Path]
USER = [{"role": "user", "content": "Hi?"}]
HELLO = [{"role": "assistant", "content": "Hello!"}]
BYE = [{"role": "assistant", "content": "Bye."}]
RANKING = {"prompt": "p", "completions": ["a", "b", "c"], "ranks": [2, 1, 3]}


def test_standard_pairs_with_margin_and_weight(write_jsonl: Writer) -> None:
    path = write_jsonl(
        [
            {"prompt": "Q", "chosen": " good", "rejected": " bad", "margin": 2},
            {"prompt": "Q2", "chosen": "y", "rejected": "n", "weight": 0.5, "id": 7},
        ]
    )
    assert load_examples(path, "pairs") == [
        PairExample("Q", " good", " bad", margin=2.0),
        PairExample("Q2", "y", "n", weight=0.5),
    ]


def test_conversational_pairs(write_jsonl: Writer) -> None:
    path = write_jsonl([{"prompt": USER, "chosen": HELLO, "rejected": BYE}])
    assert load_examples(path) == [PairExample(USER, HELLO, BYE)]


def test_implicit_prompt_conversational_pairs(write_jsonl: Writer) -> None:
    path = write_jsonl([{"chosen": USER + HELLO, "rejected": USER + BYE}])
    assert load_examples(path, "pairs") == [PairExample(USER, HELLO, BYE)]


def test_implicit_prompt_hh_style_text_splits_at_a_space(write_jsonl: Writer) -> None:
    prompt = "\n\nHuman: Name a colour.\n\nAssistant:"
    path = write_jsonl([{"chosen": prompt + " Blue.", "rejected": prompt + " Bleh."}])
    assert load_examples(path) == [PairExample(prompt, " Blue.", " Bleh.")]


def test_rankings_and_their_pairs(write_jsonl: Writer) -> None:
    tied = {"prompt": "t", "completions": ["x", "y", "z"], "ranks": [1, 1, 2]}
    rankings = load_examples(write_jsonl([RANKING, tied]), "rankings")
    assert rankings[0] == RankingExample("p", ["a", "b", "c"], [2, 1, 3])
    pairs = rankings_to_pairs(rankings)
    assert [(p.chosen, p.rejected) for p in pairs] == [
        ("b", "a"),
        ("a", "c"),
        ("b", "c"),
        ("x", "z"),
        ("y", "z"),
    ]
    assert [p.weight for p in pairs] == pytest.approx([1 / 3] * 3 + [1 / 2] * 2)
    gaps = [p.margin for p in rankings_to_pairs(rankings, margin_from_ranks=True)]
    assert gaps == [1.0, 1.0, 2.0, 1.0, 1.0]


def test_conversational_rankings(write_jsonl: Writer) -> None:
    record = {"prompt": USER, "completions": [HELLO, BYE], "ranks": [1, 2]}
    [ranking] = load_examples(write_jsonl([record]))
    assert ranking == RankingExample(USER, [HELLO, BYE], [1, 2])


def test_pairs_read_as_rankings_and_back(write_jsonl: Writer) -> None:
    pair = PairExample("Q", "good", "bad", weight=2.0)
    assert as_rankings([pair]) == [RankingExample("Q", ["good", "bad"], [1, 2], 2.0)]
    path = write_jsonl([{"prompt": "Q", "chosen": "good", "rejected": "bad"}])
    assert load_rankings(path) == [RankingExample("Q", ["good", "bad"], [1, 2])]
    assert len(load_pairs(write_jsonl([RANKING], "r.jsonl"))) == 3


def test_unpaired_prompts_and_demos(write_jsonl: Writer) -> None:
    unpaired = {"prompt": USER, "completion": HELLO, "label": False}
    assert load_examples(write_jsonl([unpaired])) == [
        UnpairedExample(USER, HELLO, False)
    ]
    assert load_examples(write_jsonl([{"prompt": "Go"}])) == [PromptExample("Go")]
    demo = {"prompt": "2+2?", "completion": " 4"}
    assert load_examples(write_jsonl([demo])) == [DemoExample("2+2?", " 4")]


@pytest.mark.parametrize(
    ("record", "kind"),
    [
        (RANKING, "rankings"),
        ({"prompt": "p", "chosen": "a", "rejected": "b"}, "pairs"),
        ({"chosen": "a", "rejected": "b"}, "pairs"),
        ({"prompt": "p", "completion": "a", "label": True}, "unpaired"),
        ({"prompt": "p", "completion": "a"}, "demos"),
        ({"prompt": "p", "completion": None}, "prompts"),
    ],
)
def test_detect_kind(record: dict[str, Any], kind: str) -> None:
    assert detect_kind(record) == kind


def test_parquet_file(tmp_path: Path) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    rows = [
        {"prompt": USER, "chosen": HELLO, "rejected": BYE, "margin": None},
        {"prompt": USER, "chosen": BYE, "rejected": HELLO, "margin": 1.5},
    ]
    pq.write_table(pa.Table.from_pylist(rows), tmp_path / "pairs.parquet")
    assert load_examples(tmp_path / "pairs.parquet") == [
        PairExample(USER, HELLO, BYE),
        PairExample(USER, BYE, HELLO, margin=1.5),
    ]


def test_datasets_folder_train_split_or_only_split(tmp_path: Path) -> None:
    from datasets import Dataset, DatasetDict

    train = Dataset.from_list([RANKING])
    other = Dataset.from_list([{"prompt": "held out"}])
    DatasetDict({"train": train, "test": other}).save_to_disk(tmp_path / "dd")
    DatasetDict({"test": other}).save_to_disk(tmp_path / "only")
    train.save_to_disk(tmp_path / "plain")
    assert load_examples(tmp_path / "dd")[0].ranks == [2, 1, 3]
    assert load_examples(tmp_path / "only") == [PromptExample("held out")]
    assert len(load_examples(tmp_path / "plain", "rankings")) == 1


def _bad_rows(write_jsonl: Writer, bad: dict[str, Any], name: str, row: int) -> str:
    # Good rows before the bad one so the row number is really counted.
    good = [RANKING] * (row - 1)
    with pytest.raises(DataError) as err:
        load_examples(write_jsonl([*good, bad], name))
    return str(err.value)


def test_ranks_count_mismatch_names_file_row_field(write_jsonl: Writer) -> None:
    bad = {"prompt": "p", "completions": ["a", "b", "c", "d"], "ranks": [1, 2, 3]}
    message = _bad_rows(write_jsonl, bad, "rankings.jsonl", 7)
    assert message.endswith(
        "rankings.jsonl row 7: field 'ranks' has 3 values but 'completions' has 4"
    )


@pytest.mark.parametrize(
    ("bad", "expected"),
    [
        (
            {"prompt": "p", "completions": ["a"], "ranks": [1]},
            "field 'completions' has 1 values; expected a list of 2 to 9",
        ),
        (
            {"prompt": "p", "completions": list("abcdefghij"), "ranks": [1] * 10},
            "field 'completions' has 10 values",
        ),
        (
            {"prompt": "p", "completions": ["a", "b"], "ranks": [1, 0]},
            "field 'ranks' value 2 is 0; expected a whole number >= 1",
        ),
        (
            {"prompt": "p", "completions": ["a", "b"], "ranks": [1, "x"]},
            "field 'ranks' value 2 is 'x'",
        ),
        (
            {"prompt": "", "completions": ["a", "b"], "ranks": [1, 2]},
            "field 'prompt' is empty",
        ),
        (
            {"prompt": "p", "completions": ["a", 3], "ranks": [1, 2]},
            "field 'completions[1]' is int; expected a string",
        ),
        (
            {"prompt": "p", "completions": ["a", "b"], "ranks": [1, 2], "weight": -1},
            "field 'weight' is -1.0; expected a number > 0",
        ),
        (
            {"prompt": USER, "completions": ["a", "b"], "ranks": [1, 2]},
            "field 'completions[0]' is a string but 'prompt' is a list of messages",
        ),
        (
            {"prompt": "p", "completions": ["a", "b"]},
            "missing field 'ranks' (a rankings record needs prompt, completions, "
            "ranks)",
        ),
        (
            {**RANKING, "completion_token_ids": [[1], None], "tokenizer": "t"},
            "field 'completion_token_ids' has 2 values; expected 3",
        ),
        (
            {**RANKING, "completion_token_ids": [[1], None, [2]]},
            "field 'tokenizer' is missing",
        ),
        (
            {**RANKING, "completion_token_ids": [[1], [], None], "tokenizer": "t"},
            "field 'completion_token_ids[1]' is not a non-empty list of token ids",
        ),
        (
            {**RANKING, "completion_token_ids": [[1], ["x"], None], "tokenizer": "t"},
            "field 'completion_token_ids[1]' is not a non-empty list of token ids",
        ),
    ],
)
def test_bad_ranking_rows(write_jsonl: Writer, bad: dict, expected: str) -> None:
    message = _bad_rows(write_jsonl, bad, "r.jsonl", 3)
    assert f"r.jsonl row 3: {expected}" in message


@pytest.mark.parametrize(
    ("bad", "kind", "expected"),
    [
        ({"prompt": "p", "chosen": "a"}, "pairs", "missing field 'rejected'"),
        (
            {"prompt": USER, "chosen": HELLO, "rejected": "no"},
            "pairs",
            "field 'rejected' is a string but 'prompt' is a list of messages",
        ),
        (
            {"prompt": USER, "chosen": USER, "rejected": BYE},
            "pairs",
            "field 'chosen' starts with a 'user' message; expected the assistant's",
        ),
        (
            {"prompt": [{"role": "user"}], "chosen": HELLO, "rejected": BYE},
            "pairs",
            "field 'prompt' message 1 has no string 'content'",
        ),
        (
            {"prompt": "p", "chosen": "a", "rejected": "b", "margin": "big"},
            "pairs",
            "field 'margin' is 'big'; expected a number",
        ),
        (
            {"chosen": "Hello", "rejected": "Goodbye"},
            "pairs",
            "field 'prompt' is missing and 'chosen'/'rejected' share no prompt",
        ),
        (
            {"chosen": "same", "rejected": "same"},
            "pairs",
            "fields 'chosen' and 'rejected' are identical",
        ),
        (
            {"prompt": "p", "completion": "a", "label": 1},
            "unpaired",
            "field 'label' is 1; expected true or false",
        ),
        ({"prompt": "p"}, "demos", "missing field 'completion'"),
        ({"prompt": 5}, "prompts", "field 'prompt' is int"),
    ],
)
def test_bad_rows_of_other_kinds(
    write_jsonl: Writer, bad: dict, kind: str, expected: str
) -> None:
    path = write_jsonl(["", bad], "x.jsonl")  # a blank first line still counts
    with pytest.raises(DataError, match="x.jsonl row 2: ") as err:
        load_examples(path, kind)
    assert expected in str(err.value)


def test_every_bad_row_is_reported_before_training(write_jsonl: Writer) -> None:
    rows = [RANKING, {"prompt": "p"}, RANKING, {"prompt": "p"}]
    with pytest.raises(DataError) as err:
        load_examples(write_jsonl(rows), "rankings")
    assert "row 2:" in str(err.value) and "row 4:" in str(err.value)


def test_file_level_errors(tmp_path: Path, write_jsonl: Writer) -> None:
    with pytest.raises(DataError, match="missing.jsonl: no such file"):
        load_examples(tmp_path / "missing.jsonl")
    (tmp_path / "data.csv").write_text("prompt\nhi\n")
    with pytest.raises(DataError, match="unknown extension '.csv'; expected .jsonl"):
        load_examples(tmp_path / "data.csv")
    (tmp_path / "empty.jsonl").write_text("\n")
    with pytest.raises(DataError, match="empty.jsonl: no records"):
        load_examples(tmp_path / "empty.jsonl")
    path = write_jsonl([RANKING, '{"prompt": "p",'], "broken.jsonl")
    with pytest.raises(DataError, match="broken.jsonl row 2: invalid JSON"):
        load_examples(path)
    with pytest.raises(DataError, match="row 1: expected an object, got list"):
        load_examples(write_jsonl([[1, 2]], "list.jsonl"))
    with pytest.raises(DataError, match="row 1: cannot tell the record kind"):
        load_examples(write_jsonl([{"text": "hi"}], "text.jsonl"))


def test_jsonl_lines_end_at_newline_only(tmp_path: Path) -> None:
    path = tmp_path / "r.jsonl"
    record = {**RANKING, "completions": ["a\u2028b", "c\x85d", "e\u2029f"]}
    path.write_text(json.dumps(record, ensure_ascii=False) + "\r\n", encoding="utf-8")
    (ranking,) = load_examples(path)
    assert ranking.completions == ["a\u2028b", "c\x85d", "e\u2029f"]
