"""K-wise reward-model training on rankings (InstructGPT, Ouyang et al. 2022).

Every completion of a ranking is scored by ONE forward pass; the C(K,2) Bradley-Terry
terms of a ranking all come from those K scalars. After training, the mean score over
the training completions is folded into the score head, so the saved model gives
rewards with mean 0 on that reference set even when loaded with plain transformers.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import torch

from training.core.batching import Text, collate, encode_prompt_completion
from training.core.data import load_rankings
from training.core.distributed import laid_out_like
from training.core.groups import (
    GroupBatch,
    encode_rankings,
    in_batches,
    split_groups,
    strict_pairs,
)
from training.core.loop import ProgressCallback, StepFn
from training.core.losses import (
    kwise_bradley_terry_loss,
    kwise_pairwise_accuracy,
    masked_mean,
)
from training.core.models import load_reward_model, reward_scores
from training.core.recipe import (
    EVAL_BATCH,
    TrainResult,
    load_trainable,
    merged,
    model_device,
    resolve_device,
    run_training,
    save_trained,
    set_seed,
    write_results,
)
from training.core.reward_config import RewardConfig

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RewardResult(TrainResult):
    """A trained reward model; `reward_offset` is the mean folded out of its head."""

    reward_offset: float = 0.0


def train_reward(
    config: RewardConfig, *, progress_callback: ProgressCallback | None = None
) -> RewardResult:
    """Train a reward model on config.data's rankings; save it normalised to mean 0."""
    rankings = load_rankings(config.data)  # bad data fails before any model loads
    set_seed(config.seed)
    device = resolve_device(config.device)
    model, tokenizer = load_trainable(load_reward_model, config, device)
    groups = encode_rankings(
        tokenizer,
        rankings,
        max_length=config.max_length,
        chat_template=config.chat_template,
    )
    train, held_out = split_groups(groups, config.eval_fraction, config.seed)
    pad = tokenizer.pad_token_id
    step = reward_step(model, config, device)
    state = run_training(
        model,
        train,
        step,
        config,
        pad_token_id=pad,
        progress_callback=progress_callback,
    )
    model = merged(model).eval()
    # Normalise first so the held-out metrics describe the model as saved.
    offset = fold_reward_offset(model, in_batches(train, EVAL_BATCH, pad_token_id=pad))
    metrics = evaluate_reward(model, in_batches(held_out, EVAL_BATCH, pad_token_id=pad))
    metrics |= {"reward_offset": offset, "n_train": len(train), "n_eval": len(held_out)}
    extra = {"reward_offset": offset, "offset_folded": True}
    save_trained(model, tokenizer, config, extra=extra)
    result = write_results(config, metrics, state)
    return RewardResult(result.out, result.metrics, offset)


def ranking_scores(model: Any, batch: GroupBatch) -> torch.Tensor:
    """Rewards (N, K) of a batch's completions, from one forward over all M rows."""
    tokens = batch.tokens
    rows = reward_scores(model, tokens.input_ids, tokens.attention_mask)  # (M,)
    return batch.grouped(rows)  # (N, K)


def reward_step(model: Any, config: RewardConfig, device: torch.device) -> StepFn:
    """The training step: K-wise Bradley-Terry loss plus the small centring term."""

    def step(batch: GroupBatch) -> tuple[torch.Tensor, dict[str, float]]:
        batch = batch.to(device)
        scores = ranking_scores(model, batch)  # (N, K)
        # Rankings without a `weight` field weigh 1.0: the plain InstructGPT mean.
        loss = kwise_bradley_terry_loss(
            scores,
            batch.ranks,
            mask=batch.mask,
            margin_per_rank=config.margin_per_rank,
            weights=batch.weights,
        )
        # mean(r²) over the batch's completions, not TRL's mean((r_w + r_l)²): BT is
        # blind to a shift of all rewards, so this sets where the mean settles (and,
        # unlike TRL's, also shrinks margins a little; see RewardConfig).
        centring = masked_mean(scores**2, batch.mask)
        correct, pairs = kwise_pairwise_accuracy(scores, batch.ranks, mask=batch.mask)
        metrics = {
            "bt_loss": loss.item(),
            "accuracy": correct.item() / max(1, int(pairs)),
        }
        return loss + config.center_coefficient * centring, metrics

    return step


@torch.no_grad()
def evaluate_reward(model: Any, batches: Sequence[GroupBatch]) -> dict[str, float]:
    """Held-out pairwise accuracy, mean margin r_w - r_l, Kendall tau, BT loss."""
    device = model_device(model)
    keys = ("correct", "pairs", "margin", "tau", "rankings", "loss")
    totals = dict.fromkeys(keys, 0.0)
    for batch in batches:
        batch = batch.to(device)
        scores = ranking_scores(model, batch)  # (N, K)
        beats = strict_pairs(batch)  # (N, K, K)
        diff = scores.unsqueeze(2) - scores.unsqueeze(1)  # (N, K, K): r_i - r_j
        per_ranking = beats.sum(dim=(1, 2))  # (N,)
        concordance = (torch.sign(diff) * beats).sum(dim=(1, 2))  # (N,): C - D
        totals["correct"] += ((diff > 0) & beats).sum().item()
        totals["pairs"] += per_ranking.sum().item()
        totals["margin"] += (diff * beats).sum().item()
        totals["tau"] += (concordance / per_ranking.clamp(min=1)).sum().item()
        totals["rankings"] += (per_ranking > 0).sum().item()
        loss = kwise_bradley_terry_loss(
            scores, batch.ranks, mask=batch.mask, weights=batch.weights
        )
        totals["loss"] += loss.item() * batch.weights.sum().item()
    pairs, rankings = max(totals["pairs"], 1), max(totals["rankings"], 1)
    total_weight = sum(b.weights.sum().item() for b in batches) or 1.0
    return {
        "eval_accuracy": totals["correct"] / pairs,
        "eval_mean_margin": totals["margin"] / pairs,
        "eval_kendall_tau": totals["tau"] / rankings,
        "eval_loss": totals["loss"] / total_weight,
        "eval_pairs": int(totals["pairs"]),
    }


@torch.no_grad()
def fold_reward_offset(model: Any, batches: Sequence[GroupBatch]) -> float:
    """Shift the score head so the mean reward over `batches` is 0; returns it."""
    head = model.score
    device = model_device(model)
    inputs: list[torch.Tensor] = []
    hook = head.register_forward_hook(lambda _m, args, _o: inputs.append(args[0]))
    try:
        for batch in batches:
            tokens = batch.tokens.to(device)
            reward_scores(model, tokens.input_ids, tokens.attention_mask)
    finally:
        hook.remove()
    mean_hidden = torch.cat(inputs).float().mean(dim=0)  # (H,)
    offset = float(head(mean_hidden.to(head.weight.dtype)).float()[0])
    if head.bias is not None:
        head.bias.sub_(offset)
        return offset
    # The Llama-style head has no bias, so move the weights along the mean hidden
    # state h̄: w' = w - offset * h̄ / |h̄|², hence mean(w'·h) = w·h̄ - offset = 0.
    # Other scores move by offset * h̄·(h - h̄) / |h̄|²; the centring term keeps the
    # offset, and so that change, small.
    direction = mean_hidden / mean_hidden.dot(mean_hidden)  # (H,)
    delta = (offset * direction).to(head.weight.dtype)  # (H,)
    head.weight.sub_(laid_out_like(head.weight, delta))
    return offset


@torch.no_grad()
def score(
    model: Any,
    tokenizer: Any,
    prompts: Sequence[Text],
    completions: Sequence[Text],
    *,
    chat_template: str,
    batch_size: int = 16,
    max_length: int = 512,
) -> torch.Tensor:
    """Rewards (B,) on the CPU of each (prompt, completion) under a reward model."""
    device = model_device(model)
    encodings = [
        encode_prompt_completion(
            tokenizer, p, c, chat_template=chat_template, max_length=max_length
        )
        for p, c in zip(prompts, completions, strict=True)
    ]
    rewards = []
    for start in range(0, len(encodings), batch_size):
        chunk = encodings[start : start + batch_size]
        tokens = collate(chunk, pad_token_id=tokenizer.pad_token_id).to(device)
        rows = reward_scores(model, tokens.input_ids, tokens.attention_mask)  # (b,)
        rewards.append(rows.float().cpu())
    return torch.cat(rewards) if rewards else torch.zeros(0)
