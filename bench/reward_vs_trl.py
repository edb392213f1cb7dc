"""K-wise reward training (rankwise) vs TRL's RewardTrainer on the expanded pairs.

rankwise scores each of a ranking's K completions once and takes all C(K,2)
Bradley-Terry terms from those K scalars; TRL forwards both sides of every pair, so
2*C(K,2) sequences per ranking. Both see the same comparisons per optimiser step, the
same token ids and the same starting weights; the figure of merit is comparisons per
second. Goal: rankwise >= (K-1)/2 x TRL.

Run: .venv/bin/python bench/reward_vs_trl.py [--model-size small] [--steps 6]
"""

from __future__ import annotations

import argparse
import math
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import common
import torch
from datasets import Dataset
from trl import RewardConfig as TRLRewardConfig
from trl import RewardTrainer

from training.core.batching import encode_prompt_completion
from training.core.groups import Group, collate_groups, encode_rankings
from training.core.models import load_reward_model
from training.core.reward import reward_step
from training.core.reward_config import RewardConfig

CPU = torch.device("cpu")
CENTER = 0.01  # rankwise's default centring weight; TRL's recommended value too
MAX_LENGTH = 256  # rankwise's default; every synthetic sequence fits


def parse_args() -> argparse.Namespace:
    """Command line: sizes and step counts, small by default to finish in minutes."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ks", type=int, nargs="+", default=[4, 9])
    parser.add_argument("--rankings", type=int, default=64, help="rankings per K")
    parser.add_argument("--batch", type=int, default=8, help="rankings per step")
    parser.add_argument(
        "--trl-one-batch",
        action="store_true",
        help="TRL forwards a step's 2*C(K,2) sequences at once (default: it "
        "accumulates K-1 micro-batches of rankwise's batch shape)",
    )
    common.add_run_args(parser, steps=6)
    return parser.parse_args()


def trl_trainer(
    model: Any,
    tokenizer: Any,
    data: Dataset,
    *,
    out: Path,
    micro_batch: tuple[int, int],
    total_steps: int,
    clock: common.StepClock | None = None,
    trl_args: dict[str, Any] | None = None,
) -> RewardTrainer:
    """TRL's RewardTrainer on the expanded pairs, settings matched to rankwise.

    trl_args override any of the settings (a GPU run: bf16, use_cpu, max_length).
    """
    pairs, accumulation = micro_batch
    settings = common.trl_common_args(out, batch_size=pairs, total_steps=total_steps)
    settings |= {
        "gradient_accumulation_steps": accumulation,
        "center_rewards_coefficient": CENTER,
        "max_length": MAX_LENGTH,
    }
    args = TRLRewardConfig(**(settings | (trl_args or {})))
    trainer = RewardTrainer(
        model=model, args=args, train_dataset=data, processing_class=tokenizer
    )
    common.attach_clock(trainer, clock)
    return trainer


def trl_micro_batch(args: argparse.Namespace, k: int) -> tuple[int, int]:
    """(pairs per TRL forward, micro-batches per step); C(K,2)*batch pairs a step."""
    pairs = args.batch * math.comb(k, 2)
    if args.trl_one_batch or (args.batch * k) % 2:
        return pairs, 1
    # batch*K/2 pairs are batch*K sequences, the shape of rankwise's forward, and
    # K-1 of them make the step's batch*C(K,2) pairs.
    return args.batch * k // 2, k - 1


def tokens_match(trainer: RewardTrainer, data: Dataset, tokenizer: Any) -> bool:
    """True when TRL's token ids equal rankwise's for every pair."""
    prepared = trainer.train_dataset
    if len(prepared) != len(data):
        return False
    for row, ids in zip(data, prepared, strict=True):
        for side in ("chosen", "rejected"):
            ours, _ = encode_prompt_completion(
                tokenizer,
                row["prompt"],
                row[side],
                max_length=MAX_LENGTH,
                chat_template=common.CHAT_TEMPLATE,
            )
            if ours != ids[f"{side}_ids"]:
                return False
    return True


@torch.no_grad()
def first_batch_losses(
    model: Any, trainer: RewardTrainer, groups: Sequence[Group], batch: int, k: int
) -> tuple[float, float]:
    """(rankwise K-wise BT loss, TRL pairwise loss) on the first `batch` rankings."""
    pad = trainer.processing_class.pad_token_id
    step = reward_step(model, RewardConfig(center_coefficient=0.0), CPU)
    _, metrics = step(collate_groups(groups[:batch], pad_token_id=pad))
    n_pairs = batch * math.comb(k, 2)  # pairs are listed ranking by ranking
    rows = [trainer.train_dataset[i] for i in range(n_pairs)]
    inputs = trainer.data_collator(rows)
    trainer.args.center_rewards_coefficient = None  # compare the BT terms alone
    trl_loss = trainer.compute_loss(trainer.model, inputs).item()
    trainer.args.center_rewards_coefficient = CENTER
    return metrics["bt_loss"], trl_loss


def time_rankwise(
    init: Any, groups: Sequence[Group], args: argparse.Namespace, pad: int
) -> float:
    """Seconds per rankwise optimiser step after warm-up."""
    model = common.fresh_copy(init)
    config = RewardConfig(center_coefficient=CENTER, batch_size=args.batch)
    clock = common.run_rankwise_loop(
        model,
        groups,
        reward_step(model, config, CPU),
        batch_size=args.batch,
        total_steps=common.WARMUP_STEPS + args.steps,
        pad_token_id=pad,
    )
    return clock.seconds_per_step(common.WARMUP_STEPS)


def time_trl(
    init: Any, tokenizer: Any, data: Dataset, args: argparse.Namespace, k: int
) -> float:
    """Seconds per TRL RewardTrainer optimiser step after warm-up."""
    clock = common.StepClock()
    with tempfile.TemporaryDirectory() as out:
        trainer = trl_trainer(
            common.fresh_copy(init),
            tokenizer,
            data,
            out=Path(out),
            micro_batch=trl_micro_batch(args, k),
            total_steps=common.WARMUP_STEPS + args.steps,
            clock=clock,
        )
        trainer.train()
    return clock.seconds_per_step(common.WARMUP_STEPS)


def bench_k(k: int, init: Any, tokenizer: Any, args: argparse.Namespace) -> list:
    """Check tokens and first-batch loss, then time both trainers; one table row."""
    rankings = common.synth_rankings(args.rankings, k, seed=k)
    groups = encode_rankings(
        tokenizer, rankings, max_length=MAX_LENGTH, chat_template=common.CHAT_TEMPLATE
    )
    data = common.pair_dataset(rankings)
    pairs_per_step = args.batch * math.comb(k, 2)
    with tempfile.TemporaryDirectory() as out:
        check = trl_trainer(
            common.fresh_copy(init),
            tokenizer,
            data,
            out=Path(out),
            micro_batch=trl_micro_batch(args, k),
            total_steps=1,
        )
        same_ids = tokens_match(check, data, tokenizer)
        ours_loss, trl_loss = first_batch_losses(init, check, groups, args.batch, k)
    print(
        f"K={k}: token ids identical: {same_ids}; first-batch loss rankwise "
        f"{ours_loss:.6f}, TRL {trl_loss:.6f}, |diff| {abs(ours_loss - trl_loss):.2e}"
    )
    ours, trl = [], []
    for repeat in range(args.repeats):  # interleaved, so load drift hits both
        ours.append(time_rankwise(init, groups, args, tokenizer.pad_token_id))
        trl.append(time_trl(init, tokenizer, data, args, k))
        print(f"  run {repeat + 1}: rankwise {ours[-1]:.3f} s/step, TRL {trl[-1]:.3f}")
    ours_cps = pairs_per_step / common.median(ours)
    trl_cps = pairs_per_step / common.median(trl)
    goal = (k - 1) / 2
    ratio = ours_cps / trl_cps
    return [
        k,
        pairs_per_step,
        f"{args.batch * k} / {2 * pairs_per_step} in {trl_micro_batch(args, k)[1]}",
        ours_cps,
        trl_cps,
        ratio,
        goal,
        common.verdict(ratio, goal),
    ]


def main() -> None:
    """Run every K and print the table."""
    args = parse_args()
    common.setup_run(args)
    with tempfile.TemporaryDirectory() as root:
        folder = common.build_model(args.model_size, Path(root))
        init, tokenizer = load_reward_model(folder, device=CPU)  # one random head
        print(f"model {args.model_size}; {common.machine_note()}")
        print(
            f"{args.rankings} rankings per K, {args.batch} rankings per step, "
            f"{common.WARMUP_STEPS} warm-up + {args.steps} timed steps, "
            f"median of {args.repeats} runs"
        )
        rows = [bench_k(k, init, tokenizer, args) for k in args.ks]
    common.print_table(
        [
            "K",
            "comparisons/step",
            "sequences/step (rankwise / TRL in n forwards)",
            "rankwise cmp/s",
            "TRL cmp/s",
            "ratio",
            "goal (K-1)/2",
            "verdict",
        ],
        rows,
    )


if __name__ == "__main__":
    main()
