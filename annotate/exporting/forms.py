"""The lead's export form: format, style, file type and filters for one project."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib.auth.models import User
from django.db.models import Count, Q, QuerySet

from annotate.exporting.options import (
    AGGREGATE_HELP,
    MIN_TRUST_HELP,
    WEIGHT_HELP,
    ExportFormat,
    ExportOptions,
    FileType,
    MarginSource,
    SourceFilter,
    Style,
    TiePolicy,
)
from annotate.models import Annotation, Candidate, Judgement, Project
from annotate.quality.selection import (
    AGGREGATE_LABELS,
    WEIGHTING_LABELS,
    Aggregate,
    Weighting,
)

DOWNLOAD_TYPES = [
    (FileType.JSONL, FileType.JSONL.label),
    (FileType.PARQUET, FileType.PARQUET.label),
]


class ExportForm(forms.Form):
    format = forms.ChoiceField(choices=ExportFormat.choices)
    style = forms.ChoiceField(choices=Style.choices, initial=Style.STANDARD)
    file_type = forms.ChoiceField(choices=DOWNLOAD_TYPES, initial=FileType.JSONL)
    # Choices as radios and checkboxes, each with its count of judged tasks: a
    # Ctrl-click list box hides what is selected and how much each choice holds.
    source = forms.ChoiceField(
        choices=SourceFilter.choices,
        initial=SourceFilter.ALL,
        widget=forms.RadioSelect,
    )
    annotators = forms.MultipleChoiceField(
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="Only these annotators' judgements; none ticked = all.",
    )
    rounds = forms.TypedMultipleChoiceField(
        required=False,
        coerce=int,
        widget=forms.CheckboxSelectMultiple,
        help_text="Only annotations of outputs generated in these rounds; "
        "none ticked = all.",
    )
    min_agreement = forms.FloatField(
        min_value=0.0,
        max_value=1.0,
        initial=0.0,
        help_text="Share of a prompt's judges who order a pair the same way (0–1).",
    )
    ties = forms.ChoiceField(
        choices=TiePolicy.choices,
        initial=TiePolicy.DROP,
        help_text="Pairs only. TRL reads every row as chosen preferred over rejected.",
    )
    margin = forms.ChoiceField(
        choices=MarginSource.choices,
        initial=MarginSource.NONE,
        required=False,
        help_text="Pairs only. TRL's RewardTrainer subtracts a margin column from "
        "the reward difference whenever there is one; rank_gap and likert_gap are "
        "always written.",
    )
    exclude_flagged_chosen = forms.BooleanField(
        required=False, label="Never a flagged output as chosen"
    )
    min_trust = forms.FloatField(
        min_value=0.0,
        max_value=1.0,
        required=False,
        label="Minimum annotator trust",
        help_text=MIN_TRUST_HELP,
    )
    weighting = forms.ChoiceField(
        choices=list(WEIGHTING_LABELS.items()),
        initial=Weighting.NONE,
        required=False,
        help_text=WEIGHT_HELP,
    )
    aggregate = forms.ChoiceField(
        choices=list(AGGREGATE_LABELS.items()),
        initial=Aggregate.NONE,
        required=False,
        label="Several annotations of one prompt",
        help_text=AGGREGATE_HELP,
    )
    # Asked the other way round: a checkbox left out of a post reads as unticked,
    # and rejected work must stay out unless someone asks for it.
    include_rejected = forms.BooleanField(
        required=False, label="Include work a lead rejected in review"
    )
    # Ticked on the page; a post without it (a script, an older page) gets the bare
    # file it always got.
    include_card = forms.BooleanField(
        required=False,
        initial=True,
        label="Include the dataset card (a .zip of the file and its README.md)",
        help_text="The card lists the counts, the filters and every field.",
    )

    def __init__(self, *args: Any, project: Project, **kwargs: Any):
        super().__init__(*args, **kwargs)
        judged = Annotation.objects.filter(
            assignment__prompt__project=project, skipped=False
        )
        self._set_choices("source", _source_choices(judged))
        self._set_choices("annotators", _annotator_choices(project, judged))
        self._set_choices("rounds", _round_choices(project))

    def _set_choices(self, name: str, choices: list[tuple[Any, str]]) -> None:
        field = self.fields[name]
        assert isinstance(field, forms.ChoiceField)
        field.choices = choices

    # A form posted without these (an older page, a script) gets their defaults.
    def clean_margin(self) -> str:
        return self.cleaned_data["margin"] or MarginSource.NONE

    def clean_weighting(self) -> str:
        return self.cleaned_data["weighting"] or Weighting.NONE

    def clean_aggregate(self) -> str:
        return self.cleaned_data["aggregate"] or Aggregate.NONE

    def options(self) -> ExportOptions:
        """The validated form as export options."""
        values = {
            **self.cleaned_data,
            "exclude_rejected": not self.cleaned_data.get("include_rejected"),
        }
        return ExportOptions.from_values(values)

    def download_type(self) -> FileType:
        return FileType(self.cleaned_data["file_type"])

    def with_card(self) -> bool:
        return bool(self.cleaned_data.get("include_card"))


def _judged(count: int) -> str:
    return f"{count} judged task{'' if count == 1 else 's'}"


def _source_choices(judged: QuerySet[Annotation]) -> list[tuple[Any, str]]:
    counts = judged.aggregate(
        human=Count("id", filter=Q(source=Annotation.Source.HUMAN)),
        imported=Count("id", filter=Q(source=Annotation.Source.IMPORTED)),
    )
    counts[SourceFilter.ALL] = counts["human"] + counts["imported"]
    return [
        (value, f"{label} ({_judged(counts[value])})")
        for value, label in SourceFilter.choices
    ]


def _annotator_choices(
    project: Project, judged: QuerySet[Annotation]
) -> list[tuple[Any, str]]:
    """Everyone with a task in the project, even with nothing judged yet."""
    per_user = dict(
        judged.values_list("assignment__annotator__username")
        .annotate(n=Count("id"))
        .order_by()
    )
    usernames = (
        User.objects.filter(assignments__prompt__project=project)
        .order_by("username")
        .values_list("username", flat=True)
        .distinct()
    )
    return [(name, f"{name} ({_judged(per_user.get(name, 0))})") for name in usernames]


def _round_choices(project: Project) -> list[tuple[Any, str]]:
    """Rounds that generated outputs here, with the judged tasks that rank them."""
    judgements = Judgement.objects.filter(
        candidate__prompt__project=project,
        candidate__origin__isnull=False,
        annotation__skipped=False,
    )
    per_round = dict(
        judgements.values_list("candidate__origin__round__number")
        .annotate(n=Count("annotation", distinct=True))
        .order_by()
    )
    rounds = (
        Candidate.objects.filter(prompt__project=project, origin__isnull=False)
        .order_by("origin__round__number")
        .values_list("origin__round__number", flat=True)
        .distinct()
    )
    return [(n, f"Round {n} ({_judged(per_round.get(n, 0))})") for n in rounds]
