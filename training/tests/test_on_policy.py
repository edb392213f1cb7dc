"""On-policy data: sampled outputs keep their tokens from generation to training."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from annotate.models import Candidate
from training import services
from training.core.batching import (
    encode_prompt,
    encode_prompt_completion,
    encoding_fingerprint,
    tokenizer_fingerprint,
)
from training.core.data import RankingExample
from training.core.groups import encode_rankings
from training.tests.fixtures_rounds import QUICK, add_rankings, drain


def _ranking(tokenizer: Any, ids: tuple[int, ...], fingerprint: str) -> RankingExample:
    return RankingExample(
        "Say hi.",
        [" two", " Hello."],
        [1, 2],
        completion_token_ids=(ids, None),
        tokenizer=fingerprint,
    )


@pytest.mark.parametrize("chat_template", ["auto", "never"])
def test_sampled_tokens_are_trained_on_as_sampled(
    tokenizer: Any, chat_template: str
) -> None:
    # Tokens a model could sample for " two" but that re-tokenising the text would
    # never give: one byte-level token per character, and no EOS (cut off).
    sampled = tuple(tokenizer.convert_tokens_to_ids(list("Ġtwo")))
    assert list(sampled) != tokenizer(" two", add_special_tokens=False)["input_ids"]
    fingerprint = encoding_fingerprint(tokenizer, chat_template=chat_template)
    group = encode_rankings(
        tokenizer,
        [_ranking(tokenizer, sampled, fingerprint)],
        max_length=64,
        chat_template=chat_template,
    )[0]
    first_ids, first_mask = group.encodings[0]
    # They follow the prompt generation sampled them after.
    prompt = encode_prompt(tokenizer, "Say hi.", chat_template=chat_template)
    assert first_ids == prompt + list(sampled)
    assert first_mask == [0] * len(prompt) + [1] * len(sampled)
    # The written output (no sampled tokens) is tokenised from its text, with EOS.
    second_ids, second_mask = group.encodings[1]
    expected = encode_prompt_completion(
        tokenizer, "Say hi.", " Hello.", chat_template=chat_template, max_length=64
    )
    assert (second_ids, second_mask) == expected


@pytest.mark.parametrize(
    "label",
    [
        "another-tokenizer",
        # Sampled after the templated prompt: a reply, not the raw text's sequel.
        "templated",
        # The vocabulary alone: the rendering they were sampled under is unknown.
        "vocabulary",
    ],
)
def test_tokens_of_another_encoding_are_not_used(tokenizer: Any, label: str) -> None:
    if label == "templated":
        label = encoding_fingerprint(tokenizer, chat_template="auto")
    elif label == "vocabulary":
        label = tokenizer_fingerprint(tokenizer)
    group = encode_rankings(
        tokenizer,
        [_ranking(tokenizer, (5, 6, 7), label)],
        max_length=64,
        chat_template="never",
    )[0]
    expected = encode_prompt_completion(
        tokenizer, "Say hi.", " two", chat_template="never", max_length=64
    )
    assert group.encodings[0] == expected


def test_encoding_fingerprint_names_the_rendering_of_plain_prompts(
    tiny_model_dir: Path,
) -> None:
    from training.core.models import load_tokenizer

    tokenizer = load_tokenizer(tiny_model_dir)
    raw = encoding_fingerprint(tokenizer, chat_template="never")
    assert encoding_fingerprint(tokenizer, chat_template="auto") != raw
    # The vocabulary's hash alone does not say how prompts rendered: it matches none.
    assert tokenizer_fingerprint(tokenizer) not in {
        raw,
        encoding_fingerprint(tokenizer, chat_template="auto"),
    }
    tokenizer.chat_template = None  # auto on a tokenizer without one: raw text
    assert encoding_fingerprint(tokenizer, chat_template="auto") == raw


def test_fingerprint_is_stable_across_loads_and_differs_between_tokenizers(
    tiny_model_dir: Path, tmp_path: Path
) -> None:
    from training.core.models import build_tiny_model, load_tokenizer

    first = tokenizer_fingerprint(load_tokenizer(tiny_model_dir))
    second = load_tokenizer(tiny_model_dir)
    second("padded", padding="max_length", max_length=12)  # run-time settings
    assert tokenizer_fingerprint(second) == first
    other = build_tiny_model(tmp_path / "other", texts=["Completely different text."])
    assert tokenizer_fingerprint(load_tokenizer(other)) != first


@pytest.mark.django_db(transaction=True)
def test_a_rounds_outputs_keep_their_tokens_into_the_next_snapshot(
    ranked_project, queued, lead, other_annotator
) -> None:
    project = ranked_project(n_fresh=3)
    request = services.LaunchRequest(algorithm="dpo", **QUICK)
    first = services.round_launch(project=project, request=request, launched_by=lead)
    assert drain(queued) == ["succeeded"] * 4
    first.refresh_from_db()
    generated = Candidate.objects.filter(source="round-1")
    assert generated.count() == len(first.prompt_ids) * 3 >= 6
    for candidate in generated:
        assert candidate.token_ids and candidate.tokenizer
    # The next round's snapshot carries them beside the text.
    add_rankings(project, other_annotator, 0)  # ranks every open task, round 1's too
    services.round_launch(
        project=project,
        request=services.LaunchRequest(
            algorithm="dpo", new_prompts=["Another prompt"], **QUICK
        ),
        launched_by=lead,
    )
    queued.clear()
    second = project.rounds.exclude(pk=first.pk).get()
    from training.steps import write_snapshot

    records = [
        json.loads(line)
        for line in write_snapshot(second).read_text().splitlines()
        if line
    ]
    with_tokens = [r for r in records if "completion_token_ids" in r]
    assert len(with_tokens) == len(first.prompt_ids)  # round 1 generated for them
    sampled = [c.token_ids for c in generated]
    for record in with_tokens:
        ids = [i for i in record["completion_token_ids"] if i is not None]
        assert len(ids) == 3 and all(i in sampled for i in ids)
        assert record["tokenizer"] == generated[0].tokenizer


@pytest.mark.django_db(transaction=True)
def test_an_online_dpo_round_states_its_mix_in_the_snapshot(
    ranked_project, queued, lead
) -> None:
    project = ranked_project()
    policy = {**QUICK["policy_settings"], "online_samples": 3}
    policy |= {"online_max_new_tokens": 8, "online_pair_weight": 0.5}
    request = services.LaunchRequest(
        algorithm="dpo", **{**QUICK, "policy_settings": policy}
    )
    round_ = services.round_launch(project=project, request=request, launched_by=lead)
    assert drain(queued) == ["succeeded"] * 4
    round_.refresh_from_db()
    assert round_.snapshot is not None
    mix = round_.snapshot.details["policy_training"]
    assert mix["human_rankings"] == 6  # the fixture's six ranked prompts
    assert 1 <= mix["online_pairs"] <= 6  # one per prompt whose samples differ
    assert mix["online_samples_per_prompt"] == 3
    assert mix["online_pair_weight"] == 0.5


def test_degenerate_outputs_are_not_queued() -> None:
    from training.steps import SampledOutput, usable_outputs

    def output(text: str, first_id: int) -> SampledOutput:
        return SampledOutput(text, (first_id, 2), "tok")

    outputs = [
        output(" A fine answer.", 10),
        output("", 11),  # empty
        output(" \n\t ", 12),  # only whitespace
        output("\x00\x07\u200b", 13),  # only control and format characters
        output(" A fine\x00 answer.", 14),  # the first once cleaned: a duplicate
        output(" Another answer.", 15),
    ]
    kept = usable_outputs(outputs)
    assert [o.token_ids[0] for o in kept] == [10, 15]
