"""Supervised fine-tuning: next-token NLL on completion tokens, prompts masked out."""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch

from training.core.data import (
    DataError,
    DemoExample,
    PairExample,
    RankingExample,
    UnpairedExample,
    load_examples,
)
from training.core.groups import GroupBatch, encode_group, in_batches, split_groups
from training.core.logprobs import completion_targets, completion_token_logprobs
from training.core.loop import ProgressCallback, StepFn
from training.core.losses import masked_mean
from training.core.models import load_policy
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
from training.core.sft_config import SFTConfig


def train_sft(
    config: SFTConfig,
    *,
    examples: Sequence[DemoExample] | None = None,
    progress_callback: ProgressCallback | None = None,
) -> TrainResult:
    """Fine-tune on `examples` (in memory) or on config.data's demonstrations."""
    demos = list(examples) if examples is not None else load_demos(config.data)
    if not demos:
        raise DataError(f"{config.data or 'examples'}: no demonstrations to train on")
    set_seed(config.seed)
    device = resolve_device(config.device)
    model, tokenizer = load_trainable(load_policy, config, device)
    groups = [
        encode_group(
            tokenizer,
            d.prompt,
            [d.completion],
            [1],
            max_length=config.max_length,
            chat_template=config.chat_template,
        )
        for d in demos
    ]
    train, held_out = split_groups(groups, config.eval_fraction, config.seed)
    pad = tokenizer.pad_token_id
    eval_batches = in_batches(held_out, EVAL_BATCH, pad_token_id=pad)
    before = evaluate_sft(model, eval_batches)
    state = run_training(
        model,
        train,
        sft_step(model, device),
        config,
        pad_token_id=pad,
        progress_callback=progress_callback,
        micro_batch_units=completion_tokens,
    )
    model = merged(model)
    after = evaluate_sft(model, eval_batches)
    save_trained(model, tokenizer, config)
    metrics = _prefixed(before, "eval_before_") | _prefixed(after, "eval_")
    return write_results(config, metrics | {"n_train": len(train)}, state)


def sft_step(model: Any, device: torch.device) -> StepFn:
    """The training step: mean NLL over the batch's completion tokens."""

    def step(batch: GroupBatch) -> tuple[torch.Tensor, dict[str, float]]:
        logprobs, mask = completion_token_logprobs(model, batch.tokens.to(device))
        return masked_mean(-logprobs, mask), {}  # (B, T-1) -> scalar

    return step


def completion_tokens(batch: GroupBatch) -> float:
    """Tokens the SFT loss averages over: a step's mean is over all of them."""
    return float(completion_targets(batch.tokens).sum())


@torch.no_grad()
def evaluate_sft(model: Any, batches: Sequence[GroupBatch]) -> dict[str, float]:
    """Held-out NLL per completion token and its perplexity."""
    was_training = model.training
    model.eval()
    nll, tokens = 0.0, 0.0
    for batch in batches:
        logprobs, mask = completion_token_logprobs(
            model, batch.tokens.to(model_device(model))
        )
        nll -= (logprobs * mask).sum().item()
        tokens += mask.sum().item()
    model.train(was_training)
    if not tokens:
        return {}
    return {"nll": nll / tokens, "perplexity": math.exp(nll / tokens)}


def load_demos(path: str | Path) -> list[DemoExample]:
    """Demos from a demos file, or the best completions of other preference data."""
    examples = load_examples(path)
    demos = [demo for example in examples for demo in as_demos(example)]
    if examples and not isinstance(examples[0], DemoExample) and not demos:
        raise DataError(
            f"{path}: records have no completion to imitate; sft expects "
            "{prompt, completion} demos (or pairs, rankings, labelled completions)"
        )
    return demos


def as_demos(example: Any) -> list[DemoExample]:
    """A demo as is; a pair's chosen; a ranking's rank-1 completions; a true label."""
    if isinstance(example, DemoExample):
        return [example]
    if isinstance(example, PairExample):
        return [DemoExample(example.prompt, example.chosen)]
    if isinstance(example, RankingExample):
        best = min(example.ranks)
        return [
            DemoExample(example.prompt, completion)
            for completion, rank in zip(example.completions, example.ranks, strict=True)
            if rank == best
        ]
    if isinstance(example, UnpairedExample) and example.label:
        return [DemoExample(example.prompt, example.completion)]
    return []


def _prefixed(metrics: dict[str, float], prefix: str) -> dict[str, float]:
    """The metrics with `prefix` on every name."""
    return {prefix + key: value for key, value in metrics.items()}
