"""DPO-family training: pairwise losses, KTO, Plackett-Luce and RRHF.

Data are groups of completions (rankings; a pair is a K=2 ranking; a KTO label is K=1).
Each completion is ONE row of the batch, so a ranking's C(K,2) pairs index K
log-probs rather than forwarding two sequences per pair, and the K rows forward their
shared prompt once (logprobs.shared_prompt_logprobs). Reference log-probs are computed
once for the whole data set before training, then the reference is freed. Launched
data-parallel, the ranks split that precompute and gather it.
"""

from __future__ import annotations

import gc
import inspect
import json
from collections.abc import Callable, Sequence
from typing import Any

import torch

from training.core.batching import as_reply, encoding_fingerprint
from training.core.best_of_n import scored_samples
from training.core.data import (
    DataError,
    PairExample,
    RankingExample,
    UnpairedExample,
    as_rankings,
    load_examples,
)
from training.core.distributed import gather, is_sharded, split_map
from training.core.dpo_config import DPOConfig
from training.core.groups import (
    Group,
    GroupBatch,
    encode_rankings,
    in_batches,
    longest_completion,
    ranked_pairs,
    split_groups,
    with_reference,
)
from training.core.logprobs import reference_logprobs_cached, sequence_logprobs
from training.core.loop import ProgressCallback, StepFn
from training.core.losses import (
    PREFERENCE_LOSSES,
    kto_loss,
    plackett_luce_loss,
    rrhf_loss,
)
from training.core.models import load_policy
from training.core.precision import resolve_precision
from training.core.recipe import (
    EVAL_BATCH,
    TrainResult,
    checkpoint_dir,
    load_beside,
    load_trainable,
    merged,
    model_device,
    resolve_device,
    run_training,
    save_trained,
    set_seed,
    write_results,
)
from training.core.rollout import load_reward_fn
from training.core.rollout_config import SamplingConfig

DEFAULT_BETA = 0.1  # KTO's and listwise DPO's beta when --beta is not given
Objective = Callable[
    [GroupBatch, torch.Tensor, torch.Tensor], tuple[torch.Tensor, dict[str, float]]
]


def train_dpo(
    config: DPOConfig, *, progress_callback: ProgressCallback | None = None
) -> TrainResult:
    """Optimise a policy on config.data's preferences with config.loss."""
    rankings = preference_rankings(load_examples(config.data), config)
    set_seed(config.seed)
    device = resolve_device(config.device)
    model, tokenizer = load_trainable(load_policy, config, device)
    pad = tokenizer.pad_token_id
    # Rank 0's samples for all: GPU sampling may differ between ranks, and every
    # rank must train on the same data to shard it.
    generated = gather(online_rankings(model, tokenizer, rankings, config, device))[0]
    rankings = [*rankings, *generated]
    groups = encode_rankings(
        tokenizer,
        rankings,
        max_length=config.max_length,
        chat_template=config.chat_template,
    )
    groups = attach_reference(groups, model, config, pad_token_id=pad)
    train, held_out = split_groups(groups, config.eval_fraction, config.seed)
    objective = make_objective(config)
    state = run_training(
        model,
        train,
        dpo_step(model, objective, device),
        config,
        pad_token_id=pad,
        progress_callback=progress_callback,
    )
    model = merged(model)
    eval_batches = in_batches(held_out, EVAL_BATCH, pad_token_id=pad)
    metrics = evaluate_dpo(model, eval_batches, objective)
    save_trained(model, tokenizer, config)
    mix = {
        "n_train": len(train),
        "n_human": len(rankings) - len(generated),
        "n_online_pairs": len(generated),
    }
    return write_results(config, metrics | mix, state)


def preference_rankings(examples: Sequence[Any], config: DPOConfig) -> list[Any]:
    """The examples as rankings; for KTO, K=1 'rankings' (1 good, 2 bad)."""
    kinds = {type(e) for e in examples}
    if not kinds <= {PairExample, RankingExample, UnpairedExample}:
        raise DataError(
            f"{config.data}: {config.loss} needs pairs, rankings or (kto only) "
            "labelled completions; these records have no preference"
        )
    if config.loss == "kto":
        return [single for e in examples for single in _labelled(e)]
    if UnpairedExample in kinds:
        raise DataError(
            f"{config.data}: unpaired {{prompt, completion, label}} records need "
            f"--loss kto, not {config.loss}"
        )
    return as_rankings(examples) if PairExample in kinds else list(examples)


def online_rankings(
    policy: Any,
    tokenizer: Any,
    rankings: Sequence[RankingExample],
    config: DPOConfig,
    device: torch.device,
) -> list[RankingExample]:
    """Best vs worst of N policy samples per prompt, as the reward model ranks them.

    Iterative ("online") DPO, Xiong et al. 2024 / RLHFlow: fresh on-policy pairs
    beside the human ones. Each pair keeps the tokens it was sampled as.
    """
    if not config.online_samples:
        return []
    if config.online_samples < 2 or config.reward_model is None:
        raise ValueError(
            "online_samples: needs at least 2 samples per prompt and --reward-model"
        )
    if is_sharded(policy):
        raise ValueError(
            "online_samples: not supported with --fsdp (each rank's sampling stops "
            "after a different number of forwards, and every sharded forward waits "
            "for all ranks); sample the pairs in a run without --fsdp, or with "
            "python -m training generate, and train on them"
        )
    prompts = list({json.dumps(r.prompt, sort_keys=True): r.prompt for r in rankings})
    sampling = SamplingConfig(
        data="",
        reward_model=config.reward_model,
        max_new_tokens=config.online_max_new_tokens,
        max_length=config.max_length,
        chat_template=config.chat_template,
    )
    samples, rewards = scored_samples(
        policy,
        tokenizer,
        load_reward_fn(sampling, device),
        prompts,
        n=config.online_samples,
        sampling=sampling,
    )  # rewards (P, N)
    fingerprint = encoding_fingerprint(tokenizer, chat_template=config.chat_template)
    pairs = []
    for prompt, row, scores in zip(prompts, samples, rewards, strict=True):
        best, worst = int(scores.argmax()), int(scores.argmin())
        if scores[best] <= scores[worst]:
            continue  # every sample scored the same: no preference to learn
        pairs.append(
            RankingExample(
                prompt,
                [as_reply(prompt, row[best].text), as_reply(prompt, row[worst].text)],
                [1, 2],
                weight=config.online_pair_weight,
                completion_token_ids=(row[best].token_ids, row[worst].token_ids),
                tokenizer=fingerprint,
            )
        )
    return pairs


def _labelled(example: Any) -> list[RankingExample]:
    """KTO's unpaired view: each completion alone, rank 1 if desirable else 2."""
    if isinstance(example, UnpairedExample):
        rank = 1 if example.label else 2
        return [RankingExample(example.prompt, [example.completion], [rank])]
    ranking = as_rankings([example])[0] if isinstance(example, PairExample) else example
    best = min(ranking.ranks)
    return [
        RankingExample(ranking.prompt, [text], [1 if rank == best else 2])
        for text, rank in zip(ranking.completions, ranking.ranks, strict=True)
    ]


def attach_reference(
    groups: Sequence[Group], policy: Any, config: DPOConfig, *, pad_token_id: int
) -> list[Group]:
    """Reference log-probs of every completion, computed once, cached beside OUT."""
    reference = policy
    # The forward as training runs it (autocast), so the log-ratios start at 0.
    precision = resolve_precision(
        config.mixed_precision, model_device(policy), cache_casts=False
    )
    if config.ref_model is not None:
        reference = load_beside(
            policy, load_policy, config.ref_model, dtype=precision.frozen_dtype
        )
    # A row's reference log-prob does not depend on its batch-mates, so batches of
    # similar lengths, put back in order afterwards, forward the least padding.
    order = sorted(range(len(groups)), key=lambda i: longest_completion(groups[i]))
    by_length = [groups[i] for i in order]
    batches = [
        b.tokens for b in in_batches(by_length, EVAL_BATCH, pad_token_id=pad_token_id)
    ]
    # Sharded, a rank that found its part cached would skip forwards the other ranks
    # wait on in theirs, so every rank computes its part again.
    cache = None if is_sharded(reference) else checkpoint_dir(config)
    with precision.autocast():
        sums = split_map(
            lambda part: reference_logprobs_cached(reference, part, cache), batches
        )
    if reference is not policy:
        # Training never needs the reference again: give its memory to the policy.
        del reference
        gc.collect()
        if torch.cuda.is_available():
            torch.cuda.empty_cache()
    attached = with_reference(by_length, torch.cat([s for s, _ in sums]))
    return [group for _, group in sorted(zip(order, attached, strict=True))]


def dpo_step(model: Any, objective: Objective, device: torch.device) -> StepFn:
    """The training step: one forward per completion, then the objective."""

    def step(batch: GroupBatch) -> tuple[torch.Tensor, dict[str, float]]:
        batch = batch.to(device)
        logps, counts = sequence_logprobs(model, batch.tokens)  # (M,), (M,)
        return objective(batch, logps, counts)

    return step


def make_objective(config: DPOConfig) -> Objective:
    """The loss of config.loss over a batch's (M,) log-probs and token counts."""
    hyper = config.loss_kwargs()
    beta = hyper.get("beta", DEFAULT_BETA)
    if config.loss in PREFERENCE_LOSSES:
        return _pairwise_objective(PREFERENCE_LOSSES[config.loss], hyper)
    if config.loss == "kto":
        return _kto_objective(beta)
    if config.loss == "plackett_luce":
        return _plackett_luce_objective(beta)
    if config.loss == "rrhf":
        return _rrhf_objective(hyper.get("sft_weight", 1.0))
    raise ValueError(f"unknown loss {config.loss!r}")


def _pairwise_objective(loss_fn: Callable[..., torch.Tensor], hyper: dict) -> Objective:
    """A PREFERENCE_LOSSES entry applied to every untied pair, pair-weighted."""
    accepted = inspect.signature(loss_fn).parameters
    settings = {key: value for key, value in hyper.items() if key in accepted}

    def objective(
        batch: GroupBatch, logps: torch.Tensor, counts: torch.Tensor
    ) -> tuple[torch.Tensor, dict[str, float]]:
        better, worse, weights = ranked_pairs(batch)  # (P,) each
        ref = _reference(batch)
        inputs = {
            "policy_chosen_logps": logps[better],
            "policy_rejected_logps": logps[worse],
            "ref_chosen_logps": ref[better],
            "ref_rejected_logps": ref[worse],
            "chosen_lengths": counts[better],
            "rejected_lengths": counts[worse],
        }
        used = {key: value for key, value in inputs.items() if key in accepted}
        losses = loss_fn(**used, **settings)  # (P,)
        return _weighted_mean(losses, weights), pair_metrics(batch, logps)

    return objective


def _kto_objective(beta: float) -> Objective:
    """KTO over K=1 groups; rank 1 marks a desirable completion."""

    def objective(
        batch: GroupBatch, logps: torch.Tensor, counts: torch.Tensor
    ) -> tuple[torch.Tensor, dict[str, float]]:
        ref = _reference(batch)
        desirable = batch.ranks[:, 0] == 1  # (N,): K=1, so group n is row n
        # KTO's z estimates KL(π || π_ref) from mismatched pairs; the batch mean of
        # the log-ratio is the cheaper estimate TRL also falls back to.
        kl = (logps - ref).mean().detach().clamp(min=0)
        losses = kto_loss(logps, ref, desirable, kl, beta=beta)  # (N,)
        return _weighted_mean(losses, batch.weights), {"kl": kl.item()}

    return objective


def _plackett_luce_objective(beta: float) -> Objective:
    """Listwise DPO: Plackett-Luce over scores beta * log(π/π_ref) per group."""

    def objective(
        batch: GroupBatch, logps: torch.Tensor, counts: torch.Tensor
    ) -> tuple[torch.Tensor, dict[str, float]]:
        scores = batch.grouped(beta * (logps - _reference(batch)))  # (N, K)
        losses = plackett_luce_loss(scores, batch.ranks, mask=batch.mask)  # (N,)
        return _weighted_mean(losses, batch.weights), pair_metrics(batch, logps)

    return objective


def _rrhf_objective(sft_weight: float) -> Objective:
    """RRHF: ranking hinge on length-normalised log-probs plus the best's NLL."""

    def objective(
        batch: GroupBatch, logps: torch.Tensor, counts: torch.Tensor
    ) -> tuple[torch.Tensor, dict[str, float]]:
        losses = rrhf_loss(
            batch.grouped(logps),  # (N, K)
            batch.grouped(counts),  # (N, K)
            batch.ranks,
            mask=batch.mask,
            sft_weight=sft_weight,
        )  # (N,)
        return _weighted_mean(losses, batch.weights), pair_metrics(batch, logps)

    return objective


def pair_metrics(batch: GroupBatch, logps: torch.Tensor) -> dict[str, float]:
    """Implicit-reward accuracy and log-ratio margin over the batch's untied pairs."""
    better, worse, _ = ranked_pairs(batch)
    if not len(better):
        return {}
    log_ratio = (logps - _reference(batch)).detach()  # (M,): implicit reward / beta
    margin = log_ratio[better] - log_ratio[worse]  # (P,)
    return {
        "reward_accuracy": (margin > 0).float().mean().item(),
        "reward_margin": margin.mean().item(),
    }


@torch.no_grad()
def evaluate_dpo(
    model: Any, batches: Sequence[GroupBatch], objective: Objective
) -> dict[str, float]:
    """Held-out loss, implicit-reward accuracy, log-prob margin chosen - rejected."""
    was_training = model.training
    model.eval()
    totals = dict.fromkeys(
        ("loss", "groups", "correct", "pairs", "before", "after"), 0.0
    )
    for batch in batches:
        batch = batch.to(model_device(model))
        logps, counts = sequence_logprobs(model, batch.tokens)  # (M,), (M,)
        totals["loss"] += objective(batch, logps, counts)[0].item() * len(batch.weights)
        totals["groups"] += len(batch.weights)
        better, worse, _ = ranked_pairs(batch)
        ref = _reference(batch)
        gained = (logps - ref)[better] > (logps - ref)[worse]  # (P,)
        totals["correct"] += gained.sum().item()
        totals["pairs"] += len(better)
        totals["before"] += (ref[better] - ref[worse]).sum().item()
        totals["after"] += (logps[better] - logps[worse]).sum().item()
    model.train(was_training)
    pairs = max(totals["pairs"], 1)
    metrics = {"eval_loss": totals["loss"] / max(totals["groups"], 1)}
    if totals["pairs"]:
        metrics |= {
            "eval_reward_accuracy": totals["correct"] / pairs,
            "eval_logp_margin_before": totals["before"] / pairs,
            "eval_logp_margin_after": totals["after"] / pairs,
            "eval_pairs": int(totals["pairs"]),
        }
    return metrics


def _reference(batch: GroupBatch) -> torch.Tensor:
    """The batch's reference log-probs (M,); attach_reference must have run."""
    if batch.ref_logps is None:
        raise ValueError("batch has no reference log-probs; call attach_reference")
    return batch.ref_logps


def _weighted_mean(losses: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
    """sum(w * loss) / sum(w): comparison weights without changing the loss scale."""
    return (losses * weights).sum() / weights.sum().clamp(min=1e-12)
