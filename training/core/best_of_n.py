"""Best-of-N sampling and RAFT, rejection-sampling fine-tuning (Dong et al. 2023).

Best-of-N samples N completions per prompt and keeps the one the reward ranks highest;
RAFT fine-tunes the policy on those kept samples (by the SFT recipe), round after
round, each round sampling from the model the previous one trained.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from training.core.batching import Text
from training.core.best_of_n_config import BestOfNConfig, RAFTConfig
from training.core.data import DemoExample
from training.core.generation import Generation
from training.core.loop import ProgressCallback
from training.core.models import load_policy
from training.core.recipe import METRICS_FILE, TrainResult, resolve_device, set_seed
from training.core.rollout import RewardFn, load_prompts, load_reward_fn, sample
from training.core.rollout_config import SamplingConfig
from training.core.sft import train_sft
from training.core.sft_config import SFTConfig

BEST_OF_N_FILE = "best_of_n.jsonl"


@dataclass(frozen=True)
class Selected:
    """The best of a prompt's N samples, with every sample's reward."""

    prompt: Text
    completion: str
    reward: float
    rewards: tuple[float, ...]  # all N, in sampling order
    token_ids: tuple[int, ...] = ()  # the tokens the kept completion was sampled as


def best_of_n(
    policy: Any,
    tokenizer: Any,
    reward_fn: RewardFn,
    prompts: Sequence[Text],
    *,
    n: int,
    sampling: SamplingConfig,
) -> list[Selected]:
    """For each prompt, the highest-reward of n samples (the first among ties)."""
    samples, rewards = scored_samples(
        policy, tokenizer, reward_fn, prompts, n=n, sampling=sampling
    )
    best = rewards.argmax(dim=1).tolist()  # argmax returns the first maximum
    return [
        Selected(
            prompt,
            samples[i][best[i]].text,
            rewards[i, best[i]].item(),
            tuple(rewards[i].tolist()),
            samples[i][best[i]].token_ids,
        )
        for i, prompt in enumerate(prompts)
    ]


def scored_samples(
    policy: Any,
    tokenizer: Any,
    reward_fn: RewardFn,
    prompts: Sequence[Text],
    *,
    n: int,
    sampling: SamplingConfig,
) -> tuple[list[list[Generation]], torch.Tensor]:
    """N samples per prompt and their rewards (P, N)."""
    samples = sample(policy, tokenizer, prompts, sampling, n)
    texts = [g.text for row in samples for g in row]
    row_prompts = [p for p in prompts for _ in range(n)]
    rewards = reward_fn(row_prompts, texts).float().view(len(prompts), n)  # (P, N)
    return samples, rewards


def select_all(
    policy: Any,
    tokenizer: Any,
    reward_fn: RewardFn,
    prompts: Sequence[Text],
    config: BestOfNConfig,
    progress_callback: ProgressCallback | None = None,
) -> list[Selected]:
    """Best-of-N over all prompts, batch_size prompts at a time, reporting progress."""
    selected: list[Selected] = []
    for start in range(0, len(prompts), config.batch_size):
        chunk = prompts[start : start + config.batch_size]
        selected += best_of_n(
            policy, tokenizer, reward_fn, chunk, n=config.n, sampling=config
        )
        if progress_callback is not None:
            done = len(selected) / len(prompts)
            progress_callback(done, f"{len(selected)}/{len(prompts)} prompts", {})
    return selected


def write_selected(selected: Sequence[Selected], path: Path) -> Path:
    """Kept samples as JSONL demos {prompt, completion, reward, rewards}."""
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = [json.dumps(dataclasses.asdict(s)) + "\n" for s in selected]
    path.write_text("".join(lines))
    return path


def selection_metrics(selected: Sequence[Selected]) -> dict[str, float]:
    """Mean reward of the kept samples and of all samples drawn."""
    every = [r for s in selected for r in s.rewards]
    return {
        "mean_best_reward": sum(s.reward for s in selected) / len(selected),
        "mean_sample_reward": sum(every) / len(every),
        "prompts": float(len(selected)),
    }


def run_best_of_n(
    config: BestOfNConfig,
    *,
    reward_fn: RewardFn | None = None,
    progress_callback: ProgressCallback | None = None,
) -> TrainResult:
    """Best-of-N on config.data's prompts; writes OUT/best_of_n.jsonl and metrics."""
    prompts = load_prompts(config.data)  # bad data fails before any model loads
    set_seed(config.seed)
    device = resolve_device(config.device)
    policy, tokenizer = load_policy(config.model, device=device)
    reward_fn = reward_fn or load_reward_fn(config, device)
    selected = select_all(
        policy, tokenizer, reward_fn, prompts, config, progress_callback
    )
    out = Path(config.out)
    write_selected(selected, out / BEST_OF_N_FILE)
    return _write_metrics(out, selection_metrics(selected))


def train_raft(
    config: RAFTConfig,
    *,
    reward_fn: RewardFn | None = None,
    progress_callback: ProgressCallback | None = None,
) -> TrainResult:
    """RAFT: `rounds` of best-of-N then SFT on the kept samples; the model in OUT."""
    prompts = load_prompts(config.data)  # bad data fails before any model loads
    set_seed(config.seed)
    device = resolve_device(config.device)
    reward_fn = reward_fn or load_reward_fn(config, device)
    model, rounds, metrics = config.model, [], {}
    for index in range(config.rounds):
        out = _round_folder(config, index)
        selected = _select_with(model, config, reward_fn, prompts, device)
        write_selected(selected, out / BEST_OF_N_FILE)
        demos = [DemoExample(s.prompt, s.completion) for s in selected]
        sft = train_sft(_sft_config(config, model, out), examples=demos)
        rounds.append(selection_metrics(selected))
        metrics, model = sft.metrics, str(out)
        if progress_callback is not None:
            done = (index + 1) / config.rounds
            progress_callback(done, f"round {index + 1}/{config.rounds}", rounds[-1])
    return _write_metrics(Path(config.out), {**metrics, "rounds": rounds})


def _select_with(
    model: str | None,
    config: BestOfNConfig,
    reward_fn: RewardFn,
    prompts: Sequence[Text],
    device: torch.device,
) -> list[Selected]:
    """Best-of-N from the model at `model`, released before SFT loads its own copy."""
    policy, tokenizer = load_policy(model, device=device)
    return select_all(policy, tokenizer, reward_fn, prompts, config)


def _round_folder(config: RAFTConfig, index: int) -> Path:
    """OUT for the last round (so OUT holds the final model), OUT/round-i before."""
    out = Path(config.out)
    return out if index == config.rounds - 1 else out / f"round-{index}"


def _sft_config(config: RAFTConfig, model: str | None, out: Path) -> SFTConfig:
    """The SFT settings of one RAFT round: shared fields, this round's model and out."""
    shared = {f.name: getattr(config, f.name) for f in dataclasses.fields(SFTConfig)}
    data = str(out / BEST_OF_N_FILE)
    return SFTConfig(**(shared | {"model": model, "out": str(out), "data": data}))


def _write_metrics(out: Path, metrics: dict[str, Any]) -> TrainResult:
    """Write OUT/metrics.json; the TrainResult for it."""
    out.mkdir(parents=True, exist_ok=True)
    text = json.dumps(metrics, indent=2, sort_keys=True)
    (out / METRICS_FILE).write_text(text + "\n")
    return TrainResult(out, metrics)
