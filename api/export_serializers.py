"""Bodies and answers of exports through the API: streamed now, or written by a job."""

from __future__ import annotations

from typing import Any

from django.db import models
from django.urls import reverse
from rest_framework import serializers

from annotate.exporting.jobs import export_job_status
from annotate.models import ExportJob
from api.serializers import ExportSerializer


class Delivery(models.TextChoices):
    STREAM = "stream", "Stream: the file is the answer (small exports)"
    JOB = "job", "Job: 202 with an export job; a worker writes the file to download"


class ExportRequestSerializer(ExportSerializer):
    """The export's options, and whether the file comes now or from a job."""

    delivery = serializers.ChoiceField(
        Delivery.choices,
        default=Delivery.STREAM,
        help_text="stream (default): the file is the answer, which a web server's "
        "request timeout cuts short for a large export. job: 202 with the job at "
        "once; GET it for progress, then GET its download/.",
    )
    with_card = serializers.BooleanField(
        default=False,
        help_text="A .zip of the file and its dataset card instead of the bare file.",
    )


class ExportProgressSerializer(serializers.Serializer):
    phase = serializers.CharField(help_text="queued, writing, then done or failed.")
    done = serializers.IntegerField(help_text="Annotations read so far.")
    total = serializers.IntegerField(
        allow_null=True, help_text="Annotations the export reads."
    )
    rows = serializers.IntegerField(help_text="Records written so far.")
    percent = serializers.IntegerField(allow_null=True)


class ExportJobSerializer(serializers.Serializer):
    """An export a worker writes: where it stands, then its file."""

    id = serializers.IntegerField()
    project = serializers.IntegerField()
    state = serializers.ChoiceField(ExportJob.State.choices)
    options = serializers.DictField(help_text="The export's options, as asked.")
    file_type = serializers.CharField()
    with_card = serializers.BooleanField()
    progress = ExportProgressSerializer()
    file_name = serializers.CharField(allow_null=True)
    size_bytes = serializers.IntegerField(allow_null=True)
    download = serializers.CharField(
        allow_null=True, help_text="The file's URL once the export is ready."
    )
    error = serializers.CharField(allow_null=True, help_text="Why it failed.")
    created_at = serializers.DateTimeField()
    started_at = serializers.DateTimeField(allow_null=True)
    finished_at = serializers.DateTimeField(allow_null=True)
    expires_at = serializers.DateTimeField(
        allow_null=True, help_text="When the job and its file are deleted."
    )

    def to_representation(self, instance: Any) -> Any:
        status = export_job_status(job=instance)
        ready = instance.state == ExportJob.State.SUCCEEDED
        download = reverse("api:export-download", args=[instance.pk])
        status["download"] = download if ready else None
        return super().to_representation(status)
