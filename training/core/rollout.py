"""Sampling, rewarding and KL bookkeeping shared by best-of-N, RLOO and PPO.

A reward source is any `RewardFn(prompts, completions) -> (B,) tensor`; a reward model
is one implementation (`reward_model_fn`), a Python function of the text another (the
tests use one with a known optimum).
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from contextlib import nullcontext
from dataclasses import dataclass
from typing import Any, Literal

import torch
from peft import PeftModel
from torch import Tensor

from training.core.batching import (
    Batch,
    Text,
    as_reply,
    collate,
    encode_prompt,
    position_ids_from_mask,
)
from training.core.data import load_examples
from training.core.generation import Generation, generate
from training.core.logprobs import completion_targets, eval_mode, token_logprobs
from training.core.losses import per_token_kl
from training.core.models import load_policy, load_reward_model
from training.core.precision import resolve_precision
from training.core.reward import score
from training.core.rollout_config import RLConfig, SamplingConfig

RewardFn = Callable[[Sequence[Text], Sequence[str]], Tensor]  # -> (B,) rewards


@dataclass(frozen=True)
class Rollout:
    """Sampled completions as right-padded token rows, rewards, ref log-probs."""

    prompts: list[Text]  # one per row: prompt i repeated for its K samples
    completions: list[str]
    tokens: Batch  # (B, T) prompt + completion
    mask: Tensor  # (B, T-1) 1 where the predicted token is a completion token
    ref_logprobs: Tensor  # (B, T-1) frozen reference, per predicted token
    scores: Tensor  # (B,) reward of each completion

    def __len__(self) -> int:
        return len(self.completions)


def load_prompts(path: str) -> list[Text]:
    """The distinct prompts of any supported data file, in file order."""
    seen: dict[str, Text] = {}
    for example in load_examples(path):
        seen.setdefault(repr(example.prompt), example.prompt)
    return list(seen.values())


def prompt_batches(
    prompts: Sequence[Text], batch_size: int, epochs: int, seed: int
) -> list[list[Text]]:
    """Shuffled batches of prompts, epoch after epoch (an epoch's last may be short)."""
    order = random.Random(seed)
    batches = []
    for _ in range(epochs):
        shuffled = list(prompts)
        order.shuffle(shuffled)
        for start in range(0, len(shuffled), batch_size):
            batches.append(shuffled[start : start + batch_size])
    return batches


def reward_model_fn(
    model: Any, tokenizer: Any, *, max_length: int, chat_template: str
) -> RewardFn:
    """A RewardFn reading a reward model's score at the last token of each reply."""

    def reward(prompts: Sequence[Text], completions: Sequence[str]) -> Tensor:
        replies = [as_reply(p, c) for p, c in zip(prompts, completions, strict=True)]
        return score(
            model,
            tokenizer,
            prompts,
            replies,
            max_length=max_length,
            chat_template=chat_template,
        )

    return reward


def load_reward_fn(config: SamplingConfig, device: torch.device) -> RewardFn:
    """The reward model of config.reward_model as a RewardFn."""
    if config.reward_model is None:
        raise ValueError("reward_model: give a reward-model folder to score samples")
    dtype = resolve_precision(config.mixed_precision, device).frozen_dtype
    model, tokenizer = load_reward_model(
        config.reward_model, device=device, dtype=dtype
    )
    model.eval().requires_grad_(False)
    return reward_model_fn(
        model,
        tokenizer,
        max_length=config.max_length,
        chat_template=config.chat_template,
    )


@dataclass(frozen=True)
class Reference:
    """The frozen reference policy; `adapters_off`: the LoRA policy without adapters."""

    model: Any
    adapters_off: bool = False

    @torch.no_grad()
    def logprobs(self, tokens: Batch, temperature: float) -> Tensor:
        """Per-token log-probs (B, T-1) at the sampling temperature."""
        base = self.model.disable_adapter() if self.adapters_off else nullcontext()
        with base, eval_mode(self.model):
            logprobs, _ = policy_logprobs(self.model, tokens, temperature)
        return logprobs


def load_reference(config: RLConfig, policy: Any, device: torch.device) -> Reference:
    """The frozen reference policy (the starting policy unless ref_model is set)."""
    if config.ref_model is None and isinstance(policy, PeftModel):
        # LoRA leaves the base weights untouched: the policy with its adapters
        # disabled is the starting policy, so no second copy of the model.
        return Reference(policy, adapters_off=True)
    dtype = resolve_precision(config.mixed_precision, device).frozen_dtype
    model, _ = load_policy(config.ref_model or config.model, device=device, dtype=dtype)
    return Reference(model.eval().requires_grad_(False))


def sample(
    model: Any, tokenizer: Any, prompts: Sequence[Text], config: SamplingConfig, k: int
) -> list[list[Generation]]:
    """K completions per prompt under the config's sampling settings."""
    return generate(
        model,
        tokenizer,
        prompts,
        chat_template=config.chat_template,
        k=k,
        temperature=config.temperature,
        top_p=config.top_p,
        max_new_tokens=config.max_new_tokens,
        batch_size=config.generation_batch_size,
        max_prompt_length=max(1, config.max_length - config.max_new_tokens),
    )


def encode_samples(
    tokenizer: Any,
    prompts: Sequence[Text],
    samples: Sequence[Generation],
    max_prompt_length: int,
    *,
    chat_template: str,
) -> Batch:
    """Right-padded rows of prompt ids followed by the sampled ids (EOS included)."""
    encodings = []
    for prompt, generation in zip(prompts, samples, strict=True):
        ids = encode_prompt(
            tokenizer,
            prompt,
            chat_template=chat_template,
            max_length=max_prompt_length,
        )
        completion = list(generation.token_ids)
        encodings.append((ids + completion, [0] * len(ids) + [1] * len(completion)))
    return collate(encodings, pad_token_id=tokenizer.pad_token_id)


def policy_logprobs(
    model: Any, tokens: Batch, temperature: float, *, hidden: bool = False
) -> tuple[Tensor, Tensor | None]:
    """Per-token log-probs (B, T-1) at the sampling temperature, and last hidden."""
    out = model(
        input_ids=tokens.input_ids,
        attention_mask=tokens.attention_mask,
        position_ids=position_ids_from_mask(tokens.attention_mask),
        output_hidden_states=hidden,
        use_cache=False,
    )
    # Log-probs of the distribution actually sampled from (logits / temperature).
    logits = out.logits / max(temperature, 1e-7)  # (B, T, V)
    last_hidden = out.hidden_states[-1] if hidden else None  # (B, T, H)
    return token_logprobs(logits, tokens.input_ids), last_hidden


@torch.no_grad()
def collect_rollout(
    model: Any,
    reference: Reference,
    tokenizer: Any,
    prompts: Sequence[Text],
    reward_fn: RewardFn,
    config: SamplingConfig,
    k: int = 1,
) -> Rollout:
    """Sample K completions per prompt, score them, and take the ref's log-probs."""
    samples = [g for row in sample(model, tokenizer, prompts, config, k) for g in row]
    row_prompts = [p for p in prompts for _ in range(k)]
    device = next(model.parameters()).device
    max_prompt = max(1, config.max_length - config.max_new_tokens)
    tokens = encode_samples(
        tokenizer, row_prompts, samples, max_prompt, chat_template=config.chat_template
    ).to(device)
    ref_logprobs = reference.logprobs(tokens, config.temperature)
    completions = [g.text for g in samples]
    scores = reward_fn(row_prompts, completions).float().to(device)  # (B,)
    mask = completion_targets(tokens).float()  # (B, T-1)
    return Rollout(row_prompts, completions, tokens, mask, ref_logprobs, scores)


def sequence_kl(
    logprobs: Tensor,
    ref_logprobs: Tensor,
    mask: Tensor,
    estimator: Literal["k1", "k3"] = "k1",
) -> Tensor:
    """KL(pi || pi_ref) of each sampled sequence: per-token estimates summed, (B,)."""
    kl = per_token_kl(logprobs, ref_logprobs, estimator=estimator)  # (B, T-1)
    return (kl * mask).sum(dim=-1)
