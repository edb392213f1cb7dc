"""A round's tunable settings, read from the trainer's config dataclasses.

The command line (`python -m training`) and the launch form show the same fields with
the same defaults and help: both are generated from the dataclasses, so a new trainer
option appears in both without a second list to keep in step.
"""

from __future__ import annotations

import dataclasses
import typing
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from annotate.quality.selection import QualityOptions
from training.core.configs import CONFIGS, DATA_PARALLEL, unwrap_optional
from training.core.generate_config import GenerateConfig
from training.core.reward_config import RewardConfig

# Filled in by the round itself (paths, models, devices), so never set by hand.
SET_BY_THE_ROUND = frozenset(
    {"data", "model", "out", "device", "resume", "ref_model", "reward_model"}
)
GENERATION_FIELDS = ("k", "temperature", "top_p", "max_new_tokens")


@dataclass(frozen=True)
class LaunchConfig:
    """How the worker starts a round's training jobs."""

    processes: int = dataclasses.field(
        default=1,
        metadata={
            "help": "processes per training job, one per GPU (on a CPU worker, gloo "
            "processes): above 1 the job runs under torchrun, data-parallel. The "
            "reward model and DPO use them; PPO, RLOO, best-of-N and RAFT train on "
            "one"
        },
    )


@dataclass(frozen=True)
class HeadToHeadConfig:
    """Generation settings of a round beyond the generate command's own."""

    previous_outputs: int = dataclasses.field(
        default=0,
        metadata={
            "help": "of each new prompt's K outputs, how many the round's base policy "
            "(the version it trained from) writes instead of the new policy: people "
            "then rank the two versions' outputs side by side, unlabelled and "
            "shuffled like all outputs, and the human leaderboard compares the "
            "versions head to head; 0 = every output from the new policy"
        },
    )


HEAD_TO_HEAD_FIELDS = tuple(f.name for f in dataclasses.fields(HeadToHeadConfig))


@dataclass(frozen=True)
class Hyperparameter:
    """One tunable field: its name, Python type, default, help, and None allowed."""

    name: str
    type: type
    default: Any
    help: str
    optional: bool
    choices: tuple[str, ...] = ()
    empty: str = "the trainer's choice"  # what leaving an optional field empty means


class SettingsError(ValueError):
    """Bad settings; `errors` maps each offending field to what was expected."""

    def __init__(self, errors: Mapping[str, str]):
        self.errors = dict(errors)
        super().__init__("; ".join(f"{k}: {v}" for k, v in self.errors.items()))


def policy_config_class(algorithm: str) -> type:
    """The config dataclass of a round algorithm (dpo, ppo, rloo, bon, raft)."""
    return CONFIGS[algorithm]


def hyperparameters(
    config_class: type, only: tuple[str, ...] = ()
) -> list[Hyperparameter]:
    """The tunable fields of a config dataclass, in declaration order."""
    hints = typing.get_type_hints(config_class)
    fields = []
    for field in dataclasses.fields(config_class):
        if field.name in SET_BY_THE_ROUND or (only and field.name not in only):
            continue
        kind = unwrap_optional(hints[field.name])
        if kind not in (int, float, bool, str):
            continue
        fields.append(
            Hyperparameter(
                field.name,
                kind,
                field.default,
                field.metadata.get("help", ""),
                optional=kind is not hints[field.name],
                choices=tuple(field.metadata.get("choices") or ()),
                empty=field.metadata.get("empty", Hyperparameter.empty),
            )
        )
    return fields


def reward_hyperparameters() -> list[Hyperparameter]:
    return hyperparameters(RewardConfig)


def generation_hyperparameters() -> list[Hyperparameter]:
    return [
        *hyperparameters(GenerateConfig, only=GENERATION_FIELDS),
        *hyperparameters(HeadToHeadConfig),
    ]


def validate_generation_settings(
    settings: Mapping[str, Any], *, prefix: str
) -> dict[str, Any]:
    """A round's generation group: the generate command's sampling fields and the
    head-to-head mix, each checked by its own dataclass (validate_settings)."""
    known = (*GENERATION_FIELDS, *HEAD_TO_HEAD_FIELDS)
    expected = f"unknown setting; expected one of {', '.join(sorted(known))}"
    errors = {f"{prefix}.{name}": expected for name in settings if name not in known}
    clean: dict[str, Any] = {}
    for config_class, names in (
        (GenerateConfig, GENERATION_FIELDS),
        (HeadToHeadConfig, HEAD_TO_HEAD_FIELDS),
    ):
        part = {k: v for k, v in settings.items() if k in names}
        try:
            clean.update(
                validate_settings(config_class, part, prefix=prefix, only=names)
            )
        except SettingsError as err:
            errors.update(err.errors)
    if errors:
        raise SettingsError(errors)
    return clean


def launch_hyperparameters() -> list[Hyperparameter]:
    return hyperparameters(LaunchConfig)


def data_hyperparameters() -> list[Hyperparameter]:
    """Which rankings the round trains on and their weights (annotation quality)."""
    return hyperparameters(QualityOptions)


def round_chat_template(algorithm: str, policy_settings: Mapping[str, Any]) -> str:
    """How a round renders plain prompts: its policy's --chat-template, everywhere.

    Generation, evaluation and the reward model use it too, so replies are sampled,
    scored and trained in the one rendering their stored token ids were made in.
    """
    fields = dataclasses.fields(policy_config_class(algorithm))
    default = next(f.default for f in fields if f.name == "chat_template")
    return str(policy_settings.get("chat_template", default))


def job_processes(command: str, launch_settings: Mapping[str, Any]) -> int:
    """Processes the job training `command` ("reward" or an algorithm) runs on."""
    processes = int(launch_settings.get("processes", LaunchConfig.processes))
    return processes if command in DATA_PARALLEL else 1


def validate_settings(
    config_class: type,
    settings: Mapping[str, Any],
    *,
    prefix: str,
    only: tuple[str, ...] = (),
) -> dict[str, Any]:
    """The settings checked against the dataclass: known names, right types.

    `only` narrows the tunable fields as `hyperparameters` does. Raises SettingsError
    naming each bad field as `prefix.name`; nothing is coerced silently except
    int → float.
    """
    known = {h.name: h for h in hyperparameters(config_class, only)}
    errors: dict[str, str] = {}
    clean: dict[str, Any] = {}
    for name, value in settings.items():
        spec = known.get(name)
        if spec is None:
            errors[f"{prefix}.{name}"] = (
                f"unknown setting; expected one of {', '.join(sorted(known))}"
            )
        elif value is None and spec.optional:
            clean[name] = None
        elif spec.type is float and type(value) in (int, float):
            clean[name] = float(value)
        elif spec.choices and value not in spec.choices:
            errors[f"{prefix}.{name}"] = (
                f"{value!r} is not one of {', '.join(spec.choices)}"
            )
        elif type(value) is spec.type:
            clean[name] = value
        else:
            kind = spec.type.__name__
            article = "an" if kind[0] in "aeiou" else "a"
            errors[f"{prefix}.{name}"] = f"{value!r} is not {article} {kind}" + (
                " (or empty)" if spec.optional else ""
            )
    if errors:
        raise SettingsError(errors)
    try:
        config_class(**clean)
    except (TypeError, ValueError) as err:
        # A config that names the field at fault (QualityOptionError) is keyed by it.
        field_name = getattr(err, "field", None)
        key = f"{prefix}.{field_name}" if field_name else prefix
        message = str(err).removeprefix(f"{field_name}: ")
        raise SettingsError({key: message}) from err
    return clean
