"""REST API views. Thin: resolve what the caller may see, call one service, answer."""

from __future__ import annotations

from collections.abc import Callable
from functools import cached_property
from typing import Any, TypeVar

from django.contrib.auth.models import User
from django.db import transaction
from django.db.models import Model, QuerySet
from django.http import FileResponse, StreamingHttpResponse
from django.urls import reverse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound, PermissionDenied, ValidationError
from rest_framework.parsers import MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.settings import api_settings

from annotate import exporting, selectors, services
from annotate.exporting import jobs as export_jobs
from annotate.exporting import services as exporting_services
from annotate.importing import jobs as import_jobs
from annotate.importing.service import ImportRejected, import_records
from annotate.models import (
    Annotation,
    Assignment,
    Candidate,
    Comparison,
    ExportJob,
    ImportJob,
    Membership,
    Project,
    Prompt,
)
from annotate.serializers import SkipSerializer
from api import export_serializers, filters, import_serializers, permissions
from api import serializers as api_serializers
from api.schema import ConflictSerializer
from training import services as training_services
from training.models import ModelVersion, Round


class ApiViewSet(viewsets.GenericViewSet):
    """Shared plumbing: the caller, the projects they lead, ids checked before SQL."""

    filter_backends = [filters.QueryFilterBackend]
    model: type[Model]

    def get_queryset(self) -> QuerySet:
        # Schema generation asks with no user; an empty queryset gives the id's type.
        if getattr(self, "swagger_fake_view", False):
            return self.model._default_manager.none()
        return self.visible_queryset()

    def visible_queryset(self) -> QuerySet:
        raise NotImplementedError

    @property
    def user(self) -> User:
        assert isinstance(self.request.user, User)
        return self.request.user

    @cached_property
    def led_project_ids(self) -> set[int]:
        return set(permissions.led_project_ids(self.user))

    def get_serializer_context(self) -> dict[str, Any]:
        context = super().get_serializer_context()
        if self.request and self.request.user.is_authenticated:
            context["led_project_ids"] = self.led_project_ids
        return context

    def get_object(self) -> Any:
        raw = str(self.kwargs[self.lookup_field])
        if not raw.isdigit() or not 1 <= int(raw) <= filters.MAX_ID:
            name = self.model._meta.verbose_name
            raise NotFound(f"No {name} {raw} among those you may see.")
        return super().get_object()

    def lead_body(
        self, serializer_class: type[serializers.Serializer], action: str
    ) -> Any:
        """The validated body, whose `project` the caller must lead to do this."""
        body = serializer_class(
            data=self.request.data, context=self.get_serializer_context()
        )
        body.is_valid(raise_exception=True)
        project = body.validated_data["project"]
        permissions.require_lead(self.user, [project.pk], action)
        return body

    def respond_to_write(
        self, serializer_class: type[serializers.Serializer], obj: Model, created: bool
    ) -> Response:
        """201 with the object when the service stored it, 200 when it already was."""
        body = serializer_class(obj, context=self.get_serializer_context()).data
        return Response(body, status=201 if created else 200)


class BulkCreateMixin:
    """POST a JSON array: a lead adds every row or none; 201 if any is new, else 200."""

    bulk_serializer: type[serializers.Serializer]
    bulk_response_serializer: type[serializers.Serializer]
    bulk_action: str

    def bulk_project_id(self, row: dict[str, Any]) -> int:
        raise NotImplementedError

    def bulk_create_one(self, row: dict[str, Any]) -> tuple[Model, bool]:
        raise NotImplementedError

    def create(self: Any, request: Request) -> Response:
        rows = self.bulk_serializer(
            data=request.data,
            many=True,
            allow_empty=False,
            max_length=api_serializers.MAX_BULK_ROWS,
            context=self.get_serializer_context(),
        )
        rows.is_valid(raise_exception=True)
        project_ids = {self.bulk_project_id(row) for row in rows.validated_data}
        permissions.require_lead(self.user, project_ids, self.bulk_action)
        with transaction.atomic():
            results = [self.bulk_create_one(row) for row in rows.validated_data]
        context = self.get_serializer_context()
        context["created_ids"] = {obj.pk for obj, created in results if created}
        body = self.bulk_response_serializer(
            [obj for obj, _ in results], many=True, context=context
        ).data
        return Response(body, status=201 if context["created_ids"] else 200)


BulkViewSet = TypeVar("BulkViewSet", bound=type[BulkCreateMixin])


def bulk_create(
    *,
    rows: type[serializers.Serializer],
    response: type[serializers.Serializer],
    action: str,
    description: str,
) -> Callable[[BulkViewSet], BulkViewSet]:
    """Class decorator: the bulk endpoint's row and answer bodies, and its schema."""

    def decorate(viewset: BulkViewSet) -> BulkViewSet:
        viewset.bulk_serializer = rows
        viewset.bulk_response_serializer = response
        viewset.bulk_action = action
        answer = response(many=True)
        schema = extend_schema(
            request=rows(many=True),
            responses={201: answer, 200: answer},
            description=description,
        )
        return extend_schema_view(create=schema)(viewset)

    return decorate


@extend_schema_view(
    create=extend_schema(
        description="Superusers (or users with the add-project permission) create "
        "a project; a creator who is not a superuser becomes its lead."
    ),
    update=extend_schema(description="Leads: change the project's settings."),
    partial_update=extend_schema(description="Leads: change some settings."),
)
class ProjectViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    ApiViewSet,
):
    """Projects you belong to."""

    model = Project
    serializer_class = api_serializers.ProjectSerializer
    filter_backends: list = []

    def visible_queryset(self) -> QuerySet:
        return selectors.project_list_for_user(user=self.user)

    def perform_create(self, serializer: serializers.BaseSerializer) -> None:
        # Site-wide, not about a project: superusers, or whom they gave the right.
        if not self.user.has_perm("annotate.add_project"):
            raise PermissionDenied(
                "Only a superuser, or a user given the add-project permission, "
                "creates projects; ask an admin."
            )
        with transaction.atomic():
            project = serializer.save()
            if not selectors.user_leads(user=self.user, project=project):
                services.membership_set(
                    project=project, user=self.user, role=Membership.Role.LEAD
                )
        # The answer's your_role reads this set, taken before the project existed.
        self.led_project_ids.add(project.pk)

    def perform_update(self, serializer: serializers.BaseSerializer) -> None:
        assert serializer.instance is not None
        permissions.require_lead(
            self.user, [serializer.instance.pk], "change its settings"
        )
        serializer.save()


@bulk_create(
    rows=api_serializers.PromptCreateSerializer,
    response=api_serializers.PromptCreatedSerializer,
    action="add prompts",
    description="Leads: add prompts in bulk (all or none). A prompt that already "
    "exists in its project is returned with created false.",
)
class PromptViewSet(
    BulkCreateMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, ApiViewSet
):
    """Prompts: all of the projects you lead, those of your own tasks otherwise."""

    model = Prompt
    serializer_class = api_serializers.PromptSerializer
    filter_serializer = filters.PromptFilters

    def visible_queryset(self) -> QuerySet:
        return permissions.visible_prompts(self.user).order_by("id")

    def bulk_project_id(self, row: dict[str, Any]) -> int:
        return row["project"].pk

    def bulk_create_one(self, row: dict[str, Any]) -> tuple[Model, bool]:
        return services.prompt_create(**row)


@bulk_create(
    rows=api_serializers.CandidateCreateSerializer,
    response=api_serializers.CandidateCreatedSerializer,
    action="add outputs",
    description="Leads: add outputs to prompts in bulk (all or none). The same "
    "text from the same source is returned with created false.",
)
class CandidateViewSet(
    BulkCreateMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, ApiViewSet
):
    """Model outputs; their source is shown to leads only."""

    model = Candidate
    serializer_class = api_serializers.CandidateSerializer
    filter_serializer = filters.CandidateFilters

    def visible_queryset(self) -> QuerySet:
        return (
            permissions.visible_candidates(self.user)
            .select_related("prompt")
            .order_by("id")
        )

    def bulk_project_id(self, row: dict[str, Any]) -> int:
        return row["prompt"].project_id

    def bulk_create_one(self, row: dict[str, Any]) -> tuple[Model, bool]:
        return services.candidate_create(**row)


class AssignmentViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, ApiViewSet):
    """Tasks: yours, and every task of the projects you lead."""

    model = Assignment
    serializer_class = api_serializers.AssignmentSerializer
    filter_serializer = filters.AssignmentFilters

    def visible_queryset(self) -> QuerySet:
        return (
            permissions.visible_assignments(self.user)
            .select_related("prompt", "annotator")
            .prefetch_related("prompt__candidates")
            .order_by("id")
        )

    @extend_schema(
        request=api_serializers.AssignmentNextSerializer,
        responses={
            200: api_serializers.AssignmentSerializer,
            204: OpenApiResponse(description="No task left for you in this project."),
        },
        description="Your open task in the project, or a new one; the same task "
        "until you submit or skip it.",
    )
    @action(detail=False, methods=["post"])
    def next(self, request: Request) -> Response:
        body = api_serializers.AssignmentNextSerializer(
            data=request.data, context=self.get_serializer_context()
        )
        body.is_valid(raise_exception=True)
        assignment = services.assignment_next(
            project=body.validated_data["project"], annotator=self.user
        )
        if assignment is None:
            return Response(status=status.HTTP_204_NO_CONTENT)
        return Response(
            self.get_serializer(self.get_queryset().get(pk=assignment.pk)).data
        )

    @extend_schema(
        request=SkipSerializer,
        responses={
            201: api_serializers.AnnotationSerializer,
            200: api_serializers.AnnotationSerializer,
        },
        description="Skip your open task, saying why. Repeating the same client_id "
        "returns the stored skip.",
    )
    @action(detail=True, methods=["post"], filter_backends=[])
    def skip(self, request: Request, pk: str) -> Response:
        assignment: Assignment = self.get_object()
        if assignment.annotator_id != self.user.pk:
            raise PermissionDenied("Only the assigned annotator may skip a task.")
        body = SkipSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        annotation, created = services.assignment_skip(
            assignment_id=assignment.pk, annotator=self.user, **body.validated_data
        )
        return self.respond_to_write(
            api_serializers.AnnotationSerializer, annotation, created
        )


class AnnotationViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, ApiViewSet):
    """Judgements: your own, and every one of the projects you lead."""

    model = Annotation
    serializer_class = api_serializers.AnnotationSerializer
    filter_serializer = filters.AnnotationFilters

    def visible_queryset(self) -> QuerySet:
        return (
            permissions.visible_annotations(self.user)
            .select_related("assignment__prompt", "assignment__annotator")
            .prefetch_related("judgements")
            .order_by("id")
        )

    @extend_schema(
        request=api_serializers.AnnotationSubmitSerializer,
        responses={
            201: api_serializers.AnnotationSerializer,
            200: api_serializers.AnnotationSerializer,
            409: ConflictSerializer,
        },
        description="Submit the ranking, ratings and flags of your open task. A "
        "repeat with the same client_id returns the stored annotation (200). 409 "
        "when the ranking contradicts the ratings, until confirm_conflicts is true.",
    )
    def create(self, request: Request) -> Response:
        body = api_serializers.AnnotationSubmitSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        annotation, created = services.annotation_submit(
            assignment_id=body.validated_data["assignment"],
            annotator=self.user,
            submission=body.to_submission(),
        )
        return self.respond_to_write(
            api_serializers.AnnotationSerializer, annotation, created
        )


class ComparisonViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, ApiViewSet):
    """Pairs expanded from rankings: yours, and all of the projects you lead."""

    model = Comparison
    serializer_class = api_serializers.ComparisonSerializer
    filter_serializer = filters.ComparisonFilters

    def visible_queryset(self) -> QuerySet:
        return (
            permissions.visible_comparisons(self.user)
            .select_related("annotation__assignment__annotator")
            .order_by("id")
        )


class RoundViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    ApiViewSet,
):
    """Training rounds of the projects you lead."""

    model = Round
    serializer_class = api_serializers.RoundSerializer
    filter_serializer = filters.RoundFilters

    def visible_queryset(self) -> QuerySet:
        return (
            Round.objects.filter(project_id__in=permissions.led_project_ids(self.user))
            .select_related("launched_by", "snapshot")
            .order_by("id")
        )

    @extend_schema(
        request=api_serializers.RoundLaunchSerializer,
        responses={201: api_serializers.RoundSerializer},
        description="Leads: freeze the project's rankings and start a round; 400 "
        "names each reason it cannot start (data, settings, prompts, a running "
        "round).",
    )
    def create(self, request: Request) -> Response:
        body = self.lead_body(api_serializers.RoundLaunchSerializer, "launch rounds")
        round_ = training_services.round_launch(
            project=body.validated_data["project"],
            request=body.launch_request(),
            launched_by=self.user,
        )
        return self.respond_to_write(api_serializers.RoundSerializer, round_, True)

    @extend_schema(request=None, description="Stop the round (at its next step).")
    @action(detail=True, methods=["post"], filter_backends=[])
    def cancel(self, request: Request, pk: str) -> Response:
        round_ = training_services.round_cancel(round_=self.get_object())
        return Response(self.get_serializer(round_).data)

    @extend_schema(request=None, description="Resume a failed round where it failed.")
    @action(detail=True, methods=["post"], filter_backends=[])
    def relaunch(self, request: Request, pk: str) -> Response:
        round_ = training_services.round_relaunch(round_=self.get_object())
        return Response(self.get_serializer(round_).data)


class ModelVersionViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, ApiViewSet):
    """Policies and reward models of the projects you lead, with their lineage."""

    model = ModelVersion
    serializer_class = api_serializers.ModelVersionSerializer
    filter_serializer = filters.ModelVersionFilters

    def visible_queryset(self) -> QuerySet:
        return (
            ModelVersion.objects.filter(
                project_id__in=permissions.led_project_ids(self.user)
            )
            .select_related("round")
            .order_by("id")
        )

    @extend_schema(
        request=None,
        responses={200: api_serializers.ModelVersionSerializer},
        description="Make this policy the one the project's next round starts from.",
    )
    @action(detail=True, methods=["post"], filter_backends=[])
    def promote(self, request: Request, pk: str) -> Response:
        version: ModelVersion = self.get_object()
        if version.kind != ModelVersion.Kind.POLICY:
            raise ValidationError(
                {"model_version": f"{version} is a reward model; promote a policy."}
            )
        training_services.model_version_promote(
            version=version, promoted_by=self.user, reason="promoted through the API"
        )
        return Response(self.get_serializer(version).data)

    @extend_schema(
        request=api_serializers.ProjectBodySerializer,
        responses={200: api_serializers.ModelVersionSerializer},
        description="Go back to the policy the current one was trained from; 400 "
        "when there is none.",
    )
    @action(detail=False, methods=["post"], filter_backends=[])
    def rollback(self, request: Request) -> Response:
        body = self.lead_body(api_serializers.ProjectBodySerializer, "roll back")
        try:
            promotion = training_services.model_version_rollback(
                project=body.validated_data["project"], promoted_by=self.user
            )
        except ValueError as err:
            raise ValidationError({"project": str(err)}) from err
        return Response(self.get_serializer(promotion.model_version).data)


@extend_schema_view(
    list=extend_schema(
        description="Leads: the export jobs of the projects they lead, newest first."
    ),
    retrieve=extend_schema(
        description="Leads: one export job: its state, annotations read of how "
        "many and rows written, then its file's download URL, or why it failed."
    ),
    destroy=extend_schema(description="Leads: delete an export job and its file."),
)
class ExportViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.DestroyModelMixin,
    ApiViewSet,
):
    """Leads: a project's judgements as a TRL-format file: streamed, or by a job."""

    model = ExportJob
    serializer_class = export_serializers.ExportJobSerializer
    filter_backends: list = []

    def visible_queryset(self) -> QuerySet:
        export_jobs.export_jobs_reap_stale()
        return ExportJob.objects.filter(project_id__in=self.led_project_ids)

    @extend_schema(
        request=export_serializers.ExportRequestSerializer,
        responses={
            **{
                (200, content_type): OpenApiResponse(
                    OpenApiTypes.BINARY, description="The export file, streamed."
                )
                for content_type in exporting_services.CONTENT_TYPES.values()
            },
            202: export_serializers.ExportJobSerializer,
        },
        description="Export the project's judgements (pairs, unpaired, rankings, "
        "ratings or raw) as JSONL or Parquet; same options as the export_data "
        "command. `delivery: stream` (the default) answers the file itself; "
        "`delivery: job` answers 202 with an export job at once (Location: its "
        "URL), which a worker writes: GET it for progress, then its `download`. "
        "400 names the option that cannot be met.",
    )
    def create(self, request: Request) -> Response | StreamingHttpResponse:
        body = self.lead_body(export_serializers.ExportRequestSerializer, "export data")
        project = body.validated_data["project"]
        file_type = exporting.FileType(body.validated_data["file_type"])
        with_card = body.validated_data["with_card"]
        if body.validated_data["delivery"] == export_serializers.Delivery.JOB:
            job = export_jobs.export_job_create(
                project=project,
                options=body.options(),
                file_type=file_type,
                with_card=with_card,
                requested_by=self.user,
            )
            location = reverse("api:export-detail", args=[job.pk])
            return Response(
                self.get_serializer(job).data,
                status=202,
                headers={"Location": location},
            )
        download = exporting.export_download(
            project=project,
            options=body.options(),
            file_type=file_type,
            with_card=with_card,
        )
        response = StreamingHttpResponse(
            download.chunks, content_type=download.content_type
        )
        response["Content-Disposition"] = f'attachment; filename="{download.filename}"'
        return response

    @extend_schema(
        responses={
            (200, "application/octet-stream"): OpenApiResponse(
                OpenApiTypes.BINARY, description="The export's file."
            ),
            409: OpenApiResponse(description="The export is not ready (or failed)."),
        },
        description="Leads: the finished export's file (the .jsonl, .parquet or "
        ".zip); 409 while it is queued or running, or when it failed.",
    )
    @action(detail=True, methods=["get"])
    def download(self, request: Request, pk: str) -> Response | FileResponse:
        job = self.get_object()
        try:
            path = export_jobs.export_job_file(job=job)
        except exporting.ExportError as not_ready:
            return Response({"errors": {"state": str(not_ready)}}, status=409)
        return FileResponse(
            path.open("rb"),
            as_attachment=True,
            filename=job.file_name,
            content_type=job.content_type,
        )

    def perform_destroy(self, instance: ExportJob) -> None:
        export_jobs.export_job_delete(job=instance)


@extend_schema_view(
    list=extend_schema(
        description="Leads: the file imports of the projects they lead, newest first."
    ),
    retrieve=extend_schema(
        description="Leads: one file import: its state, rows done of rows, then "
        "what it added, or every bad row (and nothing imported)."
    ),
)
class ImportViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, ApiViewSet):
    """Leads: import records in the body now, or upload a file a worker imports."""

    model = ImportJob
    serializer_class = import_serializers.ImportJobSerializer
    parser_classes = [*api_settings.DEFAULT_PARSER_CLASSES, MultiPartParser]
    filter_backends: list = []

    def visible_queryset(self) -> QuerySet:
        import_jobs.import_jobs_reap_stale()
        return ImportJob.objects.filter(project_id__in=self.led_project_ids)

    @extend_schema(
        request={
            "application/json": api_serializers.ImportSerializer,
            "multipart/form-data": import_serializers.ImportUploadSerializer,
        },
        responses={
            201: api_serializers.ImportReportSerializer,
            202: import_serializers.ImportJobSerializer,
        },
        description="JSON `records` (formats as import_data reads them) are imported "
        "at once: every record is checked first; one bad record refuses all, keyed "
        "records.<index>; 201 with the counts. A multipart `file` is stored and "
        "imported by a worker: 202 with the job at once (Location: its URL), then "
        "GET it for progress and outcome; 413 over RANKWISE_IMPORT_MAX_BYTES. "
        "Importing the same rows again adds nothing.",
    )
    def create(self, request: Request) -> Response:
        if request.content_type.startswith("multipart/"):
            return self._upload(request)
        body = self.lead_body(api_serializers.ImportSerializer, "import data")
        report = import_records(**body.validated_data)
        return Response(api_serializers.ImportReportSerializer(report).data, status=201)

    def _upload(self, request: Request) -> Response:
        # Before request.data: an oversized body is refused unread.
        length = request.META.get("CONTENT_LENGTH")
        refusal = import_jobs.upload_refusal(content_length=length)
        if refusal:
            return Response({"errors": {"file": refusal}}, status=413)
        body = self.lead_body(import_serializers.ImportUploadSerializer, "import data")
        try:
            job = import_jobs.import_job_create(
                project=body.validated_data["project"],
                upload=body.validated_data["file"],
                format=body.validated_data["format"],
                created_by=self.user,
            )
        except ImportRejected as too_big:  # the format was checked: only the size
            return Response({"errors": {"file": str(too_big)}}, status=413)
        location = reverse("api:import-detail", args=[job.pk])
        return Response(
            self.get_serializer(job).data, status=202, headers={"Location": location}
        )
