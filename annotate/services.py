"""Write paths of the collection side. Each is one transaction and safe to repeat."""

from __future__ import annotations

import random
import time
import uuid
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from django.contrib.auth.models import User
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import Count, Q
from django.utils import timezone

from annotate import limits
from annotate.models import (
    LIKERT_MAX,
    LIKERT_MIN,
    Annotation,
    Assignment,
    Candidate,
    Comparison,
    GoldRanking,
    Judgement,
    Membership,
    Project,
    Prompt,
    content_hash,
    gold_ranks,
)
from annotate.ranking import buckets_to_ranks, expand_ranking, ranking_conflicts
from annotate.selectors import prompts_open_to, user_is_member, user_leads
from annotate.text import clean_json, clean_text, is_blank


class SubmissionError(Exception):
    """A refused submission; `errors` maps each field to what was wrong with it."""

    def __init__(self, errors: Mapping[str, str]):
        self.errors = dict(errors)
        super().__init__(
            "; ".join(f"{key}: {value}" for key, value in self.errors.items())
        )


class ConflictWarning(Exception):
    """Ranking and ratings disagree; the annotator must confirm before it is stored."""

    def __init__(self, warnings: list[str]):
        self.warnings = warnings
        super().__init__(" ".join(warnings))


class NotAMember(PermissionDenied):
    """The annotator left the project (or never belonged): their task is closed.

    A PermissionDenied, so the web answers 403 and the API its 403 error body.
    """

    def __init__(self, assignment: Assignment):
        project = assignment.prompt.project
        super().__init__(
            f"You are no longer a member of project {project.slug}, so task "
            f"{assignment.pk} can be neither submitted nor skipped; a lead of "
            "the project can add you again."
        )


@dataclass(frozen=True)
class Submission:
    """What the browser or the API sends for one assignment."""

    client_id: uuid.UUID
    buckets: list[list[int]]  # best first; an empty bucket holds no rank (skipped)
    likert: dict[int, int]
    flags: dict[int, list[str]] = field(default_factory=dict)  # ticked, or Yes
    notes: str = ""
    time_spent_ms: int | None = None
    confirm_conflicts: bool = False
    flags_no: dict[int, list[str]] = field(default_factory=dict)  # answered No
    prompt_flags: list[str] = field(default_factory=list)  # ticked, or Yes
    prompt_flags_no: list[str] = field(default_factory=list)  # answered No


@transaction.atomic
def prompt_create(
    *,
    project: Project,
    text: str = "",
    messages: Sequence[Mapping[str, str]] = (),
    metadata: Mapping[str, object] | None = None,
) -> tuple[Prompt, bool]:
    """Add a prompt unless the same text/messages already exist in the project.

    Text, messages and metadata are stored as annotate.text cleans them, and the
    duplicate check hashes that cleaned content. Raises limits.TextTooLong for a
    prompt over RANKWISE_MAX_PROMPT_CHARS or metadata over RANKWISE_MAX_METADATA_BYTES.
    """
    text = clean_text(text)
    messages = [clean_json(dict(message)) for message in messages]
    error = limits.PROMPT.error(limits.prompt_chars(text, messages))
    if error:
        raise limits.TextTooLong("messages" if messages else "text", "prompt", error)
    metadata = clean_json(dict(metadata or {}))
    too_large = limits.METADATA.value_error(metadata)
    if too_large:
        raise limits.TextTooLong("metadata", "prompt's metadata", too_large)
    return Prompt.objects.get_or_create(
        project=project,
        content_hash=content_hash(text, messages),
        defaults={"text": text, "messages": messages, "metadata": metadata},
    )


@transaction.atomic
def candidate_create(
    *,
    prompt: Prompt,
    text: str,
    source: str,
    generation_settings: Mapping[str, object] | None = None,
    token_ids: list[int] | None = None,
    tokenizer: str = "",
) -> tuple[Candidate, bool]:
    """Add an output to a prompt unless the same text from the same source exists.

    A sampled output keeps `token_ids`, the tokens it was sampled as, and the
    fingerprint of their `tokenizer`, so training on it sees what the model produced.

    Text, source and settings are stored as annotate.text cleans them, and the
    duplicate check hashes that cleaned content. Refusing an output with nothing
    readable left (`is_blank`) is the caller's part: each says why in its own terms.
    Raises limits.TextTooLong for text over RANKWISE_MAX_OUTPUT_CHARS.
    """
    text, source = clean_text(text), clean_text(source)
    error = limits.OUTPUT.error(len(text))
    if error:
        raise limits.TextTooLong("text", "output", error)
    return Candidate.objects.get_or_create(
        prompt=prompt,
        content_hash=content_hash(text, source),
        defaults={
            "text": text,
            "source": source,
            "generation_settings": clean_json(dict(generation_settings or {})),
            "token_ids": token_ids,
            "tokenizer": tokenizer,
        },
    )


@transaction.atomic
def assignment_next(*, project: Project, annotator: User) -> Assignment | None:
    """The annotator's open assignment, or a new one on a prompt needing judges.

    Never a prompt the annotator already had, never beyond the project's overlap, never
    a prompt with fewer than the project's minimum K outputs. Display order is shuffled
    per annotator and stored.

    Gold prompts are not in the ordinary queue: while ordinary work remains, each new
    task is, with probability `gold_rate`, a gold prompt this annotator has not had
    (chosen at random), so gold tasks come at that rate, at no fixed place, and
    without counting toward any prompt's overlap. With no ordinary work left the
    queue is empty: gold tasks are mixed into work, never work of their own.
    """
    open_assignment = (
        Assignment.objects.filter(
            annotator=annotator, prompt__project=project, status=Assignment.Status.OPEN
        )
        .order_by("id")
        .first()
    )
    if open_assignment is not None:
        return open_assignment
    open_ids = _open_prompt_ids(project, annotator)
    if not open_ids:
        return None
    prompt_id = None
    if project.gold_rate > 0 and random.random() < project.gold_rate:
        gold = _gold_prompt_for(project, annotator)
        prompt_id = gold.pk if gold is not None else None
    if prompt_id is None:
        prompt_id = _claim_open_prompt(project, annotator, open_ids)
    if prompt_id is None:
        return None
    display_order = list(
        Candidate.objects.filter(prompt_id=prompt_id).values_list("id", flat=True)
    )
    random.shuffle(display_order)
    return Assignment.objects.create(
        annotator=annotator, prompt_id=prompt_id, display_order=display_order
    )


# Open prompts tried per look at the queue: as many as the hand-outs that run at
# once (config/gunicorn.conf.py: workers × threads), so one rarely finds all locked.
CLAIM_CANDIDATES = 16
# The pause before reading the queue again when others held every candidate: about
# one hand-out's transaction.
CLAIM_RETRY_SECONDS = 0.01


def _open_prompt_ids(project: Project, annotator: User) -> list[int]:
    """The first ordinary prompts the annotator could be given, in queue order."""
    open_prompts = prompts_open_to(project=project, annotator=annotator).filter(
        gold__isnull=True
    )
    return list(open_prompts.values_list("id", flat=True)[:CLAIM_CANDIDATES])


def _claim_open_prompt(
    project: Project, annotator: User, open_ids: list[int]
) -> int | None:
    """Lock one of the open prompts and confirm, under its lock, it still has room.

    A hand-out locks the prompt it gives, not the project: concurrent hand-outs
    take, in queue order, the first prompts nobody else holds (SKIP LOCKED) instead
    of queueing behind one project-wide lock, and the overlap is counted again
    under the prompt's lock, so no prompt is given beyond it. It never waits for a
    lock while holding one (two hand-outs each waiting for the other's prompt
    would deadlock): when every candidate is held or full, it pauses while the
    holders commit and reads the queue again. A prompt filled meanwhile leaves the
    queue, so each look claims one or sees fewer. On SQLite the lock is a no-op:
    IMMEDIATE transactions already run one writer at a time.
    """
    while open_ids:
        passed_a_held_prompt = False
        for prompt_id in open_ids:
            if not _lock_prompt_unless_held(prompt_id):
                passed_a_held_prompt = True
            elif _has_room(prompt_id, project, annotator):
                return prompt_id
        if passed_a_held_prompt:
            time.sleep(CLAIM_RETRY_SECONDS)
        open_ids = _open_prompt_ids(project, annotator)
    return None


def _lock_prompt_unless_held(prompt_id: int) -> bool:
    """Lock the prompt's row (NO KEY: inserts pointing at it still go through);
    False if another transaction holds it, or it is gone."""
    locked = (
        Prompt.objects.filter(pk=prompt_id)
        .select_for_update(skip_locked=True, no_key=True)
        .values_list("id", flat=True)
    )
    return locked.first() is not None


def _has_room(prompt_id: int, project: Project, annotator: User) -> bool:
    """Whether the prompt is under its overlap and new to the annotator (skips
    free their place, as in prompts_open_to)."""
    counts = Assignment.objects.filter(prompt_id=prompt_id).aggregate(
        taken=Count("id", filter=~Q(status=Assignment.Status.SKIPPED)),
        mine=Count("id", filter=Q(annotator=annotator)),
    )
    return counts["mine"] == 0 and counts["taken"] < project.annotations_per_prompt


def _gold_prompt_for(project: Project, annotator: User) -> Prompt | None:
    """A random gold prompt the annotator never had, with outputs in the K range."""
    ids = list(
        Prompt.objects.filter(project=project, gold__isnull=False)
        .exclude(assignments__annotator=annotator)
        .annotate(n_candidates=Count("candidates"))
        .filter(n_candidates__gte=project.min_k, n_candidates__lte=project.max_k)
        .values_list("id", flat=True)
    )
    return Prompt.objects.get(pk=random.choice(ids)) if ids else None


def _letters(assignment: Assignment) -> dict[int, str]:
    """Candidate id → the letter the annotator saw it under (A, B, C…)."""
    return {cid: chr(ord("A") + i) for i, cid in enumerate(assignment.display_order)}


def _ranking_error(
    buckets: list[list[int]], letters: dict[int, str], *, allow_ties: bool
) -> str | None:
    ranked = Counter(cid for bucket in buckets for cid in bucket)
    unknown = sorted(set(ranked) - set(letters))
    repeated = sorted({letters.get(c, str(c)) for c, n in ranked.items() if n > 1})
    missing = sorted(letters[cid] for cid in set(letters) - set(ranked))
    # The screen shows K buckets; one left empty is skipped (buckets_to_ranks).
    if len(buckets) > len(letters):
        return f"Expected at most {len(letters)} rank buckets, got {len(buckets)}."
    if unknown:
        return f"Outputs {unknown} do not belong to this task."
    if repeated:
        return f"Output(s) {', '.join(repeated)} ranked more than once."
    if missing:
        return f"Rank every output: {', '.join(missing)} not ranked yet."
    if not allow_ties and any(len(bucket) > 1 for bucket in buckets):
        return "This project does not allow ties: one output per rank."
    return None


def _likert_error(likert: dict[int, int], letters: dict[int, str]) -> str | None:
    out_of_scale = sorted(
        letters.get(cid, str(cid))
        for cid, value in likert.items()
        if not (isinstance(value, int) and LIKERT_MIN <= value <= LIKERT_MAX)
    )
    unrated = sorted(letters[cid] for cid in set(letters) - set(likert))
    if set(likert) - set(letters):
        return "Ratings given for outputs that are not in this task."
    if out_of_scale:
        return (
            f"Ratings must be whole numbers {LIKERT_MIN}–{LIKERT_MAX}; "
            f"check {', '.join(out_of_scale)}."
        )
    if unrated:
        return f"Rate every output: {', '.join(unrated)} not rated yet."
    return None


# The flag fields of a submission or draft: (ticked or Yes, answered No), per output
# and for the prompt.
OUTPUT_FLAG_FIELDS = ("flags", "flags_no")
PROMPT_FLAG_FIELDS = ("prompt_flags", "prompt_flags_no")


def _flag_answer_errors(
    project: Project,
    letters: dict[int, str],
    answers: Submission | Draft,
    *,
    complete: bool,
) -> dict[str, str]:
    """Each flag field that does not fit the project's checklists, and why.

    `complete`: where the project asks Yes/No, every flag of every output and of
    the prompt must be answered (a draft may leave some unanswered).
    """
    errors: dict[str, list[str]] = {}
    if (set(answers.flags) | set(answers.flags_no)) - set(letters):
        errors["flags"] = ["Flags given for outputs that are not in this task."]
    checklists = [
        (
            f"Output {letter}",
            project.flags,
            answers.flags.get(cid, []),
            answers.flags_no.get(cid, []),
            OUTPUT_FLAG_FIELDS,
        )
        for cid, letter in letters.items()
    ]
    checklists.append(
        (
            "Prompt",
            project.prompt_flags,
            answers.prompt_flags,
            answers.prompt_flags_no,
            PROMPT_FLAG_FIELDS,
        )
    )
    for where, checklist, yes, no, fields in checklists:
        for is_no, problem in _checklist_answer_errors(
            where,
            checklist,
            yes,
            no,
            called=fields[0].replace("_", " "),
            yes_no=project.asks_yes_no,
            complete=complete,
        ):
            errors.setdefault(fields[is_no], []).append(problem)
    return {name: " ".join(problems) for name, problems in errors.items()}


def _checklist_answer_errors(
    where: str,
    checklist: list[dict[str, str]],
    yes: list[str],
    no: list[str],
    *,
    called: str,
    yes_no: bool,
    complete: bool,
) -> list[tuple[bool, str]]:
    """(whether it is about the No answers, what is wrong) for one checklist,
    `called` "flags" or "prompt flags" in what the refusal lists."""
    keys = [flag["key"] for flag in checklist]
    problems = []
    for is_no, chosen in ((False, yes), (True, no)):
        unknown = sorted(set(chosen) - set(keys))
        if unknown:
            problems.append(
                (
                    is_no,
                    f"{where}: unknown flag(s) {', '.join(unknown)}; this project's "
                    f"{called} are {', '.join(sorted(keys)) or 'none'}.",
                )
            )
    if no and not yes_no:
        problems.append(
            (
                True,
                f"{where}: this project asks to tick the flags that apply, not "
                "to answer No.",
            )
        )
    both = sorted(set(yes) & set(no))
    if both:
        problems.append((True, f"{where}: {', '.join(both)} answered Yes and No."))
    unanswered = [flag["label"] for flag in checklist if flag["key"] not in {*yes, *no}]
    if yes_no and complete and unanswered:
        labels = ", ".join(f"'{label}'" for label in unanswered)
        problems.append((False, f"{where}: answer Yes or No for {labels}."))
    return problems


def _submission_errors(
    assignment: Assignment, submission: Submission
) -> dict[str, str]:
    """Each field of the submission that does not fit its assignment, and why."""
    project = assignment.prompt.project
    letters = _letters(assignment)
    errors = {
        "ranking": _ranking_error(
            submission.buckets, letters, allow_ties=project.allow_ties
        ),
        "likert": _likert_error(submission.likert, letters),
        "notes": _too_long(limits.NOTES, submission.notes),
    }
    found = {field: message for field, message in errors.items() if message}
    return found | _flag_answer_errors(project, letters, submission, complete=True)


def _too_long(limit: limits.TextLimit, text: str) -> str | None:
    """'This text has N characters; …' for text over its limit once cleaned."""
    error = limit.error(len(clean_text(text).strip()))
    return f"This text {error}." if error else None


def _conflict_messages(
    assignment: Assignment, ranks: dict[int, int], likert: dict[int, int]
) -> list[str]:
    letters = _letters(assignment)
    return [
        f"{letters[better]} is ranked above {letters[worse]} but rated lower "
        f"({likert[better]} < {likert[worse]})."
        for better, worse in ranking_conflicts(ranks, likert)
    ]


def _lock_own_assignment(assignment_id: int, annotator: User) -> Assignment:
    # The assignment row only: a plain FOR UPDATE would lock the joined prompt and
    # project rows too, and queue every submit of the project behind one another.
    assignment = (
        Assignment.objects.select_for_update(of=("self",), no_key=True)
        .select_related("prompt__project")
        .filter(pk=assignment_id)
        .first()
    )
    if assignment is None or assignment.annotator_id != annotator.pk:
        raise SubmissionError(
            {
                "assignment": f"No assignment {assignment_id} of yours exists; if "
                "a lead removed you from its project, it went back to the pool."
            }
        )
    return assignment


def _require_member(assignment: Assignment, annotator: User) -> None:
    # Checked when the work is handed in, not only when the task was handed out.
    if not user_is_member(user=annotator, project=assignment.prompt.project):
        raise NotAMember(assignment)


def _require_open(assignment: Assignment) -> None:
    if assignment.status != Assignment.Status.OPEN:
        message = f"Assignment {assignment.pk} was already {assignment.status}."
        raise SubmissionError({"assignment": message})


def _existing_by_client_id(
    client_id: uuid.UUID, assignment_id: int, annotator: User
) -> Annotation | None:
    existing = (
        Annotation.objects.select_related("assignment")
        .filter(client_id=client_id)
        .first()
    )
    if existing is None:
        return None
    if (
        existing.assignment_id != assignment_id
        or existing.assignment.annotator_id != annotator.pk
    ):
        raise SubmissionError(
            {"client_id": "This client id was already used for a different assignment."}
        )
    return existing


def _close_assignment(
    assignment: Assignment, status: str, time_spent_ms: int | None
) -> None:
    assignment.status = status
    assignment.completed_at = timezone.now()
    if time_spent_ms is not None:
        assignment.time_spent_ms = max(0, int(time_spent_ms))
    # The annotation (or skip) now holds the work; a draft left behind could be
    # mistaken for unfinished work on a closed task.
    assignment.draft = None
    assignment.save(update_fields=["status", "completed_at", "time_spent_ms", "draft"])


@transaction.atomic
def annotation_submit(
    *, assignment_id: int, annotator: User, submission: Submission
) -> tuple[Annotation, bool]:
    """Store a ranked, rated, flagged judgement and expand it into comparisons.

    Returns (annotation, created). A repeat with the same client id returns the stored
    annotation unchanged. Raises NotAMember when the annotator no longer belongs to the
    project, SubmissionError (nothing written) or ConflictWarning when the ranking
    contradicts the ratings and the annotator has not confirmed.
    """
    assignment = _lock_own_assignment(assignment_id, annotator)
    existing = _existing_by_client_id(submission.client_id, assignment_id, annotator)
    if existing is not None:
        return existing, False
    _require_member(assignment, annotator)
    _require_open(assignment)
    errors = _submission_errors(assignment, submission)
    if errors:
        raise SubmissionError(errors)
    ranks = buckets_to_ranks(submission.buckets)
    conflicts = _conflict_messages(assignment, ranks, submission.likert)
    if conflicts and not submission.confirm_conflicts:
        raise ConflictWarning(conflicts)
    annotation = Annotation.objects.create(
        assignment=assignment,
        client_id=submission.client_id,
        notes=clean_text(submission.notes).strip(),
        prompt_flags=sorted(set(submission.prompt_flags)),
        prompt_flags_no=sorted(set(submission.prompt_flags_no)),
    )
    Judgement.objects.bulk_create(
        Judgement(
            annotation=annotation,
            candidate_id=cid,
            rank=ranks[cid],
            likert=submission.likert[cid],
            flags=sorted(set(submission.flags.get(cid, []))),
            flags_no=sorted(set(submission.flags_no.get(cid, []))),
        )
        for cid in assignment.display_order
    )
    # Expanded from what was just stored, without reading it back.
    _comparisons_create(
        annotation,
        ranks,
        submission.likert,
        keep_ties=assignment.prompt.project.keep_ties,
    )
    _close_assignment(assignment, Assignment.Status.SUBMITTED, submission.time_spent_ms)
    return annotation, True


@transaction.atomic
def assignment_skip(
    *,
    assignment_id: int,
    annotator: User,
    client_id: uuid.UUID,
    reason: str,
    time_spent_ms: int | None = None,
) -> tuple[Annotation, bool]:
    """Record that the annotator skipped the task and why; others get the prompt.

    Raises NotAMember when the annotator no longer belongs to the project.
    """
    assignment = _lock_own_assignment(assignment_id, annotator)
    existing = _existing_by_client_id(client_id, assignment_id, annotator)
    if existing is not None:
        return existing, False
    _require_member(assignment, annotator)
    _require_open(assignment)
    if is_blank(reason):
        raise SubmissionError({"reason": "Say why you skip this task."})
    too_long = _too_long(limits.SKIP_REASON, reason)
    if too_long:
        raise SubmissionError({"reason": too_long})
    annotation = Annotation.objects.create(
        assignment=assignment,
        client_id=client_id,
        skipped=True,
        skip_reason=clean_text(reason).strip(),
    )
    _close_assignment(assignment, Assignment.Status.SKIPPED, time_spent_ms)
    return annotation, True


class DraftConflict(Exception):
    """Another page saved a newer draft of the task since this page last saw it."""

    def __init__(self, revision: int):
        self.revision = revision
        super().__init__(
            f"This task's draft was saved from another tab or device (revision "
            f"{revision}) since this page loaded or last saved it."
        )


@dataclass(frozen=True)
class Draft:
    """Work in progress on one assignment, as the task page last had it."""

    buckets: list[list[int]]  # best first, like Submission's; outputs may be missing
    likert: dict[int, int]
    flags: dict[int, list[str]] = field(default_factory=dict)
    notes: str = ""
    flags_no: dict[int, list[str]] = field(default_factory=dict)
    prompt_flags: list[str] = field(default_factory=list)
    prompt_flags_no: list[str] = field(default_factory=list)


def _draft_errors(assignment: Assignment, draft: Draft) -> dict[str, str]:
    """What in the draft does not fit its task; a draft may leave work undone."""
    letters = _letters(assignment)
    placed = [cid for bucket in draft.buckets for cid in bucket]
    errors = _flag_answer_errors(
        assignment.prompt.project, letters, draft, complete=False
    )
    if (
        len(draft.buckets) > len(letters)
        or not set(placed) <= set(letters)
        or len(placed) != len(set(placed))
    ):
        errors["ranking"] = (
            f"Expected at most {len(letters)} rank buckets holding this task's "
            "outputs, each output at most once."
        )
    if not set(draft.likert) <= set(letters) or not all(
        LIKERT_MIN <= value <= LIKERT_MAX for value in draft.likert.values()
    ):
        errors["likert"] = (
            f"Expected ratings {LIKERT_MIN}–{LIKERT_MAX} of this task's outputs."
        )
    return {key: message for key, message in errors.items() if message}


@transaction.atomic
def assignment_draft_save(
    *,
    assignment_id: int,
    annotator: User,
    draft: Draft,
    page_id: uuid.UUID,
    base_revision: int,
) -> int:
    """Store the task page's work in progress; returns the draft's new revision.

    `base_revision` is the revision the page last loaded or saved. A page that missed
    a newer save from another page gets DraftConflict and changes nothing; a page may
    always overwrite its own saves (one whose answer was lost resends with the old
    revision). A draft is never an annotation: only annotation_submit stores one, and
    closing the task clears the draft. Raises SubmissionError for a closed task or a
    draft that does not fit it, NotAMember when the annotator left the project.
    """
    assignment = _lock_own_assignment(assignment_id, annotator)
    _require_member(assignment, annotator)
    _require_open(assignment)
    saved_by = (assignment.draft or {}).get("page")
    if base_revision != assignment.draft_revision and saved_by != str(page_id):
        raise DraftConflict(assignment.draft_revision)
    errors = _draft_errors(assignment, draft)
    if errors:
        raise SubmissionError(errors)
    assignment.draft = {
        "page": str(page_id),
        "ranking": draft.buckets,
        "likert": {str(cid): value for cid, value in draft.likert.items()},
        "flags": {str(cid): sorted(set(keys)) for cid, keys in draft.flags.items()},
        "flags_no": {
            str(cid): sorted(set(keys)) for cid, keys in draft.flags_no.items()
        },
        "prompt_flags": sorted(set(draft.prompt_flags)),
        "prompt_flags_no": sorted(set(draft.prompt_flags_no)),
        "notes": clean_text(draft.notes),
    }
    assignment.draft_revision += 1
    assignment.save(update_fields=["draft", "draft_revision"])
    return assignment.draft_revision


@transaction.atomic
def ranking_expand(*, annotation: Annotation) -> list[Comparison]:
    """(Re)build the annotation's comparisons from its stored judgements."""
    project = Project.objects.get(prompts__assignments__annotation=annotation)
    judgements = list(annotation.judgements.all())
    ranks = {j.candidate_id: j.rank for j in judgements}
    likert = {j.candidate_id: j.likert for j in judgements}
    annotation.comparisons.all().delete()
    return _comparisons_create(annotation, ranks, likert, keep_ties=project.keep_ties)


def _comparisons_create(
    annotation: Annotation,
    ranks: dict[int, int],
    likert: dict[int, int],
    *,
    keep_ties: bool,
) -> list[Comparison]:
    return Comparison.objects.bulk_create(
        comparisons_of(annotation, ranks, likert, keep_ties=keep_ties)
    )


def comparisons_of(
    annotation: Annotation,
    ranks: Mapping[int, int],
    likert: Mapping[int, int],
    *,
    keep_ties: bool,
) -> list[Comparison]:
    """The annotation's comparisons, unsaved: its ranking expanded into pairs (the
    rule of annotate.ranking), for a submit and a bulk import alike."""
    return [
        Comparison(
            annotation=annotation,
            chosen_id=pair.chosen,
            rejected_id=pair.rejected,
            is_tie=pair.is_tie,
            weight=pair.weight,
            rank_gap=pair.rank_gap,
            likert_gap=pair.likert_gap,
        )
        for pair in expand_ranking(ranks, likert, keep_ties=keep_ties)
    ]


@transaction.atomic
def membership_set(*, project: Project, user: User, role: str) -> Membership:
    """Give the user this role in the project (idempotent)."""
    membership, _ = Membership.objects.update_or_create(
        project=project, user=user, defaults={"role": role}
    )
    return membership


@transaction.atomic
def membership_remove(*, project: Project, user: User) -> int:
    """Take the user out of the project; returns how many open tasks went back.

    What they submitted or skipped stays: it is the project's data, and exports keep
    crediting it to their pseudonym. Their open tasks are deleted, so the prompts go
    back to the pool for other annotators (nothing was judged on them yet). Removing
    someone who is not a member changes nothing.
    """
    Membership.objects.filter(project=project, user=user).delete()
    open_tasks = Assignment.objects.filter(
        annotator=user, prompt__project=project, status=Assignment.Status.OPEN
    )
    _, deleted = open_tasks.delete()
    return deleted.get(Assignment._meta.label, 0)


class ReviewError(ValueError):
    """A review or gold marking that cannot be stored; the message says why."""


def _require_lead(user: User, project: Project) -> None:
    if not user_leads(user=user, project=project):
        raise PermissionDenied(f"Only a lead of project {project.slug} may do this.")


@transaction.atomic
def gold_ranking_set(
    *,
    prompt: Prompt,
    ranks: Mapping[int, int],
    set_by: User,
    from_annotation: Annotation | None = None,
) -> GoldRanking:
    """Make `ranks` (output id → rank, 1 = best) the prompt's gold reference.

    Replaces any earlier reference; gold accuracy is recomputed from it on the next
    report. Raises ReviewError unless every output of the prompt is ranked, with at
    least two different ranks; PermissionDenied unless `set_by` leads the project.
    """
    _require_lead(set_by, prompt.project)
    try:
        checked = gold_ranks({str(output): rank for output, rank in ranks.items()})
    except ValueError as error:
        raise ReviewError(f"ranks: {error}") from error
    outputs = set(prompt.candidates.values_list("id", flat=True))
    if set(checked) != outputs:
        raise ReviewError(
            f"ranks: rank every output of prompt {prompt.pk} (ids {sorted(outputs)}) "
            f"and no other; got {sorted(checked)}."
        )
    gold, _ = GoldRanking.objects.update_or_create(
        prompt=prompt,
        defaults={
            "ranks": {str(output): rank for output, rank in sorted(checked.items())},
            "from_annotation": from_annotation,
            "created_by": set_by,
        },
    )
    return gold


@transaction.atomic
def gold_ranking_from_annotation(
    *, annotation: Annotation, set_by: User
) -> GoldRanking:
    """Take a submitted ranking as its prompt's gold reference (gold_ranking_set)."""
    if annotation.skipped:
        raise ReviewError(
            f"annotation: {annotation.pk} is a skip; it holds no ranking to use "
            "as gold."
        )
    ranks = dict(annotation.judgements.values_list("candidate_id", "rank"))
    return gold_ranking_set(
        prompt=annotation.assignment.prompt,
        ranks=ranks,
        set_by=set_by,
        from_annotation=annotation,
    )


@transaction.atomic
def annotation_review(
    *, annotation: Annotation, reviewer: User, verdict: str, comment: str = ""
) -> Annotation:
    """Approve or reject an annotation; a later review replaces an earlier one.

    Rejected work leaves exports and the snapshots of rounds launched afterwards
    (rounds already launched keep their frozen data). A rejection needs a comment:
    the annotator reads it on their own page. Raises ReviewError for an unknown
    verdict or a rejection without a comment, PermissionDenied unless the reviewer
    leads the project.
    """
    _require_lead(reviewer, annotation.assignment.prompt.project)
    comment = clean_text(comment).strip()
    if verdict not in (Annotation.Review.APPROVED, Annotation.Review.REJECTED):
        raise ReviewError(
            f"verdict: expected {Annotation.Review.APPROVED!s} or "
            f"{Annotation.Review.REJECTED!s}, got {verdict!r}."
        )
    if verdict == Annotation.Review.REJECTED and not comment:
        raise ReviewError(
            "comment: say why the work is rejected; the annotator will read it."
        )
    annotation.review = verdict
    annotation.review_comment = comment
    annotation.reviewed_by = reviewer
    annotation.reviewed_at = timezone.now()
    annotation.save(
        update_fields=["review", "review_comment", "reviewed_by", "reviewed_at"]
    )
    return annotation
