"""Batched sampling of K completions per prompt, with their log-probs."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import torch
from transformers import GenerationConfig, LogitsProcessor, LogitsProcessorList

from training.core.batching import Text, collate, encode_prompt
from training.core.logprobs import eval_mode


@dataclass(frozen=True)
class Generation:
    """One sampled completion; `logprob` is its summed log-prob under the raw model."""

    text: str
    n_tokens: int
    logprob: float
    token_ids: tuple[int, ...]  # includes the final EOS when `finished`
    finished: bool  # stopped at EOS rather than at max_new_tokens


@dataclass(frozen=True)
class SamplingSettings:
    """How to sample; temperature 0 means greedy decoding."""

    temperature: float = 1.0
    top_p: float = 1.0
    max_new_tokens: int = 64


def generate(
    model: Any,
    tokenizer: Any,
    prompts: Sequence[Text],
    *,
    chat_template: str,
    k: int = 1,
    temperature: float = 1.0,
    top_p: float = 1.0,
    max_new_tokens: int = 64,
    batch_size: int = 8,
    seed: int | None = None,
    max_prompt_length: int | None = None,
) -> list[list[Generation]]:
    """K samples per prompt (list i holds prompt i's), batched with left padding.

    Prompts are encoded as training encodes them (`chat_template` the same setting),
    so the sampled ids are the completion ids a trainer would see.
    """
    settings = SamplingSettings(temperature, top_p, max_new_tokens)
    encoded = [
        encode_prompt(
            tokenizer, p, chat_template=chat_template, max_length=max_prompt_length
        )
        for p in prompts
    ]
    rows = [ids for ids in encoded for _ in range(k)]  # prompt i -> rows i*k .. i*k+k-1
    samples: list[Generation] = []
    with _seeded(seed, _device(model)), torch.no_grad(), eval_mode(model):
        for start in range(0, len(rows), batch_size):
            chunk = rows[start : start + batch_size]
            samples.extend(_generate_batch(model, tokenizer, chunk, settings))
    return [samples[i * k : (i + 1) * k] for i in range(len(prompts))]


def _generate_batch(
    model: Any, tokenizer: Any, rows: list[list[int]], settings: SamplingSettings
) -> list[Generation]:
    """Sample one completion per row of prompt ids."""
    batch = collate(
        [(ids, [0] * len(ids)) for ids in rows],
        pad_token_id=tokenizer.pad_token_id,
        padding_side="left",  # new tokens are appended on the right
    ).to(_device(model))
    eos_ids = _eos_ids(model, tokenizer)
    recorder = SampledLogprobs()
    out = model.generate(
        input_ids=batch.input_ids,
        attention_mask=batch.attention_mask,
        generation_config=_generation_config(settings, tokenizer, eos_ids),
        logits_processor=LogitsProcessorList([recorder]),
    )
    new = out.sequences[:, batch.input_ids.shape[1] :]  # (B, N)
    logprobs = recorder.logprobs(new)  # (B, N)
    keep = _until_first_eos(new, eos_ids)  # (B, N)
    return [
        _to_generation(tokenizer, new[i], logprobs[i], keep[i], eos_ids)
        for i in range(len(rows))
    ]


class SampledLogprobs(LogitsProcessor):
    """Records each sampled token's log-prob under the raw logits, step by step.

    Placed before temperature and top-p, it sees the raw logits. A step's token is
    only sampled after the processors run, so it is read from `input_ids` at the
    next step: one step's (B, V) log-probs are kept, never all of them.
    """

    def __init__(self) -> None:
        self.previous: torch.Tensor | None = None  # (B, V) last step's log-probs
        self.sampled: list[torch.Tensor] = []  # (B,) per step but the last

    def __call__(
        self, input_ids: torch.LongTensor, scores: torch.FloatTensor
    ) -> torch.FloatTensor:
        """Take the previous step's token log-prob; keep this step's log-probs."""
        if self.previous is not None:
            self.sampled.append(self._gather(input_ids[:, -1]))
        self.previous = scores.float().log_softmax(-1)  # (B, V)
        return scores

    def logprobs(self, new: torch.Tensor) -> torch.Tensor:
        """Log-probs (B, N) of the N new tokens; the last one is read from `new`."""
        return torch.stack([*self.sampled, self._gather(new[:, -1])], dim=1)

    def _gather(self, tokens: torch.Tensor) -> torch.Tensor:
        """The previous step's log-prob of each row's token, (B,)."""
        assert self.previous is not None, "no generation step has run"
        return self.previous.gather(-1, tokens.unsqueeze(-1)).squeeze(-1)


def _to_generation(
    tokenizer: Any,
    ids: torch.Tensor,
    logprobs: torch.Tensor,
    keep: torch.Tensor,
    eos_ids: list[int],
) -> Generation:
    """A Generation from one row's new ids, their log-probs and the keep mask."""
    n = int(keep.sum())
    token_ids = tuple(int(t) for t in ids[:n])
    return Generation(
        text=tokenizer.decode(token_ids, skip_special_tokens=True),
        n_tokens=n,
        logprob=float((logprobs * keep).sum()),
        token_ids=token_ids,
        finished=bool(token_ids) and token_ids[-1] in eos_ids,
    )


def _until_first_eos(new: torch.Tensor, eos_ids: list[int]) -> torch.Tensor:
    """1 on tokens up to and including the first EOS, 0 after (padding)."""
    is_eos = torch.isin(new, torch.tensor(eos_ids, device=new.device)).long()  # (B, N)
    eos_before = is_eos.cumsum(-1) - is_eos  # (B, N): EOS strictly before each token
    return (eos_before == 0).long()  # (B, N)


def _generation_config(
    settings: SamplingSettings, tokenizer: Any, eos_ids: list[int]
) -> GenerationConfig:
    """A fresh config, so defaults of a hub model (top_k, penalties) stay out."""
    sampling: dict[str, Any] = {"do_sample": False}
    if settings.temperature > 0:
        sampling = {
            "do_sample": True,
            "temperature": settings.temperature,
            "top_p": settings.top_p,
            "top_k": 0,  # 0 turns top-k off; only top-p truncates
        }
    return GenerationConfig(
        max_new_tokens=settings.max_new_tokens,
        eos_token_id=eos_ids,
        pad_token_id=tokenizer.pad_token_id,
        return_dict_in_generate=True,
        **sampling,
    )


def _eos_ids(model: Any, tokenizer: Any) -> list[int]:
    """Ids that end a reply: the model's generation EOS ids and the tokenizer's."""
    configured = getattr(model.generation_config, "eos_token_id", None)
    ids = configured if isinstance(configured, list) else [configured]
    return sorted({i for i in [*ids, tokenizer.eos_token_id] if i is not None})


def _device(model: Any) -> torch.device:
    """The device of the model's first parameter."""
    return next(model.parameters()).device


@contextlib.contextmanager
def _seeded(seed: int | None, device: torch.device) -> Iterator[None]:
    """Seed sampling without disturbing the caller's random state."""
    if seed is None:
        yield
        return
    devices = [device] if device.type == "cuda" else []
    with torch.random.fork_rng(devices=devices):
        torch.manual_seed(seed)
        yield
