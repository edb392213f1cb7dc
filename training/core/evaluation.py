"""Evaluate a lineage of policies on fixed prompts with one judge.

After a round, every policy of its lineage (the project's base, each policy trained
from it, the round's new one) is sampled on the same evaluation prompts and scored by
one judge, the round's reward model, so rounds are comparable: judge score, win rate
against the base and against the parent, KL to the base and to the parent, output
length, the reward–length correlation (length hacking) and distinct-n (mode collapse).

A policy's samples are drawn once per (prompts, sampling settings) and cached as JSONL
in the folder its caller names, with each sample's log-prob under every model it was
compared against; scoring an older policy with a newer judge then costs only the
judge's forward passes.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from training.core.batching import Text
from training.core.data import read_jsonl, write_jsonl
from training.core.generation import Generation, generate
from training.core.logprobs import completion_targets, eval_mode
from training.core.models import load_policy, load_reward_model
from training.core.recipe import resolve_device, set_seed
from training.core.rollout import encode_samples, policy_logprobs, reward_model_fn
from training.core.train_config import chat_template_field

CACHE_FORMAT = 1  # bump when a sample file's records change shape
Progress = Callable[[float, str], None]  # (fraction done, what is being done)
SampleRecord = dict[str, Any]  # {"prompt": index, "generation": {…}, "logprobs": {…}}


@dataclass(frozen=True)
class EvaluationSettings:
    """How many samples per prompt and how they are drawn."""

    samples_per_prompt: int = 2
    temperature: float = 1.0
    top_p: float = 1.0
    max_new_tokens: int = 64
    max_length: int = 1024  # the trainers' default: text is cut where they cut it
    chat_template: str = chat_template_field()
    batch_size: int = 8
    seed: int = 0
    device: str = "auto"

    def sample_file(self, prompts: Sequence[Text], n: int) -> str:
        """The cache file of n samples per prompt drawn under these settings."""
        drawn = dataclasses.asdict(self)
        for setting in ("samples_per_prompt", "batch_size", "device"):
            del drawn[setting]  # n is given; batching and device change no result
        key = {"prompts": list(prompts), "n": n, "format": CACHE_FORMAT, **drawn}
        text = json.dumps(key, sort_keys=True, ensure_ascii=False)
        return f"samples-{hashlib.sha256(text.encode()).hexdigest()[:16]}.jsonl"


@dataclass(frozen=True)
class Contestant:
    """A policy of the lineage: its label, folder, sample cache and how it samples."""

    label: str
    path: str
    cache_dir: Path
    parent: str | None = None  # label of the contestant it is compared to as parent
    best_of: int = 1  # N > 1: best-of-N sampling, the judge keeping the best of N


@dataclass(frozen=True)
class Judged:
    """One contestant's kept samples with their judge scores: what metrics read."""

    path: str  # the policy that sampled them
    scores: torch.Tensor  # (S,) judge score per kept sample, prompt-major
    lengths: list[float]  # tokens per kept sample
    texts: list[str]
    logprobs: dict[str, torch.Tensor]  # model path -> (S,) summed log-prob per sample
    best_of: int = 1

    def kl_to(self, reference: Judged) -> torch.Tensor:
        """(S,) KL(self || reference) per sample: k1 estimate plus best-of-N's share.

        For best-of-N sampling of pi, KL(bon || ref) is taken as best_of_n_kl(N)
        (bon against pi) plus log pi - log ref on each kept sample (0 when ref is pi).
        The k1 estimate's mean is unbiased but can fall below 0 on few samples.
        """
        ratio = self.logprobs[self.path] - self.logprobs[reference.path]  # (S,)
        return ratio + best_of_n_kl(self.best_of)


@dataclass(frozen=True)
class ContestantResult:
    """A contestant's metrics and one (reward, length, kl to parent) per sample."""

    label: str
    metrics: dict[str, float | None]
    points: list[dict[str, float]] = field(default_factory=list)


def distinct_n(texts: Sequence[str], n: int) -> float:
    """Distinct-n (Li et al., 2016): unique word n-grams / all word n-grams."""
    grams = [
        tuple(words[i : i + n])
        for words in (text.split() for text in texts)
        for i in range(len(words) - n + 1)
    ]
    return len(set(grams)) / len(grams) if grams else 0.0


def pearson(xs: Sequence[float], ys: Sequence[float]) -> float:
    """Pearson correlation; 0 when either side has no spread."""
    x, y = torch.tensor(xs, dtype=torch.float64), torch.tensor(ys, dtype=torch.float64)
    dx, dy = x - x.mean(), y - y.mean()
    denominator = (dx.square().sum() * dy.square().sum()).sqrt()
    return float((dx * dy).sum() / denominator) if denominator > 0 else 0.0


def win_rate(rewards: torch.Tensor, baseline: torch.Tensor) -> float:
    """Share of (prompt, sample) slots where rewards beats baseline; ties count half."""
    return float(((rewards > baseline).float() + 0.5 * (rewards == baseline)).mean())


def best_of_n_kl(n: int) -> float:
    """KL(best-of-N || pi) = log N - (N-1)/N (Stiennon et al. 2020, App. G.3).

    Beirami et al. (2024, "Theoretical guarantees on the best-of-n alignment policy")
    show this is an upper bound, tight when the N samples are almost surely distinct.
    """
    return math.log(n) - (n - 1) / n


def best_in_groups(scores: torch.Tensor, n: int) -> torch.Tensor:
    """Index of the best score in each run of n consecutive scores (first of ties)."""
    groups = scores.view(-1, n)  # (S / n, n)
    offsets = torch.arange(groups.shape[0]) * n  # (S / n,)
    return groups.argmax(dim=1) + offsets  # (S / n,)


def lineage_metrics(
    judged: Judged, *, base: Judged, parent: Judged | None
) -> dict[str, float | None]:
    """Judge score, win rates and KL against base and parent, length, diversity."""
    return {
        "judge_score": float(judged.scores.mean()),
        "win_rate_vs_base": win_rate(judged.scores, base.scores),
        "win_rate_vs_parent": None
        if parent is None
        else win_rate(judged.scores, parent.scores),
        "kl_to_base": float(judged.kl_to(base).mean()),
        "kl_to_parent": None if parent is None else float(judged.kl_to(parent).mean()),
        "mean_length": sum(judged.lengths) / len(judged.lengths),
        "reward_length_correlation": pearson(judged.scores.tolist(), judged.lengths),
        "distinct_1": distinct_n(judged.texts, 1),
        "distinct_2": distinct_n(judged.texts, 2),
        "samples": float(len(judged.texts)),
    }


def evaluate_lineage(
    contestants: Sequence[Contestant],
    *,
    judge: str | Path,
    prompts: Sequence[Text],
    settings: EvaluationSettings = EvaluationSettings(),
    progress: Progress | None = None,
) -> list[ContestantResult]:
    """Sample (or reuse) each contestant's outputs, score all with one judge, compare.

    The first contestant is the lineage's base; each other names its parent.
    """
    _check(contestants, prompts)
    report = progress or (lambda fraction, message: None)
    set_seed(settings.seed)  # a judge loaded from a causal LM gets a seeded head
    device = resolve_device(settings.device)
    samples = {c.label: _sample_path(c, prompts, settings) for c in contestants}
    report(0.05, "sampling the policies without cached samples")
    _draw_missing(contestants, samples, prompts, settings, device)
    report(0.5, "measuring log-probs for KL")
    _measure_missing(contestants, samples, prompts, settings, device)
    report(0.8, f"scoring {len(contestants)} policies with one judge")
    judged = _judge(contestants, samples, judge, prompts, settings, device)
    base = judged[contestants[0].label]
    return [_result(c, judged, base) for c in contestants]


def _result(
    contestant: Contestant, judged: dict[str, Judged], base: Judged
) -> ContestantResult:
    own = judged[contestant.label]
    parent = judged[contestant.parent] if contestant.parent else None
    kl = own.kl_to(parent or own).tolist()
    points = [
        {"reward": r, "length": n, "kl": d}
        for r, n, d in zip(own.scores.tolist(), own.lengths, kl, strict=True)
    ]
    metrics = lineage_metrics(own, base=base, parent=parent)
    return ContestantResult(contestant.label, metrics, points)


def _check(contestants: Sequence[Contestant], prompts: Sequence[Text]) -> None:
    if not prompts:
        raise ValueError("prompts: evaluation needs at least one prompt")
    if not contestants:
        raise ValueError("contestants: evaluation needs at least the base policy")
    labels = [c.label for c in contestants]
    if len(set(labels)) < len(labels):
        raise ValueError(f"contestants: labels must be unique, got {labels}")
    for c in contestants[1:]:
        if c.parent not in labels:
            raise ValueError(
                f"contestant {c.label!r}: parent {c.parent!r} is not one of {labels}"
            )
        if c.best_of < 1:
            raise ValueError(f"contestant {c.label!r}: best_of must be at least 1")


def _sample_path(
    contestant: Contestant, prompts: Sequence[Text], settings: EvaluationSettings
) -> Path:
    n = settings.samples_per_prompt * contestant.best_of
    return contestant.cache_dir / settings.sample_file(prompts, n)


# --- sampling and log-probs, each model loaded once ---------------------------------


def _draw_missing(
    contestants: Sequence[Contestant],
    samples: dict[str, Path],
    prompts: Sequence[Text],
    settings: EvaluationSettings,
    device: torch.device,
) -> None:
    """Sample the contestants whose sample file is missing, one model at a time."""
    missing: dict[str, dict[Path, int]] = {}
    for c in contestants:
        if not samples[c.label].is_file():
            n = settings.samples_per_prompt * c.best_of
            missing.setdefault(c.path, {})[samples[c.label]] = n
    for path, files in missing.items():
        policy, tokenizer = load_policy(path, device=device)
        for file, n in files.items():
            drawn = generate(
                policy,
                tokenizer,
                prompts,
                chat_template=settings.chat_template,
                k=n,
                temperature=settings.temperature,
                top_p=settings.top_p,
                max_new_tokens=settings.max_new_tokens,
                batch_size=settings.batch_size,
                seed=settings.seed,
                max_prompt_length=_max_prompt(settings),
            )
            records = [
                {"prompt": i, "generation": dataclasses.asdict(g), "logprobs": {}}
                for i, row in enumerate(drawn)
                for g in row
            ]
            write_jsonl(file, records)
        del policy  # freed before the next policy loads


def _measure_missing(
    contestants: Sequence[Contestant],
    samples: dict[str, Path],
    prompts: Sequence[Text],
    settings: EvaluationSettings,
    device: torch.device,
) -> None:
    """Log-probs of each sample under its policy, the base and the parent."""
    by_label = {c.label: c for c in contestants}
    wanted: dict[str, set[Path]] = {}  # model path -> sample files it must measure
    for c in contestants:
        references = {c.path, contestants[0].path}
        if c.parent:
            references.add(by_label[c.parent].path)
        for reference in references:
            wanted.setdefault(reference, set()).add(samples[c.label])
    for path, files in wanted.items():
        todo = {}
        for file in sorted(files):
            records = read_jsonl(file)
            if any(path not in r["logprobs"] for r in records):
                todo[file] = records
        if not todo:
            continue
        model, tokenizer = load_policy(path, device=device)
        for file, records in todo.items():
            values = _logprobs(model, tokenizer, prompts, records, settings)
            for record, value in zip(records, values, strict=True):
                record["logprobs"][path] = value
            write_jsonl(file, records)
        del model  # freed before the next model loads


def _logprobs(
    model: Any,
    tokenizer: Any,
    prompts: Sequence[Text],
    records: list[SampleRecord],
    settings: EvaluationSettings,
) -> list[float]:
    """Summed log-prob of each sample at the sampling temperature."""
    device = next(model.parameters()).device
    rows = [prompts[r["prompt"]] for r in records]
    generations = [_generation(r) for r in records]
    sums: list[float] = []
    for start in range(0, len(records), settings.batch_size):
        chunk = slice(start, start + settings.batch_size)
        tokens = encode_samples(
            tokenizer,
            rows[chunk],
            generations[chunk],
            _max_prompt(settings),
            chat_template=settings.chat_template,
        ).to(device)
        with torch.no_grad(), eval_mode(model):
            logprobs, _ = policy_logprobs(model, tokens, settings.temperature)
        mask = completion_targets(tokens).float()  # (B, T-1)
        sums.extend((logprobs.float() * mask).sum(dim=-1).tolist())
    return sums


# --- judging ------------------------------------------------------------------------


def _judge(
    contestants: Sequence[Contestant],
    samples: dict[str, Path],
    judge: str | Path,
    prompts: Sequence[Text],
    settings: EvaluationSettings,
    device: torch.device,
) -> dict[str, Judged]:
    """Every contestant's kept samples scored by the one judge."""
    model, tokenizer = load_reward_model(judge, device=device)
    reward_fn = reward_model_fn(
        model.eval(),
        tokenizer,
        max_length=settings.max_length,
        chat_template=settings.chat_template,
    )
    scored: dict[Path, tuple[list[SampleRecord], torch.Tensor]] = {}
    judged = {}
    for c in contestants:
        file = samples[c.label]
        if file not in scored:
            records = read_jsonl(file)
            texts = [r["generation"]["text"] for r in records]
            with torch.no_grad():
                scores = reward_fn([prompts[r["prompt"]] for r in records], texts)
            scored[file] = (records, scores.float().cpu())
        records, scores = scored[file]
        kept = best_in_groups(scores, c.best_of).tolist()
        judged[c.label] = _judged(c, [records[i] for i in kept], scores[kept])
    return judged


def _judged(
    contestant: Contestant, records: list[SampleRecord], scores: torch.Tensor
) -> Judged:
    paths = set(records[0]["logprobs"]) if records else set()
    return Judged(
        path=contestant.path,
        scores=scores,
        lengths=[float(r["generation"]["n_tokens"]) for r in records],
        texts=[r["generation"]["text"] for r in records],
        logprobs={
            p: torch.tensor([r["logprobs"][p] for r in records], dtype=torch.float64)
            for p in paths
        },
        best_of=contestant.best_of,
    )


# --- files --------------------------------------------------------------------------


def _generation(record: SampleRecord) -> Generation:
    fields = dict(record["generation"])
    fields["token_ids"] = tuple(fields["token_ids"])
    return Generation(**fields)


def _max_prompt(settings: EvaluationSettings) -> int:
    return max(1, settings.max_length - settings.max_new_tokens)
