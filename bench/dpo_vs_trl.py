"""rankwise DPO vs TRL's DPOTrainer on the same pairs, model, beta and token ids.

rankwise computes the reference log-probs of the whole data set once before training
(no reference forward per step); TRL by default runs the reference model on every
batch, and with its own `precompute_ref_log_probs=True` it too runs the reference once
up front. Both TRL configurations are timed, each precompute included. The first-batch
losses must agree to 1e-4; the figure of merit is optimiser steps per second, with and
without the precompute counted. Goal: 1.5 x TRL's faster configuration.
With --k > 2 the data are rankings: rankwise trains on them (one row per completion),
TRL on their C(K,2) expanded pairs, the same pairs per optimiser step.

Run: .venv/bin/python bench/dpo_vs_trl.py [--model-size small] [--steps 8] [--k 4]
"""

from __future__ import annotations

import argparse
import math
import tempfile
import time
from collections.abc import Mapping, Sequence
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
from training.core.recipe import EVAL_BATCH

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
    data = common.pair_dataset(rankings)
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
    return encode_rankings(
        setup.tokenizer,
        rankings,
        max_length=MAX_LENGTH,
        chat_template=common.CHAT_TEMPLATE,
    )


class TimedDPOTrainer(DPOTrainer):
    """DPOTrainer that records the seconds its reference precompute takes.

    TRL runs the precompute inside __init__, after tokenising the data set, so timing
    the constructor would count the tokenisation too (outside the window for rankwise).
    """

    precompute_seconds = 0.0

    def _precompute_ref_logps(self, dataset: Any, name: str, batch_size: int) -> Any:
        start = time.perf_counter()
        result = super()._precompute_ref_logps(dataset, name, batch_size)
        self.precompute_seconds += time.perf_counter() - start
        return result


def trl_trainer(
    setup: Setup,
    args: argparse.Namespace,
    out: Path,
    *,
    start: Any,
    precompute: bool,
    total_steps: int,
    clock: common.StepClock | None = None,
    trl_args: dict[str, Any] | None = None,
) -> TimedDPOTrainer:
    """TRL's DPOTrainer from `start` on the pairs, settings matched to rankwise.

    trl_args override any of the settings (a GPU run: bf16, use_cpu, max_length).
    """
    pairs, accumulation = trl_micro_batch(args)
    settings = common.trl_common_args(out, batch_size=pairs, total_steps=total_steps)
    settings |= {
        "gradient_accumulation_steps": accumulation,
        "beta": args.beta,
        "max_length": MAX_LENGTH,
        "precompute_ref_log_probs": precompute,
        # rankwise's precompute forwards EVAL_BATCH prompts' completions at once;
        # TRL's the same number of sequences (its default is the training batch).
        "precompute_ref_batch_size": max(1, EVAL_BATCH * args.k // 2),
    }
    config = TRLDPOConfig(**(settings | (trl_args or {})))
    trainer = TimedDPOTrainer(
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
                setup.tokenizer,
                pair.prompt,
                getattr(pair, side),
                max_length=MAX_LENGTH,
                chat_template=common.CHAT_TEMPLATE,
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
) -> tuple[float, float]:
    """(reference precompute seconds, 0 without; seconds per step after warm-up)."""
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
    return trainer.precompute_seconds, clock.seconds_per_step(common.WARMUP_STEPS)


RANKWISE = "rankwise"
TRL_DEFAULT = "TRL (reference forward per step)"
TRL_PRECOMPUTE = "TRL, precompute_ref_log_probs=True"
Timing = tuple[float, float]  # (reference precompute seconds, seconds per step)


def measure(
    setup: Setup, args: argparse.Namespace, root: Path
) -> dict[str, list[Timing]]:
    """Interleaved runs of each variant, so load drift hits all of them alike."""
    runs: dict[str, list[Timing]] = {RANKWISE: [], TRL_DEFAULT: [], TRL_PRECOMPUTE: []}
    for repeat in range(args.repeats):
        runs[RANKWISE].append(time_rankwise(setup, args, root / f"ours-{repeat}"))
        runs[TRL_DEFAULT].append(
            time_trl(setup, args, root / f"trl-{repeat}", precompute=False)
        )
        runs[TRL_PRECOMPUTE].append(
            time_trl(setup, args, root / f"trlpre-{repeat}", precompute=True)
        )
        print(
            f"  run {repeat + 1}: "
            + "; ".join(
                f"{name} {times[-1][1]:.3f} s/step + {times[-1][0]:.3f} s precompute"
                for name, times in runs.items()
            )
        )
    return runs


def accountings(args: argparse.Namespace) -> dict[str, float]:
    """Optimiser steps the one precompute is spread over, by way of counting it."""
    per_epoch = -(-args.pairs // args.batch)
    return {
        f"precompute counted ({args.steps} steps)": args.steps,
        "steps only": math.inf,
        # train_dpo's default is 3 epochs, each reusing the one precompute.
        f"precompute over {DEFAULT_EPOCHS} epochs (computed)": DEFAULT_EPOCHS
        * per_epoch,
    }


def report(runs: Mapping[str, Sequence[Timing]], args: argparse.Namespace) -> None:
    """Steps/s of each trainer per accounting, ratios, and the goal's verdict."""
    medians = {
        name: (common.median([p for p, _ in t]), common.median([s for _, s in t]))
        for name, t in runs.items()
    }
    seconds = {
        name: [step + pre / steps for steps in accountings(args).values()]
        for name, (pre, step) in medians.items()
    }
    rows = [
        [name, step, pre, *[1 / s for s in seconds[name]]]
        for name, (pre, step) in medians.items()
    ]
    common.print_table(["trainer", "s/step", "precompute s", *accountings(args)], rows)
    ratios: list[list[Any]] = []
    for i, accounting in enumerate(accountings(args)):
        versus = [
            seconds[trl][i] / seconds[RANKWISE][i] for trl in runs if trl != RANKWISE
        ]
        ratios.append([accounting, *versus, min(versus)])
    common.print_table(
        ["rankwise x", TRL_DEFAULT, TRL_PRECOMPUTE, "fastest TRL"], ratios
    )
    headline = ratios[0][-1]
    print(
        f"goal {GOAL} x fastest TRL ({ratios[0][0]}): {headline:.2f} -> "
        f"{common.verdict(headline, GOAL)}"
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
