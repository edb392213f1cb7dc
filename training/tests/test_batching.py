"""Encoding prompt + completion, truncation and padding."""

from __future__ import annotations

from typing import Any

import pytest
import torch

from training.core.batching import (
    collate,
    encode_prompt,
    encode_prompt_completion,
    last_token_index,
    length_buckets,
    position_ids_from_mask,
    share_prompts,
    truncate_pair,
)
from training.core.models import train_tokenizer
from training.tests.conftest import SAMPLE_TEXTS

USER = [{"role": "user", "content": "What is two plus two?"}]
REPLY = [{"role": "assistant", "content": "Four."}]
# Qwen 2.5's ChatML turns: no BOS, EOS <|im_end|>, and a newline after every turn.
CHATML = (
    "{% for m in messages %}<|im_start|>{{ m['role'] }}\n{{ m['content'] }}"
    "<|im_end|>\n{% endfor %}"
    "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)
# Llama 3's turns: the template writes BOS, EOS is the end-of-turn <|eot_id|>.
LLAMA3 = (
    "{{ bos_token }}{% for m in messages %}<|start_header_id|>{{ m['role'] }}"
    "<|end_header_id|>\n\n{{ m['content'] }}<|eot_id|>{% endfor %}"
    "{% if add_generation_prompt %}<|start_header_id|>assistant<|end_header_id|>"
    "\n\n{% endif %}"
)


def _styled_tokenizer(style: str) -> Any:
    """The tests' byte-level BPE with Qwen's or Llama 3's chat turns and EOS."""
    tokenizer = train_tokenizer(SAMPLE_TEXTS, vocab_size=400)
    if style == "qwen":
        markers, eos, template = ["<|im_start|>"], "<|im_end|>", CHATML
    else:
        markers, eos = ["<|start_header_id|>", "<|end_header_id|>"], "<|eot_id|>"
        template = LLAMA3
        tokenizer.pad_token = None  # Llama 3 ships without one
    tokenizer.add_special_tokens(
        {"eos_token": eos, "additional_special_tokens": markers}
    )
    tokenizer.chat_template = template
    return tokenizer


@pytest.mark.parametrize("style", ["qwen", "llama3"])
def test_plain_prompt_under_auto_encodes_as_one_user_turn(style: str) -> None:
    tokenizer = _styled_tokenizer(style)
    plain = encode_prompt_completion(
        tokenizer, "Say hi.", " Hi!", chat_template="auto", max_length=64
    )
    messages = [{"role": "user", "content": "Say hi."}]
    reply = [{"role": "assistant", "content": "Hi!"}]
    as_chat = encode_prompt_completion(
        tokenizer, messages, reply, chat_template="auto", max_length=64
    )
    assert plain == as_chat
    ids, mask = plain
    prompt = [t for t, m in zip(ids, mask, strict=True) if not m]
    completion = [t for t, m in zip(ids, mask, strict=True) if m]
    rendered = tokenizer.apply_chat_template(
        messages, tokenize=False, add_generation_prompt=True
    )
    assert tokenizer.decode(prompt) == rendered
    assert encode_prompt(tokenizer, "Say hi.", chat_template="auto") == prompt
    # The reply and its EOS only: not the joining space, not ChatML's newline after.
    assert tokenizer.decode(completion) == "Hi!" + tokenizer.eos_token
    assert completion[-1] == tokenizer.eos_token_id
    if style == "llama3":
        assert ids[0] == tokenizer.bos_token_id
        assert ids.count(tokenizer.bos_token_id) == 1  # the template's, no second


@pytest.mark.parametrize("style", ["qwen", "llama3"])
def test_plain_prompt_under_never_is_raw_text(style: str) -> None:
    tokenizer = _styled_tokenizer(style)
    ids, mask = encode_prompt_completion(
        tokenizer, "Say hi.", " Hi!", chat_template="never", max_length=64
    )
    prompt = tokenizer("Say hi.")["input_ids"]
    reply = tokenizer(" Hi!", add_special_tokens=False)["input_ids"]
    assert ids == [*prompt, *reply, tokenizer.eos_token_id]
    assert mask == [0] * len(prompt) + [1] * (len(reply) + 1)
    assert tokenizer.decode(ids) == "<s>Say hi. Hi!" + tokenizer.eos_token


def test_auto_without_a_template_is_raw_text(tokenizer: Any) -> None:
    bare = train_tokenizer(SAMPLE_TEXTS, vocab_size=400)
    bare.chat_template = None
    encodings = [
        encode_prompt_completion(
            bare, "Say hi.", " Hi!", chat_template=setting, max_length=64
        )
        for setting in ("auto", "never")
    ]
    assert encodings[0] == encodings[1]
    with pytest.raises(ValueError, match="chat_template: expected one of auto, never"):
        encode_prompt(tokenizer, "Say hi.", chat_template="always")


def test_standard_prompt_completion_masks_prompt(tokenizer: Any) -> None:
    ids, mask = encode_prompt_completion(
        tokenizer, "Say hi.", " Hi!", chat_template="never", max_length=64
    )
    prompt = encode_prompt(tokenizer, "Say hi.", chat_template="never")
    assert ids[: len(prompt)] == prompt and prompt[0] == tokenizer.bos_token_id
    assert mask == [0] * len(prompt) + [1] * (len(ids) - len(prompt))
    assert ids[-1] == tokenizer.eos_token_id
    completion = [t for t, m in zip(ids, mask, strict=True) if m]
    assert tokenizer.decode(completion, skip_special_tokens=True) == " Hi!"


def test_conversational_uses_chat_template(tokenizer: Any) -> None:
    # Messages take the template whatever the setting says about plain prompts.
    ids, mask = encode_prompt_completion(
        tokenizer, USER, REPLY, chat_template="never", max_length=64
    )
    full = tokenizer.apply_chat_template(USER + REPLY, tokenize=False)
    assert tokenizer.decode(ids) == full
    completion = [t for t, m in zip(ids, mask, strict=True) if m]
    assert tokenizer.decode(completion) == "Four." + tokenizer.eos_token
    prompt = [t for t, m in zip(ids, mask, strict=True) if not m]
    assert tokenizer.decode(prompt).endswith("<|assistant|>\n")


def test_truncation_keeps_prompt_end_and_completion_start() -> None:
    bos = 1
    prompt, completion = [bos, 10, 11, 12, 13, 14], [20, 21, 22, 23]
    assert truncate_pair(prompt, completion, 8, bos) == ([bos, 12, 13, 14], completion)
    # A long completion still leaves half the budget to the prompt's end.
    long = list(range(20, 40))
    kept_prompt, kept_completion = truncate_pair(prompt, long, 8, bos)
    assert kept_prompt == [bos, 12, 13, 14] and kept_completion == long[:4]
    assert truncate_pair(prompt, completion, 100, bos) == (prompt, completion)


def test_encode_respects_max_length(tokenizer: Any) -> None:
    ids, mask = encode_prompt_completion(
        tokenizer, "word " * 50, " answer " * 50, chat_template="never", max_length=32
    )
    assert len(ids) == len(mask) == 32
    assert ids[0] == tokenizer.bos_token_id and sum(mask) == 16


def test_collate_pads_right_or_left() -> None:
    encodings = [([5, 6, 7], [0, 1, 1]), ([8], [0])]
    right = collate(encodings, pad_token_id=0)
    assert right.input_ids.tolist() == [[5, 6, 7], [8, 0, 0]]
    assert right.attention_mask.tolist() == [[1, 1, 1], [1, 0, 0]]
    assert right.completion_mask.tolist() == [[0, 1, 1], [0, 0, 0]]
    left = collate(encodings, pad_token_id=0, padding_side="left")
    assert left.input_ids.tolist() == [[5, 6, 7], [0, 0, 8]]
    assert left.attention_mask.tolist() == [[1, 1, 1], [0, 0, 1]]
    assert len(left) == 2


def test_positions_and_last_token_ignore_padding() -> None:
    mask = torch.tensor([[0, 0, 1, 1], [1, 1, 1, 0]])
    assert position_ids_from_mask(mask).tolist() == [[0, 0, 0, 1], [0, 1, 2, 2]]
    assert last_token_index(mask).tolist() == [3, 2]


def test_share_prompts_splits_before_each_prompts_last_token() -> None:
    # Rows 0 and 2 share prompt [5, 6, 7]; row 1 has prompt [5, 8]. 0 = padding.
    encodings = [
        ([5, 6, 7, 1, 2], [0, 0, 0, 1, 1]),
        ([5, 8, 3], [0, 0, 1]),
        ([5, 6, 7, 4], [0, 0, 0, 1]),
    ]
    for side in ("right", "left"):
        shared = share_prompts(collate(encodings, pad_token_id=0, padding_side=side))
        assert shared is not None
        prefixes = [
            [t for t, m in zip(ids, mask, strict=True) if m]
            for ids, mask in zip(
                shared.prefix_ids.tolist(), shared.prefix_mask.tolist(), strict=True
            )
        ]
        assert sorted(prefixes) == [[5], [5, 6]]
        rows = [prefixes[i] for i in shared.prefix_of_row.tolist()]
        assert rows == [[5, 6], [5], [5, 6]]
        assert shared.suffix_start.tolist() == [2, 1, 2]
        suffixes = shared.suffix_ids * shared.suffix_mask
        assert suffixes.tolist() == [[7, 1, 2], [8, 3, 0], [7, 4, 0]]
        assert shared.suffix_targets.tolist() == [[0, 1, 1], [0, 1, 0], [0, 1, 0]]


def test_share_prompts_is_none_without_a_repeated_prompt() -> None:
    batch = collate([([5, 6, 1], [0, 0, 1]), ([4, 6, 2], [0, 0, 1])], pad_token_id=0)
    assert share_prompts(batch) is None


def test_length_buckets_split_only_where_padding_saved_pays() -> None:
    # Budget 0.1 * 4 rows * 10 = 4 tokens. Cutting [10, 9, 3, 2] before 3 saves
    # 2 * (10 - 3) = 14; inside either half a cut saves 1 token only.
    assert length_buckets([10, 9, 3, 2]) == [(0, 2), (2, 4)]
    assert length_buckets([10, 10, 9, 9]) == [(0, 4)]  # best cut saves 2 < 4
    assert length_buckets([7]) == [(0, 1)]
