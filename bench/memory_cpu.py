"""Peak memory of training a ~100M-parameter Llama on CPU, with and without savers.

Each configuration trains the same random Llama (common.MODEL_SHAPES["100m"]) for a
few optimiser steps at the same global batch through the real command line
(`python -m training dpo|reward ...`, called as training.cli.main in a fresh child
process), plainly, with --gradient-checkpointing, with --grad-accum-steps, and with
both. The memory plan (`python -m training plan ...`, the same options) is printed
beside each measured peak. Not a test: the figures depend on the machine.

What is measured: the child's resident set (Linux VmRSS / VmHWM). After its imports
it reads VmRSS (the baseline: Python, torch, transformers, rankwise's modules) and
resets the high-water mark (`/proc/self/clear_refs`), then trains; the figure is
VmHWM minus that baseline. The child runs with glibc's mmap threshold fixed at
128 KiB, so every tensor buffer is its own mapping and goes back to the kernel when
freed: resident memory then follows live tensors rather than the heap's high-water.

Run: .venv/bin/python bench/memory_cpu.py [--algorithms dpo reward] [--variants 0 3]
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import common
from export_memory import MemorySampler

from training import cli
from training.core import plan as memory_plan
from training.core.configs import CONFIGS

MODEL_SIZE = "100m"
MAX_LENGTH = 128  # every synthetic sequence is longer, so each is cut to this
WORDS = (48, 56)  # completion words: > MAX_LENGTH tokens with the prompt
K = {"dpo": 2, "reward": 4}  # completions per prompt: DPO pairs, reward rankings
# Prompts per optimiser step: 16 sequences of MAX_LENGTH tokens for both methods.
GLOBAL_BATCH = {"dpo": 8, "reward": 4}
ACCUM = 4  # micro-batches per step when accumulating
MMAP_THRESHOLD = str(128 * 1024)
MIB = 1024**2


@dataclass(frozen=True)
class Variant:
    """One way to run the same optimiser steps."""

    name: str
    checkpointing: bool
    accum: int
    lora: bool = False  # LoRA under bf16 autocast: a bf16 frozen base, fp32 adapters


VARIANTS = (
    Variant("plain", checkpointing=False, accum=1),
    Variant("checkpointing", checkpointing=True, accum=1),
    Variant(f"accumulation x{ACCUM}", checkpointing=False, accum=ACCUM),
    Variant(f"checkpointing + accumulation x{ACCUM}", checkpointing=True, accum=ACCUM),
    Variant("LoRA, bf16 autocast", checkpointing=False, accum=1, lora=True),
)


def parse_args() -> argparse.Namespace:
    """Command line: which methods and how many optimiser steps."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--algorithms", nargs="+", choices=sorted(K), default=["dpo"])
    # Two: the first allocates AdamW's state, the second trains with it; more repeat it.
    parser.add_argument("--steps", type=int, default=2, help="optimiser steps a run")
    parser.add_argument(
        "--variants",
        nargs="+",
        type=int,
        default=list(range(len(VARIANTS))),
        help="indices into " + ", ".join(v.name for v in VARIANTS),
    )
    parser.add_argument("--child", help=argparse.SUPPRESS)  # JSON argv of cli.main
    return parser.parse_args()


def options(algorithm: str, variant: Variant, model: Path) -> list[str]:
    """Trainer options shared by the run and its plan: the same global batch."""
    return [
        *("--model", str(model), "--max-length", str(MAX_LENGTH)),
        *("--batch-size", str(GLOBAL_BATCH[algorithm] // variant.accum)),
        *("--grad-accum-steps", str(variant.accum)),
        *("--device", "cpu", "--mixed-precision", "bf16" if variant.lora else "no"),
        *(["--gradient-checkpointing"] if variant.checkpointing else []),
        *(["--lora"] if variant.lora else []),
    ]


def run_options(data: Path, out: Path, steps: int) -> list[str]:
    """Options only the run needs: data, OUT, exactly `steps` steps, no evaluation."""
    return [
        *("--data", str(data), "--out", str(out)),
        *("--epochs", "1", "--min-steps", str(steps), "--eval-fraction", "0"),
        *("--checkpoint-every", "0"),
    ]


def write_data(algorithm: str, steps: int, folder: Path) -> Path:
    """Exactly `steps` global batches of synthetic prompts, as JSONL."""
    k, batch = K[algorithm], GLOBAL_BATCH[algorithm]
    rankings = common.synth_rankings(batch * steps, k, seed=3, words=WORDS)
    path = folder / f"{algorithm}.jsonl"
    with path.open("w") as handle:
        for r in rankings:
            record = {
                "prompt": r.prompt,
                "completions": r.completions,
                "ranks": r.ranks,
            }
            handle.write(json.dumps(record) + "\n")
    return path


def plan_argv(algorithm: str, opts: list[str]) -> list[str]:
    """`python -m training plan ...` for the run with these options."""
    return ["plan", algorithm, *opts, "--ranking-size", str(K[algorithm])]


def planned(argv: list[str]) -> memory_plan.MemoryPlan:
    """The memory plan of a `plan` command line, as cli.run_plan computes it."""
    args = cli.build_parser().parse_args(argv)
    config = cli.config_from_args(CONFIGS[args.algorithm], args)
    shape = memory_plan.load_shape(config.model, score_head=args.algorithm == "reward")
    return memory_plan.plan_memory(
        config, args.algorithm, shape, ranking_size=args.ranking_size
    )


def status_kib(field: str) -> int:
    """A figure of /proc/self/status in KiB (VmRSS, VmHWM, ...)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        name, _, value = line.partition(":")
        if name == field:
            return int(value.split()[0])
    raise KeyError(field)


def child(argv: list[str]) -> dict[str, Any]:
    """Train with cli.main(argv) in this process; its memory above the baseline."""
    gc.collect()
    baseline = status_kib("VmRSS")
    anon_baseline = status_kib("RssAnon")
    Path("/proc/self/clear_refs").write_text("5")  # VmHWM := VmRSS
    start = time.perf_counter()
    with MemorySampler() as sampler:
        code = cli.main(argv)
    if code != 0:
        raise SystemExit(f"python -m training {' '.join(argv)}: exit {code}")
    return {
        "seconds": time.perf_counter() - start,
        "baseline_mib": baseline / 1024,
        "peak_mib": (status_kib("VmHWM") - baseline) / 1024,
        "peak_anon_mib": (sampler.peaks["RssAnon"] - anon_baseline) / 1024,
    }


def measure(argv: list[str]) -> dict[str, Any]:
    """`child(argv)` in a fresh interpreter, so each peak is its own."""
    env = {
        **os.environ,
        "OMP_NUM_THREADS": "1",
        "MALLOC_MMAP_THRESHOLD_": MMAP_THRESHOLD,
    }
    done = subprocess.run(
        [sys.executable, __file__, "--child", json.dumps(argv)],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    if done.returncode != 0:
        raise SystemExit(done.stderr[-3000:])
    return json.loads(done.stdout.strip().splitlines()[-1])


def bench(algorithm: str, args: argparse.Namespace, root: Path) -> list[list[Any]]:
    """Every chosen variant of `algorithm`: measured peak, plan, their ratio."""
    model = common.build_model(MODEL_SIZE, root)
    data = write_data(algorithm, args.steps, root)
    rows = []
    for index in args.variants:
        variant = VARIANTS[index]
        opts = options(algorithm, variant, model)
        print(f"python -m training {algorithm} {' '.join(opts)}", flush=True)
        print(f"python -m training {' '.join(plan_argv(algorithm, opts))}")
        plan = planned(plan_argv(algorithm, opts))
        run = run_options(data, root / f"out-{algorithm}-{index}", args.steps)
        figures = measure([algorithm, *opts, *run])
        planned_mib = plan.total / MIB
        rows.append(
            [
                algorithm,
                variant.name,
                f"{plan.rows} x {MAX_LENGTH}",
                figures["seconds"],
                figures["baseline_mib"],
                figures["peak_mib"],
                figures["peak_anon_mib"],
                planned_mib,
                plan.parts["activations"] / MIB,
                figures["peak_mib"] / planned_mib,
            ]
        )
        print(f"  {rows[-1]}", flush=True)
    return rows


def main() -> None:
    """Run each configuration in its own child and print the table."""
    args = parse_args()
    if args.child:
        common.quiet()
        print(json.dumps(child(json.loads(args.child))))
        return
    common.quiet()
    print(f"{common.machine_note()}; {args.steps} optimiser steps a run")
    with tempfile.TemporaryDirectory(prefix="memory-bench-") as tmp:
        rows = [row for a in args.algorithms for row in bench(a, args, Path(tmp))]
    common.print_table(
        [
            "method",
            "configuration",
            "micro-batch (sequences x tokens)",
            "seconds",
            "baseline RSS (MiB)",
            "peak RSS above baseline (MiB)",
            "peak anonymous RSS above baseline (MiB)",
            "plan total (MiB)",
            "plan activations (MiB)",
            "measured / plan",
        ],
        rows,
    )


if __name__ == "__main__":
    main()
