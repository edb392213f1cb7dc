"""RLOO: REINFORCE with a leave-one-out baseline, no critic (Ahmadian et al. 2024).

Each step samples K completions per prompt; a completion's reward is its score minus
beta * KL(pi || pi_ref) of the whole sequence, and its baseline is the mean reward of
the prompt's other K - 1 samples. One on-policy gradient step per rollout.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal, cast

from torch import Tensor

from training.core.loop import ProgressCallback
from training.core.losses import rloo_advantages
from training.core.models import load_policy
from training.core.recipe import (
    TrainResult,
    load_trainable,
    resolve_device,
    set_seed,
)
from training.core.rl_loop import (
    KLController,
    Optimisation,
    finish_rl,
    kl_controller,
    make_optimisation,
    n_rl_steps,
    run_rl,
)
from training.core.rloo_config import RLOOConfig
from training.core.rollout import (
    Reference,
    RewardFn,
    collect_rollout,
    load_prompts,
    load_reference,
    load_reward_fn,
    policy_logprobs,
    sequence_kl,
)


def rloo_loss(
    logprobs: Tensor, mask: Tensor, scores: Tensor, kl: Tensor, *, beta: float, k: int
) -> Tensor:
    """REINFORCE loss, leave-one-out advantages of r - beta * KL; rows grouped by K."""
    # RLOO (Ahmadian et al. 2024): grad = 1/K sum_i (R_i - mean_{j!=i} R_j)
    # grad log pi(y_i|x), with R = r(x, y) - beta * KL the sequence-level reward.
    rewards = (scores - beta * kl).view(-1, k)  # (N, K)
    advantages = rloo_advantages(rewards).flatten().detach()  # (N*K,)
    sequence_logprobs = (logprobs * mask).sum(-1)  # (N*K,)
    return -(advantages * sequence_logprobs).mean()


@dataclass(frozen=True)
class RLOOUpdate:
    """One RLOO step on a batch of prompts: K samples each, one update (an UpdateFn)."""

    policy: Any
    reference: Reference
    tokenizer: Any
    reward_fn: RewardFn
    config: RLOOConfig
    optimisation: Optimisation
    controller: KLController

    def __call__(self, prompts: list[Any]) -> dict[str, float]:
        """Sample K completions per prompt, score them, take one gradient step."""
        config = self.config
        rollout = collect_rollout(
            self.policy,
            self.reference,
            self.tokenizer,
            prompts,
            self.reward_fn,
            config,
            k=config.k,
        )
        logprobs, _ = policy_logprobs(self.policy, rollout.tokens, config.temperature)
        estimator = cast(Literal["k1", "k3"], config.kl_estimator)
        # The samples are this policy's own, so its log-probs give the KL.
        kl = sequence_kl(
            logprobs.detach(), rollout.ref_logprobs, rollout.mask, estimator
        )
        beta = self.controller.beta
        loss = rloo_loss(
            logprobs, rollout.mask, rollout.scores, kl, beta=beta, k=config.k
        )
        self.optimisation.step(loss)
        return {
            "reward": rollout.scores.mean().item(),
            "kl": kl.mean().item(),
            "length": rollout.mask.sum(-1).mean().item(),
            "loss": loss.item(),
            "beta": beta,
            "samples": float(len(rollout)),
        }


def train_rloo(
    config: RLOOConfig,
    *,
    reward_fn: RewardFn | None = None,
    progress_callback: ProgressCallback | None = None,
) -> TrainResult:
    """Train the policy by RLOO on config.data's prompts; save it in HF layout."""
    if config.k < 2:
        raise ValueError(f"k: RLOO needs at least 2 samples per prompt, got {config.k}")
    prompts = load_prompts(config.data)  # bad data fails before any model loads
    set_seed(config.seed)
    device = resolve_device(config.device)
    policy, tokenizer = load_trainable(load_policy, config, device)
    policy.eval()  # dropout off: the sampled and trained log-probs must agree
    controller = kl_controller(config)
    update = RLOOUpdate(
        policy,
        load_reference(config, policy, device),
        tokenizer,
        reward_fn or load_reward_fn(config, device),
        config,
        make_optimisation(policy, config, n_rl_steps(len(prompts), config), 1),
        controller,
    )
    state = run_rl(
        config, prompts, update, controller, update.optimisation, progress_callback
    )
    return finish_rl(config, policy, tokenizer, state)
