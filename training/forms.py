"""The admin's launch-a-round form, its settings fields generated from the trainers.

Every tunable field of the chosen algorithm's config, of the reward model's and of
generation appears with the trainer's default and help text; only values the lead
changed are sent as overrides, so a default changed in the trainer stays the default.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from django import forms
from django.db.models import QuerySet

from annotate.models import Project, Prompt
from training import services
from training.hyperparameters import (
    Hyperparameter,
    data_hyperparameters,
    generation_hyperparameters,
    hyperparameters,
    launch_hyperparameters,
    policy_config_class,
    reward_hyperparameters,
)
from training.models import ModelVersion, Round


@dataclass(frozen=True)
class SettingsGroup:
    """One settings dict of a round: policy, reward, generation, launch or data."""

    key: str  # the LaunchRequest attribute, also the prefix of refusal reasons
    prefix: str  # form field names are `<prefix>__<setting>`
    title: str
    hyperparameters: list[Hyperparameter]
    algorithm: str = ""  # shown only when this algorithm is chosen; "" = always

    def field_name(self, setting: str) -> str:
        return f"{self.prefix}__{setting}"


def settings_groups(project: Project) -> list[SettingsGroup]:
    """Each algorithm's policy settings, then reward, generation, launch, data."""
    policy = [
        SettingsGroup(
            "policy_settings",
            algorithm,
            f"Policy training: {label.split(' (')[0]}",
            hyperparameters(policy_config_class(algorithm)),
            algorithm=algorithm,
        )
        for algorithm, label in Round.Algorithm.choices
    ]
    k_range = f"; this project takes {project.min_k} to {project.max_k}"
    project_defaults = {
        "k": services.default_k(project),
        "previous_outputs": project.previous_outputs,
    }
    generation = [
        dataclasses.replace(
            h,
            default=project_defaults[h.name],
            help=h.help + (k_range if h.name == "k" else "; the project's default"),
        )
        if h.name in project_defaults
        else h
        for h in generation_hyperparameters()
    ]
    return [
        *policy,
        SettingsGroup(
            "reward_settings", "reward", "Reward model", reward_hyperparameters()
        ),
        SettingsGroup(
            "generation_settings",
            "generation",
            "Generation of the next round's candidates",
            generation,
        ),
        SettingsGroup(
            "launch_settings",
            "launch",
            "Launch: processes (GPUs) per training job",
            launch_hyperparameters(),
        ),
        SettingsGroup(
            "data_settings",
            "data",
            "Data: which annotations train, and their weight (annotation quality)",
            data_hyperparameters(),
        ),
    ]


def setting_field(hyperparameter: Hyperparameter) -> forms.Field:
    """A form field for one setting: its default filled in, empty means default."""
    default = hyperparameter.default
    if default is None:  # e.g. the trainer picks a value per loss; the help says
        help_text = f"{hyperparameter.help} (empty: {hyperparameter.empty})"
    else:
        help_text = f"{hyperparameter.help} (default: {default})"
    common: dict[str, Any] = {
        "label": hyperparameter.name,
        "initial": default,
        "help_text": help_text,
        "required": False,
    }
    if hyperparameter.choices:
        choices = [(c, c) for c in hyperparameter.choices]
        return forms.ChoiceField(choices=choices, **{**common, "required": True})
    if hyperparameter.type is bool:
        return forms.BooleanField(**common)
    if hyperparameter.type is int:
        return forms.IntegerField(**common)
    if hyperparameter.type is float:
        return forms.FloatField(
            widget=forms.NumberInput(attrs={"step": "any"}), **common
        )
    return forms.CharField(**common)


class PromptChoiceField(forms.ModelMultipleChoiceField):
    def label_from_instance(self, obj: Any) -> str:
        return f"#{obj.pk}: {obj}"


class RoundLaunchForm(forms.Form):
    """Launch a round of one project; the page is drawn for that project."""

    project = forms.ModelChoiceField(queryset=Project.objects.none())
    algorithm = forms.ChoiceField(
        choices=Round.Algorithm.choices,
        initial=Round.Algorithm.DPO,
        widget=forms.RadioSelect,
    )
    base_policy = forms.ModelChoiceField(
        queryset=ModelVersion.objects.none(),
        required=False,
        help_text="The policy the round starts from.",
    )
    prompts = PromptChoiceField(
        queryset=Prompt.objects.none(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        label="Prompts without outputs",
        help_text="The new policy writes K outputs for each prompt ticked here.",
    )
    new_prompts = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 4, "cols": 80}),
        required=False,
        label="New prompts",
        help_text="One per line; added to the project and to this round.",
    )

    def __init__(
        self,
        data: Mapping[str, Any] | None = None,
        *,
        projects: QuerySet[Project],
        project: Project,
    ):
        super().__init__(data, initial={"project": project})
        self.launch_project = project
        self.fields["project"].queryset = projects  # type: ignore[attr-defined]
        policies = ModelVersion.objects.filter(
            project=project, kind=ModelVersion.Kind.POLICY
        )
        base_policy = self.fields["base_policy"]
        base_policy.queryset = policies  # type: ignore[attr-defined]
        current = services.current_policy(project)
        base_policy.empty_label = (  # type: ignore[attr-defined]
            f"current: {current.name}" if current else "the project's base model"
        )
        fresh = services.fresh_prompts(project)
        self.fields["prompts"].queryset = fresh  # type: ignore[attr-defined]
        self.fields["prompts"].initial = list(fresh.values_list("pk", flat=True))
        self.groups = settings_groups(project)
        for group in self.groups:
            for h in group.hyperparameters:
                self.fields[group.field_name(h.name)] = setting_field(h)

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        # Settings of the algorithms not chosen are never sent: ignore their errors.
        for group in self.groups:
            if group.algorithm and group.algorithm != cleaned.get("algorithm"):
                for h in group.hyperparameters:
                    self.errors.pop(group.field_name(h.name), None)
        return cleaned

    def launch_request(self) -> services.LaunchRequest:
        """What was chosen, with only the settings that differ from their defaults."""
        data = self.cleaned_data
        overrides: dict[str, dict[str, Any]] = {
            "policy_settings": {},
            "reward_settings": {},
            "generation_settings": {},
            "launch_settings": {},
            "data_settings": {},
        }
        for group in self.active_groups():
            for h in group.hyperparameters:
                value = data.get(group.field_name(h.name))
                if value not in (None, "") and value != h.default:
                    overrides[group.key][h.name] = value
        return services.LaunchRequest(
            algorithm=data["algorithm"],
            base_policy=data.get("base_policy"),
            prompt_ids=[prompt.pk for prompt in data.get("prompts", [])],
            new_prompts=data.get("new_prompts", "").splitlines(),
            **overrides,
        )

    def active_groups(self) -> list[SettingsGroup]:
        algorithm = self.cleaned_data.get("algorithm")
        return [g for g in self.groups if g.algorithm in ("", algorithm)]

    def add_refusal(self, reasons: Mapping[str, str]) -> None:
        """Put each reason of a LaunchRefused next to its field (else at the top)."""
        prefixes = {g.key: g.prefix for g in self.active_groups()}
        for key, message in reasons.items():
            group_key, _, setting = key.partition(".")
            if setting and group_key in prefixes:
                field = f"{prefixes[group_key]}__{setting}"
            else:
                field = key
            self.add_error(field if field in self.fields else None, message)

    def fieldsets(self) -> list[dict[str, Any]]:
        """Settings groups with their bound fields, for the template."""
        return [
            {
                "title": group.title,
                "algorithm": group.algorithm,
                "fields": [
                    self[group.field_name(h.name)] for h in group.hyperparameters
                ],
            }
            for group in self.groups
        ]
