"""The four jobs of a round, each a thin bridge from the database to training/core.

Each step writes its inputs as files in TRL's formats, calls the trainer with the
job's reporter as progress callback, and records what it produced. Re-running a step
(a relaunch after a crash) resumes from the checkpoint in its folder and updates the
same model version and candidates instead of adding new ones.
"""

from __future__ import annotations

import dataclasses
import json
import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from django.db import transaction

from annotate.models import Annotation, Prompt
from annotate.services import candidate_create
from training.cli import COMMANDS
from training.core.best_of_n import best_of_n
from training.core.best_of_n_config import BestOfNConfig
from training.core.evaluation import EvaluationSettings, evaluate_policy
from training.core.generate_config import GenerateConfig
from training.core.loop import checkpoint_step
from training.core.models import build_tiny_model, load_policy
from training.core.recipe import CHECKPOINT_DIR, resolve_device
from training.core.rollout import load_reward_fn
from training.jobs import JobReporter, Step
from training.models import CandidateOrigin, ModelVersion, Round, TrainingRun
from training.services import round_folder, tiny_base_path

EVAL_PROMPTS = 16  # held-out prompts sampled when evaluating a policy
EXTRA_SAMPLES = 2  # drawn beyond K so duplicates and empty outputs can be dropped
TOKENIZER_TEXTS = 2000  # project texts the tiny model's tokenizer is trained on


def train_reward(run: TrainingRun, reporter: JobReporter) -> dict[str, Any]:
    round_ = run.round
    reporter.phase(0.0, "writing the data snapshot")
    data = write_snapshot(round_)
    base = ensure_model(round_.base_policy)
    reward_class, train = COMMANDS["reward"]
    config = reward_class(
        **round_.reward_settings,
        **_paths(run, data=data, model=base),
    )
    result = train(config, progress_callback=reporter)
    version = _record_version(
        run, ModelVersion.Kind.REWARD, f"round {round_.number} reward model", result
    )
    Round.objects.filter(pk=round_.pk).update(reward_model=version)
    return _summary(result.metrics)


def train_policy(run: TrainingRun, reporter: JobReporter) -> dict[str, Any]:
    round_ = run.round
    algorithm = round_.algorithm
    config_class, train = COMMANDS[algorithm]
    base = ensure_model(round_.base_policy)
    data = (
        write_snapshot(round_)
        if algorithm == Round.Algorithm.DPO
        else write_prompts(round_, _snapshot_prompts(round_), "train-prompts")
    )
    inputs: dict[str, Any] = _paths(run, data=data, model=base)
    if algorithm != Round.Algorithm.DPO:
        inputs["reward_model"] = _reward_path(round_)
    config = config_class(**round_.policy_settings, **inputs)
    result = train(config, progress_callback=reporter)
    if algorithm == Round.Algorithm.BEST_OF_N:
        # Best-of-N changes sampling, not weights: the base policy stays the policy.
        Round.objects.filter(pk=round_.pk).update(policy=round_.base_policy)
        return _summary(result.metrics)
    name = f"round {round_.number} {round_.get_algorithm_display().split(' ')[0]}"
    version = _record_version(run, ModelVersion.Kind.POLICY, f"{name} policy", result)
    Round.objects.filter(pk=round_.pk).update(policy=version)
    return _summary(result.metrics)


def evaluate(run: TrainingRun, reporter: JobReporter) -> dict[str, Any]:
    round_ = Round.objects.select_related("policy", "base_policy").get(pk=run.round_id)
    prompt_texts = _prompt_texts(round_.prompt_ids[:EVAL_PROMPTS])
    reporter.phase(0.1, f"sampling and scoring {len(prompt_texts)} prompts")
    generation = generation_settings(round_)
    settings = EvaluationSettings(
        temperature=generation["temperature"],
        top_p=generation["top_p"],
        max_new_tokens=generation["max_new_tokens"],
    )
    assert round_.policy is not None
    result = evaluate_policy(
        ensure_model(round_.policy),
        ensure_model(round_.base_policy),
        _reward_path(round_),
        prompt_texts,
        settings,
    )
    reporter.phase(0.9, "saving the evaluation")
    with transaction.atomic():
        Round.objects.filter(pk=round_.pk).update(
            evaluation={**result.metrics, "points": result.points}
        )
        if round_.policy.round_id == round_.pk:
            policy = ModelVersion.objects.select_for_update().get(pk=round_.policy.pk)
            policy.metrics = {**policy.metrics, "evaluation": result.metrics}
            policy.save(update_fields=["metrics"])
    return result.metrics


def generate(run: TrainingRun, reporter: JobReporter) -> dict[str, Any]:
    round_ = Round.objects.select_related("policy", "project").get(pk=run.round_id)
    assert round_.policy is not None
    settings = generation_settings(round_)
    k = int(settings["k"])
    prompts = list(Prompt.objects.filter(id__in=round_.prompt_ids).order_by("id"))
    texts = _samples(run, round_, prompts, settings, reporter)
    reporter.phase(0.95, "adding the candidates to the annotation queue")
    added = short = 0
    sampling = {
        key: settings[key] for key in ("temperature", "top_p", "max_new_tokens")
    }
    with transaction.atomic():
        for prompt, outputs in zip(prompts, texts, strict=True):
            kept = _distinct_nonempty(outputs)[:k]
            if len(kept) < round_.project.min_k:
                short += 1
                continue
            for text in kept:
                candidate, created = candidate_create(
                    prompt=prompt,
                    text=text,
                    source=f"round-{round_.number}",
                    generation_settings={**sampling, "round": round_.number},
                )
                CandidateOrigin.objects.get_or_create(
                    candidate=candidate,
                    defaults={"round": round_, "model_version": round_.policy},
                )
                added += created
    return {"prompts": len(prompts), "candidates_added": added, "prompts_short": short}


STEPS: dict[str, Step] = {
    TrainingRun.Kind.TRAIN_REWARD: train_reward,
    TrainingRun.Kind.TRAIN_POLICY: train_policy,
    TrainingRun.Kind.EVALUATE: evaluate,
    TrainingRun.Kind.GENERATE: generate,
}


def generation_settings(round_: Round) -> dict[str, Any]:
    """The generate command's defaults with the round's own settings over them."""
    return {**dataclasses.asdict(GenerateConfig()), **round_.generation_settings}


# --- files --------------------------------------------------------------------------


def write_snapshot(round_: Round) -> Path:
    """The snapshot's rankings as TRL rankings JSONL (written once, atomically)."""
    snapshot = round_.snapshot
    assert snapshot is not None
    path = Path(snapshot.path)
    if path.is_file():
        return path
    annotations = (
        Annotation.objects.filter(id__in=snapshot.annotation_ids)
        .select_related("assignment__prompt")
        .prefetch_related("judgements__candidate")
        .order_by("id")
    )
    return _write_jsonl(path, (_ranking_record(a) for a in annotations))


def write_prompts(round_: Round, prompts: Iterable[Prompt], name: str) -> Path:
    """Prompts as {"prompt": …} JSONL under the round's data folder."""
    path = round_folder(round_) / "data" / f"{name}.jsonl"
    return _write_jsonl(path, ({"prompt": _prompt_value(p)} for p in prompts))


def ensure_model(version: ModelVersion) -> str:
    """The version's path, building the embedded tiny model first where it is that."""
    if Path(version.path) == tiny_base_path(version.project):
        texts = _project_texts(version.project_id)
        build_tiny_model(Path(version.path), texts=texts)
    return version.path


def _ranking_record(annotation: Annotation) -> dict[str, Any]:
    prompt = annotation.assignment.prompt
    judgements = sorted(annotation.judgements.all(), key=lambda j: j.candidate_id)
    value = _prompt_value(prompt)
    return {
        "prompt": value,
        "completions": [_reply(value, j.candidate.text) for j in judgements],
        "ranks": [j.rank for j in judgements],
        "annotation_id": annotation.pk,
    }


def _prompt_value(prompt: Prompt) -> Any:
    return prompt.messages if prompt.messages else prompt.text


def _reply(prompt: Any, text: str) -> Any:
    return text if isinstance(prompt, str) else [{"role": "assistant", "content": text}]


def _write_jsonl(path: Path, records: Iterable[dict[str, Any]]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    with tmp.open("w", encoding="utf-8") as file:
        for record in records:
            file.write(json.dumps(record, ensure_ascii=False) + "\n")
    os.replace(tmp, path)
    return path


# --- helpers ------------------------------------------------------------------------


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


def _project_texts(project_id: int) -> list[str]:
    prompts = Prompt.objects.filter(project_id=project_id).order_by("id")
    texts = []
    for prompt in prompts[:TOKENIZER_TEXTS]:
        texts.append(prompt.text or " ".join(m["content"] for m in prompt.messages))
        texts.extend(prompt.candidates.values_list("text", flat=True)[:9])
    return texts


def _samples(
    run: TrainingRun,
    round_: Round,
    prompts: list[Prompt],
    settings: dict[str, Any],
    reporter: JobReporter,
) -> list[list[str]]:
    """K + EXTRA_SAMPLES outputs per prompt from the round's policy."""
    policy = round_.policy
    assert policy is not None
    values = [_prompt_value(p) for p in prompts]
    n_samples = int(settings["k"]) + EXTRA_SAMPLES
    if round_.algorithm == Round.Algorithm.BEST_OF_N:
        return _best_of_n_samples(round_, policy, values, n_samples, reporter)
    config_class, generate_candidates = COMMANDS["generate"]
    path = write_prompts(round_, prompts, "next-prompts")
    config = config_class(
        **{
            **settings,
            "k": n_samples,
            "data": str(path),
            "model": ensure_model(policy),
            "out": run.out_dir,
        }
    )
    result = generate_candidates(config, progress_callback=reporter)
    lines = Path(result.metrics["file"]).read_text(encoding="utf-8").splitlines()
    records = [json.loads(line) for line in lines]
    by_prompt = {json.dumps(r["prompt"], sort_keys=True): r for r in records}
    return [
        [_text(c) for c in by_prompt[json.dumps(v, sort_keys=True)]["completions"]]
        for v in values
    ]


def _best_of_n_samples(
    round_: Round,
    policy_version: ModelVersion,
    prompts: list[Any],
    n_samples: int,
    reporter: JobReporter,
) -> list[list[str]]:
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
        outputs.append([s.completion for s in chosen])
        reporter((index + 1) / len(prompts), f"{index + 1}/{len(prompts)} prompts", {})
    return outputs


def _text(completion: Any) -> str:
    return completion if isinstance(completion, str) else completion[0]["content"]


def _distinct_nonempty(texts: list[str]) -> list[str]:
    seen: set[str] = set()
    kept = []
    for text in texts:
        if text.strip() and text not in seen:
            seen.add(text)
            kept.append(text)
    return kept
