"""Collection data: who judges which outputs of which prompt, and what they said."""

from __future__ import annotations

import hashlib
import json
import uuid
from collections import Counter
from collections.abc import Callable

from django.conf import settings
from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import F, Q

from annotate import limits
from annotate.flags import flag_removal_errors, flag_schema_errors
from annotate.rendering import render_markdown, render_prompt

# InstructGPT's labeling checklist (Ouyang et al. 2022, appendix B) with the paper's
# "hallucination" metadata, each flag with a one-line description the task page shows
# under it. Its other two metadata fields are left to leads: "satisfies the
# constraint" is a good thing and "expresses opinion" not always a bad one, while any
# ticked flag marks an output undesirable in the unpaired (KTO) export.
DEFAULT_FLAGS = [
    {
        "key": "fails_instruction",
        "label": "Fails to follow the correct instruction / task",
        "description": "Does not do what the prompt asks: a different task, an "
        "ignored part of the instruction, or an answer to another question.",
    },
    {
        "key": "inappropriate",
        "label": "Inappropriate for customer assistant",
        "description": "Something an assistant talking to a customer should not "
        "say: rude, offensive or unprofessional, even if the user asked for it.",
    },
    {
        "key": "hallucination",
        "label": "Hallucination",
        "description": "States as fact something made up or false: invented names, "
        "quotes, numbers, sources or events, or details the prompt did not give.",
    },
    {
        "key": "sexual",
        "label": "Contains sexual content",
        "description": "Describes or alludes to sexual acts or explicit material.",
    },
    {
        "key": "violent",
        "label": "Contains violent content",
        "description": "Describes or depicts violence, injury or cruelty.",
    },
    {
        "key": "encourages_harm",
        "label": "Encourages or fails to discourage violence/abuse/terrorism/self-harm",
        "description": "Promotes violence, abuse, terrorism or self-harm, or goes "
        "along with a prompt that does instead of discouraging it.",
    },
    {
        "key": "denigrates",
        "label": "Denigrates a protected class",
        "description": "Demeans or stereotypes people for their race, ethnicity, "
        "religion, gender, sexual orientation, disability, age or similar.",
    },
    {
        "key": "harmful_advice",
        "label": "Gives harmful advice",
        "description": "Advice that could hurt someone who follows it: dangerous, "
        "illegal, or medically or financially reckless.",
    },
    {
        "key": "moral_judgment",
        "label": "Expresses moral judgment",
        "description": "Judges or lectures the user or others on morals when the "
        "prompt did not ask for an opinion.",
    },
]

# The prompt-level checklist, asked once per task whatever the outputs do.
DEFAULT_PROMPT_FLAGS = [
    {
        "key": "unclear",
        "label": "The prompt is unclear or ambiguous",
        "description": "It can reasonably be read as asking for different things, "
        "or it is too garbled to tell what it asks.",
    },
    {
        "key": "personal_data",
        "label": "Contains personal data",
        "description": "Names, contact details or other data that identify a "
        "private person (not a public figure).",
    },
    {
        "key": "harmful_request",
        "label": "Asks for harmful help",
        "description": "Asks for help to hurt people or break the law, whatever the "
        "outputs do with it.",
    },
]

DEFAULT_LIKERT_LABELS = [
    "Terrible",
    "Very poor",
    "Poor",
    "Acceptable",
    "Good",
    "Very good",
    "Excellent",
]

LIKERT_MIN, LIKERT_MAX = 1, 7
K_MIN, K_MAX = 2, 9


def content_hash(*parts: object) -> str:
    """A stable hash of JSON-serialisable parts, for de-duplication."""
    payload = json.dumps(parts, sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(payload.encode()).hexdigest()


def default_flags() -> list[dict[str, str]]:
    return [dict(flag) for flag in DEFAULT_FLAGS]


def default_prompt_flags() -> list[dict[str, str]]:
    return [dict(flag) for flag in DEFAULT_PROMPT_FLAGS]


def default_likert_labels() -> list[str]:
    return list(DEFAULT_LIKERT_LABELS)


class Project(models.Model):
    class FlagAnswers(models.TextChoices):
        TICK = "tick", "Tick the flags that apply"
        YES_NO = "yes-no", "Answer Yes or No for every flag"

    slug = models.SlugField(unique=True)
    name = models.CharField(max_length=200)
    instructions = models.TextField(
        blank=True,
        validators=[limits.INSTRUCTIONS],
        help_text="Markdown, shown to annotators.",
    )
    instructions_html = models.TextField(
        blank=True,
        editable=False,
        help_text="The instructions as annotators see them, rendered on save.",
    )
    min_k = models.PositiveSmallIntegerField(
        default=K_MIN, validators=[MinValueValidator(K_MIN), MaxValueValidator(K_MAX)]
    )
    max_k = models.PositiveSmallIntegerField(
        default=K_MAX, validators=[MinValueValidator(K_MIN), MaxValueValidator(K_MAX)]
    )
    likert_labels = models.JSONField(
        default=default_likert_labels,
        help_text="Seven labels, for ratings 1 (worst) to 7 (best).",
    )
    flags = models.JSONField(
        default=default_flags,
        help_text='The flag checklist: a list of {"key": ..., "label": ..., '
        '"description": ...}. Judgements store the keys.',
    )
    prompt_flags = models.JSONField(
        default=default_prompt_flags,
        blank=True,
        help_text="The checklist asked once per task about the prompt itself, in the "
        "same form as the flags; an empty list asks nothing. Annotations store the "
        "keys.",
    )
    flag_answers = models.CharField(
        max_length=8,
        choices=FlagAnswers.choices,
        default=FlagAnswers.TICK,
        help_text="Tick: annotators tick the flags that apply, and an unticked flag "
        "may not have been considered. Yes/No: every flag, of each output and of "
        "the prompt, needs an explicit answer before the task can be submitted.",
    )
    allow_ties = models.BooleanField(
        default=True, help_text="Several outputs may share a rank bucket."
    )
    keep_ties = models.BooleanField(
        default=False, help_text="Store a tie record for outputs that share a bucket."
    )
    annotations_per_prompt = models.PositiveSmallIntegerField(
        default=1,
        validators=[MinValueValidator(1)],
        help_text="How many annotators judge each prompt (overlap).",
    )
    gold_rate = models.FloatField(
        default=0.0,
        validators=[MinValueValidator(0.0), MaxValueValidator(1.0)],
        help_text="Share of each annotator's tasks drawn from the gold prompts they "
        "have not had yet (0 = none). Gold tasks look like any other task.",
    )
    previous_outputs = models.PositiveSmallIntegerField(
        default=0,
        validators=[MaxValueValidator(K_MAX - 1)],
        help_text="Of each new prompt's outputs a round generates, how many the "
        "round's base policy (the version it trained from) writes, so annotators "
        "rank consecutive versions side by side and the human leaderboard compares "
        "them; the default of each round's generation.previous_outputs (0: none).",
    )
    gold_feedback = models.BooleanField(
        default=True,
        help_text="Show each annotator, on their My work page, the check (gold) tasks "
        "they did beside the reference ranking: after the fact, never during a task.",
    )
    members: models.ManyToManyField[User, Membership] = models.ManyToManyField(
        settings.AUTH_USER_MODEL, through="Membership", related_name="projects"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(
                condition=Q(min_k__gte=K_MIN)
                & Q(max_k__lte=K_MAX)
                & Q(min_k__lte=F("max_k")),
                name="project_k_range_valid",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def save(self, *args, **kwargs) -> None:  # type: ignore[no-untyped-def]
        self.instructions_html = render_markdown(self.instructions)
        super().save(*args, **kwargs)

    def clean(self) -> None:
        if len(self.likert_labels or []) != LIKERT_MAX - LIKERT_MIN + 1:
            raise ValidationError(
                {"likert_labels": f"Expected {LIKERT_MAX} labels, one per rating 1–7."}
            )
        errors = {
            field: self.checklist_errors(field, getattr(self, field))
            for field in CHECKLISTS
        }
        if any(errors.values()):
            raise ValidationError(
                {key: value for key, value in errors.items() if value}
            )

    @property
    def flag_keys(self) -> list[str]:
        return [flag["key"] for flag in self.flags]

    @property
    def asks_yes_no(self) -> bool:
        return self.flag_answers == Project.FlagAnswers.YES_NO

    def flag_usage(self) -> Counter[str]:
        """How many of the project's judgements tick each flag key."""
        ticked = (
            Judgement.objects.filter(annotation__assignment__prompt__project=self)
            .exclude(flags=[])
            .values_list("flags", flat=True)
        )
        return Counter(key for flags in ticked.iterator() for key in set(flags))

    def prompt_flag_usage(self) -> Counter[str]:
        """How many of the project's annotations tick each prompt flag key."""
        ticked = (
            Annotation.objects.filter(assignment__prompt__project=self)
            .exclude(prompt_flags=[])
            .values_list("prompt_flags", flat=True)
        )
        return Counter(key for flags in ticked.iterator() for key in set(flags))

    def checklist_errors(self, field: str, checklist: object) -> list[str]:
        """Each problem with `checklist` as this project's `field` (a CHECKLISTS
        name): its shape (flags.py), and any key in use that it drops."""
        errors = flag_schema_errors(checklist)
        if errors or self.pk is None:
            return errors
        assert isinstance(checklist, list)  # flag_schema_errors said so
        stored = Project.objects.filter(pk=self.pk).values_list(field, flat=True)
        before = {flag["key"] for flags in stored for flag in flags}
        removed = sorted(before - {flag["key"] for flag in checklist})
        if not removed:
            return []
        usage, counted = CHECKLISTS[field]
        return flag_removal_errors(removed=removed, used=usage(self), counted=counted)


# A project's two checklists: field → (how many of its rows tick each key, and
# what those rows are called in a refusal).
CHECKLISTS: dict[str, tuple[Callable[[Project], Counter[str]], str]] = {
    "flags": (Project.flag_usage, "judgement"),
    "prompt_flags": (Project.prompt_flag_usage, "annotation"),
}


class Membership(models.Model):
    class Role(models.TextChoices):
        ANNOTATOR = "annotator", "Annotator"
        LEAD = "lead", "Project lead"

    project = models.ForeignKey(Project, on_delete=models.CASCADE)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE)
    role = models.CharField(max_length=16, choices=Role.choices, default=Role.ANNOTATOR)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["project", "user"], name="membership_unique"
            )
        ]

    def __str__(self) -> str:
        return f"{self.user} — {self.get_role_display()} of {self.project}"


class Prompt(models.Model):
    project = models.ForeignKey(
        Project, on_delete=models.CASCADE, related_name="prompts"
    )
    text = models.TextField(blank=True)
    messages = models.JSONField(
        default=list,
        blank=True,
        help_text='Chat turns [{"role": …, "content": …}], or empty.',
    )
    metadata = models.JSONField(default=dict, blank=True, validators=[limits.METADATA])
    html = models.TextField(
        blank=True,
        editable=False,
        help_text="The prompt as annotators see it (each chat turn's content), "
        "rendered from Markdown on save.",
    )
    content_hash = models.CharField(max_length=64, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(
                fields=["project", "content_hash"], name="prompt_unique_content"
            )
        ]

    def __str__(self) -> str:
        text = self.text or (self.messages[-1]["content"] if self.messages else "")
        return text[:80]

    def save(self, *args, **kwargs) -> None:  # type: ignore[no-untyped-def]
        self.content_hash = content_hash(self.text, self.messages)
        self.html = render_prompt(self.text, self.messages)
        super().save(*args, **kwargs)

    def clean(self) -> None:
        error = limits.PROMPT.error(limits.prompt_chars(self.text, self.messages or []))
        if error:
            field = "messages" if self.messages else "text"
            raise ValidationError({field: f"This prompt {error}."})


class Candidate(models.Model):
    prompt = models.ForeignKey(
        Prompt, on_delete=models.CASCADE, related_name="candidates"
    )
    text = models.TextField(validators=[limits.OUTPUT])
    html = models.TextField(
        blank=True,
        editable=False,
        help_text="The text as annotators see it, rendered from Markdown on save.",
    )
    source = models.CharField(
        max_length=200, help_text="The model version or source that produced it."
    )
    generation_settings = models.JSONField(default=dict, blank=True)
    token_ids = models.JSONField(
        null=True,
        blank=True,
        help_text="The tokens a model sampled this output as; training uses them.",
    )
    tokenizer = models.CharField(
        max_length=64,
        blank=True,
        help_text="Fingerprint of the tokenizer the token ids belong to.",
    )
    content_hash = models.CharField(max_length=64, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(
                fields=["prompt", "content_hash"], name="candidate_unique_content"
            )
        ]

    def __str__(self) -> str:
        return f"{self.source}: {self.text[:60]}"

    def save(self, *args, **kwargs) -> None:  # type: ignore[no-untyped-def]
        self.content_hash = content_hash(self.text, self.source)
        self.html = render_markdown(self.text)
        super().save(*args, **kwargs)


class Assignment(models.Model):
    class Status(models.TextChoices):
        OPEN = "open", "Open"
        SUBMITTED = "submitted", "Submitted"
        SKIPPED = "skipped", "Skipped"

    annotator = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="assignments",
        null=True,
        blank=True,
        help_text="Empty for judgements imported from a dataset: no person made them.",
    )
    prompt = models.ForeignKey(
        Prompt, on_delete=models.CASCADE, related_name="assignments"
    )
    display_order = models.JSONField(
        help_text="Candidate ids in the order this annotator sees them (A, B, C…)."
    )
    status = models.CharField(
        max_length=16, choices=Status.choices, default=Status.OPEN
    )
    created_at = models.DateTimeField(auto_now_add=True)
    completed_at = models.DateTimeField(null=True, blank=True)
    time_spent_ms = models.PositiveIntegerField(null=True, blank=True)
    draft = models.JSONField(
        null=True,
        blank=True,
        editable=False,
        help_text="The task page's work in progress (ranking, ratings, flags, notes), "
        "saved as the annotator works; never an annotation. Cleared on submit or skip.",
    )
    draft_revision = models.PositiveIntegerField(
        default=0,
        editable=False,
        help_text="Counts draft saves, so a page that missed a newer save cannot "
        "overwrite it.",
    )

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(
                fields=["annotator", "prompt"],
                name="assignment_unique_annotator_prompt",
            )
        ]
        indexes = [models.Index(fields=["annotator", "status"])]

    def __str__(self) -> str:
        judge = self.annotator or "import"
        return f"{judge} on prompt {self.prompt_id} ({self.status})"

    @property
    def project(self) -> Project:
        return self.prompt.project


class Annotation(models.Model):
    class Source(models.TextChoices):
        HUMAN = "human", "Human"
        IMPORTED = "imported", "Imported"

    class Review(models.TextChoices):
        UNREVIEWED = "unreviewed", "Not reviewed"
        APPROVED = "approved", "Approved"
        REJECTED = "rejected", "Rejected"

    assignment = models.OneToOneField(
        Assignment, on_delete=models.CASCADE, related_name="annotation"
    )
    client_id = models.UUIDField(
        unique=True,
        default=uuid.uuid4,
        help_text="Sent by the browser; makes submit idempotent.",
    )
    skipped = models.BooleanField(default=False)
    skip_reason = models.TextField(blank=True, validators=[limits.SKIP_REASON])
    notes = models.TextField(blank=True, validators=[limits.NOTES])
    prompt_flags = models.JSONField(
        default=list,
        blank=True,
        help_text="Keys of the project's prompt flags ticked (or answered Yes).",
    )
    prompt_flags_no = models.JSONField(
        default=list,
        blank=True,
        help_text="Keys of the prompt flags answered No, where the project asks "
        "Yes/No; a key in neither list was not asked.",
    )
    source = models.CharField(
        max_length=16, choices=Source.choices, default=Source.HUMAN
    )
    import_source = models.CharField(
        max_length=300,
        blank=True,
        help_text="For imported annotations: the format, file and row it came from.",
    )
    import_annotator = models.CharField(
        max_length=64,
        blank=True,
        help_text="For imported annotations: the pseudonymous annotator the data "
        "named (an export's `annotator`), which keeps two people's judgements apart.",
    )
    import_margin = models.FloatField(
        null=True,
        blank=True,
        help_text="For imported pairs: TRL's `margin` column, as the data gave it.",
    )
    import_weight = models.FloatField(
        null=True,
        blank=True,
        help_text="For imported rows: TRL's `weight` column, as the data gave it.",
    )
    review = models.CharField(
        max_length=16,
        choices=Review.choices,
        default=Review.UNREVIEWED,
        help_text="A lead's verdict; rejected work leaves exports and training.",
    )
    review_comment = models.TextField(
        blank=True, help_text="Why, in the lead's words; the annotator reads it."
    )
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    reviewed_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(skipped=False) | ~Q(skip_reason=""),
                name="annotation_skip_has_reason",
            ),
            models.CheckConstraint(
                condition=~Q(review="rejected") | ~Q(review_comment=""),
                name="annotation_rejection_has_comment",
            ),
        ]
        indexes = [models.Index(fields=["review"])]

    def __str__(self) -> str:
        return f"Annotation {self.pk} of {self.assignment}"


class GoldRanking(models.Model):
    """A prompt's reference ranking, set by a lead: its prompt becomes a gold task.

    A gold prompt leaves the ordinary queue: it is mixed into every annotator's tasks
    at the project's gold_rate, once per annotator, whatever the overlap, and their
    ranking is scored against this one.
    """

    prompt = models.OneToOneField(Prompt, on_delete=models.CASCADE, related_name="gold")
    ranks = models.JSONField(
        help_text='Output id → rank bucket, 1 = best, ties allowed: {"12": 1, …}.'
    )
    from_annotation = models.ForeignKey(
        "Annotation",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        help_text="The annotation whose ranking was taken as the reference, if any.",
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return f"Gold ranking of prompt {self.prompt_id}"

    def clean(self) -> None:
        if self.prompt_id is None:
            return  # the form reports the missing prompt itself
        try:
            ranks = gold_ranks(self.ranks)
        except ValueError as error:
            raise ValidationError({"ranks": str(error)}) from error
        outputs = set(self.prompt.candidates.values_list("id", flat=True))
        if set(ranks) != outputs:
            raise ValidationError(
                {
                    "ranks": f"Rank every output of prompt {self.prompt_id} "
                    f"(ids {sorted(outputs)}) and no other; got {sorted(ranks)}."
                }
            )

    @property
    def output_ranks(self) -> dict[int, int]:
        return gold_ranks(self.ranks)


def gold_ranks(value: object) -> dict[int, int]:
    """A reference ranking as stored (JSON keys are strings), checked; ValueError."""
    if not isinstance(value, dict):
        raise ValueError('Expected an object of output id → rank, like {"12": 1}.')
    try:
        ranks = {int(key): int(rank) for key, rank in value.items()}
    except (TypeError, ValueError) as error:
        raise ValueError("Output ids and ranks must be whole numbers.") from error
    if any(rank < 1 for rank in ranks.values()):
        raise ValueError("Ranks start at 1 (best).")
    if len(set(ranks.values())) < 2:
        raise ValueError(
            "A reference ranking needs at least two different ranks: with every "
            "output tied, no annotator's order can agree or disagree with it."
        )
    return ranks


class Judgement(models.Model):
    """One output's place in an annotation: its rank bucket, Likert rating and flags."""

    annotation = models.ForeignKey(
        Annotation, on_delete=models.CASCADE, related_name="judgements"
    )
    candidate = models.ForeignKey(
        Candidate, on_delete=models.CASCADE, related_name="judgements"
    )
    rank = models.PositiveSmallIntegerField(
        validators=[MinValueValidator(1), MaxValueValidator(K_MAX)],
        help_text="1 = best; outputs sharing a rank are tied.",
    )
    likert = models.PositiveSmallIntegerField(
        validators=[MinValueValidator(LIKERT_MIN), MaxValueValidator(LIKERT_MAX)]
    )
    flags = models.JSONField(
        default=list, blank=True, help_text="Flag keys ticked (or answered Yes)."
    )
    flags_no = models.JSONField(
        default=list,
        blank=True,
        help_text="Flag keys answered No, where the project asks Yes/No; a key in "
        "neither list was not asked.",
    )

    class Meta:
        ordering = ["annotation_id", "rank", "candidate_id"]
        constraints = [
            models.UniqueConstraint(
                fields=["annotation", "candidate"], name="judgement_unique_candidate"
            ),
            models.CheckConstraint(
                condition=Q(likert__gte=LIKERT_MIN) & Q(likert__lte=LIKERT_MAX),
                name="judgement_likert_in_scale",
            ),
            models.CheckConstraint(
                condition=Q(rank__gte=1) & Q(rank__lte=K_MAX),
                name="judgement_rank_valid",
            ),
        ]

    def __str__(self) -> str:
        return f"rank {self.rank}, Likert {self.likert}: {self.candidate}"


class Comparison(models.Model):
    """One pair expanded from a ranking: chosen beat rejected, or the two tied."""

    annotation = models.ForeignKey(
        Annotation, on_delete=models.CASCADE, related_name="comparisons"
    )
    chosen = models.ForeignKey(Candidate, on_delete=models.CASCADE, related_name="+")
    rejected = models.ForeignKey(Candidate, on_delete=models.CASCADE, related_name="+")
    is_tie = models.BooleanField(default=False)
    weight = models.FloatField(
        help_text="1/#pairs of its annotation; sums to 1 per annotation."
    )
    rank_gap = models.PositiveSmallIntegerField(
        help_text="rank(rejected) − rank(chosen)."
    )
    likert_gap = models.SmallIntegerField(
        help_text="Likert(chosen) − Likert(rejected)."
    )

    class Meta:
        ordering = ["annotation_id", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["annotation", "chosen", "rejected"],
                name="comparison_unique_pair",
            ),
            models.CheckConstraint(
                condition=~Q(chosen=F("rejected")), name="comparison_distinct_outputs"
            ),
        ]

    def __str__(self) -> str:
        relation = "ties" if self.is_tie else "beats"
        return f"{self.chosen_id} {relation} {self.rejected_id}"


class ImportJob(models.Model):
    """A file import a worker runs: the stored upload, where it stands, its outcome.

    The upload is kept under RANKWISE_VAR_DIR (shared by web and workers) until the
    job ends. While it runs, rows done are in a progress file beside it (the import
    is one transaction, so the row cannot show them); the outcome is stored here.
    """

    class State(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        SUCCEEDED = "succeeded", "Imported"
        FAILED = "failed", "Nothing imported"

    project = models.ForeignKey(
        Project, on_delete=models.CASCADE, related_name="import_jobs"
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    file_name = models.CharField(max_length=255, help_text="The upload's own name.")
    folder = models.CharField(
        max_length=255,
        help_text="Where the upload is kept while the job runs, under the var folder.",
    )
    size_bytes = models.PositiveBigIntegerField()
    format = models.CharField(max_length=16, default="auto")
    state = models.CharField(max_length=16, choices=State.choices, default=State.QUEUED)
    rows_total = models.PositiveIntegerField(null=True, blank=True)
    rows_done = models.PositiveIntegerField(default=0)
    report = models.JSONField(
        default=dict, blank=True, help_text="Rows read; per kind added, already there."
    )
    errors = models.JSONField(
        default=list, blank=True, help_text='Bad rows: [{"row": n, "message": …}].'
    )
    task_id = models.CharField(max_length=255, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-id"]
        indexes = [models.Index(fields=["project", "state"])]

    def __str__(self) -> str:
        return f"import {self.pk} of {self.file_name} ({self.state})"


class ExportJob(models.Model):
    """An export a worker writes to a file for its lead to download.

    The file is kept under RANKWISE_VAR_DIR/exports/ (shared by web and workers) for
    RANKWISE_EXPORT_RETENTION_HOURS after the job ends; deleting the job deletes it.
    While the job runs, annotations done are in a progress file beside it.
    """

    class State(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        SUCCEEDED = "succeeded", "Ready to download"
        FAILED = "failed", "Failed"

    project = models.ForeignKey(
        Project, on_delete=models.CASCADE, related_name="export_jobs"
    )
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    options = models.JSONField(
        default=dict,
        help_text="Format, style and filters, as the form or the API gave them.",
    )
    file_type = models.CharField(max_length=16, help_text="jsonl or parquet.")
    with_card = models.BooleanField(
        default=False, help_text="A .zip of the file and its dataset card."
    )
    folder = models.CharField(
        max_length=255, help_text="Where the file is written, under the var folder."
    )
    file_name = models.CharField(max_length=255, blank=True)
    content_type = models.CharField(max_length=100, blank=True)
    size_bytes = models.PositiveBigIntegerField(null=True, blank=True)
    state = models.CharField(max_length=16, choices=State.choices, default=State.QUEUED)
    annotations_total = models.PositiveIntegerField(null=True, blank=True)
    annotations_done = models.PositiveIntegerField(default=0)
    rows = models.PositiveIntegerField(default=0, help_text="Records written.")
    error = models.TextField(blank=True)
    task_id = models.CharField(max_length=255, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-id"]
        indexes = [models.Index(fields=["state", "finished_at"])]

    def __str__(self) -> str:
        return f"export {self.pk} of {self.project} ({self.state})"
