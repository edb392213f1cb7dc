"""The four jobs of a round, each a thin bridge from the database to training/core.

Each step writes its inputs as files in TRL's formats, calls the trainer with the
job's reporter as progress callback, and records what it produced. Re-running a step
(a relaunch after a crash) resumes from the checkpoint in its folder and updates the
same model version and candidates instead of adding new ones.
"""

from __future__ import annotations

import dataclasses
import json
from collections import Counter
from collections.abc import Iterable
from pathlib import Path
from typing import Any, NamedTuple

from django.db import transaction

from annotate import limits
from annotate.models import Annotation, Candidate, Prompt
from annotate.quality.selection import (
    Aggregate,
    Judged,
    QualityOptions,
    Selected,
    Weighting,
    select_rankings,
)
from annotate.services import candidate_create
from annotate.text import clean_text, is_blank
from training import selectors
from training.cli import COMMANDS
from training.core.batching import as_reply, encoding_fingerprint
from training.core.best_of_n import best_of_n
from training.core.best_of_n_config import BestOfNConfig
from training.core.data import write_jsonl
from training.core.evaluation import Contestant, EvaluationSettings, evaluate_lineage
from training.core.generate_config import GenerateConfig
from training.core.launch import run_launched
from training.core.loop import ProgressCallback, checkpoint_step
from training.core.models import (
    ensure_default_model,
    has_model,
    install_model,
    load_policy,
)
from training.core.recipe import CHECKPOINT_DIR, resolve_device
from training.core.reward_config import RewardConfig
from training.core.rollout import load_reward_fn
from training.hyperparameters import (
    HEAD_TO_HEAD_FIELDS,
    job_processes,
    policy_config_class,
    round_chat_template,
)
from training.jobs import JobReporter, Step
from training.models import (
    CandidateOrigin,
    DataSnapshot,
    ModelVersion,
    Round,
    TrainingRun,
)
from training.services import (
    EVALUATION_PROMPTS,
    evaluation_set_for,
    project_folder,
    round_folder,
    tiny_base_path,
)


class SampledOutput(NamedTuple):
    """A generated output as sampled: its text, tokens and their tokenizer."""

    text: str
    token_ids: tuple[int, ...]
    tokenizer: str


EVALUATION_SAMPLES = 2  # per held-out prompt and policy; win rates pair them slot-wise
NO_EVALUATION_SET = (
    "Not evaluated: the project has no held-out prompts yet. Add prompts without "
    "outputs (every second one is held out at the next launch, up to "
    f"{EVALUATION_PROMPTS}) or choose the evaluation set in the admin."
)
EXTRA_SAMPLES = 2  # drawn beyond K so duplicates and empty outputs can be dropped


def train_reward(run: TrainingRun, reporter: JobReporter) -> dict[str, Any]:
    round_ = run.round
    reporter.phase(0.0, "writing the data snapshot")
    data = write_snapshot(round_)
    # The embedded default trains once per machine (about a minute) on first use.
    reporter.phase(0.0, "preparing the base model")
    base = ensure_model(round_.base_policy)
    config = RewardConfig(
        **round_.reward_settings,
        **_paths(run, data=data, model=base),
    )
    result = _train("reward", config, round_, reporter)
    version = _record_version(
        run, ModelVersion.Kind.REWARD, f"round {round_.number} reward model", result
    )
    Round.objects.filter(pk=round_.pk).update(reward_model=version)
    return _summary(result.metrics)


def train_policy(run: TrainingRun, reporter: JobReporter) -> dict[str, Any]:
    round_ = run.round
    algorithm = round_.algorithm
    config_class = policy_config_class(algorithm)
    base = ensure_model(round_.base_policy)
    data = (
        write_snapshot(round_)
        if algorithm == Round.Algorithm.DPO
        else write_prompts(round_, _snapshot_prompts(round_), "train-prompts")
    )
    inputs: dict[str, Any] = _paths(run, data=data, model=base)
    online = algorithm == Round.Algorithm.DPO and round_.policy_settings.get(
        "online_samples"
    )
    if algorithm != Round.Algorithm.DPO or online:
        inputs["reward_model"] = _reward_path(round_)
    config = config_class(**round_.policy_settings, **inputs)
    result = _train(algorithm, config, round_, reporter)
    if algorithm == Round.Algorithm.DPO:
        _record_mix(round_, config, result.metrics)
    if algorithm == Round.Algorithm.BEST_OF_N:
        # Best-of-N changes sampling, not weights: the base policy stays the policy.
        Round.objects.filter(pk=round_.pk).update(policy=round_.base_policy)
        return _summary(result.metrics)
    name = f"round {round_.number} {round_.get_algorithm_display().split(' ')[0]}"
    version = _record_version(run, ModelVersion.Kind.POLICY, f"{name} policy", result)
    Round.objects.filter(pk=round_.pk).update(policy=version)
    return _summary(result.metrics)


def evaluate(run: TrainingRun, reporter: JobReporter) -> dict[str, Any]:
    """Score every policy of the round's lineage on the held-out prompts, one judge."""
    round_ = Round.objects.select_related("project", "policy", "base_policy").get(
        pk=run.round_id
    )
    assert round_.policy is not None
    held_out = evaluation_set_for(project=round_.project)
    if held_out is None:
        skipped = {"skipped": NO_EVALUATION_SET}
        Round.objects.filter(pk=round_.pk).update(evaluation=skipped)
        return skipped
    judge = ModelVersion.objects.get(round=round_, kind=ModelVersion.Kind.REWARD)
    lineage = _lineage_contestants(round_)
    prompts = _prompt_texts(held_out.prompt_ids)
    reporter.phase(0.02, f"{len(lineage)} policies on {len(prompts)} held-out prompts")
    sampling = generation_settings(round_)
    settings = EvaluationSettings(
        samples_per_prompt=EVALUATION_SAMPLES,
        max_new_tokens=sampling["max_new_tokens"],
        chat_template=sampling["chat_template"],
    )
    results = evaluate_lineage(
        [contestant for contestant, _ in lineage],
        judge=judge.path,
        prompts=prompts,
        settings=settings,
        progress=reporter.phase,
    )
    rows = [
        {**identity, **result.metrics}
        for (_, identity), result in zip(lineage, results, strict=True)
    ]
    reporter.phase(0.95, "saving the evaluation")
    with transaction.atomic():
        Round.objects.filter(pk=round_.pk).update(
            evaluation={
                "judge": {"id": judge.pk, "name": judge.name},
                "prompt_ids": held_out.prompt_ids,
                "samples_per_prompt": settings.samples_per_prompt,
                "max_new_tokens": settings.max_new_tokens,
                "policies": rows,
                "points": results[-1].points,
            }
        )
        if round_.policy.round_id == round_.pk:
            policy = ModelVersion.objects.select_for_update().get(pk=round_.policy.pk)
            own = {"judge": judge.name, **results[-1].metrics}
            policy.metrics = {**policy.metrics, "evaluation": own}
            policy.save(update_fields=["metrics"])
    return rows[-1]


def _lineage_contestants(round_: Round) -> list[tuple[Contestant, dict[str, Any]]]:
    """The lineage from its root to the round's new policy (or best-of-N sampling).

    Each policy keeps its sample cache under the project's folder, so a later round
    re-scores it with its newer judge without sampling it again.
    """
    best_of_n = round_.algorithm == Round.Algorithm.BEST_OF_N
    newest = round_.base_policy if best_of_n else round_.policy
    assert newest is not None
    entries = []
    for index, version in enumerate(selectors.policy_lineage(version=newest)):
        roles = [
            role
            for role, holds in (
                ("base", index == 0),
                ("parent", version.pk == round_.base_policy_id),
                ("new", version.pk == round_.policy_id and not best_of_n),
            )
            if holds
        ]
        contestant = Contestant(
            label=str(version.pk),
            path=ensure_model(version),
            cache_dir=project_folder(round_.project) / "evaluation" / str(version.pk),
            parent=str(version.parent_id) if index else None,
        )
        identity = {
            "version": version.pk,
            "name": version.name,
            "round": version.round.number if version.round else 0,
            "roles": roles or ["ancestor"],
            "sampling": "plain",
        }
        entries.append((contestant, identity))
    if best_of_n:
        # Best-of-N changes sampling, not weights: judged as best-of-N sampling of
        # the parent against plain sampling of it.
        n = int(round_.policy_settings.get("n", BestOfNConfig.n))
        parent = entries[-1][0]
        sampling = f"best-of-{n}"
        contestant = dataclasses.replace(
            parent, label=sampling, parent=parent.label, best_of=n
        )
        identity = {
            "version": round_.base_policy_id,
            "name": f"{sampling} sampling of {round_.base_policy.name}",
            "round": round_.number,
            "roles": ["new"],
            "sampling": sampling,
        }
        entries.append((contestant, identity))
    return entries


def generate(run: TrainingRun, reporter: JobReporter) -> dict[str, Any]:
    """K outputs per new prompt: the new policy's, and with `previous_outputs` set,
    that many of the base policy's, so people judge the two versions side by side."""
    round_ = Round.objects.select_related("policy", "base_policy", "project").get(
        pk=run.round_id
    )
    assert round_.policy is not None
    settings = generation_settings(round_)
    k = int(settings["k"])
    previous = int(round_.generation_settings.get("previous_outputs", 0))
    prompts = list(Prompt.objects.filter(id__in=round_.prompt_ids).order_by("id"))
    writers = [(round_.policy, k - previous)]
    if previous:
        writers.append((round_.base_policy, previous))
    samples = [
        _samples(
            run,
            round_,
            version,
            prompts,
            settings,
            wanted + EXTRA_SAMPLES,
            _scaled(reporter, index / len(writers), (index + 1) / len(writers)),
        )
        for index, (version, wanted) in enumerate(writers)
    ]
    reporter.phase(0.95, "adding the candidates to the annotation queue")
    added = short = 0
    sampling = {
        key: settings[key] for key in ("temperature", "top_p", "max_new_tokens")
    }
    with transaction.atomic():
        for index, prompt in enumerate(prompts):
            kept = _mixed_outputs(
                [
                    (version, outputs[index], wanted)
                    for (version, wanted), outputs in zip(writers, samples, strict=True)
                ]
            )
            if len(kept) < round_.project.min_k:
                short += 1
                continue
            for version, output in kept:
                candidate, created = candidate_create(
                    prompt=prompt,
                    text=output.text,
                    source=f"round-{round_.number}",
                    generation_settings={**sampling, "round": round_.number},
                    token_ids=list(output.token_ids),
                    tokenizer=output.tokenizer,
                )
                CandidateOrigin.objects.get_or_create(
                    candidate=candidate,
                    defaults={"round": round_, "model_version": version},
                )
                added += created
    return {"prompts": len(prompts), "candidates_added": added, "prompts_short": short}


def _mixed_outputs(
    writers: list[tuple[ModelVersion, list[SampledOutput], int]],
) -> list[tuple[ModelVersion, SampledOutput]]:
    """Each writer's first `wanted` usable outputs, none repeating an earlier one's
    text (two versions can write the same reply; it is shown once, as the first's)."""
    seen: set[str] = set()
    kept = []
    for version, outputs, wanted in writers:
        fresh = [o for o in usable_outputs(outputs) if clean_text(o.text) not in seen]
        for output in fresh[:wanted]:
            seen.add(clean_text(output.text))
            kept.append((version, output))
    return kept


def _scaled(reporter: JobReporter, start: float, end: float) -> ProgressCallback:
    """The job's progress callback for one part of it, from `start` to `end`."""

    def report(fraction: float, message: str, metrics: dict[str, float]) -> None:
        reporter(start + fraction * (end - start), message, metrics)

    return report


STEPS: dict[str, Step] = {
    TrainingRun.Kind.TRAIN_REWARD: train_reward,
    TrainingRun.Kind.TRAIN_POLICY: train_policy,
    TrainingRun.Kind.EVALUATE: evaluate,
    TrainingRun.Kind.GENERATE: generate,
}


def generation_settings(round_: Round) -> dict[str, Any]:
    """The generate command's defaults with the round's own sampling settings over
    them (the head-to-head mix is the round's, not the command's)."""
    sampling = {
        name: value
        for name, value in round_.generation_settings.items()
        if name not in HEAD_TO_HEAD_FIELDS
    }
    return {
        **dataclasses.asdict(GenerateConfig()),
        **sampling,
        "chat_template": round_chat_template(round_.algorithm, round_.policy_settings),
    }


# --- files --------------------------------------------------------------------------


def write_snapshot(round_: Round) -> Path:
    """The snapshot's rankings as TRL rankings JSONL (written once, atomically).

    The data settings frozen at launch (snapshot details) decide each record: one
    per annotation, or one consensus per prompt, with `weight` when they weigh.
    """
    snapshot = round_.snapshot
    assert snapshot is not None
    path = Path(snapshot.path)
    if path.is_file():
        return path
    annotations = {
        annotation.pk: annotation
        for annotation in Annotation.objects.filter(id__in=snapshot.annotation_ids)
        .select_related("assignment__prompt")
        .prefetch_related("judgements__candidate")
    }
    options, trust = _frozen_selection(snapshot.details.get("data", {}))
    judged = [
        Judged(
            annotation=pk,
            prompt=annotation.assignment.prompt_id,
            trust=trust.get(annotation.assignment.annotator_id),
            ranks={j.candidate_id: j.rank for j in annotation.judgements.all()},
        )
        for pk, annotation in annotations.items()
    ]
    # min_trust was applied at launch: annotation_ids holds only what it kept.
    selected = select_rankings(judged, dataclasses.replace(options, min_trust=None))
    records = (
        _ranking_record(ranking, annotations, options)
        for ranking in sorted(selected.rankings, key=lambda r: r.annotations[0])
    )
    return write_jsonl(path, records)


def _frozen_selection(
    data: dict[str, Any],
) -> tuple[QualityOptions, dict[int | None, float | None]]:
    """The launch's data settings and the trust it froze (by annotator id)."""
    options = QualityOptions(**data.get("settings", {}))
    trust: dict[int | None, float | None] = {
        int(user): value for user, value in data.get("trust", {}).items()
    }
    return options, trust


def write_prompts(round_: Round, prompts: Iterable[Prompt], name: str) -> Path:
    """Prompts as {"prompt": …} JSONL under the round's data folder."""
    path = round_folder(round_) / "data" / f"{name}.jsonl"
    return write_jsonl(path, ({"prompt": _prompt_value(p)} for p in prompts))


def ensure_model(version: ModelVersion) -> str:
    """The version's path; a project's default base is first copied from the cache.

    The copy is made once: later builds of the default model never change a base
    that rounds have already started from.
    """
    path = Path(version.path)
    if path == tiny_base_path(version.project) and not has_model(path):
        install_model(ensure_default_model(), path)
    return version.path


def _ranking_record(
    ranking: Selected, annotations: dict[int, Annotation], options: QualityOptions
) -> dict[str, Any]:
    """One record: the ranking's outputs by id, ranks, provenance and weight."""
    folded = [annotations[pk] for pk in ranking.annotations]
    prompt = folded[0].assignment.prompt
    candidates = {
        j.candidate_id: j.candidate for a in folded for j in a.judgements.all()
    }
    ordered = [candidates[pk] for pk in sorted(ranking.ranks)]
    value = _prompt_value(prompt)
    record: dict[str, Any] = {
        "prompt": value,
        "completions": [as_reply(value, c.text) for c in ordered],
        "ranks": [ranking.ranks[c.pk] for c in ordered],
    }
    if options.aggregate == Aggregate.NONE:
        record["annotation_id"] = ranking.annotations[0]
    else:
        record["annotation_ids"] = list(ranking.annotations)
        record["annotations_folded"] = len(ranking.annotations)
    if options.weighting != Weighting.NONE:
        record["weight"] = ranking.weight
    return record | _sampled_tokens(ordered)


def _sampled_tokens(candidates: list[Candidate]) -> dict[str, Any]:
    """The token ids of the sampled candidates, for the most common tokenizer."""
    tokenizers = Counter(c.tokenizer for c in candidates if c.token_ids)
    if not tokenizers:
        return {}
    tokenizer = tokenizers.most_common(1)[0][0]
    return {
        "completion_token_ids": [
            c.token_ids if c.tokenizer == tokenizer else None for c in candidates
        ],
        "tokenizer": tokenizer,
    }


def _prompt_value(prompt: Prompt) -> Any:
    return prompt.messages if prompt.messages else prompt.text


# --- helpers ------------------------------------------------------------------------


def _train(command: str, config: Any, round_: Round, reporter: JobReporter) -> Any:
    """Train in this worker, or under torchrun when the round asks for processes."""
    processes = job_processes(command, round_.launch_settings)
    if processes == 1:
        _, train = COMMANDS[command]
        return train(config, progress_callback=reporter)
    return run_launched(
        command,
        config,
        processes=processes,
        progress_callback=reporter,
        log_line=reporter.log_line,
    )


def _paths(run: TrainingRun, *, data: Path, model: str) -> dict[str, Any]:
    """The config fields a round sets: data, model, output, device, resume."""
    out = Path(run.out_dir)
    step = checkpoint_step(out / CHECKPOINT_DIR)
    if step is not None:
        TrainingRun.objects.filter(pk=run.pk).update(resumed_from_step=step)
    return {
        "data": str(data),
        "model": model,
        "out": str(out),
        "device": "auto",
        "resume": step is not None,
    }


def _record_version(
    run: TrainingRun, kind: str, name: str, result: Any
) -> ModelVersion:
    round_ = run.round
    version, _ = ModelVersion.objects.update_or_create(
        round=round_,
        kind=kind,
        defaults={
            "project": round_.project,
            "name": name,
            "path": str(result.out),
            "parent": round_.base_policy if kind == ModelVersion.Kind.POLICY else None,
            "snapshot": round_.snapshot,
            "produced_by": run,
            "metrics": _summary(result.metrics),
        },
    )
    return version


def _summary(metrics: dict[str, Any]) -> dict[str, Any]:
    """Metrics without the per-step history (the run keeps that)."""
    return {key: value for key, value in metrics.items() if key != "history"}


def _record_mix(round_: Round, config: Any, metrics: dict[str, Any]) -> None:
    """State in the snapshot what DPO trained on: human rankings and sampled pairs."""
    assert round_.snapshot is not None
    mix = {
        "human_rankings": metrics["n_human"],
        "online_pairs": metrics["n_online_pairs"],
        "online_samples_per_prompt": config.online_samples,
        "online_pair_weight": config.online_pair_weight,
        "weights": "each human ranking weighs its snapshot weight in total (1, or "
        "its annotator's trust under data.weighting=trust), split evenly over its "
        "pairs; each online pair weighs online_pair_weight",
    }
    DataSnapshot.objects.filter(pk=round_.snapshot.pk).update(
        details={**round_.snapshot.details, "policy_training": mix}
    )


def _reward_path(round_: Round) -> str:
    reward = ModelVersion.objects.get(round=round_, kind=ModelVersion.Kind.REWARD)
    return reward.path


def _snapshot_prompts(round_: Round) -> list[Prompt]:
    assert round_.snapshot is not None
    ids = Annotation.objects.filter(id__in=round_.snapshot.annotation_ids).values(
        "assignment__prompt_id"
    )
    return list(Prompt.objects.filter(id__in=ids).order_by("id"))


def _prompt_texts(prompt_ids: list[int]) -> list[Any]:
    prompts = Prompt.objects.filter(id__in=prompt_ids).order_by("id")
    return [_prompt_value(p) for p in prompts]


def _samples(
    run: TrainingRun,
    round_: Round,
    version: ModelVersion,
    prompts: list[Prompt],
    settings: dict[str, Any],
    n_samples: int,
    progress: ProgressCallback,
) -> list[list[SampledOutput]]:
    """n_samples outputs per prompt from `version`: the round's policy as the round
    samples it (best-of-N rounds pick by the reward model), another version plainly."""
    values = [_prompt_value(p) for p in prompts]
    is_policy = version == round_.policy
    if is_policy and round_.algorithm == Round.Algorithm.BEST_OF_N:
        return _best_of_n_samples(round_, version, values, n_samples, progress)
    config_class, generate_candidates = COMMANDS["generate"]
    path = write_prompts(round_, prompts, "next-prompts")
    out = Path(run.out_dir)
    if not is_policy:
        out = out / f"version-{version.pk}"
    config = config_class(
        **{
            **settings,
            "k": n_samples,
            "data": str(path),
            "model": ensure_model(version),
            "out": str(out),
        }
    )
    result = generate_candidates(config, progress_callback=progress)
    lines = Path(result.metrics["file"]).read_text(encoding="utf-8").splitlines()
    records = [json.loads(line) for line in lines]
    by_prompt = {json.dumps(r["prompt"], sort_keys=True): r for r in records}
    return [_outputs(by_prompt[json.dumps(v, sort_keys=True)]) for v in values]


def _outputs(record: dict[str, Any]) -> list[SampledOutput]:
    """A generations.jsonl record's completions with their sampled tokens."""
    return [
        SampledOutput(_text(completion), tuple(ids), record["tokenizer"])
        for completion, ids in zip(
            record["completions"], record["token_ids"], strict=True
        )
    ]


def _best_of_n_samples(
    round_: Round,
    policy_version: ModelVersion,
    prompts: list[Any],
    n_samples: int,
    progress: ProgressCallback,
) -> list[list[SampledOutput]]:
    """Each output the reward model's best of N policy samples."""
    config = BestOfNConfig(
        **round_.policy_settings,
        data="",
        model=ensure_model(policy_version),
        reward_model=_reward_path(round_),
    )
    device = resolve_device(config.device)
    policy, tokenizer = load_policy(config.model, device=device)
    reward_fn = load_reward_fn(config, device)
    fingerprint = encoding_fingerprint(tokenizer, chat_template=config.chat_template)
    outputs = []
    for index, prompt in enumerate(prompts):
        chosen = best_of_n(
            policy,
            tokenizer,
            reward_fn,
            [prompt] * n_samples,
            n=config.n,
            sampling=config,
        )
        outputs.append(
            [SampledOutput(s.completion, s.token_ids, fingerprint) for s in chosen]
        )
        progress((index + 1) / len(prompts), f"{index + 1}/{len(prompts)} prompts", {})
    return outputs


def _text(completion: Any) -> str:
    return completion if isinstance(completion, str) else completion[0]["content"]


def usable_outputs(outputs: list[SampledOutput]) -> list[SampledOutput]:
    """Outputs worth a person's time: readable, within the length limit, no copies."""
    seen: set[str] = set()
    kept = []
    for output in outputs:
        text = clean_text(output.text)
        fits = limits.OUTPUT.error(len(text)) is None
        if fits and not is_blank(text) and text not in seen:
            seen.add(text)
            kept.append(output)
    return kept
