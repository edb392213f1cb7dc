"""Settings of RLOO, critic-free REINFORCE with a leave-one-out baseline."""

from __future__ import annotations

from dataclasses import dataclass, field

from training.core.rollout_config import RLConfig


@dataclass(frozen=True)
class RLOOConfig(RLConfig):
    """RLOO (Ahmadian et al. 2024): K samples per prompt, sequence-level rewards."""

    # --- K = 4 is the paper's usual setting; each sample is the others' baseline
    k: int = field(default=4, metadata={"help": "samples per prompt (at least 2)"})
    # --- one on-policy update per rollout, as REINFORCE assumes
    batch_size: int = field(
        default=4, metadata={"help": "prompts per rollout; K samples each"}
    )
