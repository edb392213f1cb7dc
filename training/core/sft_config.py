"""Settings of supervised fine-tuning on demonstrations (`python -m training sft`)."""

from __future__ import annotations

from dataclasses import dataclass, field

from training.core.train_config import TrainConfig


@dataclass(frozen=True)
class SFTConfig(TrainConfig):
    """Next-token NLL on the completion tokens of {prompt, completion} demos."""

    # --- imitation of a few hundred demos: moderate rate, a few epochs
    epochs: int = field(default=3, metadata={"help": "passes over the demos"})
    # Data sources that are not demos give their best completions: a pair's chosen,
    # a ranking's rank-1 completions, an unpaired record labelled true.
