"""Rounds: launch, cancel, relaunch, job hand-offs, promotion; all writes go here.

Views, admin actions, API endpoints, commands and Celery tasks call these and hold no
logic of their own. Every write is one transaction; jobs are queued on commit, so a
rolled-back launch never leaves a message on the queue.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

from celery import current_app
from django.conf import settings
from django.contrib.auth.models import User
from django.db import transaction
from django.db.models import Max
from django.utils import timezone

from annotate.limits import TextTooLong
from annotate.models import Annotation, Comparison, Judgement, Project, Prompt
from annotate.quality.selection import (
    Judged,
    QualityOptions,
    Weighting,
    select_rankings,
    untied_pairs,
)
from annotate.quality.selectors import annotator_trust
from annotate.services import prompt_create
from training.capacity import capacity_problems
from training.core.reward_config import RewardConfig
from training.hyperparameters import (
    LaunchConfig,
    SettingsError,
    policy_config_class,
    round_chat_template,
    validate_generation_settings,
    validate_settings,
)
from training.models import (
    DataSnapshot,
    EvaluationSet,
    ModelVersion,
    Promotion,
    Round,
    TrainingRun,
)
from training.rounds import (
    ACTIVE_STATES,
    JOB_OF_STATE,
    STATE_OF_JOB,
    IllegalTransition,
    check_transition,
    next_state,
)

log = logging.getLogger(__name__)

# Below this the reward model has nothing to hold out and nothing to learn from.
MIN_RANKINGS = 4
MIN_COMPARISONS = 10
# Enough prompts for a stable mean of the judge's scores, few enough to sample each
# policy of the lineage on them after every round.
EVALUATION_PROMPTS = 16
MAX_EVALUATION_PROMPTS = 64  # a lead's own choice may be larger
JOB_TASK = "training.run_job"
JOB_QUEUE = "gpu"


class EvaluationSetRefused(ValueError):
    """A lead's choice of evaluation prompts cannot be held out (the message: why)."""


class LaunchRefused(ValueError):
    """The round cannot start; `reasons` maps each field to why."""

    def __init__(self, reasons: Mapping[str, str]):
        self.reasons = dict(reasons)
        super().__init__(" ".join(self.reasons.values()))


@dataclass(frozen=True)
class LaunchRequest:
    """What a lead chooses when launching a round (defaults everywhere else)."""

    algorithm: str = Round.Algorithm.DPO
    policy_settings: Mapping[str, Any] = field(default_factory=dict)
    reward_settings: Mapping[str, Any] = field(default_factory=dict)
    generation_settings: Mapping[str, Any] = field(default_factory=dict)
    launch_settings: Mapping[str, Any] = field(default_factory=dict)
    # Which rankings train and with what weight: QualityOptions' fields.
    data_settings: Mapping[str, Any] = field(default_factory=dict)
    prompt_ids: Sequence[int] | None = None  # None: every prompt with no outputs yet
    new_prompts: Sequence[str] = ()
    base_policy: ModelVersion | None = None


# Where queued jobs go instead of the broker while `jobs_kept_in` is active.
_job_sink: ContextVar[Callable[[int], None] | None] = ContextVar(
    "job_sink", default=None
)


@contextmanager
def jobs_kept_in(sink: Callable[[int], None]) -> Iterator[None]:
    """Hand queued job ids to `sink` instead of the broker (jobs run in-process)."""
    token = _job_sink.set(sink)
    try:
        yield
    finally:
        _job_sink.reset(token)


def dispatch_job(run_id: int) -> None:
    """Put a job on the `gpu` queue (by task name: services never import tasks)."""
    sink = _job_sink.get()
    if sink is not None:
        sink(run_id)
        return
    result = current_app.send_task(JOB_TASK, args=[run_id], queue=JOB_QUEUE)
    TrainingRun.objects.filter(pk=run_id).update(task_id=result.id or "")


# --- reading ------------------------------------------------------------------------


def rankings_for_training(project: Project) -> Any:
    """Annotations that are rankings: not skipped, not rejected in review, judged."""
    return (
        Annotation.objects.filter(assignment__prompt__project=project, skipped=False)
        .exclude(review=Annotation.Review.REJECTED)
        .filter(judgements__isnull=False)
        .distinct()
        .order_by("id")
    )


@dataclass(frozen=True)
class TrainingData:
    """The rankings a round launched now would freeze, and their untied pairs."""

    annotation_ids: list[int]  # every annotation used, folded ones included
    comparison_count: int
    ranking_count: int  # rankings the trainer reads: annotations, or consensuses
    details: dict[str, Any]  # the snapshot's "data" details (selection_details)


def training_data(
    project: Project, options: QualityOptions | None = None
) -> TrainingData:
    """The project's trainable rankings after the quality options (module doc)."""
    options = options or QualityOptions()
    annotations = rankings_for_training(project)
    if options.is_default:  # every annotation as it is: no judgement to read
        ids = list(annotations.values_list("id", flat=True))
        comparisons = Comparison.objects.filter(annotation_id__in=ids, is_tie=False)
        count = comparisons.count()
        details = selection_details(options) | {"annotations": len(ids)}
        return TrainingData(ids, count, len(ids), details)
    trust = annotator_trust(project=project) if options.needs_trust else {}
    selection = select_rankings(judged_rankings(annotations, trust), options)
    details = selection_details(options, trust=trust) | {
        "annotations": len(selection.annotation_ids),
        "left_out": dict(selection.left_out),
        "weights": selection.weight_summary(),
    }
    return TrainingData(
        annotation_ids=selection.annotation_ids,
        comparison_count=sum(untied_pairs(r.ranks) for r in selection.rankings),
        ranking_count=len(selection.rankings),
        details=details,
    )


def selection_details(
    options: QualityOptions, *, trust: Mapping[int, float | None] | None = None
) -> dict[str, Any]:
    """What a snapshot records of its selection; `trust` is frozen when it weighs.

    write_snapshot weighs the rankings by the frozen trust, so the file matches the
    counts taken at launch however the annotators' trust moves afterwards.
    """
    details: dict[str, Any] = {
        "settings": options.summary(),
        "left_out": {},
        "weights": None,
    }
    if options.weighting != Weighting.NONE and trust is not None:
        details["trust"] = {str(user): value for user, value in trust.items()}
    return details


def judged_rankings(
    annotations: Any, trust: Mapping[int, float | None]
) -> list[Judged]:
    """The annotations' rankings with their annotators' trust (None: no figure)."""
    rows = Judgement.objects.filter(annotation__in=annotations).values_list(
        "annotation_id",
        "annotation__assignment__prompt_id",
        "annotation__assignment__annotator_id",
        "candidate_id",
        "rank",
    )
    ranks: dict[int, dict[int, int]] = {}
    owners: dict[int, tuple[int, int | None]] = {}
    for annotation, prompt, annotator, candidate, rank in rows:
        ranks.setdefault(annotation, {})[candidate] = rank
        owners[annotation] = (prompt, annotator)
    return [
        Judged(
            annotation=pk,
            prompt=prompt,
            trust=trust.get(annotator) if annotator is not None else None,
            ranks=ranks[pk],
        )
        for pk, (prompt, annotator) in owners.items()
    ]


def launch_blockers(
    project: Project, data: TrainingData | None = None
) -> dict[str, str]:
    """Why a round cannot be launched now (empty when it can)."""
    reasons: dict[str, str] = {}
    active = Round.objects.filter(project=project, state__in=ACTIVE_STATES).first()
    if active is not None:
        reasons["round"] = (
            f"Round {active.number} is still {active.get_state_display().lower()}; "
            "wait for it to finish or cancel it."
        )
    data = data or training_data(project)
    n_rankings, n_comparisons = data.ranking_count, data.comparison_count
    if n_rankings < MIN_RANKINGS or n_comparisons < MIN_COMPARISONS:
        reasons["data"] = (
            f"Not enough data: {n_rankings} rankings and {n_comparisons} comparisons; "
            f"a round needs at least {MIN_RANKINGS} rankings and "
            f"{MIN_COMPARISONS} comparisons."
            + _left_out_note(data.details.get("left_out", {}))
        )
    held_out = EvaluationSet.objects.filter(project=project).first()
    if held_out is not None:
        problem = evaluation_prompts_problem(
            project=project, prompt_ids=held_out.prompt_ids
        )
        if problem:
            reasons["evaluation_set"] = (
                f"The evaluation set no longer holds out its prompts: {problem} "
                "Choose another evaluation set in the admin."
            )
    return reasons


def _left_out_note(left_out: Mapping[str, int]) -> str:
    if not left_out:
        return ""
    reasons = "; ".join(f"{count} {reason}" for reason, count in left_out.items())
    return f" The data settings left out annotations: {reasons}."


def fresh_prompts(project: Project) -> Any:
    """Prompts with no outputs yet, bar the held-out ones: where candidates go."""
    held_out = EvaluationSet.objects.filter(project=project).first()
    return (
        Prompt.objects.filter(project=project, candidates__isnull=True)
        .exclude(id__in=held_out.prompt_ids if held_out else [])
        .order_by("id")
    )


@transaction.atomic
def evaluation_set_for(
    *, project: Project, reserved: Sequence[int] = ()
) -> EvaluationSet | None:
    """The project's evaluation set, frozen now if it has none and prompts allow.

    Freezing holds out every second prompt that has no outputs and no round to
    write them (up to EVALUATION_PROMPTS, so the rest still go to annotators);
    `reserved` prompts are spoken for by a round being launched. None when no
    prompt can be held out yet.
    """
    Project.objects.select_for_update().get(pk=project.pk)
    existing = EvaluationSet.objects.filter(project=project).first()
    if existing is not None:
        return existing
    spoken_for = _awaiting_outputs(project) | set(reserved)
    eligible = (
        Prompt.objects.filter(project=project, candidates__isnull=True)
        .exclude(id__in=spoken_for)
        .order_by("id")
        .values_list("id", flat=True)
    )
    held_out = list(eligible)[1::2][:EVALUATION_PROMPTS]
    if not held_out:
        return None
    return EvaluationSet.objects.create(project=project, prompt_ids=held_out)


@transaction.atomic
def evaluation_set_choose(
    *, project: Project, prompt_ids: Sequence[int], chosen_by: User | None = None
) -> EvaluationSet:
    """Hold out the prompts a lead chose; EvaluationSetRefused says why not."""
    Project.objects.select_for_update().get(pk=project.pk)
    problem = evaluation_prompts_problem(project=project, prompt_ids=prompt_ids)
    if problem:
        raise EvaluationSetRefused(problem)
    chosen, _ = EvaluationSet.objects.update_or_create(
        project=project,
        defaults={
            "prompt_ids": sorted(set(prompt_ids)),
            "chosen_by": chosen_by,
            "frozen_at": timezone.now(),
        },
    )
    return chosen


def evaluation_prompts_problem(*, project: Project, prompt_ids: Sequence[int]) -> str:
    """Why these prompts cannot be the project's evaluation set ("" when they can)."""
    ids = set(prompt_ids)
    if not 1 <= len(ids) <= MAX_EVALUATION_PROMPTS:
        return (
            f"Choose 1 to {MAX_EVALUATION_PROMPTS} evaluation prompts; "
            f"{len(ids)} chosen."
        )
    prompts = Prompt.objects.filter(project=project, id__in=ids)
    foreign = ids - set(prompts.values_list("id", flat=True))
    if foreign:
        return f"Prompts {sorted(foreign)} are not prompts of project {project.slug}."
    with_outputs = set(
        prompts.filter(candidates__isnull=False).values_list("id", flat=True)
    )
    if with_outputs:
        return (
            f"Prompts {sorted(with_outputs)} have outputs: annotators would rank them "
            "and rounds would train on them. Hold out prompts without outputs."
        )
    taken = ids & _awaiting_outputs(project)
    if taken:
        return (
            f"Prompts {sorted(taken)} are to get outputs from a round that has not "
            "finished; hold out other prompts."
        )
    return ""


def _awaiting_outputs(project: Project) -> set[int]:
    """Prompts of rounds that may still generate (running, or failed: relaunchable)."""
    unfinished = Round.objects.filter(project=project).exclude(
        state__in=(Round.State.DONE, Round.State.CANCELLED)
    )
    return set().union(*unfinished.values_list("prompt_ids", flat=True))


def current_policy(project: Project) -> ModelVersion | None:
    """The policy the next round starts from: the latest promoted or produced."""
    promotion = Promotion.objects.filter(project=project).order_by("-id").first()
    finished = (
        Round.objects.filter(project=project, state=Round.State.DONE)
        .exclude(policy=None)
        .order_by("-finished_at")
        .first()
    )
    if promotion is None:
        return finished.policy if finished is not None else None
    if finished is not None and finished.finished_at is not None:
        newer = finished.finished_at > promotion.created_at
        return finished.policy if newer else promotion.model_version
    return promotion.model_version


def project_folder(project: Project) -> Path:
    return Path(settings.RANKWISE_MODELS_DIR) / "projects" / project.slug


def tiny_base_path(project: Project) -> Path:
    """The project's copy of the embedded default model (see steps.ensure_model)."""
    return project_folder(project) / "base-default"


def round_folder(round_: Round) -> Path:
    return project_folder(round_.project) / f"round-{round_.number}"


# --- writing ------------------------------------------------------------------------


@transaction.atomic
def base_policy_version(project: Project) -> ModelVersion:
    """The project's starting policy: RANKWISE_POLICY_MODEL, else the default model."""
    path = settings.RANKWISE_POLICY_MODEL or str(tiny_base_path(project))
    name = "base: " + (settings.RANKWISE_POLICY_MODEL or "embedded default model")
    version, _ = ModelVersion.objects.get_or_create(
        project=project,
        kind=ModelVersion.Kind.POLICY,
        path=path,
        round=None,
        defaults={"name": name},
    )
    return version


@transaction.atomic
def round_launch(
    *, project: Project, request: LaunchRequest, launched_by: User | None = None
) -> Round:
    """Freeze the data, create the round and queue its first job; or LaunchRefused."""
    Project.objects.select_for_update().get(pk=project.pk)
    reasons: dict[str, str] = {}
    settings_by_group = _validated_settings(request, project, reasons)
    # The data settings shape the snapshot, not a job: they are kept in its details.
    data_options = QualityOptions(**settings_by_group.pop("data_settings", {}))
    data = training_data(project, data_options)
    reasons.update(launch_blockers(project, data))
    if request.algorithm not in Round.Algorithm.values:
        reasons["algorithm"] = (
            f"Unknown algorithm {request.algorithm!r}; expected one of "
            f"{', '.join(Round.Algorithm.values)}."
        )
    if request.base_policy is not None and (
        request.base_policy.project_id != project.pk
        or request.base_policy.kind != ModelVersion.Kind.POLICY
    ):
        reasons["base_policy"] = "The base policy must be a policy of this project."
    prompt_ids = _next_prompts(project, request, reasons)
    base_policy = (
        request.base_policy or current_policy(project) or base_policy_version(project)
    )
    if not reasons:
        reasons.update(
            capacity_problems(
                algorithm=request.algorithm,
                settings_by_group=settings_by_group,
                model=base_policy.path,
                annotation_ids=data.annotation_ids,
            )
        )
    if reasons:
        raise LaunchRefused(reasons)
    snapshot = DataSnapshot.objects.create(
        project=project,
        annotation_ids=data.annotation_ids,
        ranking_count=data.ranking_count,
        comparison_count=data.comparison_count,
        path="",
        details={"data": data.details},
    )
    number = (project.rounds.aggregate(n=Max("number"))["n"] or 0) + 1
    round_ = Round.objects.create(
        project=project,
        number=number,
        algorithm=request.algorithm,
        base_policy=base_policy,
        snapshot=snapshot,
        prompt_ids=prompt_ids,
        launched_by=launched_by,
        **settings_by_group,
    )
    snapshot.path = str(round_folder(round_) / "data" / "rankings.jsonl")
    snapshot.save(update_fields=["path"])
    _move(round_, Round.State.TRAINING_REWARD)
    return round_


@transaction.atomic
def round_cancel(*, round_: Round) -> Round:
    """Stop a round: at once when no job runs, else at the job's next step."""
    round_ = Round.objects.select_for_update().get(pk=round_.pk)
    if round_.state not in ACTIVE_STATES and round_.state != Round.State.FAILED:
        raise IllegalTransition(
            f"Round {round_.number} is {round_.state}; there is nothing to cancel."
        )
    round_.cancel_requested = True
    round_.save(update_fields=["cancel_requested"])
    if not round_.runs.filter(status=TrainingRun.Status.RUNNING).exists():
        round_.runs.filter(status=TrainingRun.Status.QUEUED).update(
            status=TrainingRun.Status.CANCELLED,
            finished_at=timezone.now(),
            error="Cancelled before it started.",
        )
        _move(round_, Round.State.CANCELLED)
    return round_


@transaction.atomic
def round_relaunch(*, round_: Round) -> Round:
    """Resume a failed round at the step that failed, from its last checkpoint."""
    runs_reap_stale()
    round_ = Round.objects.select_for_update().get(pk=round_.pk)
    if round_.state != Round.State.FAILED:
        raise IllegalTransition(
            f"Only a failed round can be relaunched; round {round_.number} is "
            f"{round_.state}."
        )
    other = (
        Round.objects.filter(project=round_.project, state__in=ACTIVE_STATES)
        .exclude(pk=round_.pk)
        .first()
    )
    if other is not None:
        raise IllegalTransition(
            f"Round {other.number} is running; relaunch when it has finished."
        )
    round_.error = ""
    round_.cancel_requested = False
    round_.save(update_fields=["error", "cancel_requested"])
    _move(round_, round_.failed_state)
    return round_


@transaction.atomic
def job_finished(
    run: TrainingRun,
    status: str,
    *,
    error: str = "",
    result: Mapping[str, Any] | None = None,
) -> None:
    """Record a job's end and move its round on (next job, done, failed, cancelled).

    Does nothing when the run is no longer running: a job reaped as stale that later
    finishes cannot overwrite the verdict.
    """
    run = TrainingRun.objects.select_for_update().get(pk=run.pk)
    round_ = Round.objects.select_for_update().get(pk=run.round_id)
    if run.status != TrainingRun.Status.RUNNING:
        return
    run.status = status
    run.finished_at = timezone.now()
    run.error = error
    run.result = dict(result or {})
    if status == TrainingRun.Status.SUCCEEDED:
        run.progress = 1.0
    run.save()
    if round_.state != STATE_OF_JOB[run.kind]:
        log.warning("run %s finished but its round is %s", run.pk, round_.state)
        return
    if status == TrainingRun.Status.SUCCEEDED:
        _move(round_, next_state(round_.state))
    elif status == TrainingRun.Status.CANCELLED:
        _move(round_, Round.State.CANCELLED)
    else:
        round_.failed_state = round_.state
        round_.error = error.splitlines()[0] if error else "The job failed."
        round_.save(update_fields=["failed_state", "error"])
        _move(round_, Round.State.FAILED)


def stale_before() -> Any:
    """Heartbeats older than this mean the job's worker is gone."""
    return timezone.now() - timedelta(seconds=settings.RANKWISE_RUN_STALE_AFTER_SECONDS)


def runs_reap_stale() -> int:
    """Mark running jobs whose heartbeat went silent as failed; how many were."""
    reaped = 0
    for run in TrainingRun.objects.filter(
        status=TrainingRun.Status.RUNNING, heartbeat_at__lt=stale_before()
    ):
        with transaction.atomic():
            locked = TrainingRun.objects.select_for_update().get(pk=run.pk)
            beat = locked.heartbeat_at
            if locked.status != TrainingRun.Status.RUNNING or beat is None:
                continue
            if beat >= stale_before():
                continue  # it beat again meanwhile
            silent = (timezone.now() - beat).total_seconds()
            job_finished(
                locked,
                TrainingRun.Status.FAILED,
                error=(
                    f"Worker {locked.worker or '?'} stopped responding: no heartbeat "
                    f"for {silent:.0f} s (since {beat:%H:%M:%S} UTC). Relaunch the "
                    "round to resume from its last checkpoint."
                ),
            )
            reaped += 1
    return reaped


def runs_fail_for_worker(worker: str) -> int:
    """A restarted worker's unfinished jobs died with its previous process."""
    reaped = 0
    for run in TrainingRun.objects.filter(
        status=TrainingRun.Status.RUNNING, worker=worker
    ):
        job_finished(
            run,
            TrainingRun.Status.FAILED,
            error=(
                f"Worker {worker} restarted while this job ran. Relaunch the round "
                "to resume from its last checkpoint."
            ),
        )
        reaped += 1
    return reaped


@transaction.atomic
def model_version_promote(
    *, version: ModelVersion, promoted_by: User | None = None, reason: str = ""
) -> Promotion:
    """Make `version` the policy the next round starts from."""
    if version.kind != ModelVersion.Kind.POLICY:
        raise ValueError(f"{version} is a reward model; only policies are promoted.")
    return Promotion.objects.create(
        project=version.project,
        model_version=version,
        promoted_by=promoted_by,
        reason=reason[:200],
    )


@transaction.atomic
def model_version_rollback(
    *, project: Project, promoted_by: User | None = None
) -> Promotion:
    """Go back to the policy the current one was trained from."""
    current = current_policy(project)
    if current is None or current.parent is None:
        raise ValueError(
            f"Project {project.slug} has no earlier policy to roll back to."
        )
    return model_version_promote(
        version=current.parent,
        promoted_by=promoted_by,
        reason=f"rollback from {current.name}",
    )


# --- helpers ------------------------------------------------------------------------


def _move(round_: Round, target: str) -> None:
    """Change state (checked), stamping the end or queueing the state's job."""
    check_transition(round_.state, target, failed_state=round_.failed_state)
    round_.state = target
    if target in (Round.State.DONE, Round.State.CANCELLED):
        round_.finished_at = timezone.now()
    round_.save(update_fields=["state", "finished_at"])
    job = JOB_OF_STATE.get(target)
    if job is not None:
        _queue_job(round_, job)


def _queue_job(round_: Round, kind: str) -> TrainingRun:
    last = round_.runs.filter(kind=kind).aggregate(n=Max("attempt"))["n"] or 0
    run = TrainingRun.objects.create(
        round=round_,
        kind=kind,
        attempt=last + 1,
        out_dir=str(round_folder(round_) / kind),
    )
    transaction.on_commit(lambda: dispatch_job(run.pk))
    return run


def _validated_settings(
    request: LaunchRequest, project: Project, reasons: dict[str, str]
) -> dict[str, dict[str, Any]]:
    groups: dict[str, tuple[type, Mapping[str, Any]]] = {
        "reward_settings": (RewardConfig, request.reward_settings),
        "launch_settings": (LaunchConfig, request.launch_settings),
        "data_settings": (QualityOptions, request.data_settings),
    }
    if request.algorithm in Round.Algorithm.values:
        groups["policy_settings"] = (
            policy_config_class(request.algorithm),
            request.policy_settings,
        )
    clean: dict[str, dict[str, Any]] = {}
    for prefix, (config_class, values) in groups.items():
        try:
            clean[prefix] = validate_settings(config_class, values, prefix=prefix)
        except SettingsError as err:
            reasons.update(err.errors)
    try:
        clean["generation_settings"] = validate_generation_settings(
            request.generation_settings, prefix="generation_settings"
        )
    except SettingsError as err:
        reasons.update(err.errors)
    if "policy_settings" in clean and "reward_settings" in clean:
        rendering = round_chat_template(request.algorithm, clean["policy_settings"])
        reward = clean["reward_settings"].get(
            "chat_template", RewardConfig.chat_template
        )
        if reward != rendering:
            reasons["reward_settings.chat_template"] = (
                f"{reward!r} differs from the policy's {rendering!r}: the reward model "
                "scores the policy's replies, so both render prompts the same way."
            )
    k = clean.get("generation_settings", {}).get("k", default_k(project))
    if not project.min_k <= k <= project.max_k:
        reasons["generation_settings.k"] = (
            f"K={k} is outside this project's range {project.min_k}–{project.max_k}."
        )
    clean.setdefault("generation_settings", {})["k"] = k
    generation = clean["generation_settings"]
    previous = generation.get("previous_outputs", project.previous_outputs)
    if previous:  # recorded with the round, whatever the project says later
        generation["previous_outputs"] = previous
    if not 0 <= previous < k:
        reasons["generation_settings.previous_outputs"] = (
            f"{previous} of K={k}: from 0 up to K-1, so that the new policy writes "
            "at least one output of each prompt."
        )
    return clean


def default_k(project: Project) -> int:
    """Four outputs per prompt where the project allows it."""
    return min(max(4, project.min_k), project.max_k)


def _next_prompts(
    project: Project, request: LaunchRequest, reasons: dict[str, str]
) -> list[int]:
    # Held-out prompts are chosen before this round takes the fresh ones.
    held_out = evaluation_set_for(project=project, reserved=request.prompt_ids or ())
    new_ids = []
    for line, text in enumerate(request.new_prompts, start=1):
        if not text.strip():
            continue
        try:
            new_ids.append(prompt_create(project=project, text=text.strip())[0].pk)
        except TextTooLong as err:
            reasons["new_prompts"] = f"New prompt {line}: {err.messages[0]}"
    if request.prompt_ids is None:
        ids = set(fresh_prompts(project).values_list("id", flat=True))
    else:
        chosen = set(request.prompt_ids)
        usable = set(
            fresh_prompts(project).filter(id__in=chosen).values_list("id", flat=True)
        )
        evaluated = chosen & set(held_out.prompt_ids if held_out else [])
        if evaluated:
            reasons["prompts"] = (
                f"Prompts {sorted(evaluated)} are held out for evaluation; they "
                "never get outputs to annotate."
            )
        elif chosen - usable:
            reasons["prompts"] = (
                f"Prompts {sorted(chosen - usable)} are not prompts of this project "
                "without outputs; the next round's candidates need fresh prompts."
            )
        ids = usable | set(new_ids)
    if not ids and "prompts" not in reasons:
        reasons["prompts"] = (
            "No prompts for the next round: add new prompts or import prompts "
            "without outputs."
        )
    return sorted(ids)
