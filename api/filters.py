"""Query-string filters of the list endpoints, validated like request bodies.

Each view names a serializer whose fields are its filters; a field's `source` is the
ORM lookup it applies, so `?project=3` becomes `.filter(prompt__project_id=3)`.
"""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from rest_framework import serializers
from rest_framework.filters import BaseFilterBackend
from rest_framework.request import Request
from rest_framework.views import APIView

from annotate.models import Assignment
from training.models import ModelVersion, Round

# Primary keys are 64-bit; larger numbers can only be typos and would overflow SQL.
MAX_ID = 2**63 - 1


def id_filter(lookup: str, what: str) -> serializers.IntegerField:
    return serializers.IntegerField(
        source=lookup, required=False, min_value=1, max_value=MAX_ID, help_text=what
    )


def round_filter(lookup: str, what: str) -> serializers.IntegerField:
    return id_filter(lookup, f"Only {what} round number (combine with project).")


def annotator_filter(lookup: str) -> serializers.CharField:
    return serializers.CharField(
        source=lookup, required=False, help_text="The annotator's username."
    )


class PromptFilters(serializers.Serializer):
    project = id_filter("project_id", "Only prompts of this project id.")


class CandidateFilters(serializers.Serializer):
    project = id_filter("prompt__project_id", "Only outputs of this project id.")
    prompt = id_filter("prompt_id", "Only outputs of this prompt id.")
    round = round_filter("origin__round__number", "outputs generated in this")


class AssignmentFilters(serializers.Serializer):
    # Filters over a to-many relation, whose join repeats rows until made distinct.
    multi_valued = ("round",)

    project = id_filter("prompt__project_id", "Only tasks of this project id.")
    annotator = annotator_filter("annotator__username")
    round = round_filter(
        "prompt__candidates__origin__round__number", "tasks on outputs of this"
    )
    status = serializers.ChoiceField(
        Assignment.Status.choices, required=False, help_text="Only tasks in this state."
    )


class AnnotationFilters(serializers.Serializer):
    multi_valued = ("round",)

    project = id_filter("assignment__prompt__project_id", "Only this project id.")
    annotator = annotator_filter("assignment__annotator__username")
    round = round_filter(
        "judgements__candidate__origin__round__number", "judgements of outputs of this"
    )
    status = serializers.ChoiceField(
        [Assignment.Status.SUBMITTED, Assignment.Status.SKIPPED],
        source="assignment__status",
        required=False,
        help_text="Submitted judgements or skips.",
    )


class ComparisonFilters(serializers.Serializer):
    project = id_filter(
        "annotation__assignment__prompt__project_id", "Only this project id."
    )
    annotator = annotator_filter("annotation__assignment__annotator__username")
    annotation = id_filter("annotation_id", "Only pairs of this annotation id.")
    round = round_filter("chosen__origin__round__number", "pairs of outputs of this")


def _parameter(name: str, field: serializers.Field) -> dict[str, Any]:
    schema: dict[str, Any] = {"type": "string"}
    if isinstance(field, serializers.IntegerField):
        schema = {"type": "integer", "minimum": 1, "maximum": MAX_ID}
    elif isinstance(field, serializers.ChoiceField):
        schema["enum"] = list(field.choices)
    return {
        "name": name,
        "in": "query",
        "required": False,
        "description": str(field.help_text or ""),
        "schema": schema,
    }


class QueryFilterBackend(BaseFilterBackend):
    """Applies the view's `filter_serializer`; a bad value answers 400 naming it."""

    def filter_queryset(
        self, request: Request, queryset: QuerySet, view: APIView
    ) -> QuerySet:
        # A plain dict, so an empty `?status=` is refused rather than ignored.
        query = request.query_params.dict()
        filters = view.filter_serializer(data=query)  # type: ignore[attr-defined]
        filters.is_valid(raise_exception=True)
        queryset = queryset.filter(**filters.validated_data)
        if any(name in query for name in getattr(filters, "multi_valued", ())):
            queryset = queryset.distinct()
        return queryset

    def get_schema_operation_parameters(self, view: APIView) -> list[dict[str, Any]]:
        filters = view.filter_serializer()  # type: ignore[attr-defined]
        return [_parameter(name, field) for name, field in filters.fields.items()]


class RoundFilters(serializers.Serializer):
    project = id_filter("project_id", "Only rounds of this project id.")
    state = serializers.ChoiceField(
        Round.State.choices, required=False, help_text="Only rounds in this state."
    )


class ModelVersionFilters(serializers.Serializer):
    project = id_filter("project_id", "Only models of this project id.")
    kind = serializers.ChoiceField(ModelVersion.Kind.choices, required=False)
    round = round_filter("round__number", "models produced by this")
