"""The online RL loop shared by PPO and RLOO: rollouts, KL control, checkpoints.

A method hands `run_rl` an `update(prompts) -> metrics` callable that samples, scores
and optimises on one batch of prompts; the loop owns the prompt schedule, the KL
coefficient's adaptation, progress, checkpoints, metrics.json and the plots.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from matplotlib.figure import Figure
from torch import Tensor
from tqdm.auto import tqdm

from training.core.batching import Text
from training.core.loop import (
    LoopState,
    ProgressCallback,
    load_checkpoint,
    make_optimizer,
    save_checkpoint,
)
from training.core.losses import AdaptiveKLController, FixedKLController
from training.core.models import save_model
from training.core.recipe import (
    TrainResult,
    checkpoint_dir,
    write_config,
    write_results,
)
from training.core.rollout import prompt_batches
from training.core.rollout_config import RLConfig
from training.core.schedule import epochs_for, resolve_lr

UpdateFn = Callable[[list[Text]], dict[str, float]]  # needs reward, kl, loss, samples
KLController = AdaptiveKLController | FixedKLController
REWARD_VS_KL_FILE = "reward_vs_kl.png"
SUMMARY_STEPS = 3  # steps averaged for the first/last reward in metrics.json


@dataclass(frozen=True)
class Optimisation:
    """The model being trained, its optimiser and schedule, and the clip norm."""

    model: torch.nn.Module
    optimizer: torch.optim.Optimizer
    scheduler: torch.optim.lr_scheduler.LRScheduler
    max_grad_norm: float

    def step(self, loss: Tensor) -> None:
        """One backward pass, gradient clip and optimiser step."""
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        if self.max_grad_norm > 0:
            trainable = [p for p in self.model.parameters() if p.requires_grad]
            torch.nn.utils.clip_grad_norm_(trainable, self.max_grad_norm)
        self.optimizer.step()
        self.scheduler.step()


def make_optimisation(
    model: torch.nn.Module, config: RLConfig, n_steps: int, updates_per_step: int
) -> Optimisation:
    """AdamW with warmup and decay over every gradient step of the run."""
    optimizer, scheduler = make_optimizer(
        model,
        lr=resolve_lr(config, model),
        total_steps=n_steps * updates_per_step,
        warmup_fraction=config.warmup_fraction,
    )
    return Optimisation(model, optimizer, scheduler, config.max_grad_norm)


def n_rl_steps(n_prompts: int, config: RLConfig) -> int:
    """Rollouts in a run: epochs over the prompts, batch_size prompts each."""
    return rl_epochs(n_prompts, config) * math.ceil(n_prompts / config.batch_size)


def rl_epochs(n_prompts: int, config: RLConfig) -> int:
    """Passes over the prompts: config.epochs, raised to reach config.min_steps."""
    per_epoch = math.ceil(n_prompts / config.batch_size)
    return epochs_for(config.epochs, per_epoch, config.min_steps)


def kl_controller(config: RLConfig) -> KLController:
    """Adaptive (Ziegler et al. 2019) or fixed KL coefficient, as configured."""
    if config.adaptive_kl:
        return AdaptiveKLController(config.kl_coef, config.target_kl, config.kl_horizon)
    return FixedKLController(config.kl_coef)


def run_rl(
    config: RLConfig,
    prompts: Sequence[Text],
    update: UpdateFn,
    controller: KLController,
    optimisation: Optimisation,
    progress_callback: ProgressCallback | None = None,
) -> LoopState:
    """Call `update` on each batch of prompts, adapting beta; resumable."""
    write_config(config)
    epochs = rl_epochs(len(prompts), config)
    batches = prompt_batches(prompts, config.batch_size, epochs, config.seed)
    state = _resume(config, optimisation, controller)
    bar = tqdm(total=len(batches), initial=state.step, desc=_name(config))
    for batch in batches[state.step :]:
        metrics = update(batch)
        controller.update(metrics["kl"], int(metrics["samples"]))
        state.step += 1
        state.history.append({"step": float(state.step), **metrics})
        bar.update()
        bar.set_postfix(reward=f"{metrics['reward']:.3f}", kl=f"{metrics['kl']:.3f}")
        if progress_callback is not None:
            message = f"step {state.step}/{len(batches)}"
            progress_callback(state.step / len(batches), message, metrics)
        if config.checkpoint_every and state.step % config.checkpoint_every == 0:
            _checkpoint(config, optimisation, state)
    bar.close()
    _checkpoint(config, optimisation, state)
    return state


def _resume(
    config: RLConfig, optimisation: Optimisation, controller: KLController
) -> LoopState:
    """The saved state when resuming (beta replayed from its history), else fresh."""
    if not config.resume:
        return LoopState()
    opt = optimisation
    state = load_checkpoint(
        checkpoint_dir(config), opt.model, opt.optimizer, opt.scheduler
    )
    if state.history:
        last = state.history[-1]
        controller.beta = last["beta"]
        controller.update(last["kl"], int(last["samples"]))
    return state


def _checkpoint(config: RLConfig, opt: Optimisation, state: LoopState) -> None:
    """Save weights (value head included), optimiser, step and history."""
    save_checkpoint(
        checkpoint_dir(config), opt.model, opt.optimizer, opt.scheduler, state
    )


def finish_rl(
    config: RLConfig, policy: Any, tokenizer: Any, state: LoopState
) -> TrainResult:
    """Save the policy (HF layout), metrics.json, loss and reward-vs-KL plots."""
    out = Path(config.out)
    save_model(policy, tokenizer, out, config=config)
    result = write_results(config, summarise(state.history), state)
    plot_reward_vs_kl(state.history, out / REWARD_VS_KL_FILE, title=_name(config))
    return result


def summarise(history: Sequence[dict[str, float]]) -> dict[str, Any]:
    """Per-step history plus mean reward and KL over the first and last steps."""
    first, last = history[:SUMMARY_STEPS], history[-SUMMARY_STEPS:]
    summary: dict[str, Any] = {"history": list(history)}
    for key in ("reward", "kl"):
        summary[f"{key}_first"] = _mean([row[key] for row in first])
        summary[f"{key}_last"] = _mean([row[key] for row in last])
    summary["beta_last"] = history[-1]["beta"] if history else None
    return summary


def plot_reward_vs_kl(
    history: Sequence[dict[str, float]], path: Path, *, title: str = "RL"
) -> Path:
    """Reward against KL to the reference, one point per step, coloured by step."""
    kl = [row["kl"] for row in history]
    reward = [row["reward"] for row in history]
    # A bare Figure draws with Agg and leaves pyplot's global state alone.
    figure = Figure(figsize=(5, 4), dpi=100)
    axes = figure.subplots()
    axes.plot(kl, reward, color="grey", alpha=0.4, linewidth=1)
    points = axes.scatter(kl, reward, c=range(len(history)), cmap="viridis", s=14)
    figure.colorbar(points, ax=axes, label="step")
    axes.set(xlabel="KL(policy || reference), nats", ylabel="mean reward", title=title)
    figure.tight_layout()
    figure.savefig(path)
    return path


def _mean(values: Sequence[float]) -> float | None:
    """Mean of the values, None when there are none."""
    return sum(values) / len(values) if values else None


def _name(config: RLConfig) -> str:
    """The method's name from its config class (PPOConfig -> ppo)."""
    return type(config).__name__.removesuffix("Config").lower()
