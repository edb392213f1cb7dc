"""The online RL loop shared by PPO and RLOO: rollouts, KL control, checkpoints.

A method hands `run_rl` an `update(prompts) -> metrics` callable that samples, scores
and optimises on one batch of prompts; the loop owns the prompt schedule, the KL
coefficient's adaptation, progress, checkpoints, metrics.json and the plots.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
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
    apply_update,
    load_checkpoint,
    make_optimizer,
    save_checkpoint,
)
from training.core.losses import AdaptiveKLController, FixedKLController
from training.core.models import save_model
from training.core.precision import Precision, resolve_precision
from training.core.recipe import (
    TrainResult,
    checkpoint_dir,
    model_device,
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


@dataclass
class Optimisation:
    """The model being trained, its optimiser, schedule, precision and accumulation.

    Every `step(loss)` is one micro-batch's backward; `accum_steps` of them make one
    optimiser step. RLOO calls it once per rollout, so a step accumulates
    grad_accum_steps rollouts (`rollouts_per_step`); PPO calls it per mini-batch of
    its epochs, so a step accumulates mini-batches within one rollout.
    """

    model: torch.nn.Module
    optimizer: torch.optim.Optimizer
    scheduler: torch.optim.lr_scheduler.LRScheduler
    max_grad_norm: float
    precision: Precision = field(default_factory=Precision)
    accum_steps: int = 1
    updates_per_rollout: int = 1  # step() calls per rollout
    pending: int = 0  # backward passes since the last optimiser step

    def step(self, loss: Tensor) -> None:
        """Add one micro-batch's gradients; update once accum_steps have been added."""
        self.precision.backward(loss / self.accum_steps)
        self.pending += 1
        if self.pending == self.accum_steps:
            self.update()

    def update(self) -> None:
        """Clip, step the optimiser and schedule, and free the gradients, if any."""
        if not self.pending:
            return
        apply_update(
            self.model,
            self.optimizer,
            self.scheduler,
            self.precision,
            self.max_grad_norm,
        )
        # Freed now, so the next rollout's forwards never hold this step's gradients.
        self.optimizer.zero_grad(set_to_none=True)
        self.pending = 0

    @property
    def rollouts_per_step(self) -> int:
        """Rollouts whose gradients one optimiser step accumulates."""
        return rollouts_per_step(self.accum_steps, self.updates_per_rollout)


def rollouts_per_step(accum_steps: int, updates_per_rollout: int) -> int:
    """grad_accum_steps rollouts for one update per rollout (RLOO); 1 for PPO."""
    if updates_per_rollout == 1:
        return accum_steps
    if updates_per_rollout % accum_steps:
        raise ValueError(
            f"grad_accum_steps: PPO accumulates over its mini-batches, so it must "
            f"divide ppo_epochs x num_mini_batches = {updates_per_rollout}, "
            f"got {accum_steps}"
        )
    return 1


def make_optimisation(
    model: torch.nn.Module, config: RLConfig, n_steps: int, updates_per_step: int
) -> Optimisation:
    """AdamW with warmup and decay over every optimiser step of `n_steps` rollouts."""
    accum = config.accum_steps()
    rollouts_per_step(accum, updates_per_step)  # a PPO setting it cannot split fails
    optimizer, scheduler = make_optimizer(
        model,
        lr=resolve_lr(config, model),
        total_steps=math.ceil(n_steps * updates_per_step / accum),
        warmup_fraction=config.warmup_fraction,
    )
    precision = resolve_precision(config.mixed_precision, model_device(model))
    return Optimisation(
        model,
        optimizer,
        scheduler,
        config.max_grad_norm,
        precision,
        accum,
        updates_per_step,
    )


def n_rl_steps(n_prompts: int, config: RLConfig, updates_per_rollout: int = 1) -> int:
    """Rollouts in a run: epochs over the prompts, batch_size prompts each."""
    epochs = rl_epochs(n_prompts, config, updates_per_rollout)
    return epochs * math.ceil(n_prompts / config.batch_size)


def rl_epochs(n_prompts: int, config: RLConfig, updates_per_rollout: int = 1) -> int:
    """Passes over the prompts: config.epochs, raised to reach config.min_steps."""
    rollouts = math.ceil(n_prompts / config.batch_size)
    per_step = rollouts_per_step(config.accum_steps(), updates_per_rollout)
    return epochs_for(config.epochs, math.ceil(rollouts / per_step), config.min_steps)


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
    opt = optimisation
    epochs = rl_epochs(len(prompts), config, opt.updates_per_rollout)
    rollouts = prompt_batches(prompts, config.batch_size, epochs, config.seed)
    per_step = opt.rollouts_per_step
    steps = [rollouts[i : i + per_step] for i in range(0, len(rollouts), per_step)]
    state = _resume(config, opt, controller)
    bar = tqdm(total=len(steps), initial=state.step, desc=_name(config))
    for micro_batches in steps[state.step :]:
        metrics = _rl_step(update, micro_batches, opt)
        controller.update(metrics["kl"], int(metrics["samples"]))
        state.step += 1
        state.history.append({"step": float(state.step), **metrics})
        bar.update()
        bar.set_postfix(reward=f"{metrics['reward']:.3f}", kl=f"{metrics['kl']:.3f}")
        if progress_callback is not None:
            message = f"step {state.step}/{len(steps)}"
            progress_callback(state.step / len(steps), message, metrics)
        if config.checkpoint_every and state.step % config.checkpoint_every == 0:
            _checkpoint(config, opt, state)
    bar.close()
    _checkpoint(config, opt, state)
    return state


def _rl_step(
    update: UpdateFn, micro_batches: Sequence[list[Text]], opt: Optimisation
) -> dict[str, float]:
    """Roll out and optimise each batch of prompts under autocast, then update.

    Their metrics are averaged, their samples added; beta stays fixed within a step,
    since the policy (and so the KL) only moves at its end.
    """
    rows = []
    for prompts in micro_batches:
        with opt.precision.autocast():
            rows.append(update(prompts))
    opt.update()  # a run's last step may hold fewer rollouts than accum_steps
    metrics = {key: sum(r[key] for r in rows) / len(rows) for key in rows[0]}
    return metrics | {"samples": sum(r["samples"] for r in rows)}


def _resume(
    config: RLConfig, optimisation: Optimisation, controller: KLController
) -> LoopState:
    """The saved state when resuming (beta replayed from its history), else fresh."""
    if not config.resume:
        return LoopState()
    opt = optimisation
    state = load_checkpoint(
        checkpoint_dir(config),
        opt.model,
        opt.optimizer,
        opt.scheduler,
        opt.precision.scaler,
    )
    if state.history:
        last = state.history[-1]
        controller.beta = last["beta"]
        controller.update(last["kl"], int(last["samples"]))
    return state


def _checkpoint(config: RLConfig, opt: Optimisation, state: LoopState) -> None:
    """Save weights (value head included), optimiser, step and history."""
    save_checkpoint(
        checkpoint_dir(config),
        opt.model,
        opt.optimizer,
        opt.scheduler,
        state,
        opt.precision.scaler,
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
