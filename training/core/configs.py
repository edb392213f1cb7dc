"""The trainer's commands and their config dataclasses, without the trainers.

Reading a config (the web's launch form, validation of a round's settings) must not
load torch: the dataclasses and this registry import nothing heavy. The command line
pairs each name with the function that runs it (`training/cli.py`).
"""

from __future__ import annotations

import types
import typing
from typing import Any

from training.core.best_of_n_config import BestOfNConfig, RAFTConfig
from training.core.dpo_config import DPOConfig
from training.core.generate_config import GenerateConfig
from training.core.ppo_config import PPOConfig
from training.core.reward_config import RewardConfig
from training.core.rloo_config import RLOOConfig
from training.core.sft_config import SFTConfig

CONFIGS: dict[str, type] = {
    "sft": SFTConfig,
    "reward": RewardConfig,
    "dpo": DPOConfig,
    "ppo": PPOConfig,
    "rloo": RLOOConfig,
    "bon": BestOfNConfig,
    "raft": RAFTConfig,
    "generate": GenerateConfig,
}
# Commands whose recipe shards data across torchrun's processes (recipe.run_training);
# the RL and generation commands sample as they train and run on one process.
DATA_PARALLEL = ("sft", "reward", "dpo")


def unwrap_optional(annotation: Any) -> Any:
    """`X | None` -> X; anything else unchanged."""
    if isinstance(annotation, types.UnionType) or typing.get_origin(annotation) is (
        typing.Union
    ):
        members = [a for a in typing.get_args(annotation) if a is not type(None)]
        if len(members) == 1:
            return members[0]
    return annotation
