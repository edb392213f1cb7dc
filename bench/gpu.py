"""rankwise vs TRL on a GPU: a random ~0.5B Qwen2- or Llama-shaped model, bf16 autocast.

DPO steps (rankwise vs TRL's DPOTrainer, with the reference forward every step and
with its own precompute_ref_log_probs) and reward-model steps (rankwise's K-wise
loss vs TRL's RewardTrainer on the expanded pairs), each on 1 and on 2 processes
(torchrun; 2 needs 2 GPUs). Every run is a fresh process, so its peak memory
(torch.cuda.max_memory_allocated, weights and optimiser included) is its own.
Matched as in dpo_vs_trl.py and reward_vs_trl.py: same weights, pairs, token ids,
optimiser and schedule; fp32 weights with bf16 autocast on both sides.

Tokens/s counts the prompt + completion tokens of both sides of every comparison an
optimiser step trains on (what TRL forwards): the same numerator for both trainers,
so the ratio is the ratio of step rates, while rankwise forwards fewer tokens.

Run on any CUDA machine:
    .venv/bin/python bench/gpu.py                    # Qwen2 0.5B shape
    .venv/bin/python bench/gpu.py --shape llama      # Llama 3 vocabulary, ~0.5B
    .venv/bin/python bench/gpu.py --device cpu --tiny  # the code path, on a CPU
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import common
import dpo_vs_trl
import reward_vs_trl
import torch
from datasets import load_from_disk
from transformers import AutoConfig, AutoModelForCausalLM

from training.core.batching import encode_prompt_completion
from training.core.data import rankings_to_pairs
from training.core.distributed import (
    close_distributed,
    init_distributed,
    is_main,
    rank,
)
from training.core.dpo import attach_reference, dpo_step, make_objective
from training.core.dpo_config import DPOConfig
from training.core.groups import encode_rankings
from training.core.memory import prepare_for_training
from training.core.models import (
    BUILTIN_CORPUS,
    load_policy,
    load_reward_model,
    load_tokenizer,
    train_tokenizer,
)
from training.core.precision import MASTER_DTYPE, resolve_precision
from training.core.recipe import resolve_device
from training.core.reward import reward_step
from training.core.reward_config import RewardConfig

REPO = Path(__file__).resolve().parents[1]
MAX_LENGTH = 1024  # no synthetic sequence is cut
TOKENIZER_VOCAB = 512  # the text's ids; the model's vocabulary sets the logits' size
GIB = 1024**3
RESULT = "GPU-BENCH-RESULT "  # prefix of each worker's JSON line on stdout
# Shapes from the public configs: Qwen2.5-0.5B exactly; a Llama 3-vocabulary model
# of the same size (Llama 3.2 1B's vocabulary and head layout, narrower and deeper).
SHAPES: dict[str, dict[str, Any]] = {
    "qwen2": {
        "model_type": "qwen2",
        "hidden_size": 896,
        "num_hidden_layers": 24,
        "num_attention_heads": 14,
        "num_key_value_heads": 2,
        "intermediate_size": 4864,
        "vocab_size": 151936,
        "rope_theta": 1_000_000.0,
    },
    "llama": {
        "model_type": "llama",
        "hidden_size": 1024,
        "num_hidden_layers": 24,
        "num_attention_heads": 16,
        "num_key_value_heads": 8,
        "intermediate_size": 4096,
        "vocab_size": 128256,
        "rope_theta": 500_000.0,
    },
}
# --tiny: the same model classes at a size a CPU trains in seconds.
TINY = {
    "hidden_size": 64,
    "num_hidden_layers": 2,
    "num_attention_heads": 4,
    "num_key_value_heads": 2,
    "intermediate_size": 128,
    "vocab_size": TOKENIZER_VOCAB,
}
# Each method's runs: rankwise, then its TRL peers (the reward model has one).
WORKERS = {
    "dpo": ("rankwise-dpo", "trl-dpo", "trl-dpo-precompute"),
    "reward": ("rankwise-reward", "trl-reward"),
}


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """Command line; the workers get the same options plus --worker."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", choices=["cuda", "cpu"], default="cuda")
    parser.add_argument("--shape", choices=sorted(SHAPES), default="qwen2")
    parser.add_argument("--tiny", action="store_true", help="a tiny model of --shape")
    parser.add_argument("--steps", type=int, default=8, help="timed steps a run")
    parser.add_argument("--dpo-batch", type=int, default=8, help="pairs per step")
    parser.add_argument("--reward-batch", type=int, default=4, help="rankings per step")
    parser.add_argument("--reward-k", type=int, default=4, help="K per ranking")
    parser.add_argument(
        "--words", type=int, nargs=2, default=[100, 120], help="completion words"
    )
    parser.add_argument(
        "--mixed-precision", choices=["bf16", "no"], default="bf16", help="autocast"
    )
    parser.add_argument(
        "--gradient-checkpointing", action="store_true", help="on both trainers"
    )
    parser.add_argument(
        "--processes", type=int, nargs="+", default=[1, 2], help="per run"
    )
    parser.add_argument(
        "--methods", nargs="+", choices=["dpo", "reward"], default=["dpo", "reward"]
    )
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    parser.add_argument("--work", help=argparse.SUPPRESS)  # model/ and pairs-*/
    return parser.parse_args(argv)


# ----------------------------------------------------------------- model and data


def build_model(args: argparse.Namespace, folder: Path) -> Path:
    """A seeded random model of args.shape (fp32) and a small BPE tokenizer."""
    tokenizer = train_tokenizer(BUILTIN_CORPUS, vocab_size=TOKENIZER_VOCAB)
    shape = {**SHAPES[args.shape], **(TINY if args.tiny else {})}
    config = AutoConfig.for_model(
        **shape,
        tie_word_embeddings=True,  # as Qwen2.5-0.5B and Llama 3.2 1B
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
    )
    torch.manual_seed(0)
    # Built on the CPU: this process holds no GPU memory while the workers run.
    model = AutoModelForCausalLM.from_config(config, dtype=torch.float32)
    model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    params = sum(p.numel() for p in model.parameters())
    print(f"model: {args.shape}{' (tiny)' if args.tiny else ''}, {params / 1e6:.1f}M")
    return folder


def rankings(args: argparse.Namespace, method: str, world: int) -> list[Any]:
    """One pass of data: warm-up + timed steps of every process's batch."""
    steps = common.WARMUP_STEPS + args.steps
    if method == "dpo":
        n, k = args.dpo_batch * steps * world, 2
    else:
        n, k = args.reward_batch * steps * world, args.reward_k
    return common.synth_rankings(n, k, seed=k, words=tuple(args.words))


def tokens_per_pair(tokenizer: Any, data: Sequence[Any]) -> float:
    """Mean prompt + completion tokens of a comparison's two sequences."""
    total = 0
    pairs = rankings_to_pairs(data)
    for pair in pairs:
        for completion in (pair.chosen, pair.rejected):
            ids, _ = encode_prompt_completion(
                tokenizer,
                pair.prompt,
                completion,
                max_length=MAX_LENGTH,
                chat_template=common.CHAT_TEMPLATE,
            )
            total += len(ids)
    return total / len(pairs)


def micro_args(args: argparse.Namespace, method: str) -> argparse.Namespace:
    """The options dpo_vs_trl / reward_vs_trl read, for this benchmark's batches."""
    if method == "dpo":
        return argparse.Namespace(batch=args.dpo_batch, k=2, beta=0.1)
    return argparse.Namespace(batch=args.reward_batch, trl_one_batch=False)


# ----------------------------------------------------------------- workers


def run_worker(args: argparse.Namespace) -> None:
    """One trainer in this process (one rank under torchrun); print its figures."""
    common.setup_run(argparse.Namespace(threads=torch.get_num_threads()))
    rankwise = args.worker.startswith("rankwise")
    if rankwise:
        init_distributed()  # TRL's accelerate joins torchrun's group itself
    world = launched_processes()
    device = resolve_device(args.device)  # this rank's GPU under torchrun
    method = worker_method(args.worker)
    data = rankings(args, method, world)
    with tempfile.TemporaryDirectory() as out:
        if rankwise:
            pre, clock = time_rankwise(args, method, data, device, Path(out))
        else:
            pre, clock = time_trl(args, method, data, Path(out))
    figures: dict[str, Any] = {"rank": rank(), "peak_gib": peak_memory(device) / GIB}
    if is_main():  # rank 0 alone ticks rankwise's clock (its progress callback)
        figures |= {
            "worker": args.worker,
            "world_size": world,
            "precompute_s": pre,
            "seconds_per_step": clock.seconds_per_step(common.WARMUP_STEPS),
            "tokens_per_pair": tokens_per_pair(
                load_tokenizer(model_folder(args)), data
            ),
        }
    print(RESULT + json.dumps(figures), flush=True)
    close_distributed()


def launched_processes() -> int:
    """torchrun's WORLD_SIZE (TRL's accelerate may not have joined the group yet)."""
    return int(os.environ.get("WORLD_SIZE", "1"))


def worker_method(worker: str) -> str:
    """The method a worker trains: dpo or reward."""
    return next(method for method, names in WORKERS.items() if worker in names)


def peak_memory(device: torch.device) -> float:
    """Bytes: CUDA's peak allocation, or on a CPU this process's peak RSS."""
    if device.type == "cuda":
        return float(torch.cuda.max_memory_allocated(device))
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024.0


def new_clock(device: torch.device) -> common.StepClock:
    """A step clock that waits for the device's queued kernels before each stamp."""
    sync = torch.cuda.synchronize if device.type == "cuda" else None
    return common.StepClock(sync=sync)


def time_rankwise(
    args: argparse.Namespace,
    method: str,
    data: list[Any],
    device: torch.device,
    out: Path,
) -> tuple[float, common.StepClock]:
    """(reference precompute seconds, step clock) of rankwise's loop."""
    precision = resolve_precision(args.mixed_precision, device)
    shared = {
        "data": "synthetic",
        "out": str(out),
        "max_length": MAX_LENGTH,
        "device": str(device),
        "mixed_precision": args.mixed_precision,
        "gradient_checkpointing": args.gradient_checkpointing,
    }
    if method == "dpo":
        config: Any = DPOConfig(**shared, beta=0.1, batch_size=args.dpo_batch)
        model, tokenizer = load_policy(
            model_folder(args), device=device, dtype=MASTER_DTYPE
        )
    else:
        config = RewardConfig(
            **shared, batch_size=args.reward_batch, center_coefficient=0.01
        )
        model, tokenizer = load_reward_model(
            model_folder(args), device=device, dtype=MASTER_DTYPE
        )
    model = prepare_for_training(model, config)  # checkpointing when asked
    groups = encode_rankings(
        tokenizer, data, max_length=MAX_LENGTH, chat_template=common.CHAT_TEMPLATE
    )
    pad = tokenizer.pad_token_id
    pre = 0.0
    if method == "dpo":
        start = time.perf_counter()
        groups = attach_reference(groups, model, config, pad_token_id=pad)
        pre = time.perf_counter() - start
        step = dpo_step(model, make_objective(config), device)
    else:
        step = reward_step(model, config, device)
    clock = common.run_rankwise_loop(
        model,
        groups,
        step,
        batch_size=config.batch_size,
        total_steps=common.WARMUP_STEPS + args.steps,
        pad_token_id=pad,
        precision=precision,
        clock=new_clock(device),
    )
    return pre, clock


def time_trl(
    args: argparse.Namespace, method: str, data: list[Any], out: Path
) -> tuple[float, common.StepClock]:
    """(reference precompute seconds, step clock) of TRL's trainer."""
    device = torch.device(args.device)
    clock = new_clock(device)
    total = common.WARMUP_STEPS + args.steps
    trl_args = {
        "bf16": args.mixed_precision == "bf16",  # autocast over the fp32 model
        "use_cpu": args.device == "cpu",
        "gradient_checkpointing": args.gradient_checkpointing,
        "max_length": MAX_LENGTH,  # the CPU benchmarks' 256 would cut these texts
    }
    pairs = load_from_disk(pairs_folder(args.work, args.worker, launched_processes()))
    if method == "reward":
        model, tokenizer = load_reward_model(
            model_folder(args), device=torch.device("cpu")
        )
        trainer: Any = reward_vs_trl.trl_trainer(
            model,
            tokenizer,
            pairs,
            out=out,
            micro_batch=reward_vs_trl.trl_micro_batch(
                micro_args(args, method), args.reward_k
            ),
            total_steps=total,
            clock=clock,
            trl_args=trl_args,
        )
    else:
        model, tokenizer = load_policy(
            model_folder(args), device=torch.device("cpu"), dtype=MASTER_DTYPE
        )
        setup = dpo_vs_trl.Setup(
            Path(model_folder(args)), model, model, tokenizer, data, [], pairs
        )
        trainer = dpo_vs_trl.trl_trainer(
            setup,
            micro_args(args, method),
            out,
            start=model,
            precompute=args.worker == "trl-dpo-precompute",
            total_steps=total,
            clock=clock,
            trl_args=trl_args,
        )
        del setup, model  # the trainer holds its own copies
    trainer.train()
    return getattr(trainer, "precompute_seconds", 0.0), clock


# ----------------------------------------------------------------- orchestration


def model_folder(args: argparse.Namespace) -> Path:
    """Where the orchestrator saved the model, in the shared work folder."""
    return Path(args.work) / "model"


def pairs_folder(work: str | Path, worker: str, processes: int) -> Path:
    """A TRL run's pairs, saved by the orchestrator for all its ranks.

    From a folder, TRL's precompute writes its cache beside the data, where every
    rank finds it; an in-memory data set gets a random cache path per process, so
    under torchrun rank 1 looks for rank 0's precompute in the wrong place.
    """
    return Path(work) / f"pairs-{worker}-{processes}"


def save_pairs(args: argparse.Namespace, worker: str, processes: int) -> None:
    """The pairs of a TRL run (the rankings every rank of it generates), on disk."""
    data = rankings(args, worker_method(worker), processes)
    common.pair_dataset(data).save_to_disk(pairs_folder(args.work, worker, processes))


def worker_command(args: argparse.Namespace, worker: str, processes: int) -> list[str]:
    """The worker's command line: python, or torchrun for several processes."""
    options = [
        *("--device", args.device, "--steps", str(args.steps)),
        *("--dpo-batch", str(args.dpo_batch)),
        *("--reward-batch", str(args.reward_batch)),
        *("--reward-k", str(args.reward_k)),
        *("--words", *map(str, args.words)),
        *("--mixed-precision", args.mixed_precision),
        *(["--gradient-checkpointing"] if args.gradient_checkpointing else []),
        *("--worker", worker, "--work", args.work),
    ]
    script = str(Path(__file__).resolve())
    if processes == 1:
        return [sys.executable, script, *options]
    launch = [sys.executable, "-m", "torch.distributed.run", "--standalone"]
    return [*launch, "--nproc-per-node", str(processes), script, *options]


def run_one(command: list[str]) -> dict[str, Any]:
    """Run a worker (all its ranks); rank 0's timing, the largest rank's memory."""
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    if "--device" in command and command[command.index("--device") + 1] == "cpu":
        env["OMP_NUM_THREADS"] = "1"
    done = subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True)
    lines = [
        json.loads(line[len(RESULT) :])
        for line in done.stdout.splitlines()
        if line.startswith(RESULT)
    ]
    if done.returncode != 0 or not lines:
        raise SystemExit(f"{' '.join(command)} failed:\n{done.stderr[-4000:]}")
    main = next(line for line in lines if "tokens_per_pair" in line)
    return {**main, "peak_gib": max(line["peak_gib"] for line in lines)}


def pairs_per_step(args: argparse.Namespace, method: str) -> int:
    """Comparisons one process trains on per optimiser step."""
    if method == "dpo":
        return args.dpo_batch
    return args.reward_batch * args.reward_k * (args.reward_k - 1) // 2


def table_rows(
    args: argparse.Namespace, results: dict[tuple[str, int], dict[str, Any]]
) -> list[list[Any]]:
    """One row per run: step time, tokens/s, peak memory, ratios to its peers."""
    for (worker, processes), r in results.items():
        method = worker_method(worker)
        # One pass of the data is warm-up + timed steps: its precompute spreads there.
        one_pass = common.WARMUP_STEPS + args.steps
        seconds = r["seconds_per_step"] + r["precompute_s"] / one_pass
        tokens = r["tokens_per_pair"] * pairs_per_step(args, method) * processes
        r["tokens_per_s"] = tokens / seconds
    rows = []
    for (worker, processes), r in results.items():
        method = worker_method(worker)
        rows.append(
            [
                method,
                worker,
                processes,
                r["seconds_per_step"],
                r["precompute_s"],
                r["tokens_per_s"],
                r["peak_gib"],
                *ratios(method, worker, processes, results),
            ]
        )
    return rows


def ratios(
    method: str,
    worker: str,
    processes: int,
    results: dict[tuple[str, int], dict[str, Any]],
) -> list[str]:
    """rankwise's tokens/s and memory x each TRL run at the same processes; any run's
    tokens/s x its own 1-process run."""
    mine = results[(worker, processes)]
    rankwise, *peers = WORKERS[method]
    cells = []
    for peer in [*peers, None][:2]:  # the reward model has one peer: a blank cell
        other = results.get((peer, processes)) if peer else None
        if worker != rankwise or other is None:
            cells.append("")
            continue
        speed = mine["tokens_per_s"] / other["tokens_per_s"]
        cells.append(f"{speed:.2f} / {mine['peak_gib'] / other['peak_gib']:.2f}")
    one = results.get((worker, 1))
    if processes == 1 or one is None:
        return [*cells, ""]
    return [*cells, f"{mine['tokens_per_s'] / one['tokens_per_s']:.2f}"]


def main() -> None:
    """Build the model, run every trainer on 1 and 2 processes, print the table."""
    args = parse_args()
    if args.worker:
        run_worker(args)
        return
    if args.device == "cuda" and not torch.cuda.is_available():
        raise SystemExit(
            "bench/gpu.py: no CUDA device (torch.cuda.is_available() is False); "
            "run it on a GPU machine, or check the code path here with "
            "--device cpu --tiny"
        )
    processes = list(args.processes)
    if args.device == "cuda" and torch.cuda.device_count() < max(processes):
        print(f"only {torch.cuda.device_count()} GPU(s): 2-process runs skipped")
        processes = [p for p in processes if p <= torch.cuda.device_count()]
    common.quiet()
    workers = [worker for method in args.methods for worker in WORKERS[method]]
    with tempfile.TemporaryDirectory(prefix="gpu-bench-") as tmp:
        args.work = tmp
        build_model(args, model_folder(args))
        print(machine(args))
        results = {}
        for worker in workers:
            for n in processes:
                if not worker.startswith("rankwise"):
                    save_pairs(args, worker, n)
                results[(worker, n)] = run_one(worker_command(args, worker, n))
                print(f"  {worker} x{n}: {results[(worker, n)]}", flush=True)
    common.print_table(
        [
            "method",
            "trainer",
            "processes",
            "s/step",
            "precompute s",
            "tokens/s",
            "peak GiB per process",
            "rankwise x TRL (tokens/s / memory)",
            "x TRL precompute (tokens/s / memory)",
            "tokens/s x 1 process",
        ],
        table_rows(args, results),
    )


def machine(args: argparse.Namespace) -> str:
    """The device and library versions, for the record."""
    import transformers
    import trl

    if args.device == "cuda":
        where, memory = torch.cuda.get_device_name(0), "torch.cuda.max_memory_allocated"
    else:
        where, memory = "CPU", "peak RSS, Python and libraries included"
    return (
        f"{where}; torch {torch.__version__}, transformers {transformers.__version__}, "
        f"TRL {trl.__version__}; {args.mixed_precision} autocast over fp32 weights; "
        f"peak memory: {memory}"
    )


if __name__ == "__main__":
    main()
