"""Simulated rounds: annotators rank by a hidden rule; does each round's policy climb?

`manage.py simulate` is how a lead checks a set-up (algorithm, settings, model) before
paying annotators. Simulated annotators take tasks through the services the web and
the API use and rank each task's outputs by a hidden rule, with noise; rounds are
launched as a lead launches them and run on the workers (or in this process). Before
the first round and after each, the policy is sampled on held-out prompts that never
enter the project and scored by the same hidden rule, with the same seeds for every
policy, so a paired t-test over the prompts says whether a round moved it.
"""

from __future__ import annotations

import dataclasses
import json
import math
import random
import re
import statistics
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django.conf import settings
from django.contrib.auth.models import User
from django.db import transaction
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator
from tqdm import tqdm

from annotate.models import (
    LIKERT_MAX,
    LIKERT_MIN,
    Annotation,
    Assignment,
    Membership,
    Project,
)
from annotate.quality.selection import QualityOptions
from annotate.services import (
    Submission,
    annotation_submit,
    assignment_next,
    candidate_create,
    membership_set,
    prompt_create,
)
from training import services
from training.core.batching import encoding_fingerprint
from training.core.generate_config import GenerateConfig
from training.core.generation import Generation, generate
from training.core.models import load_policy
from training.core.recipe import resolve_device
from training.core.reward_config import RewardConfig
from training.hyperparameters import (
    GENERATION_FIELDS,
    LaunchConfig,
    SettingsError,
    policy_config_class,
    validate_generation_settings,
    validate_settings,
)
from training.jobs import run_execute
from training.models import ModelVersion, Round
from training.simulation_prompts import SIMULATION_PROMPTS
from training.steps import (
    EXTRA_SAMPLES,
    STEPS,
    SampledOutput,
    ensure_model,
    usable_outputs,
)

EVAL_PROMPTS = 16  # held-out prompts every policy is scored on
SPLIT_SEED = 9  # fixed, not --seed: every simulation holds out the same prompts
EVAL_SEED = 10_000  # held-out sampling seeds start here, apart from the outputs'
LENGTH_CAP_WORDS = 50  # longer is better up to here; beyond, rambling earns nothing
# A warm reply that speaks to the reader. The embedded model writes one of these in
# about half its replies (you, your most often), so rankings carry signal.
KEYWORDS = (
    "you",
    "your",
    "please",
    "thanks",
    "thank",
    "because",
    "sure",
    "glad",
    "happy",
    "help",
)
KEYWORD_CAP = 4  # occurrences counted; more is no better
LEAD = "sim-lead"
ANNOTATOR = "sim-annotator-{}"
SAMPLING = ("temperature", "top_p", "max_new_tokens")
INLINE_WORKER = "simulate-inline"


def length_score(text: str) -> float:
    """Words in the text, capped at LENGTH_CAP_WORDS, as a share of the cap."""
    return min(len(text.split()), LENGTH_CAP_WORDS) / LENGTH_CAP_WORDS


_KEYWORD = re.compile(r"\b(?:" + "|".join(KEYWORDS) + r")\b", re.IGNORECASE)


def keyword_score(text: str) -> float:
    """Target words (whole words, any case), capped at KEYWORD_CAP, as a share."""
    return min(len(_KEYWORD.findall(text)), KEYWORD_CAP) / KEYWORD_CAP


RULES: dict[str, Callable[[str], float]] = {
    "length": length_score,
    "keyword": keyword_score,
}


class SimulationError(ValueError):
    """The simulation cannot run; `errors` maps each option to what was expected."""

    def __init__(self, errors: Mapping[str, str]):
        self.errors = dict(errors)
        super().__init__("; ".join(f"{k}: {v}" for k, v in self.errors.items()))


@dataclass(frozen=True)
class SimulationConfig:
    """What `manage.py simulate` runs; the settings groups are a round's --set."""

    project: str
    rule: str
    rounds: int
    algorithm: str = Round.Algorithm.DPO
    annotators: int = 3
    overlap: int | None = None  # annotators per prompt; None: every one of them
    noise: float = 0.1
    prompts_per_round: int = 16
    eval_samples: int = 8
    seed: int = 0
    inline: bool = False
    out: Path | None = None
    policy_settings: Mapping[str, Any] = field(default_factory=dict)
    reward_settings: Mapping[str, Any] = field(default_factory=dict)
    generation_settings: Mapping[str, Any] = field(default_factory=dict)
    launch_settings: Mapping[str, Any] = field(default_factory=dict)
    data_settings: Mapping[str, Any] = field(default_factory=dict)

    @property
    def judges_per_prompt(self) -> int:
        return self.annotators if self.overlap is None else self.overlap


@dataclass(frozen=True)
class PromptSplit:
    """Held-out prompts, and batch 0 (base outputs) then one batch per round."""

    held_out: list[str]
    batches: list[list[str]]


@dataclass(frozen=True)
class SimulationResult:
    report: dict[str, Any]  # every figure; also written to `json_path`
    json_path: Path
    plot_path: Path


# --- the simulated annotator --------------------------------------------------------


def hidden_ranking(
    scores: Mapping[int, float],
    *,
    noise: float,
    rng: random.Random,
    allow_ties: bool = True,
) -> list[list[int]]:
    """Rank buckets, best first, by score; with probability `noise` two adjacent swap.

    Equal scores share a bucket (the rule prefers neither), or are put in a random
    order where the project allows no ties. The noise is one slip per annotation:
    a random pair of neighbouring buckets is exchanged.
    """
    levels = sorted(set(scores.values()), reverse=True)
    buckets = [sorted(c for c in scores if scores[c] == level) for level in levels]
    if not allow_ties:
        buckets = [[c] for bucket in buckets for c in rng.sample(bucket, len(bucket))]
    if rng.random() < noise and len(buckets) > 1:
        i = rng.randrange(len(buckets) - 1)
        buckets[i], buckets[i + 1] = buckets[i + 1], buckets[i]
    return buckets


def likert_from_ranking(buckets: Sequence[Sequence[int]], *, k: int) -> dict[int, int]:
    """Ratings spread evenly from 7 (first bucket) down to 1 (the K-th place)."""
    span = LIKERT_MAX - LIKERT_MIN
    return {
        candidate: LIKERT_MAX - round(span * place / max(k - 1, 1))
        for place, bucket in enumerate(buckets)
        for candidate in bucket
    }


def tasks_rank(
    *,
    project: Project,
    annotators: Sequence[User],
    score: Callable[[str], float],
    noise: float,
    rng: random.Random,
) -> int:
    """Annotators take turns until no task is left for any of them; how many done."""
    done = 0
    waiting = list(annotators)
    with tqdm(desc="annotating", unit="task") as bar:
        while waiting:
            for annotator in list(waiting):
                assignment = assignment_next(project=project, annotator=annotator)
                if assignment is None:
                    waiting.remove(annotator)
                    continue
                _submit(assignment, annotator, score, noise, rng)
                done += 1
                bar.update()
    return done


def _submit(
    assignment: Assignment,
    annotator: User,
    score: Callable[[str], float],
    noise: float,
    rng: random.Random,
) -> None:
    texts = dict(assignment.prompt.candidates.values_list("id", "text"))
    scores = {cid: score(texts[cid]) for cid in assignment.display_order}
    allow_ties = assignment.prompt.project.allow_ties
    buckets = hidden_ranking(scores, noise=noise, rng=rng, allow_ties=allow_ties)
    annotation_submit(
        assignment_id=assignment.pk,
        annotator=annotator,
        submission=Submission(
            client_id=uuid.uuid4(),
            buckets=buckets,
            likert=likert_from_ranking(buckets, k=len(scores)),
        ),
    )


# --- statistics ---------------------------------------------------------------------


def paired_t(differences: Sequence[float]) -> float:
    """Paired t statistic: mean(d) / (sd(d) / sqrt(n)), sd with n - 1."""
    mean = statistics.fmean(differences)
    sd = statistics.stdev(differences)
    if sd == 0:
        return 0.0 if mean == 0 else math.copysign(math.inf, mean)
    return mean / (sd / math.sqrt(len(differences)))


def score_rows(rows: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """Each row with its mean, standard error, and Δ and t against base and previous."""
    base = rows[0]["prompt_scores"]
    out = []
    for index, row in enumerate(rows):
        scores = row["prompt_scores"]
        sem = statistics.stdev(scores) / math.sqrt(len(scores))
        figures: dict[str, Any] = {"mean": statistics.fmean(scores), "sem": sem}
        for name, other in (("base", base), ("prev", rows[index - 1]["prompt_scores"])):
            d = [a - b for a, b in zip(scores, other, strict=True)]
            figures[f"delta_{name}"] = statistics.fmean(d) if index else None
            figures[f"t_{name}"] = _finite(paired_t(d)) if index else None
        out.append({**row, **figures})
    return out


def _finite(value: float) -> float | None:
    """JSON has no infinity: an infinite t (every prompt moved alike) is None."""
    return value if math.isfinite(value) else None


# --- prompts, project, outputs ------------------------------------------------------


def prompt_split(*, rounds: int, per_round: int) -> PromptSplit:
    """The pool in a fixed shuffled order: held-out first, then rounds + 1 batches."""
    pool = list(SIMULATION_PROMPTS)
    random.Random(SPLIT_SEED).shuffle(pool)
    held_out, rest = pool[:EVAL_PROMPTS], pool[EVAL_PROMPTS:]
    if per_round * (rounds + 1) > len(rest):
        raise SimulationError(
            {
                "prompts_per_round": (
                    f"{rounds} rounds at {per_round} prompts need "
                    f"{per_round * (rounds + 1)} prompts (one batch for the base "
                    f"outputs and one per round); the built-in pool has {len(rest)}"
                )
            }
        )
    batches = [rest[i * per_round : (i + 1) * per_round] for i in range(rounds + 1)]
    return PromptSplit(held_out, batches)


@transaction.atomic
def simulation_project(
    *, config: SimulationConfig, prompts: Sequence[str], held_out: Sequence[str]
) -> tuple[Project, User, list[User]]:
    """The project (new, or existing without prompts), its lead and annotators.

    The held-out prompts are the project's evaluation set, so the round pages judge
    every policy on the prompts the hidden rule scores; they never get outputs.
    """
    project, _ = Project.objects.get_or_create(
        slug=config.project,
        defaults={"name": f"Simulation: {config.rule} rule ({config.algorithm})"},
    )
    if project.prompts.exists():
        raise SimulationError(
            {
                "project": (
                    f"project {project.slug!r} already has prompts; a simulation "
                    "needs a project of its own (give a new slug)"
                )
            }
        )
    project.annotations_per_prompt = config.judges_per_prompt
    project.save(update_fields=["annotations_per_prompt"])
    lead = _simulated_user(project, LEAD, Membership.Role.LEAD)
    annotators = [
        _simulated_user(project, ANNOTATOR.format(n), Membership.Role.ANNOTATOR)
        for n in range(1, config.annotators + 1)
    ]
    for text in prompts:
        prompt_create(project=project, text=text, metadata={"simulation": "batch 0"})
    evaluation = [
        prompt_create(project=project, text=text, metadata={"simulation": "held out"})
        for text in held_out
    ]
    services.evaluation_set_choose(
        project=project, prompt_ids=[p.pk for p, _ in evaluation], chosen_by=lead
    )
    return project, lead, annotators


def _simulated_user(project: Project, username: str, role: str) -> User:
    """A user nobody can log in as, member of the project with `role`."""
    user, created = User.objects.get_or_create(username=username)
    if created:
        user.set_unusable_password()
        user.save(update_fields=["password"])
    membership_set(project=project, user=user, role=role)
    return user


def base_outputs_add(
    *, version: ModelVersion, generation: Mapping[str, Any], seed: int
) -> int:
    """K base-policy outputs per fresh prompt, kept as a round's are; how many added."""
    prompts = list(services.fresh_prompts(version.project))
    k = int(generation["k"])
    samples, fingerprint = policy_samples(
        ensure_model(version),
        [p.text for p in prompts],
        n=k + EXTRA_SAMPLES,  # spares for duplicates and blank outputs, as rounds do
        generation=generation,
        seed=seed,
        desc="base outputs",
    )
    sampling = {key: generation[key] for key in SAMPLING}
    added = 0
    with transaction.atomic():
        for prompt, generations in zip(prompts, samples, strict=True):
            outputs = [
                SampledOutput(g.text, g.token_ids, fingerprint) for g in generations
            ]
            for output in usable_outputs(outputs)[:k]:
                _, created = candidate_create(
                    prompt=prompt,
                    text=output.text,
                    source="base",
                    generation_settings=sampling,
                    token_ids=list(output.token_ids),
                    tokenizer=output.tokenizer,
                )
                added += created
    return added


def policy_samples(
    model_path: str,
    prompts: Sequence[str],
    *,
    n: int,
    generation: Mapping[str, Any],
    seed: int,
    desc: str,
) -> tuple[list[list[Generation]], str]:
    """`n` samples per prompt (prompt i: seed `seed + i`), and their ids' encoding."""
    model, tokenizer = load_policy(model_path, device=resolve_device("auto"))
    samples = []
    for index, prompt in enumerate(tqdm(prompts, desc=desc, unit="prompt")):
        [generations] = generate(
            model,
            tokenizer,
            [prompt],
            chat_template=generation["chat_template"],
            k=n,
            temperature=generation["temperature"],
            top_p=generation["top_p"],
            max_new_tokens=generation["max_new_tokens"],
            batch_size=generation["batch_size"],
            seed=seed + index,
            max_prompt_length=generation["max_prompt_length"],
        )
        samples.append(generations)
    rendering = generation["chat_template"]
    return samples, encoding_fingerprint(tokenizer, chat_template=rendering)


def hidden_scores(
    version: ModelVersion,
    prompts: Sequence[str],
    *,
    config: SimulationConfig,
    generation: Mapping[str, Any],
) -> list[float]:
    """Mean hidden score of the policy's samples, per held-out prompt."""
    samples, _ = policy_samples(
        ensure_model(version),
        prompts,
        n=config.eval_samples,
        generation=generation,
        seed=EVAL_SEED + config.seed,
        desc=f"scoring {version.name}",
    )
    rule = RULES[config.rule]
    return [
        statistics.fmean(rule(g.text) for g in generations) for generations in samples
    ]


# --- checks -------------------------------------------------------------------------


def config_checked(config: SimulationConfig) -> dict[str, dict[str, Any]]:
    """The settings groups validated as a launch would; SimulationError otherwise.

    Checked before anything is written, so a typo in --set fails in a second, not
    after the base outputs were sampled and ranked.
    """
    errors: dict[str, str] = {}
    if config.rule not in RULES:
        errors["rule"] = f"unknown rule {config.rule!r}; expected one of " + (
            ", ".join(RULES)
        )
    if config.rounds < 1:
        errors["rounds"] = f"{config.rounds} rounds; expected at least 1"
    if not 0.0 <= config.noise <= 1.0:
        errors["noise"] = f"{config.noise} is not a probability in [0, 1]"
    if config.annotators < 1:
        errors["annotators"] = f"{config.annotators}; expected at least 1"
    if not 1 <= config.judges_per_prompt <= max(config.annotators, 1):
        errors["overlap"] = (
            f"{config.overlap}; expected 1 to {config.annotators} (the annotators)"
        )
    for name in ("eval_samples", "prompts_per_round"):
        if getattr(config, name) < 1:
            errors[name] = f"{getattr(config, name)}; expected at least 1"
    if config.algorithm not in Round.Algorithm.values:
        errors["algorithm"] = (
            f"unknown algorithm {config.algorithm!r}; expected one of "
            f"{', '.join(Round.Algorithm.values)}"
        )
    groups = _settings_checked(config, errors)
    if errors:
        raise SimulationError(errors)
    return groups


def _settings_checked(
    config: SimulationConfig, errors: dict[str, str]
) -> dict[str, dict[str, Any]]:
    checks: list[tuple[str, type, Mapping[str, Any]]] = [
        ("reward", RewardConfig, config.reward_settings),
        ("launch", LaunchConfig, config.launch_settings),
        ("data", QualityOptions, config.data_settings),
    ]
    if config.algorithm in Round.Algorithm.values:
        policy_class = policy_config_class(config.algorithm)
        checks.append(("policy", policy_class, config.policy_settings))
    groups: dict[str, dict[str, Any]] = {}
    for prefix, config_class, values in checks:
        try:
            groups[prefix] = validate_settings(config_class, values, prefix=prefix)
        except SettingsError as err:
            errors.update(err.errors)
    try:
        groups["generation"] = validate_generation_settings(
            config.generation_settings, prefix="generation"
        )
    except SettingsError as err:
        errors.update(err.errors)
    return groups


# --- the run ------------------------------------------------------------------------

RoundFollower = Callable[[Round], Round]


def simulation_run(
    *, config: SimulationConfig, follow: RoundFollower | None = None
) -> SimulationResult:
    """Set up, then rank, launch and score round after round; figures and files.

    Without `config.inline` a round's jobs run on the workers and `follow` waits for
    the round to end (the command passes run_round's progress bars).
    """
    groups = config_checked(config)
    if not config.inline and follow is None:
        raise TypeError("simulation_run needs `follow` unless config.inline is set")
    split = prompt_split(rounds=config.rounds, per_round=config.prompts_per_round)
    generation = {**dataclasses.asdict(GenerateConfig()), **groups["generation"]}
    project, lead, annotators = simulation_project(
        config=config, prompts=split.batches[0], held_out=split.held_out
    )
    base = services.current_policy(project) or services.base_policy_version(project)
    base_outputs_add(version=base, generation=generation, seed=config.seed)
    score = RULES[config.rule]
    rng = random.Random(config.seed)
    rows = [
        _row(0, "base", base, split, config, generation, new_rankings=0, rankings=0)
    ]
    for new_prompts in split.batches[1:]:
        ranked = tasks_rank(
            project=project,
            annotators=annotators,
            score=score,
            noise=config.noise,
            rng=rng,
        )
        request = services.LaunchRequest(
            algorithm=config.algorithm,
            policy_settings=groups["policy"],
            reward_settings=groups["reward"],
            generation_settings=groups["generation"],
            launch_settings=groups["launch"],
            data_settings=groups["data"],
            new_prompts=new_prompts,
        )
        started = time.monotonic()
        round_ = _round_finished(project, request, lead, config, follow)
        seconds = time.monotonic() - started
        assert round_.policy is not None and round_.snapshot is not None
        rows.append(
            _row(
                round_.number,
                config.algorithm,
                round_.policy,
                split,
                config,
                generation,
                new_rankings=ranked,
                rankings=round_.snapshot.ranking_count,
                seconds=round(seconds, 1),
            )
        )
    return _written(_report(project, config, split, generation, rows), config)


def round_run_inline(
    *, project: Project, request: services.LaunchRequest, launched_by: User
) -> Round:
    """Launch a round and run its jobs in this process, one after another."""
    queued: list[int] = []
    # Launching and each finished job queue the next job on commit; inline, the ids
    # are kept here instead of sent to a worker, and run_execute runs them as one.
    with services.jobs_kept_in(queued.append):
        round_ = services.round_launch(
            project=project, request=request, launched_by=launched_by
        )
        with tqdm(total=len(STEPS), desc=f"round {round_.number}", unit="job") as bar:
            while queued:
                run_execute(queued.pop(0), worker=INLINE_WORKER, steps=STEPS)
                bar.update()
    round_.refresh_from_db()
    return round_


def _round_finished(
    project: Project,
    request: services.LaunchRequest,
    lead: User,
    config: SimulationConfig,
    follow: RoundFollower | None,
) -> Round:
    if config.inline:
        round_ = round_run_inline(project=project, request=request, launched_by=lead)
    else:
        assert follow is not None
        launched = services.round_launch(
            project=project, request=request, launched_by=lead
        )
        round_ = follow(launched)
    if round_.state != Round.State.DONE:
        why = f"round {round_.number} ended {round_.get_state_display().lower()}"
        raise SimulationError(
            {"round": f"{why}: {round_.error}" if round_.error else why}
        )
    return round_


def _row(
    number: int,
    algorithm: str,
    version: ModelVersion,
    split: PromptSplit,
    config: SimulationConfig,
    generation: Mapping[str, Any],
    **extra: Any,
) -> dict[str, Any]:
    scores = hidden_scores(
        version, split.held_out, config=config, generation=generation
    )
    return {
        "round": number,
        "algorithm": algorithm,
        "policy": version.name,
        "seconds": None,
        **extra,
        "prompt_scores": scores,
    }


# --- the report ---------------------------------------------------------------------


def _report(
    project: Project,
    config: SimulationConfig,
    split: PromptSplit,
    generation: Mapping[str, Any],
    rows: Sequence[dict[str, Any]],
) -> dict[str, Any]:
    annotations = Annotation.objects.filter(assignment__prompt__project=project)
    return {
        "project": project.slug,
        "rule": config.rule,
        "algorithm": config.algorithm,
        "annotators": config.annotators,
        "annotators_per_prompt": config.judges_per_prompt,
        "noise": config.noise,
        "seed": config.seed,
        "eval_samples": config.eval_samples,
        "prompts_per_round": config.prompts_per_round,
        "settings": {
            "policy": dict(config.policy_settings),
            "reward": dict(config.reward_settings),
            "generation": {key: generation[key] for key in GENERATION_FIELDS},
        },
        "annotations": annotations.count(),
        "eval_prompts": split.held_out,
        "rows": score_rows(rows),
    }


def _written(report: dict[str, Any], config: SimulationConfig) -> SimulationResult:
    out = config.out or Path(settings.VAR_DIR) / "simulations" / config.project
    out.mkdir(parents=True, exist_ok=True)
    plot_path, json_path = out / "hidden-score.png", out / "simulation.json"
    report = {**report, "plot": str(plot_path), "json": str(json_path)}
    plot_hidden_scores(report, plot_path)
    json_path.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    return SimulationResult(report, json_path, plot_path)


def plot_hidden_scores(report: Mapping[str, Any], path: Path) -> Path:
    """Mean hidden score per round, error bars ±1 standard error over the prompts."""
    rows = report["rows"]
    figure = Figure(figsize=(6, 3.6), dpi=100)
    axes = figure.subplots()
    axes.errorbar(
        [row["round"] for row in rows],
        [row["mean"] for row in rows],
        yerr=[row["sem"] for row in rows],
        marker="o",
        capsize=4,
    )
    axes.set(
        xlabel="round (0: the policy before the first)",
        ylabel=f"hidden score ({report['rule']})",
        title=f"{report['project']}: {report['algorithm']}, noise {report['noise']}",
    )
    axes.xaxis.set_major_locator(MaxNLocator(integer=True))
    figure.tight_layout()
    figure.savefig(path)
    return path


def score_table(report: Mapping[str, Any]) -> str:
    """The rows as a fixed-width table; t is the paired t over the held-out prompts."""
    lines = [
        f"{'round':>5}  {'algorithm':<9} {'score':>7} {'± se':>6} {'Δ base':>7} "
        f"{'t base':>6} {'Δ prev':>7} {'t prev':>6} {'seconds':>8}"
    ]
    for row in report["rows"]:
        lines.append(
            f"{row['round']:>5}  {row['algorithm']:<9} {row['mean']:>7.4f} "
            f"{row['sem']:>6.4f} {_cell(row['delta_base'], '+.4f', 7)} "
            f"{_cell(row['t_base'], '.2f', 6)} {_cell(row['delta_prev'], '+.4f', 7)} "
            f"{_cell(row['t_prev'], '.2f', 6)} {_cell(row['seconds'], '.1f', 8)}"
        )
    return "\n".join(lines)


def _cell(value: float | None, spec: str, width: int) -> str:
    return f"{'—' if value is None else format(value, spec):>{width}}"
