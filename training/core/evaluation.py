"""Evaluate a policy against its reference with a reward model.

What a round reports about its new policy (InstructGPT/Llama-2 style checks): mean
reward and KL to the reference on held-out prompts, win rate against the reference's
own samples, the reward–length correlation (length hacking) and distinct-n (mode
collapse).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from training.core.batching import Text
from training.core.generation import Generation, generate
from training.core.logprobs import completion_targets, eval_mode
from training.core.models import load_policy, load_reward_model
from training.core.recipe import resolve_device, set_seed
from training.core.rollout import (
    encode_samples,
    policy_logprobs,
    reward_model_fn,
    sequence_kl,
)


@dataclass(frozen=True)
class EvaluationSettings:
    """How many samples and how they are drawn."""

    samples_per_prompt: int = 2
    temperature: float = 1.0
    top_p: float = 1.0
    max_new_tokens: int = 64
    max_length: int = 256
    batch_size: int = 8
    seed: int = 0
    device: str = "auto"


@dataclass(frozen=True)
class PolicyEvaluation:
    """Summary metrics and one (reward, length, kl) point per policy sample."""

    metrics: dict[str, float]
    points: list[dict[str, float]] = field(default_factory=list)


def distinct_n(texts: Sequence[str], n: int) -> float:
    """Distinct-n (Li et al., 2016): unique word n-grams / all word n-grams."""
    grams = [
        tuple(words[i : i + n])
        for words in (text.split() for text in texts)
        for i in range(len(words) - n + 1)
    ]
    return len(set(grams)) / len(grams) if grams else 0.0


def pearson(xs: Sequence[float], ys: Sequence[float]) -> float:
    """Pearson correlation; 0 when either side has no spread."""
    x, y = torch.tensor(xs, dtype=torch.float64), torch.tensor(ys, dtype=torch.float64)
    dx, dy = x - x.mean(), y - y.mean()
    denominator = (dx.square().sum() * dy.square().sum()).sqrt()
    return float((dx * dy).sum() / denominator) if denominator > 0 else 0.0


def win_rate(rewards: torch.Tensor, baseline: torch.Tensor) -> float:
    """Share of (prompt, sample) slots where rewards beats baseline; ties count half."""
    return float(((rewards > baseline).float() + 0.5 * (rewards == baseline)).mean())


def evaluate_policy(
    policy_path: str | Path,
    reference_path: str | Path,
    reward_model_path: str | Path,
    prompts: Sequence[Text],
    settings: EvaluationSettings = EvaluationSettings(),
) -> PolicyEvaluation:
    """Sample policy and reference on `prompts`; score both, measure KL, diversity."""
    if not prompts:
        raise ValueError("prompts: evaluation needs at least one prompt")
    set_seed(settings.seed)
    device = resolve_device(settings.device)
    policy, tokenizer = load_policy(policy_path, device=device)
    reference, _ = load_policy(reference_path, device=device)
    scorer, score_tokenizer = load_reward_model(reward_model_path, device=device)
    reward_fn = reward_model_fn(
        scorer.eval(), score_tokenizer, max_length=settings.max_length
    )
    k = settings.samples_per_prompt
    rows = [p for p in prompts for _ in range(k)]
    with torch.no_grad():
        samples = _flat(_sample(policy, tokenizer, prompts, settings))
        reference_samples = _flat(_sample(reference, tokenizer, prompts, settings))
        rewards = reward_fn(rows, [g.text for g in samples]).float().cpu()
        baseline = reward_fn(rows, [g.text for g in reference_samples]).float().cpu()
        kl = _kl(policy, reference, tokenizer, rows, samples, settings)
    lengths = [float(g.n_tokens) for g in samples]
    texts = [g.text for g in samples]
    metrics = {
        "mean_reward": float(rewards.mean()),
        "reference_mean_reward": float(baseline.mean()),
        "kl": float(kl.mean()),
        "win_rate_vs_reference": win_rate(rewards, baseline),
        "reward_length_correlation": pearson(rewards.tolist(), lengths),
        "mean_length": sum(lengths) / len(lengths),
        "distinct_1": distinct_n(texts, 1),
        "distinct_2": distinct_n(texts, 2),
        "samples": float(len(samples)),
    }
    points = [
        {"reward": r, "length": n, "kl": d}
        for r, n, d in zip(rewards.tolist(), lengths, kl.tolist(), strict=True)
    ]
    return PolicyEvaluation(metrics, points)


def _sample(
    model: Any, tokenizer: Any, prompts: Sequence[Text], settings: EvaluationSettings
) -> list[list[Generation]]:
    return generate(
        model,
        tokenizer,
        prompts,
        k=settings.samples_per_prompt,
        temperature=settings.temperature,
        top_p=settings.top_p,
        max_new_tokens=settings.max_new_tokens,
        batch_size=settings.batch_size,
        seed=settings.seed,
        max_prompt_length=max(1, settings.max_length - settings.max_new_tokens),
    )


def _flat(samples: list[list[Generation]]) -> list[Generation]:
    return [g for row in samples for g in row]


def _kl(
    policy: Any,
    reference: Any,
    tokenizer: Any,
    prompts: Sequence[Text],
    samples: Sequence[Generation],
    settings: EvaluationSettings,
) -> torch.Tensor:
    """KL(policy || reference) of each policy sample (k1 estimator, summed), (B,)."""
    max_prompt = max(1, settings.max_length - settings.max_new_tokens)
    device = next(policy.parameters()).device
    kls = []
    for start in range(0, len(samples), settings.batch_size):
        chunk = slice(start, start + settings.batch_size)
        tokens = encode_samples(tokenizer, prompts[chunk], samples[chunk], max_prompt)
        tokens = tokens.to(device)
        with eval_mode(policy), eval_mode(reference):
            logprobs, _ = policy_logprobs(policy, tokens, settings.temperature)
            ref_logprobs, _ = policy_logprobs(reference, tokens, settings.temperature)
        mask = completion_targets(tokens).float()
        kls.append(sequence_kl(logprobs, ref_logprobs, mask).float().cpu())
    return torch.cat(kls)
