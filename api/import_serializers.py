"""Bodies and answers of file imports through the API: an upload, and its job."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

from annotate.importing.jobs import import_job_status
from annotate.models import ImportJob
from api.serializers import ImportReportSerializer, ImportSerializer


class ImportUploadSerializer(ImportSerializer):
    """multipart/form-data: a file in place of `records`, named by its own name."""

    records = None  # type: ignore[assignment]
    source_name = None  # type: ignore[assignment]
    file = serializers.FileField(
        help_text="JSONL, JSON, CSV or Parquet, at most RANKWISE_IMPORT_MAX_BYTES."
    )


class ImportProgressSerializer(serializers.Serializer):
    phase = serializers.CharField(
        help_text="queued, checking (every row is read), writing, then done or failed."
    )
    done = serializers.IntegerField(help_text="Rows of this phase done so far.")
    total = serializers.IntegerField(
        allow_null=True, help_text="Rows in all; null until known (JSON lines, CSV)."
    )
    percent = serializers.IntegerField(allow_null=True)


class RowErrorSerializer(serializers.Serializer):
    row = serializers.IntegerField(
        allow_null=True,
        help_text="Line (JSONL, CSV) or record number; null: the file as a whole.",
    )
    message = serializers.CharField(
        help_text="The field at fault and what was expected."
    )


class ImportJobSerializer(serializers.Serializer):
    """An uploaded file's import: where it stands, then its counts or bad rows."""

    id = serializers.IntegerField()
    project = serializers.IntegerField()
    file_name = serializers.CharField()
    size_bytes = serializers.IntegerField()
    format = serializers.CharField(help_text="As asked ('auto', or a format name).")
    state = serializers.ChoiceField(ImportJob.State.choices)
    progress = ImportProgressSerializer()
    report = ImportReportSerializer(
        allow_null=True, help_text="What it added and already had, once imported."
    )
    errors = RowErrorSerializer(
        many=True, help_text="Why nothing was imported: every bad row, by row."
    )
    created_at = serializers.DateTimeField()
    started_at = serializers.DateTimeField(allow_null=True)
    finished_at = serializers.DateTimeField(allow_null=True)

    def to_representation(self, instance: Any) -> Any:
        return super().to_representation(import_job_status(job=instance))
