"""Settings of K-wise reward-model training (`python -m training reward`)."""

from __future__ import annotations

from dataclasses import dataclass, field

from training.core.train_config import TrainConfig


@dataclass(frozen=True)
class RewardConfig(TrainConfig):
    """K-wise Bradley-Terry reward model on rankings (pairs are K=2 rankings)."""

    # --- a fresh score head on small data needs a high rate and several epochs
    epochs: int = field(default=6, metadata={"help": "passes over the rankings"})
    lr: float = field(default=5e-4, metadata={"help": "peak AdamW learning rate"})
    batch_size: int = field(
        default=8, metadata={"help": "rankings per step (all K completions each)"}
    )
    # --- loss shape
    margin_per_rank: float = field(
        default=0.0,
        metadata={"help": "require r_w - r_l >= this x rank gap (0: plain BT)"},
    )
    # Eisenstein et al. 2023: a small pull of the scores toward 0 keeps the offset
    # folded away after training small, so folding barely moves any score.
    center_coefficient: float = field(
        default=0.01, metadata={"help": "weight of the mean(r^2) centring term"}
    )
