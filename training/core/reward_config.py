"""Settings of K-wise reward-model training (`python -m training reward`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar

from training.core.train_config import TrainConfig


@dataclass(frozen=True)
class RewardConfig(TrainConfig):
    """K-wise Bradley-Terry reward model on rankings (pairs are K=2 rankings)."""

    lr_family: ClassVar[str] = "reward"

    # --- a fresh score head on small data needs several passes
    epochs: int = field(default=6, metadata={"help": "passes over the rankings"})
    batch_size: int = field(
        default=8, metadata={"help": "rankings per step (all K completions each)"}
    )
    # --- loss shape
    margin_per_rank: float = field(
        default=0.0,
        metadata={"help": "require r_w - r_l >= this x rank gap (0: plain BT)"},
    )
    # Adds coefficient x mean(r^2) over every completion in the batch: a small pull
    # of the scores toward 0 keeps the offset folded away after training small.
    # Not TRL's center_rewards_coefficient x mean((r_w + r_l)^2) (Eisenstein et al.
    # 2023), which penalises only each pair's sum: for K=2, mean(r^2) =
    # 1/4 mean((r_w + r_l)^2) + 1/4 mean((r_w - r_l)^2), so it also shrinks margins.
    center_coefficient: float = field(
        default=0.01, metadata={"help": "weight of the mean(r^2) centring term"}
    )
