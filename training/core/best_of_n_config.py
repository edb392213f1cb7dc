"""Settings of best-of-N sampling and RAFT (`python -m training bon|raft`)."""

from __future__ import annotations

from dataclasses import dataclass, field

from training.core.rollout_config import SamplingConfig


@dataclass(frozen=True)
class BestOfNConfig(SamplingConfig):
    """Sample N completions per prompt and keep the one the reward ranks highest."""

    # --- N = 8 gains most of best-of-N's reward at a modest sampling cost
    n: int = field(default=8, metadata={"help": "samples per prompt"})
    out: str = field(
        default="runs/latest",
        metadata={"help": "output folder: best_of_n.jsonl (and the RAFT model)"},
    )


@dataclass(frozen=True)
class RAFTConfig(BestOfNConfig):
    """RAFT (Dong et al. 2023): rounds of best-of-N then SFT on the kept samples."""

    rounds: int = field(
        default=1, metadata={"help": "best-of-N + SFT rounds, each from the last model"}
    )
    # --- SFT on a few hundred self-generated replies: as SFT's own defaults
    epochs: int = field(default=2, metadata={"help": "SFT passes over kept samples"})
