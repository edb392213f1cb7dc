"""Read paths of the training side: what the admin's round pages and plots show.

Nothing here writes, and nothing imports torch: the admin loads these at start-up.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.utils import timezone

from annotate.models import Project

# The one lead rule lives with the memberships it reads; the round admin asks it here.
from annotate.selectors import projects_led_by as projects_led_by
from annotate.selectors import user_leads as user_leads
from training.hyperparameters import job_processes
from training.models import ModelVersion, Round, TrainingRun
from training.rounds import ACTIVE_STATES, PIPELINE, STATE_OF_JOB

RL_ALGORITHMS = frozenset({Round.Algorithm.PPO, Round.Algorithm.RLOO})


# --- the live round page ------------------------------------------------------------


def round_status(*, round_: Round) -> dict[str, Any]:
    """Everything the live round page shows, as JSON-ready values."""
    round_ = Round.objects.select_related(
        "project", "snapshot", "reward_model", "policy", "base_policy"
    ).get(pk=round_.pk)
    runs = list(round_.runs.order_by("id"))
    history_points = sum(len(run.history) for run in runs)
    return {
        "round": _round_summary(round_),
        "steps": _steps(round_, runs),
        "runs": [_run_summary(run, round_) for run in runs],
        "log": _log_of(runs),
        "lineage": _lineage(round_),
        "evaluation": evaluation_summary(round_=round_),
        # A plot's image is fetched again only when what it draws has changed.
        "plot_versions": {
            "judge_score": round_.state,
            "win_rate": round_.state,
            "kl": round_.state,
            "reward_kl": f"{round_.state}-{history_points}",
            "reward_length": round_.state,
            "distinct": round_.state,
            "reward_accuracy": round_.state,
            "loss": f"{history_points}",
        },
    }


def _round_summary(round_: Round) -> dict[str, Any]:
    cancellable = round_.state in ACTIVE_STATES or round_.state == Round.State.FAILED
    return {
        "id": round_.pk,
        "number": round_.number,
        "project": round_.project.name,
        "algorithm": round_.get_algorithm_display(),
        "state": round_.state,
        "state_label": round_.get_state_display(),
        "error": round_.error,
        "cancel_requested": round_.cancel_requested,
        "can_cancel": cancellable and not round_.cancel_requested,
        "can_relaunch": round_.state == Round.State.FAILED,
        "finished_at": _clock(round_.finished_at),
    }


def _steps(round_: Round, runs: list[TrainingRun]) -> list[dict[str, str]]:
    """The pipeline as a stepper: each state done, current, failed, cancelled, to do."""
    stopped_at: str = round_.state
    if round_.state == Round.State.FAILED:
        stopped_at = round_.failed_state
    elif round_.state == Round.State.CANCELLED and runs:
        stopped_at = STATE_OF_JOB[runs[-1].kind]
    position = PIPELINE.index(stopped_at) if stopped_at in PIPELINE else 0
    steps = []
    for index, state in enumerate(PIPELINE):
        if round_.state == Round.State.DONE or index < position:
            status = "done"
        elif index > position:
            status = "todo"
        elif round_.state in (Round.State.FAILED, Round.State.CANCELLED):
            status = round_.state
        else:
            status = "current"
        steps.append(
            {"state": state, "label": Round.State(state).label, "status": status}
        )
    return steps


def _run_summary(run: TrainingRun, round_: Round) -> dict[str, Any]:
    seconds = None
    if run.started_at is not None:
        seconds = ((run.finished_at or timezone.now()) - run.started_at).total_seconds()
    return {
        "id": run.pk,
        "kind": run.kind,
        "label": run.get_kind_display(),
        "attempt": run.attempt,
        "status": run.status,
        "status_label": run.get_status_display(),
        "percent": round(100 * run.progress),
        "message": run.message,
        "worker": run.worker,
        "started_at": _clock(run.started_at),
        "finished_at": _clock(run.finished_at),
        "seconds": None if seconds is None else round(seconds),
        "resumed_from_step": run.resumed_from_step,
        "processes": _processes(run, round_),
        "error": run.error,
    }


def _processes(run: TrainingRun, round_: Round) -> int | None:
    """How many torchrun processes the run trains on; None: in the worker itself."""
    command = {
        TrainingRun.Kind.TRAIN_REWARD: "reward",
        TrainingRun.Kind.TRAIN_POLICY: round_.algorithm,
    }.get(TrainingRun.Kind(run.kind), "")
    processes = job_processes(command, round_.launch_settings)
    return processes if processes > 1 else None


def _log_of(runs: list[TrainingRun]) -> dict[str, str]:
    """The log tail of the run that is running (else queued, else the last one)."""
    by_preference = sorted(
        runs,
        key=lambda run: (
            run.status == TrainingRun.Status.RUNNING,
            run.is_active,
            run.pk,
        ),
    )
    if not by_preference:
        return {"run": "", "text": ""}
    run = by_preference[-1]
    return {"run": f"{run.get_kind_display()} #{run.attempt}", "text": run.log_tail}


def _lineage(round_: Round) -> dict[str, Any]:
    snapshot = round_.snapshot
    reward = round_.reward_model
    accuracy = _number(reward.metrics.get("eval_accuracy")) if reward else None
    return {
        "snapshot": str(snapshot) if snapshot else "",
        "data_selection": data_selection(snapshot.details) if snapshot else "",
        "base_policy": round_.base_policy.name,
        "reward_model": reward.name if reward else "",
        "reward_accuracy": accuracy,
        "policy": round_.policy.name if round_.policy else "",
        "candidates": round_.generated_candidates.count(),
    }


def data_selection(details: dict[str, Any]) -> str:
    """The snapshot's data settings in words: what they chose and left out."""
    data = details.get("data")
    if not data:
        return ""  # launched before data settings existed: every ranking, weight 1
    settings = data["settings"]
    minimum = settings["min_trust"]
    parts = [
        f"min trust {minimum}" if minimum is not None else "no minimum trust",
        f"weighting {settings['weighting']}",
        f"aggregate {settings['aggregate']}",
    ]
    text = ", ".join(parts) + f"; {data['annotations']} annotations used"
    left_out = data.get("left_out") or {}
    if left_out:
        text += "; left out: " + ", ".join(
            f"{count} ({reason})" for reason, count in left_out.items()
        )
    weights = data.get("weights")
    if weights:
        text += (
            f"; weights {weights['min']:.3f} to {weights['max']:.3f}, "
            f"mean {weights['mean']:.3f}"
        )
    return text


def _clock(moment: Any) -> str:
    return timezone.localtime(moment).strftime("%H:%M:%S") if moment else ""


def _number(value: object) -> float | None:
    is_number = isinstance(value, int | float) and not isinstance(value, bool)
    return float(value) if is_number else None  # type: ignore[arg-type]


# --- plot data ----------------------------------------------------------------------


@dataclass(frozen=True)
class Series:
    """One line of a plot: its label, its (x, y) points and optional point labels."""

    label: str
    x: list[float]
    y: list[float]
    labels: list[str] = field(default_factory=list)


def loss_series(*, round_: Round) -> list[Series]:
    """Training loss per step of each training run of the round (attempts continue)."""
    series = []
    training = (TrainingRun.Kind.TRAIN_REWARD, TrainingRun.Kind.TRAIN_POLICY)
    for run in round_.runs.filter(kind__in=training).order_by("id"):
        points = [p for p in run.history if _number(p.get("loss")) is not None]
        if not points:
            continue
        first = run.resumed_from_step or 0
        label = run.get_kind_display().removeprefix("Train ")
        if run.attempt > 1:
            label += f" (attempt {run.attempt})"
        steps = [float(first + i + 1) for i in range(len(points))]
        series.append(Series(label, steps, [float(p["loss"]) for p in points]))
    return series


def rl_reward_kl_series(*, round_: Round) -> list[Series]:
    """Per-step (KL, reward) of the round's PPO/RLOO policy runs."""
    if round_.algorithm not in RL_ALGORITHMS:
        return []
    series = []
    runs = round_.runs.filter(kind=TrainingRun.Kind.TRAIN_POLICY).order_by("id")
    for run in runs:
        points = [
            p
            for p in run.history
            if _number(p.get("kl")) is not None and _number(p.get("reward")) is not None
        ]
        if points:
            label = f"round {round_.number} steps (attempt {run.attempt})"
            kl = [float(p["kl"]) for p in points]
            series.append(Series(label, kl, [float(p["reward"]) for p in points]))
    return series


def reward_accuracy_series(*, project: Project) -> list[Series]:
    """Held-out accuracy of each round's reward model (x: round number)."""
    versions = ModelVersion.objects.filter(
        project=project, kind=ModelVersion.Kind.REWARD, round__isnull=False
    ).order_by("round__number")
    points = [
        (number, _number(metrics.get("eval_accuracy")))
        for number, metrics in versions.values_list("round__number", "metrics")
    ]
    kept = [(float(n), value) for n, value in points if value is not None]
    if not kept:
        return []
    return [Series("held-out accuracy", [n for n, _ in kept], [v for _, v in kept])]


def reward_length_points(*, round_: Round) -> Series | None:
    """(length, judge score) of each evaluation sample of the round's new policy."""
    points = round_.evaluation.get("points") or []
    kept = [
        p
        for p in points
        if _number(p.get("length")) is not None and _number(p.get("reward")) is not None
    ]
    if not kept:
        return None
    lengths = [float(p["length"]) for p in kept]
    return Series("samples", lengths, [float(p["reward"]) for p in kept])


# --- evaluation of the lineage ------------------------------------------------------

# (key in an evaluation row, column label, number format) of the live page's table.
EVALUATION_COLUMNS = (
    ("judge_score", "judge score", "{:+.3f}"),
    ("win_rate_vs_base", "win rate vs base", "{:.0%}"),
    ("win_rate_vs_parent", "win rate vs parent", "{:.0%}"),
    ("kl_to_base", "KL to base", "{:.3f}"),
    ("kl_to_parent", "KL to parent", "{:.3f}"),
    ("mean_length", "mean length", "{:.1f}"),
    ("distinct_1", "distinct-1", "{:.2f}"),
    ("distinct_2", "distinct-2", "{:.2f}"),
)
HEADLINE_METRICS = ("judge_score", "win_rate_vs_base", "kl_to_base")
# Below these, a figure moves more with which prompts were drawn than with the model:
# a win rate over 8 prompts x 2 samples has a standard error near 0.13, an accuracy
# over 30 pairs near 0.09.
MIN_EVALUATION_PROMPTS = 8
MIN_HELD_OUT_PAIRS = 30


def policy_lineage(*, version: ModelVersion) -> list[ModelVersion]:
    """`version` and the policies it was trained from, the root (base) first."""
    chain = [version]
    while chain[-1].parent_id is not None:
        parent_id = chain[-1].parent_id
        if any(v.pk == parent_id for v in chain):
            raise ValueError(f"Model version {parent_id} is its own ancestor.")
        chain.append(ModelVersion.objects.select_related("round").get(pk=parent_id))
    return chain[::-1]


def evaluation_rows(evaluation: dict[str, Any]) -> list[dict[str, Any]]:
    """One row per policy an evaluation scored (lineage root first, new one last)."""
    rows = evaluation.get("policies")
    return [row for row in rows if isinstance(row, dict)] if rows else []


def evaluation_summary(*, round_: Round) -> dict[str, Any]:
    """The round's evaluation as the live page's table: one row per policy."""
    evaluation = round_.evaluation
    judge = evaluation.get("judge") or {}
    prompts = len(evaluation.get("prompt_ids") or [])
    samples = int(evaluation.get("samples_per_prompt") or 0)
    warning = ""
    if judge and prompts < MIN_EVALUATION_PROMPTS:
        warning = (
            f"Only {prompts} held-out prompt{'s' if prompts != 1 else ''} × {samples} "
            f"samples: below {MIN_EVALUATION_PROMPTS} prompts these figures say more "
            "about the prompts drawn than about the policies. Hold out more prompts "
            "(Evaluation sets) before comparing rounds."
        )
    return {
        "note": evaluation.get("skipped", ""),
        "judge": judge.get("name", ""),
        "prompts": prompts,
        "samples_per_prompt": samples,
        "warning": warning,
        "columns": [label for _, label, _ in EVALUATION_COLUMNS],
        "rows": [
            {
                "round": f"R{row['round']}",
                "name": row["name"],
                "roles": ", ".join(row["roles"]),
                "values": _row_values(row),
            }
            for row in evaluation_rows(evaluation)
        ],
    }


def _row_values(row: dict[str, Any]) -> list[str]:
    return [_formatted(row.get(key), form) for key, _, form in EVALUATION_COLUMNS]


def lineage_series(
    *, evaluation: dict[str, Any], keys: tuple[str, ...]
) -> list[Series]:
    """One series per metric over the scored policies (x: the round that made one)."""
    rows = sorted(evaluation_rows(evaluation), key=lambda row: row["round"])
    series = []
    for key in keys:
        kept = [row for row in rows if _number(row.get(key)) is not None]
        if kept:
            series.append(
                Series(
                    key,
                    [float(row["round"]) for row in kept],
                    [float(row[key]) for row in kept],
                    [point_label(row) for row in kept],
                )
            )
    return series


def new_policy_row(*, round_: Round) -> dict[str, Any]:
    """The evaluation row of the round's new policy (empty before evaluation)."""
    rows = [r for r in evaluation_rows(round_.evaluation) if "new" in r["roles"]]
    return rows[-1] if rows else {}


def evaluation_comparing(*, left: ModelVersion, right: ModelVersion) -> Round | None:
    """The latest round whose judge scored both versions (else either of them)."""
    wanted = {left.pk, right.pk}
    fallback = None
    rounds = Round.objects.filter(project=left.project_id).exclude(evaluation={})
    for round_ in rounds.order_by("-number"):
        scored = {
            row["version"]
            for row in evaluation_rows(round_.evaluation)
            if row["sampling"] == "plain"
        }
        if wanted <= scored:
            return round_
        if fallback is None and wanted & scored:
            fallback = round_
    return fallback


def version_point_labels(
    *, evaluation: dict[str, Any], versions: list[ModelVersion]
) -> set[str]:
    """The plot labels of these versions' plain-sampling points."""
    wanted = {version.pk for version in versions}
    return {
        point_label(row)
        for row in evaluation_rows(evaluation)
        if row["version"] in wanted and row["sampling"] == "plain"
    }


def point_label(row: dict[str, Any]) -> str:
    """A point's label on the plots: R<round>, plus how it sampled if not plainly."""
    if row["sampling"] == "plain":
        return f"R{row['round']}"
    return f"R{row['round']} {row['sampling']}"


def _formatted(value: object, form: str) -> str:
    number = _number(value)
    return "—" if number is None else form.format(number)


# --- model versions -----------------------------------------------------------------


@dataclass(frozen=True)
class ComparisonRow:
    """One line of the side-by-side comparison of two model versions."""

    label: str
    left: str
    right: str

    @property
    def differs(self) -> bool:
        return self.left != self.right


def model_versions_compare(
    *, left: ModelVersion, right: ModelVersion
) -> list[ComparisonRow]:
    """Identity, lineage, one judge's scores and every other metric, row by row."""
    facts = [_version_facts(left), _version_facts(right)]
    # Each version's own-round evaluation had its own judge: the shared one replaces it.
    metrics = [
        _flat_metrics({k: v for k, v in version.metrics.items() if k != "evaluation"})
        for version in (left, right)
    ]
    rows = [
        ComparisonRow(label, facts[0][label], facts[1][label]) for label in facts[0]
    ]
    rows += _judged_rows(left, right)
    for key in sorted(set(metrics[0]) | set(metrics[1])):
        rows.append(
            ComparisonRow(key, metrics[0].get(key, "—"), metrics[1].get(key, "—"))
        )
    return rows


def _judged_rows(left: ModelVersion, right: ModelVersion) -> list[ComparisonRow]:
    """Both versions' evaluation rows under the latest judge that scored them."""
    round_ = evaluation_comparing(left=left, right=right)
    if round_ is None:
        return []
    by_version = {
        row["version"]: row
        for row in evaluation_rows(round_.evaluation)
        if row["sampling"] == "plain"
    }
    sides = [by_version.get(left.pk, {}), by_version.get(right.pk, {})]
    judge = (round_.evaluation.get("judge") or {}).get("name", "")
    rows = [ComparisonRow("evaluated by", judge, judge)]
    for key, label, form in EVALUATION_COLUMNS:
        left_value, right_value = (_formatted(side.get(key), form) for side in sides)
        rows.append(ComparisonRow(label, left_value, right_value))
    return rows


def _version_facts(version: ModelVersion) -> dict[str, str]:
    snapshot = version.snapshot
    return {
        "name": version.name,
        "kind": version.get_kind_display(),
        "project": str(version.project),
        "path": version.path,
        "parent": str(version.parent) if version.parent else "—",
        "round": f"round {version.round.number}" if version.round else "— (base)",
        "snapshot rankings": str(snapshot.ranking_count) if snapshot else "—",
        "snapshot comparisons": str(snapshot.comparison_count) if snapshot else "—",
        "created": timezone.localtime(version.created_at).strftime("%Y-%m-%d %H:%M"),
    }


def _flat_metrics(metrics: dict[str, Any], prefix: str = "") -> dict[str, str]:
    """Nested metrics as dotted keys (`evaluation.kl`), numbers to 4 significant."""
    flat: dict[str, str] = {}
    for key, value in metrics.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            flat.update(_flat_metrics(value, prefix=f"{name}."))
        elif isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
            flat[name] = str(int(value))  # a count stored as a float: 16, not 16.00
        elif isinstance(value, float):
            flat[name] = f"{value:.4g}"
        else:
            flat[name] = str(value)
    return flat


def key_metrics(version: ModelVersion) -> str:
    """The one or two figures that say how good a version is, for list pages."""
    metrics = version.metrics
    if version.kind == ModelVersion.Kind.REWARD:
        accuracy = _number(metrics.get("eval_accuracy"))
        pairs = int(_number(metrics.get("eval_pairs")) or 0)
        if accuracy is None or not pairs:
            return "no held-out pairs" if accuracy is not None else ""
        text = f"held-out accuracy {accuracy:.1%} on {pairs} pair{'s' * (pairs != 1)}"
        if pairs < MIN_HELD_OUT_PAIRS:
            text += f" (under {MIN_HELD_OUT_PAIRS}: too few to tell)"
        return text
    evaluation = metrics.get("evaluation") or {}
    parts = []
    for key, label, form in EVALUATION_COLUMNS:
        value = _number(evaluation.get(key))
        if key in HEADLINE_METRICS and value is not None:
            parts.append(f"{label} {form.format(value)}")
    return ", ".join(parts)
