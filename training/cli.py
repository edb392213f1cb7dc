"""`python -m training <command>`: the command line is generated from the configs.

Each command is a frozen config dataclass and the function that runs it; every field
becomes an option with the field's help text and type (litgpt style), so the config
is the command line and the command line is the config. Under `torchrun` (or
`accelerate launch`) the processes train data-parallel and rank 0 prints the result.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import sys
import typing
from collections.abc import Callable, Sequence
from typing import Any

from training.core import plan as memory_plan
from training.core.best_of_n import run_best_of_n, train_raft
from training.core.candidates import generate_candidates
from training.core.configs import CONFIGS, DATA_PARALLEL, unwrap_optional
from training.core.data import DataError
from training.core.distributed import (
    barrier,
    close_distributed,
    init_distributed,
    is_main,
)
from training.core.dpo import train_dpo
from training.core.launch import ProgressFile, exit_with_launcher
from training.core.models import ModelError, resolve_model
from training.core.ppo import train_ppo
from training.core.reward import train_reward
from training.core.rloo import train_rloo
from training.core.sft import train_sft

# A command is a config (training/core/configs.py) and the function that runs it.
RUNNERS: dict[str, Callable[..., Any]] = {
    "sft": train_sft,
    "reward": train_reward,
    "dpo": train_dpo,
    "ppo": train_ppo,
    "rloo": train_rloo,
    "bon": run_best_of_n,
    "raft": train_raft,
    "generate": generate_candidates,
}
COMMANDS: dict[str, tuple[type, Callable[..., Any]]] = {
    name: (CONFIGS[name], RUNNERS[name]) for name in CONFIGS
}
EXIT_BAD_INPUT = 2  # argparse's own code for a bad command line


def main(argv: Sequence[str] | None = None) -> int:
    """Parse the command line, run the command; 2 on bad data or a missing model."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command == "plan":
        return run_plan(args)
    if args.command not in DATA_PARALLEL and os.environ.get("WORLD_SIZE", "1") != "1":
        parser.error(
            f"{args.command} runs on one process; only {', '.join(DATA_PARALLEL)} "
            "train data-parallel under torchrun / accelerate launch"
        )
    config_class, run = COMMANDS[args.command]
    config = config_from_args(config_class, args)
    exit_with_launcher()
    init_distributed()
    progress = ProgressFile(args.progress_file) if args.progress_file else None
    try:
        result = run(config, progress_callback=progress)
        if is_main():
            print(json.dumps(result.metrics, indent=2, sort_keys=True, default=str))
        # No rank leaves the group while another is still in it (rank 0 saving, say):
        # a rank that tore gloo down early aborted at exit ("terminate called").
        barrier()
    except (DataError, ModelError) as err:
        print(f"python -m training {args.command}: error: {err}", file=sys.stderr)
        return EXIT_BAD_INPUT
    finally:
        close_distributed()
    return 0


def build_parser() -> argparse.ArgumentParser:
    """One sub-command per entry of COMMANDS, its options from its config's fields."""
    parser = argparse.ArgumentParser(
        prog="python -m training",
        description=(
            "rankwise trainer: reward models, DPO family, PPO, RLOO, best-of-N, "
            "RAFT, SFT, generation."
        ),
    )
    commands = parser.add_subparsers(dest="command", required=True)
    for name, (config_class, run) in COMMANDS.items():
        doc = (run.__doc__ or "").strip()
        sub = commands.add_parser(
            name,
            help=doc,
            description=f"{doc}\n\n{(config_class.__doc__ or '').strip()}",
            formatter_class=argparse.ArgumentDefaultsHelpFormatter,
        )
        add_config_options(sub, config_class)
        sub.add_argument(
            "--progress-file",
            help="append one JSON line per optimiser step here (rank 0): "
            '{"fraction", "message", "metrics"}, for a launcher to follow',
        )
    add_plan_command(commands)
    return parser


def add_plan_command(commands: Any) -> None:
    """`plan ALGORITHM [its trainer options]`: memory per device, nothing loaded."""
    plan = commands.add_parser(
        "plan",
        help="estimated peak memory per device of a training run, by part",
        description=(memory_plan.__doc__ or "").strip(),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    algorithms = plan.add_subparsers(dest="algorithm", required=True)
    for name in memory_plan.PLAN_ALGORITHMS:
        sub = algorithms.add_parser(
            name, formatter_class=argparse.ArgumentDefaultsHelpFormatter
        )
        add_config_options(sub, CONFIGS[name], require=False)
        sub.add_argument("--gpu-memory", type=float, help="GiB per device")
        sub.add_argument("--processes", type=int, default=1, help="data-parallel")
        sub.add_argument("--json", action="store_true", help="print JSON")
        if name in ("dpo", "reward"):
            sub.add_argument(
                "--ranking-size",
                type=int,
                default=2,
                help="completions per ranking, K (2: pairs)",
            )


def run_plan(args: argparse.Namespace) -> int:
    """Print the memory plan of `args.algorithm`'s run and the settings that fit."""
    config = config_from_args(CONFIGS[args.algorithm], args)
    try:
        policy = memory_plan.load_shape(
            resolve_model(config.model), score_head=args.algorithm == "reward"
        )
        reward_path = getattr(config, "reward_model", None)
        reward = None
        if args.algorithm in ("ppo", "rloo") and reward_path:
            reward = memory_plan.load_shape(resolve_model(reward_path), score_head=True)
    except (ModelError, OSError) as err:
        print(f"python -m training plan: error: {err}", file=sys.stderr)
        return EXIT_BAD_INPUT
    kwargs: dict[str, Any] = {
        "reward": reward,
        "ranking_size": getattr(args, "ranking_size", 2),
        "gpu_gib": args.gpu_memory,
        "processes": args.processes,
    }
    plan = memory_plan.plan_memory(config, args.algorithm, policy, **kwargs)
    fixes = []
    if plan.fits is False:
        fixes = memory_plan.suggest_fixes(config, args.algorithm, policy, **kwargs)
    if args.json:
        print(json.dumps(memory_plan.plan_json(plan, fixes), indent=2))
    else:
        print(memory_plan.plan_table(plan, fixes))
    return 0


def add_config_options(
    parser: argparse.ArgumentParser, config_class: type, *, require: bool = True
) -> None:
    """Add --field-name for every field of the dataclass, typed from its annotation.

    require=False leaves every option optional (a plan needs no --data).
    """
    hints = typing.get_type_hints(config_class)
    for field in dataclasses.fields(config_class):
        option = "--" + field.name.replace("_", "-")
        kind = unwrap_optional(hints[field.name])
        help_text = field.metadata.get("help", "")
        if kind is bool:
            parser.add_argument(
                option, action=argparse.BooleanOptionalAction, help=help_text
            )
            parser.set_defaults(**{field.name: field.default})
            continue
        parser.add_argument(
            option,
            dest=field.name,
            type=kind,
            default=field.default,
            choices=field.metadata.get("choices"),
            required=require and field.metadata.get("required", False),
            help=help_text,
        )


def config_from_args(config_class: type, args: argparse.Namespace) -> Any:
    """The config dataclass filled from parsed options."""
    names = [field.name for field in dataclasses.fields(config_class)]
    return config_class(**{name: getattr(args, name) for name in names})
