"""Shared pieces of the benchmarks: offline setup, models, data, clocks, tables.

Each benchmark runs rankwise and its TRL peer in ONE process on the same data, the
same weights and the same machine, and prints throughput ratios. Nothing here is a
test: the figures depend on the machine and its load.
"""

from __future__ import annotations

import os

# The hub is unreachable here and must not be tried; set before transformers loads.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
os.environ.setdefault("HF_HOME", "/tmp/hfhome")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
os.environ.setdefault("TQDM_DISABLE", "1")  # progress bars would only add noise

import argparse  # noqa: E402
import copy  # noqa: E402
import logging  # noqa: E402
import random  # noqa: E402
import statistics  # noqa: E402
import time  # noqa: E402
import warnings  # noqa: E402
from collections.abc import Callable, Sequence  # noqa: E402
from dataclasses import dataclass, field  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

import torch  # noqa: E402
from datasets import Dataset  # noqa: E402
from transformers import TrainerCallback  # noqa: E402
from transformers.trainer_callback import PrinterCallback  # noqa: E402

from training.core.data import RankingExample, rankings_to_pairs  # noqa: E402
from training.core.distributed import world_size  # noqa: E402
from training.core.groups import Group, epoch_batches  # noqa: E402
from training.core.loop import (  # noqa: E402
    LoopSettings,
    StepFn,
    make_optimizer,
    train_loop,
)
from training.core.models import TinyModelShape, build_tiny_model  # noqa: E402
from training.core.precision import Precision  # noqa: E402

# tiny: the embedded default. small: wide and deep enough that the matrix products,
# not Python and framework overhead, dominate a step on a CPU.
MODEL_SHAPES = {
    "tiny": TinyModelShape(),
    "small": TinyModelShape(
        hidden_size=256,
        num_hidden_layers=4,
        num_attention_heads=4,
        intermediate_size=512,
    ),
    # ~99M parameters (12 layers x 8.3M; the 512-token vocabulary adds 0.4M): the
    # memory benchmark's model, where weights, AdamW state and activations, not
    # the framework, set the peak.
    "100m": TinyModelShape(
        hidden_size=768,
        num_hidden_layers=12,
        num_attention_heads=12,
        intermediate_size=2560,
    ),
}
# TRL reads plain-string prompts as raw text (it templates only conversational
# records); rankwise does too with "never", so both see the same token ids.
CHAT_TEMPLATE = "never"
WARMUP_STEPS = 2  # first steps pay for allocator growth and lazy init; not timed
LR = 1e-5  # speed does not depend on it; the same value for both trainers
MAX_GRAD_NORM = 1.0  # rankwise's default clipping, set on TRL as well
WARMUP_FRACTION = 0.1  # rankwise's default schedule shape, set on TRL as well

_WORD_TEXT = (
    "the model answers questions about reward training data rankings with short "
    "clear helpful honest sentences and explains each step of the method in plain "
    "words so readers can follow the idea from start to end without extra help"
)
WORDS = tuple(_WORD_TEXT.split())


def add_run_args(parser: argparse.ArgumentParser, *, steps: int) -> None:
    """Options both benchmarks take: timed steps, repeats, model size, threads."""
    parser.add_argument("--steps", type=int, default=steps, help="timed steps a run")
    parser.add_argument("--repeats", type=int, default=3, help="runs per trainer")
    parser.add_argument(
        "--model-size", choices=sorted(MODEL_SHAPES), default="tiny", help="model"
    )
    # One thread by default: on a shared machine a second OpenMP thread whose core
    # is busy stalls every parallel region (50x slower steps seen), which swamps
    # the ratio. Pass the core count on an idle machine.
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads")


def setup_run(args: argparse.Namespace) -> None:
    """Quiet the libraries, fix the thread count and the seed."""
    quiet()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)


def quiet() -> None:
    """Silence library warnings and info logs that would bury the tables."""
    warnings.filterwarnings("ignore")
    logging.disable(logging.WARNING)
    from transformers.utils import logging as hf_logging

    hf_logging.set_verbosity_error()


def build_model(size: str, root: Path) -> Path:
    """Build (once) the seeded random Llama of `size` under `root`; its folder."""
    return build_tiny_model(root / f"model-{size}", shape=MODEL_SHAPES[size])


def synth_rankings(
    n: int, k: int, *, seed: int = 0, words: tuple[int, int] = (20, 24)
) -> list[RankingExample]:
    """n prompts with k completions of `words` (min, max) words and a strict ranking."""
    rng = random.Random(seed)
    rankings = []
    for i in range(n):
        topic = " ".join(rng.choices(WORDS, k=8))
        # The prompt ends on ':' and completions start with a space, so no BPE merge
        # crosses the boundary and separate or joint tokenisation gives equal ids.
        prompt = f"Question {i}: {topic}. Answer:"
        completions = [_sentence(rng, rng.randint(*words)) for _ in range(k)]
        ranks = list(range(1, k + 1))
        rng.shuffle(ranks)
        rankings.append(RankingExample(prompt, completions, ranks))
    return rankings


def pair_dataset(rankings: Sequence[RankingExample]) -> Dataset:
    """The rankings expanded to TRL's {prompt, chosen, rejected} records, in order."""
    records = [
        {"prompt": p.prompt, "chosen": p.chosen, "rejected": p.rejected}
        for p in rankings_to_pairs(rankings)
    ]
    return Dataset.from_list(records)


def _sentence(rng: random.Random, n_words: int) -> str:
    """A completion of n_words random words, starting with a space."""
    return " " + " ".join(rng.choices(WORDS, k=n_words)) + "."


def fresh_copy(model: torch.nn.Module) -> torch.nn.Module:
    """A deep copy, so both trainers start from exactly the same weights."""
    return copy.deepcopy(model)


@dataclass
class StepClock:
    """Time stamps taken after each optimiser step, and the setup time to discount."""

    stamps: list[float] = field(default_factory=list)
    collate: list[tuple[float, float, int]] = field(default_factory=list)
    # Called before each stamp: torch.cuda.synchronize, as CUDA kernels run async.
    sync: Callable[[], object] | None = None

    def tick(self) -> None:
        """Record the end of one optimiser step."""
        if self.sync is not None:
            self.sync()
        self.stamps.append(time.perf_counter())

    def seconds_per_step(self, warmup: int) -> float:
        """Mean seconds per step after `warmup` steps, with batching spread evenly."""
        start, end = self.stamps[warmup - 1], self.stamps[-1]
        steps = len(self.stamps) - warmup
        inside = sum(b - a for a, b, _ in self.collate if a >= start and b <= end)
        total = sum(b - a for a, b, _ in self.collate)
        batches = sum(n for _, _, n in self.collate)
        # rankwise batches a whole epoch at once (TRL one batch per step): count its
        # batching cost per step whether or not an epoch boundary fell in the window.
        per_batch = total / batches if batches else 0.0
        return (end - start - inside) / steps + per_batch


class ClockCallback(TrainerCallback):
    """TRL/transformers callback that ticks a StepClock at the end of each step."""

    def __init__(self, clock: StepClock) -> None:
        self.clock = clock

    def on_step_end(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        """Tick after the optimiser and scheduler have stepped."""
        self.clock.tick()


def attach_clock(trainer: Any, clock: StepClock | None) -> None:
    """Tick `clock` after each TRL step; drop the printer of the final summary."""
    trainer.remove_callback(PrinterCallback)
    if clock is not None:
        trainer.add_callback(ClockCallback(clock))


def run_rankwise_loop(
    model: torch.nn.Module,
    groups: Sequence[Group],
    step: StepFn,
    *,
    batch_size: int,
    total_steps: int,
    pad_token_id: int,
    seed: int = 0,
    precision: Precision | None = None,
    clock: StepClock | None = None,
) -> StepClock:
    """rankwise's own loop (as run_training wires it) for exactly total_steps.

    Under torchrun each rank takes batch_size groups of every step (epoch_batches).
    """
    clock = clock or StepClock()
    batches = _timed_batches(
        epoch_batches(groups, batch_size, pad_token_id=pad_token_id, seed=seed),
        clock,
        total_steps,
    )
    per_epoch = -(-len(groups) // (batch_size * world_size()))
    epochs = -(-total_steps // per_epoch)
    optimizer, scheduler = make_optimizer(
        model, lr=LR, total_steps=total_steps, warmup_fraction=WARMUP_FRACTION
    )
    settings = LoopSettings(
        epochs=epochs,
        max_grad_norm=MAX_GRAD_NORM,
        checkpoint_dir=None,
        precision=precision or Precision(),
    )
    train_loop(
        model,
        optimizer,
        scheduler,
        batches,
        step,
        settings,
        progress_callback=lambda *_: clock.tick(),
    )
    return clock


def _timed_batches(
    batches: Callable[[int], list[Any]], clock: StepClock, total_steps: int
) -> Callable[[int], list[Any]]:
    """The epoch batches cut to total_steps overall, timing each epoch's batching."""
    per_epoch = len(batches(0))

    def timed(epoch: int) -> list[Any]:
        start = time.perf_counter()
        out = batches(epoch)[: max(0, total_steps - epoch * per_epoch)]
        clock.collate.append((start, time.perf_counter(), len(out)))
        return out

    return timed


def trl_common_args(out: Path, *, batch_size: int, total_steps: int) -> dict:
    """TrainingArguments both TRL trainers share, matched to rankwise's loop."""
    return {
        "output_dir": str(out),
        "per_device_train_batch_size": batch_size,
        "max_steps": total_steps,
        "learning_rate": LR,
        "lr_scheduler_type": "linear",
        "warmup_steps": max(1, round(WARMUP_FRACTION * total_steps)),
        "weight_decay": 0.0,
        "max_grad_norm": MAX_GRAD_NORM,
        "optim": "adamw_torch",  # rankwise's plain torch AdamW, not the fused one
        # TRL turns gradient checkpointing on by default; rankwise does not use it,
        # and recomputing activations would only slow TRL down.
        "gradient_checkpointing": False,
        "bf16": False,  # TRL's configs default to bf16, even on CPU
        "use_cpu": True,
        "report_to": [],
        "save_strategy": "no",
        "logging_steps": 10**6,
        "disable_tqdm": True,
        "dataloader_num_workers": 0,
        "dataloader_pin_memory": False,
        "seed": 0,
    }


def median(values: Sequence[float]) -> float:
    """The median of `values`."""
    return statistics.median(values)


def print_table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> None:
    """A plain fixed-width table (also valid Markdown)."""
    cells = [[str(h) for h in headers], *[[_fmt(c) for c in r] for r in rows]]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    lines = [
        "| " + " | ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) + " |"
        for r in cells
    ]
    lines.insert(1, "|" + "|".join("-" * (w + 2) for w in widths) + "|")
    print("\n".join(lines))


def _fmt(value: object) -> str:
    """Floats to 3 significant decimals; anything else as str."""
    if isinstance(value, float):
        return f"{value:.3g}" if abs(value) < 1000 else f"{value:.0f}"
    return str(value)


def verdict(ratio: float, goal: float) -> str:
    """PASS when the measured ratio reaches the goal."""
    return "PASS" if ratio >= goal else "FAIL"


def machine_note() -> str:
    """Threads, cores and the 1-minute load average, for the record."""
    load = os.getloadavg()[0]
    return (
        f"torch {torch.__version__}, {torch.get_num_threads()} threads, "
        f"{os.cpu_count()} cores, load average {load:.2f} at start"
    )
