"""Settings shared by the methods that sample from the policy: best-of-N, RLOO, PPO."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar

from training.core.train_config import TrainConfig


@dataclass(frozen=True)
class SamplingConfig(TrainConfig):
    """Where rewards come from and how completions are sampled."""

    data: str = field(
        default="",
        metadata={
            "help": "prompts: any .jsonl/.parquet/datasets file with a prompt field",
            "required": True,
        },
    )
    reward_model: str | None = field(
        default=None,
        metadata={"help": "reward-model folder scoring (prompt, completion) pairs"},
    )
    # --- sampling: plain ancestral sampling, the distribution the policy defines
    temperature: float = field(
        default=1.0, metadata={"help": "sampling temperature (1: the policy itself)"}
    )
    top_p: float = field(
        default=1.0, metadata={"help": "nucleus sampling mass (1: no truncation)"}
    )
    max_new_tokens: int = field(
        default=48, metadata={"help": "longest completion sampled, in tokens"}
    )
    generation_batch_size: int = field(
        default=32, metadata={"help": "sequences sampled per generate() call"}
    )


@dataclass(frozen=True)
class RLConfig(SamplingConfig):
    """Online RL against a reward with a KL penalty to a frozen reference policy."""

    lr_family: ClassVar[str] = "rl"

    ref_model: str | None = field(
        default=None,
        metadata={"help": "reference policy for the KL; omitted: the starting policy"},
    )
    batch_size: int = field(
        default=8, metadata={"help": "prompts sampled per rollout (one RL step)"}
    )
    epochs: int = field(default=2, metadata={"help": "passes over the prompts"})
    # --- KL penalty beta * KL(pi || pi_ref): TRL's 0.05 start, Ziegler's target 6 nats
    kl_coef: float = field(
        default=0.05, metadata={"help": "KL penalty beta (adaptive: its start value)"}
    )
    adaptive_kl: bool = field(
        default=False,
        metadata={"help": "adapt beta toward target_kl (Ziegler et al. 2019)"},
    )
    target_kl: float = field(
        default=6.0,
        metadata={"help": "KL per sequence (nats) the adaptive beta aims at"},
    )
    # Small runs see ~1k samples; Ziegler's horizon of 10k would leave beta unchanged.
    kl_horizon: int = field(
        default=1000, metadata={"help": "samples over which beta adapts (K_beta = n/H)"}
    )
    kl_estimator: str = field(
        default="k1",
        metadata={
            "help": "per-token KL estimator (Schulman 2020)",
            "choices": ("k1", "k3"),
        },
    )
