"""The lead's export form: format, style, file type and filters for one project."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib.auth.models import User

from annotate.exporting.options import (
    ExportFormat,
    ExportOptions,
    FileType,
    MarginSource,
    SourceFilter,
    Style,
    TiePolicy,
)
from annotate.models import Candidate, Project

DOWNLOAD_TYPES = [
    (FileType.JSONL, FileType.JSONL.label),
    (FileType.PARQUET, FileType.PARQUET.label),
]


class ExportForm(forms.Form):
    format = forms.ChoiceField(choices=ExportFormat.choices)
    style = forms.ChoiceField(choices=Style.choices, initial=Style.STANDARD)
    file_type = forms.ChoiceField(choices=DOWNLOAD_TYPES, initial=FileType.JSONL)
    source = forms.ChoiceField(choices=SourceFilter.choices, initial=SourceFilter.ALL)
    annotators = forms.MultipleChoiceField(
        required=False, help_text="Only these annotators' judgements; none = all."
    )
    rounds = forms.TypedMultipleChoiceField(
        required=False,
        coerce=int,
        help_text="Only annotations of outputs generated in these rounds; none = all.",
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
    # Asked the other way round: a checkbox left out of a post reads as unticked,
    # and rejected work must stay out unless someone asks for it.
    include_rejected = forms.BooleanField(
        required=False, label="Include work a lead rejected in review"
    )

    def __init__(self, *args: Any, project: Project, **kwargs: Any):
        super().__init__(*args, **kwargs)
        usernames = (
            User.objects.filter(assignments__prompt__project=project)
            .order_by("username")
            .values_list("username", flat=True)
            .distinct()
        )
        rounds = (
            Candidate.objects.filter(prompt__project=project, origin__isnull=False)
            .order_by("origin__round__number")
            .values_list("origin__round__number", flat=True)
            .distinct()
        )
        annotators, round_numbers = self.fields["annotators"], self.fields["rounds"]
        assert isinstance(annotators, forms.MultipleChoiceField)
        assert isinstance(round_numbers, forms.TypedMultipleChoiceField)
        annotators.choices = [(name, name) for name in usernames]
        round_numbers.choices = [(n, f"Round {n}") for n in rounds]

    def clean_margin(self) -> str:
        # A form posted without the field (an older page, a script) gets the default.
        return self.cleaned_data["margin"] or MarginSource.NONE

    def options(self) -> ExportOptions:
        """The validated form as export options."""
        values = {
            **self.cleaned_data,
            "exclude_rejected": not self.cleaned_data.get("include_rejected"),
        }
        return ExportOptions.from_values(values)

    def download_type(self) -> FileType:
        return FileType(self.cleaned_data["file_type"])
