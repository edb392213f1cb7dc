"""Request and response bodies of the REST API.

Request serializers only validate shapes and resolve ids among the objects the caller
may name; the writes themselves are annotate.services' functions.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NoReturn

from django.contrib.auth.models import User
from django.db.models import Model, QuerySet
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from annotate import limits
from annotate.exporting import (
    AGGREGATE_HELP,
    MARGIN_HELP,
    MIN_TRUST_HELP,
    TIES_HELP,
    WEIGHT_HELP,
    ExportFormat,
    ExportOptions,
    FileType,
    MarginSource,
    SourceFilter,
    Style,
    TiePolicy,
)
from annotate.importing import FORMATS
from annotate.models import (
    K_MIN,
    LIKERT_MAX,
    LIKERT_MIN,
    Annotation,
    Assignment,
    Candidate,
    Comparison,
    Judgement,
    Project,
    Prompt,
)
from annotate.quality.selection import (
    AGGREGATE_LABELS,
    WEIGHTING_LABELS,
    Aggregate,
    Weighting,
)
from annotate.serializers import StoredTextField, SubmissionSerializer
from annotate.text import clean_json
from api.filters import MAX_ID
from api.permissions import member_projects
from training.models import ModelVersion, Round
from training.services import LaunchRequest

MAX_BULK_ROWS = 1000
MESSAGE_ROLES = ["system", "user", "assistant"]


def _request_user(serializer: serializers.Field) -> User:
    return serializer.context["request"].user


def _led(serializer: serializers.Field, project_id: int) -> bool:
    """Whether the caller leads this project (the view's lead rule, once a request)."""
    return project_id in serializer.context["led_project_ids"]


class ScopedIdField(serializers.PrimaryKeyRelatedField):
    """The id of an object among those the caller may name; others do not exist."""

    default_error_messages = {
        "does_not_exist": "No {model} {pk_value} among those you may use.",
        "incorrect_type": "Expected a {model} id (a whole number), got {data_type}.",
    }

    def __init__(self, scope: Callable[[User], QuerySet], **kwargs: Any):
        self.scope = scope
        super().__init__(**kwargs)

    def get_queryset(self) -> QuerySet:
        return self.scope(_request_user(self))

    def to_internal_value(self, data: Any) -> Model:
        if isinstance(data, bool) or not isinstance(data, int | str):
            self._refuse("incorrect_type", data_type=type(data).__name__)
        found = None
        if str(data).isdigit() and 1 <= int(data) <= MAX_ID:
            found = self.get_queryset().filter(pk=int(data)).first()
        if found is None:
            self._refuse("does_not_exist", pk_value=data)
        return found

    def _refuse(self, code: str, **values: object) -> NoReturn:
        model = self.queryset.model._meta.verbose_name
        message = self.error_messages[code].format(model=model, **values)
        raise serializers.ValidationError(message, code=code)


class PlainJsonObjectField(serializers.DictField):
    """A JSON object with its strings cleaned by annotate.text's rule, as stored."""

    def to_internal_value(self, data: Any) -> dict:
        return clean_json(super().to_internal_value(data))


class FlagSerializer(serializers.Serializer):
    key = serializers.SlugField(max_length=50)
    label = serializers.CharField(max_length=200)
    description = serializers.CharField(
        max_length=300, required=False, allow_blank=True, default=""
    )


class ProjectSerializer(serializers.ModelSerializer):
    likert_labels = serializers.ListField(
        child=serializers.CharField(max_length=100),
        min_length=LIKERT_MAX - LIKERT_MIN + 1,
        max_length=LIKERT_MAX - LIKERT_MIN + 1,
        required=False,
        help_text="Seven labels, for ratings 1 (worst) to 7 (best).",
    )
    flags = serializers.ListField(
        child=FlagSerializer(), required=False, help_text="The flag checklist."
    )
    prompt_flags = serializers.ListField(
        child=FlagSerializer(),
        required=False,
        help_text="The checklist asked once per task about the prompt; [] asks "
        "nothing.",
    )
    your_role = serializers.SerializerMethodField()

    class Meta:
        model = Project
        fields = [
            "id",
            "slug",
            "name",
            "instructions",
            "min_k",
            "max_k",
            "likert_labels",
            "flags",
            "prompt_flags",
            "flag_answers",
            "allow_ties",
            "keep_ties",
            "annotations_per_prompt",
            "gold_rate",
            "gold_feedback",
            "previous_outputs",
            "created_at",
            "your_role",
        ]

    @extend_schema_field(serializers.ChoiceField(["lead", "annotator"]))
    def get_your_role(self, project: Project) -> str:
        return "lead" if _led(self, project.pk) else "annotator"

    def validate_flags(self, flags: list[dict[str, str]]) -> list[dict[str, str]]:
        return self._checklist("flags", flags)

    def validate_prompt_flags(
        self, flags: list[dict[str, str]]
    ) -> list[dict[str, str]]:
        return self._checklist("prompt_flags", flags)

    def _checklist(
        self, field: str, flags: list[dict[str, str]]
    ) -> list[dict[str, str]]:
        """The checklist's shape, and no key dropped that is in use (flags.py)."""
        errors = (self.instance or Project()).checklist_errors(field, flags)
        if errors:
            raise serializers.ValidationError(errors)
        return flags

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        current = self.instance
        min_k = attrs.get("min_k", current.min_k if current else K_MIN)
        max_k = attrs.get("max_k", current.max_k if current else min_k)
        if min_k > max_k:
            raise serializers.ValidationError(
                {"max_k": f"Must be at least min_k ({min_k}), got {max_k}."}
            )
        return attrs


class MessageSerializer(serializers.Serializer):
    role = serializers.ChoiceField(MESSAGE_ROLES)
    content = StoredTextField(limit=limits.PROMPT)


class PromptSerializer(serializers.ModelSerializer):
    messages = serializers.ListField(
        child=serializers.DictField(child=serializers.CharField()),
        read_only=True,
        help_text='Chat turns [{"role": …, "content": …}], or empty.',
    )

    class Meta:
        model = Prompt
        fields = ["id", "project", "text", "messages", "metadata", "created_at"]


class CreatedFlagMixin(serializers.Serializer):
    """Answers of the bulk writes: whether each row is new or already existed."""

    created = serializers.SerializerMethodField(
        help_text="False where the same row already existed."
    )

    def get_created(self, obj: Model) -> bool:
        return obj.pk in self.context["created_ids"]


class PromptCreatedSerializer(CreatedFlagMixin, PromptSerializer):
    class Meta(PromptSerializer.Meta):
        fields = [*PromptSerializer.Meta.fields, "created"]


class PromptCreateSerializer(serializers.Serializer):
    project = ScopedIdField(
        member_projects,
        queryset=Project.objects.all(),
    )
    text = StoredTextField(
        required=False, allow_blank=True, default="", limit=limits.PROMPT
    )
    messages = MessageSerializer(many=True, required=False, default=list)
    metadata = PlainJsonObjectField(required=False, default=dict)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if not attrs["text"] and not attrs["messages"]:
            raise serializers.ValidationError(
                {"text": "Give the prompt's text or its chat messages."}
            )
        too_long = limits.PROMPT.error(
            limits.prompt_chars(attrs["text"], attrs["messages"])
        )
        if too_long:
            field = "messages" if attrs["messages"] else "text"
            raise serializers.ValidationError({field: f"This prompt {too_long}."})
        return attrs


class CandidateSerializer(serializers.ModelSerializer):
    source = serializers.CharField(
        read_only=True,
        allow_null=True,
        help_text="The model or source that produced it; null for annotators, "
        "from whom model identity is hidden.",
    )
    generation_settings = serializers.JSONField(
        read_only=True, allow_null=True, help_text="Null for annotators."
    )

    class Meta:
        model = Candidate
        fields = ["id", "prompt", "text", "source", "generation_settings", "created_at"]

    def to_representation(self, candidate: Candidate) -> dict[str, Any]:
        data = super().to_representation(candidate)
        if not _led(self, candidate.prompt.project_id):
            data["source"] = data["generation_settings"] = None
        return data


class CandidateCreatedSerializer(CreatedFlagMixin, CandidateSerializer):
    class Meta(CandidateSerializer.Meta):
        fields = [*CandidateSerializer.Meta.fields, "created"]


class CandidateCreateSerializer(serializers.Serializer):
    prompt = ScopedIdField(
        lambda user: Prompt.objects.filter(project__in=member_projects(user)),
        queryset=Prompt.objects.all(),
    )
    text = StoredTextField(limit=limits.OUTPUT)
    source = StoredTextField(
        max_length=200,
        trim_whitespace=True,
        help_text="The model version or source that produced it.",
    )
    generation_settings = PlainJsonObjectField(required=False, default=dict)


class OutputSerializer(serializers.Serializer):
    candidate = serializers.IntegerField()
    letter = serializers.CharField(help_text="A, B, C… as this annotator sees it.")
    text = serializers.CharField()


class AssignmentSerializer(serializers.ModelSerializer):
    project = serializers.IntegerField(source="prompt.project_id", read_only=True)
    prompt = PromptSerializer(read_only=True)
    outputs = serializers.SerializerMethodField(
        help_text="The outputs in this annotator's shuffled display order."
    )
    annotator = serializers.CharField(
        source="annotator.username",
        read_only=True,
        allow_null=True,
        help_text="Null for judgements imported from a dataset.",
    )

    class Meta:
        model = Assignment
        fields = [
            "id",
            "project",
            "prompt",
            "outputs",
            "annotator",
            "status",
            "created_at",
            "completed_at",
            "time_spent_ms",
        ]

    @extend_schema_field(OutputSerializer(many=True))
    def get_outputs(self, assignment: Assignment) -> list[dict[str, Any]]:
        texts = {c.pk: c.text for c in assignment.prompt.candidates.all()}
        return [
            {"candidate": cid, "letter": chr(ord("A") + i), "text": texts.get(cid, "")}
            for i, cid in enumerate(assignment.display_order)
        ]


class AssignmentNextSerializer(serializers.Serializer):
    project = ScopedIdField(
        member_projects,
        queryset=Project.objects.all(),
        help_text="The project to take a task from.",
    )


class ProjectBodySerializer(serializers.Serializer):
    project = ScopedIdField(
        member_projects, queryset=Project.objects.all(), help_text="The project."
    )


class JudgementSerializer(serializers.ModelSerializer):
    class Meta:
        model = Judgement
        fields = ["candidate", "rank", "likert", "flags", "flags_no"]


class AnnotationSerializer(serializers.ModelSerializer):
    project = serializers.IntegerField(
        source="assignment.prompt.project_id", read_only=True
    )
    prompt = serializers.IntegerField(source="assignment.prompt_id", read_only=True)
    annotator = serializers.CharField(
        source="assignment.annotator.username", read_only=True, allow_null=True
    )
    judgements = JudgementSerializer(many=True, read_only=True)

    class Meta:
        model = Annotation
        fields = [
            "id",
            "assignment",
            "project",
            "prompt",
            "annotator",
            "client_id",
            "skipped",
            "skip_reason",
            "notes",
            "prompt_flags",
            "prompt_flags_no",
            "source",
            "import_source",
            "created_at",
            "judgements",
        ]


class AnnotationSubmitSerializer(SubmissionSerializer):
    assignment = serializers.IntegerField(
        min_value=1, max_value=MAX_ID, help_text="Your open assignment's id."
    )


class ComparisonSerializer(serializers.ModelSerializer):
    prompt = serializers.IntegerField(
        source="annotation.assignment.prompt_id", read_only=True
    )
    annotator = serializers.CharField(
        source="annotation.assignment.annotator.username",
        read_only=True,
        allow_null=True,
    )

    class Meta:
        model = Comparison
        fields = [
            "id",
            "annotation",
            "prompt",
            "annotator",
            "chosen",
            "rejected",
            "is_tie",
            "weight",
            "rank_gap",
            "likert_gap",
        ]


class ModelVersionSerializer(serializers.ModelSerializer):
    round = serializers.IntegerField(
        source="round.number",
        read_only=True,
        allow_null=True,
        help_text="Number of the round that produced it; null for a base model.",
    )

    class Meta:
        model = ModelVersion
        fields = [
            "id",
            "project",
            "kind",
            "name",
            "path",
            "parent",
            "round",
            "snapshot",
            "metrics",
            "created_at",
        ]


class RoundSerializer(serializers.ModelSerializer):
    launched_by = serializers.CharField(
        source="launched_by.username", read_only=True, allow_null=True
    )
    data_settings = serializers.SerializerMethodField(
        help_text="The data settings the round's snapshot was taken with (min_trust, "
        "weighting, aggregate); the snapshot's details hold what they left out."
    )

    class Meta:
        model = Round
        fields = [
            "id",
            "project",
            "number",
            "state",
            "failed_state",
            "algorithm",
            "reward_settings",
            "policy_settings",
            "generation_settings",
            "launch_settings",
            "data_settings",
            "base_policy",
            "snapshot",
            "reward_model",
            "policy",
            "prompt_ids",
            "evaluation",
            "launched_by",
            "cancel_requested",
            "error",
            "created_at",
            "finished_at",
        ]

    def get_data_settings(self, round_: Round) -> dict[str, Any]:
        snapshot = round_.snapshot
        details = snapshot.details if snapshot is not None else {}
        return dict(details.get("data", {}).get("settings", {}))


class RoundLaunchSerializer(serializers.Serializer):
    project = ScopedIdField(member_projects, queryset=Project.objects.all())
    algorithm = serializers.ChoiceField(
        Round.Algorithm.choices, default=Round.Algorithm.DPO
    )
    policy_settings = PlainJsonObjectField(required=False, default=dict)
    reward_settings = PlainJsonObjectField(required=False, default=dict)
    generation_settings = PlainJsonObjectField(required=False, default=dict)
    launch_settings = PlainJsonObjectField(
        required=False,
        default=dict,
        help_text='How the jobs start, e.g. {"processes": 2}: reward and DPO '
        "jobs under torchrun on that many GPUs.",
    )
    data_settings = PlainJsonObjectField(
        required=False,
        default=dict,
        help_text="Which annotations train and their weight, e.g. "
        '{"min_trust": 0.2, "weighting": "trust", "aggregate": "majority"}; '
        "recorded in the round's snapshot. min_trust: " + MIN_TRUST_HELP + " "
        "weighting: " + WEIGHT_HELP + " aggregate: " + AGGREGATE_HELP,
    )
    prompt_ids = serializers.ListField(
        child=serializers.IntegerField(min_value=1, max_value=MAX_ID),
        required=False,
        allow_null=True,
        default=None,
        help_text="Prompts without outputs to generate for; null: every such prompt.",
    )
    new_prompts = serializers.ListField(
        child=StoredTextField(limit=limits.PROMPT), required=False, default=list
    )
    base_policy = ScopedIdField(
        lambda user: ModelVersion.objects.filter(project__in=member_projects(user)),
        queryset=ModelVersion.objects.all(),
        required=False,
        allow_null=True,
        default=None,
        help_text="The policy to start from; default: the current one.",
    )

    def launch_request(self) -> LaunchRequest:
        values = dict(self.validated_data)
        values.pop("project")
        return LaunchRequest(**values)


class ExportSerializer(serializers.Serializer):
    project = ScopedIdField(member_projects, queryset=Project.objects.all())
    format = serializers.ChoiceField(ExportFormat.choices)
    style = serializers.ChoiceField(Style.choices, default=Style.STANDARD)
    file_type = serializers.ChoiceField(
        [FileType.JSONL, FileType.PARQUET], default=FileType.JSONL
    )
    source = serializers.ChoiceField(SourceFilter.choices, default=SourceFilter.ALL)
    annotators = serializers.ListField(
        child=serializers.CharField(), required=False, default=list
    )
    rounds = serializers.ListField(
        child=serializers.IntegerField(min_value=1, max_value=MAX_ID),
        required=False,
        default=list,
    )
    min_agreement = serializers.FloatField(min_value=0, max_value=1, default=0.0)
    ties = serializers.ChoiceField(
        TiePolicy.choices,
        default=TiePolicy.DROP,
        help_text=TIES_HELP,
    )
    margin = serializers.ChoiceField(
        MarginSource.choices,
        default=MarginSource.NONE,
        help_text=MARGIN_HELP,
    )
    exclude_flagged_chosen = serializers.BooleanField(default=False)
    include_rejected = serializers.BooleanField(
        default=False,
        help_text="Also export annotations a lead rejected in review (left out by "
        "default).",
    )
    min_trust = serializers.FloatField(
        min_value=0,
        max_value=1,
        default=None,
        allow_null=True,
        help_text=MIN_TRUST_HELP,
    )
    weighting = serializers.ChoiceField(
        list(WEIGHTING_LABELS.items()), default=Weighting.NONE, help_text=WEIGHT_HELP
    )
    aggregate = serializers.ChoiceField(
        list(AGGREGATE_LABELS.items()),
        default=Aggregate.NONE,
        help_text=AGGREGATE_HELP,
    )
    desirable_min_likert = serializers.IntegerField(
        min_value=LIKERT_MIN, max_value=LIKERT_MAX, default=5
    )
    undesirable_max_likert = serializers.IntegerField(
        min_value=LIKERT_MIN, max_value=LIKERT_MAX, default=3
    )

    def options(self) -> ExportOptions:
        values = self.validated_data
        return ExportOptions.from_values(
            {**values, "exclude_rejected": not values["include_rejected"]}
        )


class ImportSerializer(serializers.Serializer):
    project = ScopedIdField(member_projects, queryset=Project.objects.all())
    format = serializers.ChoiceField(FORMATS, default="auto")
    records = serializers.ListField(
        child=PlainJsonObjectField(),
        allow_empty=False,
        max_length=MAX_BULK_ROWS * 10,
        help_text="Rows as the format has them (TRL, HH-RLHF, UltraFeedback…).",
    )
    source_name = serializers.CharField(
        max_length=100, default="api", help_text="Recorded as where the rows came from."
    )


class ImportReportSerializer(serializers.Serializer):
    format = serializers.CharField()
    rows = serializers.IntegerField()
    added = serializers.DictField(child=serializers.IntegerField())
    duplicates = serializers.DictField(child=serializers.IntegerField())
