"""Settings of DPO-family training (`python -m training dpo`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar

from training.core.train_config import TrainConfig

# Pairwise losses (losses.PREFERENCE_LOSSES), then unpaired and listwise ones. Named
# here, not imported, so reading a config never loads torch; a test keeps them equal.
PAIRWISE_LOSS_NAMES = ("dpo", "cdpo", "ipo", "hinge", "rdpo", "simpo", "cpo", "orpo")
LOSS_NAMES = (*PAIRWISE_LOSS_NAMES, "kto", "plackett_luce", "rrhf")


@dataclass(frozen=True)
class DPOConfig(TrainConfig):
    """Offline preference optimisation on pairs, rankings or unpaired labels."""

    lr_family: ClassVar[str] = "dpo"

    loss: str = field(
        default="dpo",
        metadata={"help": "preference loss", "choices": LOSS_NAMES},
    )
    ref_model: str | None = field(
        default=None,
        metadata={"help": "reference policy; omitted: the starting policy itself"},
    )
    # --- small data: the step floor (min_steps), not epochs, sets the length
    epochs: int = field(default=3, metadata={"help": "passes over the data"})
    # --- loss hyper-parameters; None keeps each loss's own paper default
    beta: float | None = field(
        default=None,
        metadata={"help": "KL strength beta (default 0.1; SimPO 2.0)"},
    )
    label_smoothing: float | None = field(
        default=None, metadata={"help": "DPO label noise eps (cdpo default 0.1)"}
    )
    rdpo_alpha: float | None = field(
        default=None, metadata={"help": "R-DPO length penalty alpha (default 0.01)"}
    )
    simpo_gamma: float | None = field(
        default=None, metadata={"help": "SimPO target margin gamma (default 0.5)"}
    )
    cpo_nll_weight: float | None = field(
        default=None, metadata={"help": "CPO weight of the chosen NLL (default 1)"}
    )
    orpo_lambda: float | None = field(
        default=None, metadata={"help": "ORPO odds-ratio weight (default 0.1)"}
    )
    rrhf_sft_weight: float | None = field(
        default=None, metadata={"help": "RRHF weight of the best's NLL (default 1)"}
    )
    # A plain bool, not None for "the loss's default": an unticked box on the
    # launch form reads False, so None could never be chosen there.
    length_normalize: bool = field(
        default=True,
        metadata={
            "help": "average log-probs per token in IPO's log-ratios and CPO's NLL "
            "term, as the papers' authors and TRL do; off: summed over tokens "
            "(SimPO, ORPO, RRHF are per token by definition)"
        },
    )

    # --- iterative ("online") DPO: on-policy pairs judged by the round's reward model
    online_samples: int = field(
        default=0,
        metadata={
            "help": "N > 1: sample N replies per training prompt from the starting "
            "policy and add the reward model's best vs worst as a pair (Xiong et "
            "al. 2024); 0: human rankings only"
        },
    )
    online_pair_weight: float = field(
        default=1.0,
        metadata={"help": "weight of each sampled pair; a human ranking weighs 1"},
    )
    online_max_new_tokens: int = field(
        default=64, metadata={"help": "longest sampled reply, in tokens"}
    )
    reward_model: str | None = field(
        default=None,
        metadata={"help": "reward-model folder judging the online samples"},
    )

    def loss_kwargs(self) -> dict[str, float | bool]:
        """Hyper-parameters set on the command line, named as the losses name them."""
        named: dict[str, float | bool | None] = {
            "beta": self.beta,
            "label_smoothing": self.label_smoothing,
            "alpha": self.rdpo_alpha,
            "gamma": self.simpo_gamma,
            "nll_weight": self.cpo_nll_weight,
            "lam": self.orpo_lambda,
            "sft_weight": self.rrhf_sft_weight,
            "length_normalize": self.length_normalize,
        }
        return {key: value for key, value in named.items() if value is not None}
