"""Settings of PPO against a reward model (`python -m training ppo`)."""

from __future__ import annotations

from dataclasses import dataclass, field

from training.core.rollout_config import RLConfig


@dataclass(frozen=True)
class PPOConfig(RLConfig):
    """PPO with a value head, per-token KL penalty and optional PPO-ptx term."""

    # --- rollouts are small, so each is reused a few times (TRL's num_ppo_epochs 4)
    ppo_epochs: int = field(
        default=4, metadata={"help": "optimisation passes over each rollout"}
    )
    num_mini_batches: int = field(
        default=1, metadata={"help": "gradient steps per pass over a rollout"}
    )
    # --- the KL target keeps the policy near the reference (Ziegler et al. 2019)
    adaptive_kl: bool = field(
        default=True,
        metadata={"help": "adapt beta toward target_kl (Ziegler et al. 2019)"},
    )
    # --- clipping and GAE as in Schulman et al. 2017 and TRL's PPO defaults
    clip_range: float = field(
        default=0.2, metadata={"help": "policy ratio clip epsilon"}
    )
    clip_range_value: float = field(
        default=0.2, metadata={"help": "value clip around the rollout's values"}
    )
    vf_coef: float = field(
        default=0.1, metadata={"help": "weight of the value loss in the total loss"}
    )
    gamma: float = field(
        default=1.0, metadata={"help": "discount; 1 because episodes are one reply"}
    )
    lam: float = field(default=0.95, metadata={"help": "GAE lambda"})
    # --- PPO-ptx (InstructGPT): off unless a pretraining or demonstration set is given
    ptx_coef: float = field(
        default=0.0, metadata={"help": "gamma: weight of the pretraining NLL (PPO-ptx)"}
    )
    ptx_data: str | None = field(
        default=None,
        metadata={
            "help": "PPO-ptx text: demos (NLL on completions) or prompts (whole text)"
        },
    )
