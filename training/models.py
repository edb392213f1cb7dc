"""Training rounds, the jobs that run them, and the model versions they produce.

Lineage is kept as foreign keys: a round freezes a DataSnapshot, its reward-model job
produces a reward ModelVersion, its policy job a policy ModelVersion (parent: the
policy it started from), and its generation job the Candidates (CandidateOrigin) that
go back to the annotators. Every round's evaluation scores the whole lineage on the
project's EvaluationSet.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from annotate.models import Candidate, Project


class DataSnapshot(models.Model):
    """The rankings a round trains on, frozen: their ids and the file written."""

    project = models.ForeignKey(
        Project, on_delete=models.CASCADE, related_name="snapshots"
    )
    annotation_ids = models.JSONField(
        help_text="Ids of the annotations (rankings) included, ascending."
    )
    ranking_count = models.PositiveIntegerField()
    comparison_count = models.PositiveIntegerField()
    path = models.CharField(
        max_length=500, help_text="The rankings file (JSONL) written from them."
    )
    details = models.JSONField(
        default=dict,
        blank=True,
        help_text="How the round used the snapshot: mixes, weights.",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return (
            f"snapshot {self.pk}: {self.ranking_count} rankings, "
            f"{self.comparison_count} comparisons"
        )


class EvaluationSet(models.Model):
    """The project's held-out prompts every policy of its lineage is evaluated on.

    Frozen when first needed (or chosen by a lead); its prompts never get generated
    outputs, so they are never annotated nor trained on.
    """

    project = models.OneToOneField(
        Project, on_delete=models.CASCADE, related_name="evaluation_set"
    )
    prompt_ids = models.JSONField(help_text="Ids of the held-out prompts, ascending.")
    chosen_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        help_text="The lead who chose them; empty when frozen automatically.",
    )
    frozen_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["project"]

    def __str__(self) -> str:
        return f"{self.project.slug}: {len(self.prompt_ids)} evaluation prompts"


class Round(models.Model):
    """One turn of collect → reward model → policy → evaluate → generate."""

    class State(models.TextChoices):
        COLLECTING = "collecting", "Collecting"
        TRAINING_REWARD = "training_reward", "Training reward model"
        TRAINING_POLICY = "training_policy", "Training policy"
        EVALUATING = "evaluating", "Evaluating"
        GENERATING = "generating", "Generating"
        DONE = "done", "Done"
        FAILED = "failed", "Failed"
        CANCELLED = "cancelled", "Cancelled"

    class Algorithm(models.TextChoices):
        DPO = "dpo", "DPO family (offline, on the rankings)"
        PPO = "ppo", "PPO against the reward model"
        RLOO = "rloo", "RLOO against the reward model"
        BEST_OF_N = "bon", "Best-of-N with the reward model (no policy update)"
        RAFT = "raft", "RAFT: fine-tune on best-of-N samples"

    project = models.ForeignKey(
        Project, on_delete=models.CASCADE, related_name="rounds"
    )
    number = models.PositiveIntegerField()
    state = models.CharField(
        max_length=32, choices=State.choices, default=State.COLLECTING
    )
    failed_state = models.CharField(
        max_length=32,
        choices=State.choices,
        blank=True,
        help_text="The step that failed; a relaunch resumes there.",
    )
    algorithm = models.CharField(max_length=16, choices=Algorithm.choices)
    reward_settings = models.JSONField(
        default=dict, blank=True, help_text="Overrides of the reward trainer's config."
    )
    policy_settings = models.JSONField(
        default=dict, blank=True, help_text="Overrides of the policy trainer's config."
    )
    generation_settings = models.JSONField(
        default=dict, blank=True, help_text="K, temperature, top-p, max new tokens."
    )
    launch_settings = models.JSONField(
        default=dict,
        blank=True,
        help_text="How the training jobs start: processes (devices) per job.",
    )
    base_policy = models.ForeignKey(
        "ModelVersion", on_delete=models.PROTECT, related_name="rounds_started"
    )
    snapshot = models.ForeignKey(
        DataSnapshot, on_delete=models.PROTECT, null=True, blank=True
    )
    reward_model = models.ForeignKey(
        "ModelVersion",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    policy = models.ForeignKey(
        "ModelVersion",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    prompt_ids = models.JSONField(
        default=list, blank=True, help_text="Prompts the new policy generates for."
    )
    evaluation = models.JSONField(
        default=dict,
        blank=True,
        help_text="Every policy of the lineage scored by this round's reward model.",
    )
    launched_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True
    )
    cancel_requested = models.BooleanField(default=False)
    error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["project", "number"]
        constraints = [
            models.UniqueConstraint(
                fields=["project", "number"], name="round_unique_number"
            )
        ]

    def __str__(self) -> str:
        return f"{self.project.slug} round {self.number} ({self.get_state_display()})"


class ModelVersion(models.Model):
    """A policy or reward model on disk, with where it came from and how it scored."""

    class Kind(models.TextChoices):
        POLICY = "policy", "Policy"
        REWARD = "reward", "Reward model"

    project = models.ForeignKey(
        Project, on_delete=models.CASCADE, related_name="model_versions"
    )
    kind = models.CharField(max_length=16, choices=Kind.choices)
    name = models.CharField(max_length=200)
    path = models.CharField(
        max_length=500, help_text="Model folder (Hugging Face layout) or hub id."
    )
    parent = models.ForeignKey(
        "self",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="children",
        help_text="The policy this one was trained from.",
    )
    round = models.ForeignKey(
        Round,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="model_versions",
        help_text="The round that produced it; empty for a base model.",
    )
    snapshot = models.ForeignKey(
        DataSnapshot, on_delete=models.PROTECT, null=True, blank=True
    )
    produced_by = models.ForeignKey(
        "TrainingRun",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="model_versions",
    )
    metrics = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["project", "id"]
        constraints = [
            # A re-run of a round's step updates its model version, never adds one.
            models.UniqueConstraint(
                fields=["round", "kind"],
                condition=Q(round__isnull=False),
                name="model_version_one_per_round_and_kind",
            ),
            models.UniqueConstraint(
                fields=["project", "kind", "path"],
                condition=Q(round__isnull=True),
                name="model_version_unique_base_path",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.get_kind_display()})"


class Promotion(models.Model):
    """A lead made this policy the one the next round starts from (latest wins)."""

    project = models.ForeignKey(
        Project, on_delete=models.CASCADE, related_name="promotions"
    )
    model_version = models.ForeignKey(ModelVersion, on_delete=models.PROTECT)
    promoted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True
    )
    reason = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["project", "id"]

    def __str__(self) -> str:
        return f"{self.model_version} promoted ({self.reason or 'by a lead'})"


class TrainingRun(models.Model):
    """One Celery job of a round: its status, progress, log tail and metrics."""

    class Kind(models.TextChoices):
        TRAIN_REWARD = "train_reward", "Train reward model"
        TRAIN_POLICY = "train_policy", "Train policy"
        EVALUATE = "evaluate", "Evaluate"
        GENERATE = "generate", "Generate candidates"

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        SUCCEEDED = "succeeded", "Succeeded"
        FAILED = "failed", "Failed"
        CANCELLED = "cancelled", "Cancelled"

    round = models.ForeignKey(Round, on_delete=models.CASCADE, related_name="runs")
    kind = models.CharField(max_length=16, choices=Kind.choices)
    attempt = models.PositiveSmallIntegerField(default=1)
    status = models.CharField(
        max_length=16, choices=Status.choices, default=Status.QUEUED
    )
    progress = models.FloatField(default=0.0, help_text="0 to 1.")
    message = models.CharField(max_length=500, blank=True)
    log_tail = models.TextField(blank=True)
    history = models.JSONField(
        default=list, blank=True, help_text="Metrics over time, one dict per point."
    )
    result = models.JSONField(default=dict, blank=True)
    error = models.TextField(blank=True)
    out_dir = models.CharField(max_length=500, blank=True)
    resumed_from_step = models.PositiveIntegerField(null=True, blank=True)
    worker = models.CharField(max_length=200, blank=True)
    task_id = models.CharField(max_length=64, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["round", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["round", "kind", "attempt"], name="run_unique_attempt"
            ),
            models.CheckConstraint(
                condition=Q(progress__gte=0) & Q(progress__lte=1),
                name="run_progress_between_0_and_1",
            ),
        ]
        indexes = [models.Index(fields=["status", "heartbeat_at"])]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} #{self.attempt} ({self.status})"

    @property
    def is_active(self) -> bool:
        return self.status in (self.Status.QUEUED, self.Status.RUNNING)


class CandidateOrigin(models.Model):
    """Which round and policy generated a candidate (never shown to annotators)."""

    candidate = models.OneToOneField(
        Candidate, on_delete=models.CASCADE, related_name="origin"
    )
    round = models.ForeignKey(
        Round, on_delete=models.CASCADE, related_name="generated_candidates"
    )
    model_version = models.ForeignKey(ModelVersion, on_delete=models.PROTECT)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return f"candidate {self.candidate_id} from {self.model_version}"
