"""Examples to tensors: encoding, truncation, padding, and the shared-prompt split."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import torch

from training.core.data import Messages, Text
from training.core.train_config import CHAT_TEMPLATES

Encoding = tuple[list[int], list[int]]  # (input_ids, completion_mask)
# A forward of its own must save this share of a batch's padded tokens: below it,
# the extra call's overhead outweighs the padding (measured on the CPU benchmark).
MIN_PADDING_SAVED = 0.1


@dataclass(frozen=True)
class Batch:
    """Padded (B, T) tensors; completion_mask is 1 on completion tokens only."""

    input_ids: torch.Tensor
    attention_mask: torch.Tensor
    completion_mask: torch.Tensor

    def to(self, device: torch.device | str) -> Batch:
        """The same batch on `device`."""
        return Batch(
            self.input_ids.to(device),
            self.attention_mask.to(device),
            self.completion_mask.to(device),
        )

    def rows(self, index: slice) -> Batch:
        """The rows `index` of the batch."""
        return Batch(
            self.input_ids[index],
            self.attention_mask[index],
            self.completion_mask[index],
        )

    def __len__(self) -> int:
        return self.input_ids.shape[0]


def as_reply(prompt: Text, text: str) -> Text:
    """The completion in the prompt's format: text, or one assistant message."""
    return text if isinstance(prompt, str) else [{"role": "assistant", "content": text}]


def encode_exchange(
    tokenizer: Any, prompt: Text, completion: Text | None, *, chat_template: str
) -> tuple[list[int], list[int]]:
    """(prompt ids, completion ids): the one place a prompt and reply become tokens.

    Messages go through the tokenizer's chat template. So does a plain-string prompt
    under chat_template "auto" when the tokenizer has a template, as one user turn
    (its plain completion one assistant turn); otherwise it stays raw text. The
    completion ids end with EOS; None as completion gives the prompt alone, as
    generation continues it.
    """
    if completion is not None and isinstance(prompt, str) != isinstance(
        completion, str
    ):
        raise ValueError("prompt and completion must both be strings or both messages")
    if isinstance(prompt, str) and not templates_plain_text(tokenizer, chat_template):
        return _encode_text(tokenizer, prompt, completion)
    messages = _as_turn("user", prompt)
    reply = None if completion is None else _as_turn("assistant", completion)
    return _encode_chat(tokenizer, messages, reply)


def templates_plain_text(tokenizer: Any, chat_template: str) -> bool:
    """True when plain-string prompts are rendered through the chat template."""
    if chat_template not in CHAT_TEMPLATES:
        raise ValueError(
            f"chat_template: expected one of {', '.join(CHAT_TEMPLATES)}, "
            f"got {chat_template!r}"
        )
    return chat_template == "auto" and bool(getattr(tokenizer, "chat_template", None))


def encode_prompt(
    tokenizer: Any,
    prompt: Text,
    *,
    chat_template: str,
    max_length: int | None = None,
) -> list[int]:
    """Token ids of a prompt as generation continues it, start cut to max_length."""
    ids, _ = encode_exchange(tokenizer, prompt, None, chat_template=chat_template)
    if max_length is not None and len(ids) > max_length:
        ids = _keep_end(ids, max_length, tokenizer.bos_token_id)
    return ids


def encode_prompt_completion(
    tokenizer: Any,
    prompt: Text,
    completion: Text,
    *,
    chat_template: str,
    max_length: int,
    completion_ids: Sequence[int] | None = None,
) -> Encoding:
    """(input_ids, completion_mask) for prompt + completion, truncated to max_length.

    `completion_ids`, when given, are the tokens the completion was sampled as: the
    policy is trained on what it produced, not on a re-tokenisation of its text.
    """
    if completion_ids is None:
        prompt_ids, reply_ids = encode_exchange(
            tokenizer, prompt, completion, chat_template=chat_template
        )
    else:
        prompt_ids = encode_prompt(tokenizer, prompt, chat_template=chat_template)
        reply_ids = list(completion_ids)
    prompt_ids, reply_ids = truncate_pair(
        prompt_ids, reply_ids, max_length, tokenizer.bos_token_id
    )
    mask = [0] * len(prompt_ids) + [1] * len(reply_ids)
    return prompt_ids + reply_ids, mask


def tokenizer_fingerprint(tokenizer: Any) -> str:
    """A short hash of the vocabulary and merges: equal when token ids mean the same."""
    backend = getattr(tokenizer, "backend_tokenizer", None)
    if backend is not None:
        # Padding and truncation settings change at run time; the model does not.
        saved = json.loads(backend.to_str())
        text = json.dumps([saved["model"], saved["added_tokens"]], sort_keys=True)
    else:
        text = json.dumps(tokenizer.get_vocab(), sort_keys=True)
    return _short_hash(text)


def encoding_fingerprint(tokenizer: Any, *, chat_template: str) -> str:
    """What sampled token ids are stored with: equal when a prompt encodes the same.

    Ids sampled after a templated plain prompt (an assistant reply ending with the
    template's EOS) are not the continuation of its raw text, so the hash names how
    plain prompts render. A bare tokenizer_fingerprint, which does not say, matches
    neither rendering: ids stored with one are re-tokenised, never misread.
    """
    template = (
        tokenizer.chat_template
        if templates_plain_text(tokenizer, chat_template)
        else None
    )
    return _short_hash(json.dumps([tokenizer_fingerprint(tokenizer), template]))


def truncate_pair(
    prompt_ids: list[int],
    completion_ids: list[int],
    max_length: int,
    bos_token_id: int | None = None,
) -> tuple[list[int], list[int]]:
    """Fit into max_length: cut the prompt's start first, then the completion's end."""
    if len(prompt_ids) + len(completion_ids) <= max_length:
        return prompt_ids, completion_ids
    # The prompt keeps at least half the budget so the context is never all gone.
    prompt_budget = min(
        len(prompt_ids), max(max_length - len(completion_ids), max_length // 2)
    )
    prompt_ids = _keep_end(prompt_ids, prompt_budget, bos_token_id)
    return prompt_ids, completion_ids[: max_length - len(prompt_ids)]


def collate(
    encodings: Sequence[Encoding], *, pad_token_id: int, padding_side: str = "right"
) -> Batch:
    """Pad encodings into a Batch (right padding for training, left for generation)."""
    width = max(len(ids) for ids, _ in encodings)
    ids_rows, attn_rows, mask_rows = [], [], []
    for ids, mask in encodings:
        pad = width - len(ids)
        ids_rows.append(_pad(ids, pad, pad_token_id, padding_side))
        attn_rows.append(_pad([1] * len(ids), pad, 0, padding_side))
        mask_rows.append(_pad(mask, pad, 0, padding_side))
    return Batch(
        torch.tensor(ids_rows, dtype=torch.long),  # (B, T)
        torch.tensor(attn_rows, dtype=torch.long),  # (B, T)
        torch.tensor(mask_rows, dtype=torch.long),  # (B, T)
    )


def position_ids_from_mask(attention_mask: torch.Tensor) -> torch.Tensor:
    """Positions counted over real tokens only, so left padding does not shift them."""
    return (attention_mask.long().cumsum(-1) - 1).clamp(min=0)  # (B, T)


def last_token_index(attention_mask: torch.Tensor) -> torch.Tensor:
    """Index of the last attended token of each row, for either padding side."""
    positions = torch.arange(attention_mask.shape[-1], device=attention_mask.device)
    return (positions * attention_mask.long()).argmax(-1)  # (B,)


def _as_turn(role: str, text: Text) -> Messages:
    """Messages as they are; plain text as one turn of `role`."""
    if not isinstance(text, str):
        return text
    # A standard-format completion starts with the space that joins it to the
    # prompt's text; as a turn of its own, that space is no part of the reply.
    return [{"role": role, "content": text.lstrip() if role == "assistant" else text}]


def _encode_text(
    tokenizer: Any, prompt: str, completion: Text | None
) -> tuple[list[int], list[int]]:
    """Raw text: the prompt with the tokenizer's BOS, the completion then EOS."""
    prompt_ids = list(tokenizer(prompt, add_special_tokens=True)["input_ids"])
    if completion is None:
        return prompt_ids, []
    assert isinstance(completion, str)
    ids = tokenizer(completion, add_special_tokens=False)["input_ids"]
    return prompt_ids, [*ids, tokenizer.eos_token_id]


def _encode_chat(
    tokenizer: Any, messages: Messages, reply: Messages | None
) -> tuple[list[int], list[int]]:
    """The template's prompt up to the assistant's turn, then the reply through EOS."""
    prefix = _apply_template(tokenizer, messages, generation=True)
    # The template writes its own BOS, so the tokenizer must not add another.
    prompt_ids = list(tokenizer(prefix, add_special_tokens=False)["input_ids"])
    if reply is None:
        return prompt_ids, []
    full = _apply_template(tokenizer, [*messages, *reply], generation=False)
    if not full.startswith(prefix):
        raise ValueError("chat template renders the prompt differently with a reply")
    ids = list(tokenizer(full[len(prefix) :], add_special_tokens=False)["input_ids"])
    return prompt_ids, _through_last_eos(ids, tokenizer.eos_token_id)


def _through_last_eos(ids: list[int], eos_token_id: int | None) -> list[int]:
    """`ids` up to their last EOS: what sampling yields, as generation stops there.

    Templates end an assistant turn with their end-of-turn token (EOS); some write
    more after it (ChatML's newline), which belongs between turns, not to the reply.
    """
    if eos_token_id not in ids:
        return ids
    return ids[: len(ids) - ids[::-1].index(eos_token_id)]


def _apply_template(tokenizer: Any, messages: Messages, *, generation: bool) -> str:
    """Render messages with the tokenizer's chat template, or say there is none."""
    if not getattr(tokenizer, "chat_template", None):
        name = getattr(tokenizer, "name_or_path", "")
        raise ValueError(
            f"tokenizer {name!r} has no chat template; conversational data needs one"
        )
    return tokenizer.apply_chat_template(
        messages, tokenize=False, add_generation_prompt=generation
    )


def _short_hash(text: str) -> str:
    """The first 16 hex digits of the text's SHA-256."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def _keep_end(ids: list[int], budget: int, bos_token_id: int | None) -> list[int]:
    """The last `budget` ids, keeping a leading BOS (models expect it first)."""
    if budget <= 0:
        return []
    if bos_token_id is not None and ids and ids[0] == bos_token_id and budget > 1:
        return [ids[0], *ids[len(ids) - budget + 1 :]]
    return ids[len(ids) - budget :]


def _pad(row: list[int], n: int, value: int, side: str) -> list[int]:
    """`row` padded with n copies of `value` on `side`."""
    return row + [value] * n if side == "right" else [value] * n + row


@dataclass(frozen=True)
class SharedPrompts:
    """A batch cut where each prompt's last token starts: distinct prefixes once.

    A row's log-probs need its prompt only as context, so the prompt minus its last
    token (the prefix) runs once per distinct prompt and the rows continue from its
    KV cache. The suffix (last prompt token + completion) yields every logit scored.
    """

    prefix_ids: torch.Tensor  # (U, P) distinct prefixes, right-padded
    prefix_mask: torch.Tensor  # (U, P) 1 on real prefix tokens
    prefix_of_row: torch.Tensor  # (B,) which prefix each row continues
    suffix_ids: torch.Tensor  # (B, S) right-padded suffixes
    suffix_mask: torch.Tensor  # (B, S) 1 on real suffix tokens
    suffix_targets: torch.Tensor  # (B, S) 1 on completion tokens
    suffix_start: torch.Tensor  # (B,) position of each suffix's first token


def share_prompts(batch: Batch) -> SharedPrompts | None:
    """The batch as distinct prefixes + suffixes, or None when no prefix repeats."""
    real = batch.attention_mask.bool()  # (B, T)
    first = real.long().argmax(-1)  # (B,) first real column, for either padding side
    lengths = real.sum(-1)  # (B,)
    prompt = ((batch.completion_mask.cumsum(-1) == 0) & real).sum(-1)  # (B,)
    cut = (prompt - 1).clamp(min=0)  # (B,) prefix length: the prompt but its last
    width = int(cut.max())
    if width == 0:
        return None
    keys = _columns(batch.input_ids, first, width)  # (B, P)
    keys = keys.masked_fill(arange_row(width, keys) >= cut[:, None], -1)  # (B, P)
    distinct, prefix_of_row = torch.unique(keys, dim=0, return_inverse=True)
    if len(distinct) == len(batch):
        return None
    span = int((lengths - cut).max())
    suffix_mask = arange_row(span, keys) < (lengths - cut)[:, None]  # (B, S)
    return SharedPrompts(
        prefix_ids=distinct.clamp(min=0),  # (U, P): any valid id under the mask
        prefix_mask=(distinct >= 0).long(),  # (U, P)
        prefix_of_row=prefix_of_row,  # (B,)
        suffix_ids=_columns(batch.input_ids, first + cut, span),  # (B, S)
        suffix_mask=suffix_mask.long(),  # (B, S)
        suffix_targets=_columns(batch.completion_mask, first + cut, span)
        * suffix_mask,  # (B, S)
        suffix_start=cut,  # (B,)
    )


def length_buckets(lengths: Sequence[int]) -> list[tuple[int, int]]:
    """(start, end) runs of descending `lengths`, each padded to its first length.

    Splitting a run costs one more forward, so it splits only where that saves at
    least MIN_PADDING_SAVED of the padded tokens of the whole batch.
    """
    budget = MIN_PADDING_SAVED * len(lengths) * (lengths[0] if lengths else 0)
    return _split_runs(lengths, 0, len(lengths), budget)


def _split_runs(
    lengths: Sequence[int], start: int, end: int, budget: float
) -> list[tuple[int, int]]:
    """Split [start, end) at the cut saving the most padding, while it saves enough."""
    savings = [
        (end - cut) * (lengths[start] - lengths[cut]) for cut in range(start + 1, end)
    ]
    if not savings or max(savings) < budget:
        return [(start, end)]
    cut = start + 1 + savings.index(max(savings))
    return _split_runs(lengths, start, cut, budget) + _split_runs(
        lengths, cut, end, budget
    )


def _columns(values: torch.Tensor, start: torch.Tensor, width: int) -> torch.Tensor:
    """values[b, start[b] : start[b] + width], clamped at the end: (B, T) -> (B, W)."""
    index = start[:, None] + arange_row(width, values)  # (B, W)
    return values.gather(1, index.clamp(max=values.shape[1] - 1))  # (B, W)


def arange_row(n: int, like: torch.Tensor) -> torch.Tensor:
    """0..n-1 as a (1, n) row on `like`'s device."""
    return torch.arange(n, device=like.device)[None]  # (1, n)
