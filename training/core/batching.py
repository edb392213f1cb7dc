"""Examples to tensors: prompt/completion encoding, truncation and padding."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import torch

Messages = list[dict[str, str]]
Text = str | Messages  # TRL's standard (str) or conversational (messages) format
Encoding = tuple[list[int], list[int]]  # (input_ids, completion_mask)


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


def encode_prompt(
    tokenizer: Any, prompt: Text, *, max_length: int | None = None
) -> list[int]:
    """Token ids of a prompt (chat template for messages), start cut to max_length."""
    if isinstance(prompt, str):
        ids = tokenizer(prompt, add_special_tokens=True)["input_ids"]
    else:
        # The template writes its own BOS, so the tokenizer must not add another.
        text = _chat_prefix(tokenizer, prompt)
        ids = tokenizer(text, add_special_tokens=False)["input_ids"]
    if max_length is not None and len(ids) > max_length:
        ids = _keep_end(ids, max_length, tokenizer.bos_token_id)
    return list(ids)


def encode_completion(tokenizer: Any, prompt: Text, completion: Text) -> list[int]:
    """Token ids of a completion as it follows `prompt`, ending with EOS."""
    if isinstance(prompt, str) != isinstance(completion, str):
        raise ValueError("prompt and completion must both be strings or both messages")
    if isinstance(completion, str):
        ids = tokenizer(completion, add_special_tokens=False)["input_ids"]
        return [*ids, tokenizer.eos_token_id]
    assert not isinstance(prompt, str)
    prefix = _chat_prefix(tokenizer, prompt)
    full = _apply_template(tokenizer, [*prompt, *completion], generation=False)
    if not full.startswith(prefix):
        raise ValueError("chat template renders the prompt differently with a reply")
    # Templates end assistant turns with their own end-of-turn token (EOS here).
    return list(tokenizer(full[len(prefix) :], add_special_tokens=False)["input_ids"])


def encode_prompt_completion(
    tokenizer: Any, prompt: Text, completion: Text, *, max_length: int
) -> Encoding:
    """(input_ids, completion_mask) for prompt + completion, truncated to max_length."""
    prompt_ids = encode_prompt(tokenizer, prompt)
    completion_ids = encode_completion(tokenizer, prompt, completion)
    prompt_ids, completion_ids = truncate_pair(
        prompt_ids, completion_ids, max_length, tokenizer.bos_token_id
    )
    mask = [0] * len(prompt_ids) + [1] * len(completion_ids)
    return prompt_ids + completion_ids, mask


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


def _chat_prefix(tokenizer: Any, prompt: Messages) -> str:
    """The rendered prompt up to where the assistant's reply starts."""
    return _apply_template(tokenizer, prompt, generation=True)


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
