"""PPO against a reward model, with a KL penalty to the reference (Ziegler et al. 2019).

Each step samples one completion per prompt, scores it, and builds per-token rewards
-beta * KL(pi || pi_ref) with the score added on the reply's last token (InstructGPT,
Ouyang et al. 2022, eq. 2). GAE turns them into advantages for the clipped policy and
value losses; the optional PPO-ptx term adds gamma * NLL on pretraining text.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Literal, cast

import torch
from torch import Tensor, nn

from training.core.batching import (
    Batch,
    Encoding,
    collate,
    encode_prompt,
    encode_prompt_completion,
    last_token_index,
)
from training.core.data import DataError, DemoExample, PromptExample, load_examples
from training.core.logprobs import completion_token_logprobs
from training.core.loop import ProgressCallback
from training.core.losses import (
    gae_advantages,
    masked_whiten,
    per_token_kl,
    ppo_policy_loss,
    ppo_value_loss,
    pretraining_nll_loss,
)
from training.core.models import load_policy
from training.core.ppo_config import PPOConfig
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
from training.core.rollout import (
    Reference,
    RewardFn,
    Rollout,
    collect_rollout,
    load_prompts,
    load_reference,
    load_reward_fn,
    policy_logprobs,
)


class PolicyWithValue(nn.Module):
    """A causal LM and a linear value head on its last hidden state (shared trunk)."""

    def __init__(self, lm: Any) -> None:
        super().__init__()
        self.lm = lm
        device = next(lm.parameters()).device
        self.value_head = nn.Linear(lm.config.hidden_size, 1, device=device)
        # Start at V = 0, the mean reward of a reward model normalised to mean 0.
        nn.init.zeros_(self.value_head.weight)
        nn.init.zeros_(self.value_head.bias)

    def forward(self, tokens: Batch, temperature: float) -> tuple[Tensor, Tensor]:
        """Log-probs and values of each predicted token, both (B, T-1)."""
        logprobs, hidden = policy_logprobs(self.lm, tokens, temperature, hidden=True)
        assert hidden is not None
        # V at position t values the prefix that predicts token t + 1.
        values = self.value_head(hidden[:, :-1].float()).squeeze(-1)  # (B, T-1)
        return logprobs, values


@dataclass(frozen=True)
class PPOBatch:
    """A rollout ready for PPO: old log-probs and values, advantages, returns."""

    tokens: Batch  # (B, T)
    mask: Tensor  # (B, T-1) completion tokens
    old_logprobs: Tensor  # (B, T-1)
    old_values: Tensor  # (B, T-1)
    advantages: Tensor  # (B, T-1) whitened
    returns: Tensor  # (B, T-1)

    def rows(self, index: Tensor) -> PPOBatch:
        """The sub-batch of rows `index`."""
        tokens = self.tokens
        return PPOBatch(
            Batch(
                tokens.input_ids[index],
                tokens.attention_mask[index],
                tokens.completion_mask[index],
            ),
            self.mask[index],
            self.old_logprobs[index],
            self.old_values[index],
            self.advantages[index],
            self.returns[index],
        )


def ppo_rewards(scores: Tensor, kl: Tensor, mask: Tensor, beta: float) -> Tensor:
    """Per-token rewards (B, T-1): -beta * KL on reply tokens, the score on the last."""
    # Ziegler et al. 2019 / InstructGPT (Ouyang et al. 2022, eq. 2):
    # R(x, y) = r(x, y) - beta * log(pi(y|x) / pi_ref(y|x)), the KL spread per token.
    rewards = -beta * kl * mask  # (B, T-1)
    rows = torch.arange(len(scores), device=scores.device)
    rewards[rows, last_token_index(mask)] += scores
    return rewards


@dataclass(frozen=True)
class PPOUpdate:
    """One PPO step on a batch of prompts: roll out, score, optimise (an UpdateFn)."""

    policy: PolicyWithValue
    reference: Reference
    tokenizer: Any
    reward_fn: RewardFn
    config: PPOConfig
    optimisation: Optimisation
    controller: KLController
    ptx: Iterator[Batch] | None = None

    def __call__(self, prompts: list[Any]) -> dict[str, float]:
        """Sample and score one completion per prompt, then run the PPO epochs."""
        rollout = collect_rollout(
            self.policy.lm,
            self.reference,
            self.tokenizer,
            prompts,
            self.reward_fn,
            self.config,
        )
        beta = self.controller.beta
        batch, metrics = self.prepare(rollout, beta)
        losses = [self.optimise(batch, rows) for rows in self.minibatches(len(rollout))]
        averaged = {key: sum(m[key] for m in losses) / len(losses) for key in losses[0]}
        return {**metrics, **averaged, "beta": beta, "samples": float(len(rollout))}

    @torch.no_grad()
    def prepare(
        self, rollout: Rollout, beta: float
    ) -> tuple[PPOBatch, dict[str, float]]:
        """Old log-probs and values, KL-penalised rewards, GAE and whitening."""
        config, mask = self.config, rollout.mask
        old_logprobs, old_values = self.policy(rollout.tokens, config.temperature)
        estimator = cast(Literal["k1", "k3"], config.kl_estimator)
        kl = per_token_kl(old_logprobs, rollout.ref_logprobs, estimator=estimator)
        rewards = ppo_rewards(rollout.scores, kl, mask, beta)  # (B, T-1)
        advantages, returns = gae_advantages(
            rewards, old_values, mask, gamma=config.gamma, lam=config.lam
        )
        advantages = masked_whiten(advantages, mask)
        batch = PPOBatch(
            rollout.tokens, mask, old_logprobs, old_values, advantages, returns
        )
        metrics = {
            "reward": rollout.scores.mean().item(),
            "kl": (kl * mask).sum(-1).mean().item(),
            "length": mask.sum(-1).mean().item(),
        }
        return batch, metrics

    def minibatches(self, n_rows: int) -> Iterator[Tensor]:
        """Row indices: ppo_epochs shuffled passes, num_mini_batches chunks each."""
        for _ in range(self.config.ppo_epochs):
            order = torch.randperm(n_rows)
            yield from order.chunk(self.config.num_mini_batches)

    def optimise(self, batch: PPOBatch, rows: Tensor) -> dict[str, float]:
        """One gradient step on the clipped policy and value losses (and PPO-ptx)."""
        config = self.config
        part = batch.rows(rows.to(batch.mask.device))
        logprobs, values = self.policy(part.tokens, config.temperature)
        # PPO clipped surrogate and clipped value loss (Schulman et al. 2017, eq. 7, 9)
        policy_loss = ppo_policy_loss(
            logprobs, part.old_logprobs, part.advantages, part.mask,
            clip_range=config.clip_range,
        )  # fmt: skip
        value_loss = ppo_value_loss(
            values, part.old_values, part.returns, part.mask,
            clip_range_value=config.clip_range_value,
        )  # fmt: skip
        loss = policy_loss + config.vf_coef * value_loss
        metrics = {"policy_loss": policy_loss.item(), "value_loss": value_loss.item()}
        if self.ptx is not None:
            # PPO-ptx (InstructGPT, Ouyang et al. 2022, eq. 2): + gamma * pretrain NLL
            ptx_loss = self.ptx_nll(next(self.ptx))
            loss = loss + config.ptx_coef * ptx_loss
            metrics["ptx_loss"] = ptx_loss.item()
        self.optimisation.step(loss)
        return {"loss": loss.item(), **metrics}

    def ptx_nll(self, tokens: Batch) -> Tensor:
        """Pretraining NLL of the policy on one batch of ptx text."""
        device = next(self.policy.parameters()).device
        logprobs, mask = completion_token_logprobs(self.policy.lm, tokens.to(device))
        return pretraining_nll_loss(logprobs, mask)


def ptx_batches(config: PPOConfig, tokenizer: Any) -> Iterator[Batch] | None:
    """Endless batches of PPO-ptx text, or None when the term is off."""
    if config.ptx_coef == 0 or config.ptx_data is None:
        return None
    examples = load_examples(config.ptx_data)
    encodings = [
        _ptx_encoding(tokenizer, example, config, config.ptx_data)
        for example in examples
    ]
    size = config.batch_size
    batches = [
        collate(encodings[i : i + size], pad_token_id=tokenizer.pad_token_id)
        for i in range(0, len(encodings), size)
    ]
    return itertools.cycle(batches)


def _ptx_encoding(
    tokenizer: Any, example: object, config: PPOConfig, path: str
) -> Encoding:
    """Demos train on their completion; plain prompts/texts on every token."""
    if isinstance(example, DemoExample):
        return encode_prompt_completion(
            tokenizer,
            example.prompt,
            example.completion,
            chat_template=config.chat_template,
            max_length=config.max_length,
        )
    if isinstance(example, PromptExample):
        # A text {prompt} is pretraining text, a document rather than a user turn.
        ids = encode_prompt(
            tokenizer,
            example.prompt,
            chat_template="never",
            max_length=config.max_length,
        )
        return ids, [1] * len(ids)
    raise DataError(
        f"{path}: ptx_data must hold demos {{prompt, completion}} or texts {{prompt}}, "
        f"got {type(example).__name__}"
    )


def train_ppo(
    config: PPOConfig,
    *,
    reward_fn: RewardFn | None = None,
    progress_callback: ProgressCallback | None = None,
) -> TrainResult:
    """Train the policy by PPO on config.data's prompts; save it without value head."""
    prompts = load_prompts(config.data)  # bad data fails before any model loads
    set_seed(config.seed)
    device = resolve_device(config.device)
    lm, tokenizer = load_trainable(load_policy, config, device)
    # Dropout off throughout: it would make old and new log-probs disagree.
    policy = PolicyWithValue(lm).eval()
    updates = config.ppo_epochs * config.num_mini_batches
    n_steps = n_rl_steps(len(prompts), config, updates)
    controller = kl_controller(config)
    update = PPOUpdate(
        policy,
        load_reference(config, lm, device),
        tokenizer,
        reward_fn or load_reward_fn(config, device),
        config,
        make_optimisation(policy, config, n_steps, updates),
        controller,
        ptx_batches(config, tokenizer),
    )
    state = run_rl(
        config, prompts, update, controller, update.optimisation, progress_callback
    )
    return finish_rl(config, policy.lm, tokenizer, state)
