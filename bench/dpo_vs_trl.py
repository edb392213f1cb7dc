"""rankwise DPO vs TRL's DPOTrainer on the same pairs, model, beta and token ids.

rankwise computes the reference log-probs of the whole data set once before training
(no reference forward per step); TRL by default runs the reference model on every
batch. The first-batch losses must agree to 1e-4; the figure of merit is optimiser
steps per second, with and without rankwise's precompute counted. Goal: 1.5 x TRL.
With --k > 2 the data are rankings: rankwise trains on them (one row per completion),
TRL on their C(K,2) expanded pairs, the same pairs per optimiser step.

Run: .venv/bin/python bench/dpo_vs_trl.py [--model-size small] [--steps 8] [--k 4]
"""

from __future__ import annotations

import argparse
import math
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import common
import torch
from datasets import Dataset
from trl import DPOConfig as TRLDPOConfig
from trl import DPOTrainer

from training.core.batching import encode_prompt_completion
from training.core.data import PairExample, RankingExample, rankings_to_pairs
from training.core.dpo import (
    attach_reference,
    dpo_step,
    make_objective,
    preference_rankings,
)
from training.core.dpo_config import DPOConfig
from training.core.groups import Group, collate_groups, encode_rankings
from training.core.models import load_policy

CPU = torch.device("cpu")
MAX_LENGTH = 256  # rankwise's default; every synthetic sequence fits
LOSS_TOLERANCE = 1e-4
POLICY_NOISE = 0.02  # moves the policy off the reference so the loss is not log 2
GOAL = 1.5
DEFAULT_EPOCHS = DPOConfig.epochs  # passes train_dpo makes by default


def parse_args() -> argparse.Namespace:
    """Command line: sizes and step counts, small by default to finish in minutes."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--pairs", type=int, default=64, help="prompts: pairs, or rankings if --k > 2"
    )
    parser.add_argument(
        "--batch", type=int, default=8, help="prompts (pairs or rankings) per step"
    )
    parser.add_argument("--k", type=int, default=2, help="completions per prompt")
    common.add_run_args(parser, steps=8)
    parser.add_argument("--beta", type=float, default=0.1)
    return parser.parse_args()


@dataclass(frozen=True)
class Setup:
    """Everything both trainers share: folders, weights, tokenizer, pairs."""

    reference_dir: Path
    policy: Any  # reference + noise: the first-batch loss check's policy
    reference: Any  # the built model: reference, and the start of the timed runs
    tokenizer: Any
    rankings: list[RankingExample]  # K=2 rankings are the pairs themselves
    pairs: list[PairExample]  # the rankings' C(K,2) pairs, ranking by ranking
    data: Dataset


def make_setup(args: argparse.Namespace, root: Path) -> Setup:
    """Reference = the built model; policy = reference + seeded noise."""
    reference_dir = common.build_model(args.model_size, root)
    reference, tokenizer = load_policy(reference_dir, device=CPU)
    policy = common.fresh_copy(reference)
    generator = torch.Generator().manual_seed(1)
    with torch.no_grad():
        for param in policy.parameters():
            param.add_(POLICY_NOISE * torch.randn(param.shape, generator=generator))
    rankings = common.synth_rankings(args.pairs, args.k, seed=2)
    pairs = rankings_to_pairs(rankings)
    records = [
        {"prompt": p.prompt, "chosen": p.chosen, "rejected": p.rejected} for p in pairs
    ]
    data = Dataset.from_list(records)
    return Setup(reference_dir, policy, reference, tokenizer, rankings, pairs, data)


def rankwise_config(
    args: argparse.Namespace, out: Path, ref_model: Path | None = None
) -> DPOConfig:
    """rankwise's DPO settings; no ref_model: the starting policy is the reference."""
    return DPOConfig(
        data="synthetic",
        out=str(out),
        ref_model=None if ref_model is None else str(ref_model),
        beta=args.beta,
        batch_size=args.batch,
        max_length=MAX_LENGTH,
        device="cpu",
    )


def rankwise_groups(setup: Setup, config: DPOConfig) -> list[Group]:
    """The rankings (K=2: the pairs) as groups, tokenised as train_dpo does."""
    rankings = preference_rankings(setup.rankings, config)
    return encode_rankings(setup.tokenizer, rankings, max_length=MAX_LENGTH)


def trl_trainer(
    setup: Setup,
    args: argparse.Namespace,
    out: Path,
    *,
    start: Any,
    precompute: bool,
    total_steps: int,
    clock: common.StepClock | None = None,
) -> DPOTrainer:
    """TRL's DPOTrainer from `start` on the pairs, settings matched to rankwise."""
    pairs, accumulation = trl_micro_batch(args)
    config = TRLDPOConfig(
        **common.trl_common_args(out, batch_size=pairs, total_steps=total_steps),
        gradient_accumulation_steps=accumulation,
        beta=args.beta,
        max_length=MAX_LENGTH,
        precompute_ref_log_probs=precompute,
    )
    trainer = DPOTrainer(
        model=common.fresh_copy(start),
        # A model built from a config has no hub id to reload, so pass a copy.
        ref_model=None if precompute else common.fresh_copy(setup.reference),
        args=config,
        train_dataset=setup.data,
        processing_class=setup.tokenizer,
    )
    common.attach_clock(trainer, clock)
    return trainer


def trl_micro_batch(args: argparse.Namespace) -> tuple[int, int]:
    """(pairs per TRL forward, micro-batches per step); batch*C(K,2) pairs a step."""
    pairs = args.batch * math.comb(args.k, 2)
    if args.k == 2 or (args.batch * args.k) % 2:
        return pairs, 1
    # batch*K/2 pairs are batch*K sequences, the shape of rankwise's forward, and
    # K-1 of them make the step's pairs (as in reward_vs_trl.py).
    return args.batch * args.k // 2, args.k - 1


def tokens_match(trainer: DPOTrainer, setup: Setup) -> bool:
    """True when TRL's prompt/completion ids equal rankwise's for every pair."""
    prepared = trainer.train_dataset
    for pair, row in zip(setup.pairs, prepared, strict=True):
        for side in ("chosen", "rejected"):
            ids, mask = encode_prompt_completion(
                setup.tokenizer, pair.prompt, getattr(pair, side), max_length=MAX_LENGTH
            )
            theirs = row["prompt_ids"] + row[f"{side}_ids"]
            n_prompt = len(row["prompt_ids"])
            if ids != theirs or mask != [0] * n_prompt + [1] * (len(ids) - n_prompt):
                return False
    return True


@torch.no_grad()
def first_batch_losses(
    setup: Setup, args: argparse.Namespace, root: Path
) -> tuple[float, float, bool]:
    """(rankwise loss, TRL loss, token ids identical) on the first `batch` prompts."""
    config = rankwise_config(args, root / "check", setup.reference_dir)
    policy = common.fresh_copy(setup.policy)
    groups = rankwise_groups(setup, config)
    groups = attach_reference(groups, policy, config, pad_token_id=_pad(setup))
    step = dpo_step(policy, make_objective(config), CPU)
    ours, _ = step(collate_groups(groups[: args.batch], pad_token_id=_pad(setup)))
    trainer = trl_trainer(
        setup,
        args,
        root / "trl-check",
        start=setup.policy,
        precompute=False,
        total_steps=1,
    )
    # The pairs are listed ranking by ranking, so these are the same comparisons.
    rows = [trainer.train_dataset[i] for i in range(args.batch * math.comb(args.k, 2))]
    theirs = trainer.compute_loss(trainer.model, trainer.data_collator(rows))
    return ours.item(), theirs.item(), tokens_match(trainer, setup)


def _pad(setup: Setup) -> int:
    """The tokenizer's pad id."""
    return setup.tokenizer.pad_token_id


def time_rankwise(
    setup: Setup, args: argparse.Namespace, out: Path
) -> tuple[float, float]:
    """(reference precompute seconds, seconds per step after warm-up)."""
    config = rankwise_config(args, out)  # a fresh OUT: no cached reference
    # As train_dpo does by default, the starting policy is its own reference.
    policy = common.fresh_copy(setup.reference)
    groups = rankwise_groups(setup, config)
    start = time.perf_counter()
    groups = attach_reference(groups, policy, config, pad_token_id=_pad(setup))
    precompute = time.perf_counter() - start
    clock = common.run_rankwise_loop(
        policy,
        groups,
        dpo_step(policy, make_objective(config), CPU),
        batch_size=args.batch,
        total_steps=common.WARMUP_STEPS + args.steps,
        pad_token_id=_pad(setup),
    )
    return precompute, clock.seconds_per_step(common.WARMUP_STEPS)


def time_trl(
    setup: Setup, args: argparse.Namespace, out: Path, *, precompute: bool
) -> float:
    """Seconds per TRL DPOTrainer step after warm-up."""
    clock = common.StepClock()
    trainer = trl_trainer(
        setup,
        args,
        out,
        start=setup.reference,  # as for rankwise: the reference is the start
        precompute=precompute,
        total_steps=common.WARMUP_STEPS + args.steps,
        clock=clock,
    )
    trainer.train()
    return clock.seconds_per_step(common.WARMUP_STEPS)


def measure(setup: Setup, args: argparse.Namespace, root: Path) -> dict[str, list]:
    """Interleaved runs of each variant, so load drift hits all of them alike."""
    runs: dict[str, list] = {"pre": [], "ours": [], "trl": [], "trl_pre": []}
    for repeat in range(args.repeats):
        pre, ours = time_rankwise(setup, args, root / f"ours-{repeat}")
        runs["pre"].append(pre)
        runs["ours"].append(ours)
        runs["trl"].append(
            time_trl(setup, args, root / f"trl-{repeat}", precompute=False)
        )
        runs["trl_pre"].append(
            time_trl(setup, args, root / f"trlpre-{repeat}", precompute=True)
        )
        print(
            f"  run {repeat + 1}: rankwise {ours:.3f} s/step + {pre:.3f} s reference "
            f"precompute; TRL {runs['trl'][-1]:.3f} s/step, TRL with precomputed "
            f"reference {runs['trl_pre'][-1]:.3f} s/step"
        )
    return runs


def report(runs: dict[str, Sequence[float]], args: argparse.Namespace) -> None:
    """The table of steps/s and ratios, with the goal's verdict."""
    ours, pre = common.median(runs["ours"]), common.median(runs["pre"])
    trl, trl_pre = common.median(runs["trl"]), common.median(runs["trl_pre"])
    ours_total = ours + pre / args.steps  # the precompute spread over the timed steps
    # train_dpo's default is 3 epochs, each reusing the one precompute.
    per_epoch = -(-args.pairs // args.batch)
    ours_3_epochs = ours + pre / (DEFAULT_EPOCHS * per_epoch)
    rows = [
        ["rankwise, precompute counted", 1 / ours_total, trl / ours_total],
        ["rankwise, steps only", 1 / ours, trl / ours],
        [
            f"rankwise, precompute over {DEFAULT_EPOCHS} epochs (computed)",
            1 / ours_3_epochs,
            trl / ours_3_epochs,
        ],
        ["TRL DPOTrainer (reference forward per step)", 1 / trl, 1.0],
        ["TRL, precompute_ref_log_probs=True (steps only)", 1 / trl_pre, trl / trl_pre],
    ]
    common.print_table(["trainer", "steps/s", "x TRL default"], rows)
    headline = trl / ours_total
    print(
        f"goal {GOAL} x TRL (precompute counted, {args.steps} steps): "
        f"{headline:.2f} -> {common.verdict(headline, GOAL)}; like-for-like vs TRL "
        f"with its own precompute (steps only): {trl_pre / ours:.2f}"
    )


def main() -> None:
    """Check the first-batch loss, then time both trainers."""
    args = parse_args()
    common.setup_run(args)
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        setup = make_setup(args, root)
        print(f"model {args.model_size}; {common.machine_note()}")
        ours, theirs, same_ids = first_batch_losses(setup, args, root)
        diff = abs(ours - theirs)
        print(
            f"token ids identical: {same_ids}; first-batch DPO loss rankwise "
            f"{ours:.6f}, TRL {theirs:.6f}, |diff| {diff:.2e} "
            f"({'PASS' if diff <= LOSS_TOLERANCE else 'FAIL'} at {LOSS_TOLERANCE})"
        )
        pairs, accumulation = trl_micro_batch(args)
        print(
            f"{args.pairs} prompts x K={args.k}, {args.batch} prompts = "
            f"{args.batch * math.comb(args.k, 2)} pairs per step (rankwise forwards "
            f"{args.batch * args.k} sequences; TRL {2 * pairs} a forward, "
            f"{accumulation} forwards a step), beta {args.beta}, "
            f"{common.WARMUP_STEPS} warm-up + {args.steps} timed steps, "
            f"median of {args.repeats} runs"
        )
        report(measure(setup, args, root), args)


if __name__ == "__main__":
    main()
