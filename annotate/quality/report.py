"""Per-annotator and per-project quality figures from submitted rankings (no database).

What each figure means (the README and the quality page repeat these words):

- agreement: of the output pairs an annotator and another annotator of the same
  prompt both ranked, the share the two relate the same way (above, below or tied),
  pooled over co-annotators and prompts; the project figure pools every pair of
  annotators (InstructGPT reports ~73 % between its labelers).
- consensus_tau: the mean over prompts of the annotator's Kendall τ-b with the
  leave-one-out consensus, the mean mid-rank the prompt's other annotators gave each
  output (stats.consensus_taus). 1 = the same order as the others, 0 = unrelated.
- consensus_tau is read on ordinary prompts only: on a gold prompt the lead's
  reference ranking takes the place of the consensus (see gold_tau).
- gold_accuracy: of the output pairs the annotator and a gold reference ranking both
  ranked, the share the annotator related as the reference does (above, below or
  tied), pooled over their gold tasks; gold_n is that number of pairs and
  gold_tasks the number of gold tasks behind it. A random clicker scores about a
  half on untied references, someone who reverses the reference 0.
- gold_tau: the mean over gold tasks of τ-b between the annotator's ranking and the
  reference (1 = the reference's order, 0 = unrelated).
- trust: (Σ_p τ_p + Σ_g τ_g) / (n + m + TRUST_PRIOR_PROMPTS), floored at 0, where τ_p
  is the τ with the consensus on each of the n ordinary prompts shared with others
  and τ_g the τ with the reference on each of the m gold tasks: every task with a
  yardstick counts once, and the prior shrinks the mean towards 0 (chance) while
  n + m is small, so a handful of lucky tasks does not earn full trust. None until
  n + m > 0. trust_n is n + m, the sample size behind it.
- position_bias: mean τ-b between the display position and the rank (> 0: outputs
  shown first were ranked better); `position_biased` when its z-test against a
  uniform shuffle (stats.position_bias) reaches POSITION_BIAS_Z in either direction.
- time: a task's seconds are what the browser measured on the task screen, else the
  time from hand-out to submit. A task is too fast when its seconds per output are
  under TOO_FAST_SHARE of the project's median seconds per output.
- α: Krippendorff's α of the Likert ratings (ordinal; a unit is one output of one
  prompt) and of the flags (nominal; a unit is one flag of one output, 1 if the
  annotator ticked it, else 0), over outputs rated by two or more annotators.
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from annotate.quality.stats import (
    Ranks,
    consensus_taus,
    kendall_tau_b,
    krippendorff_alpha,
    pair_agreements,
    position_bias,
)

TRUST_PRIOR_PROMPTS = 5  # trust reaches half of consensus_tau after 5 shared prompts
POSITION_BIAS_Z = 3.0  # a careful annotator crosses it by chance 0.3 % of the time
TOO_FAST_SHARE = 0.25  # of the project's median seconds per output


@dataclass(frozen=True)
class RankedTask:
    """One submitted ranking, as the quality figures read it."""

    annotator: str
    prompt: int
    display_order: tuple[int, ...]  # output ids as shown, first to last
    ranks: Mapping[int, int]
    likert: Mapping[int, int]
    flags: Mapping[int, frozenset[str]]
    seconds: float | None
    assignment: int = 0  # the task's id, to find it again (0 when unknown)


@dataclass(frozen=True)
class AnnotatorQuality:
    annotator: str
    n: int  # rankings submitted
    skipped: int
    trust: float | None
    trust_n: int
    consensus_tau: float | None
    gold_accuracy: float | None
    gold_n: int  # output pairs shared with gold references
    gold_tasks: int
    gold_tau: float | None
    agreement: float | None
    agreement_n: int  # output pairs shared with another annotator
    position_bias: float | None
    position_bias_z: float | None
    position_biased: bool
    median_seconds: float | None
    too_fast: int  # tasks
    likert_mean: float | None
    flag_rate: float | None  # share of (output, flag) boxes ticked


@dataclass(frozen=True)
class AnnotatorPair:
    annotators: tuple[str, str]
    agreed: int  # output pairs both ranked and related the same way
    shared: int  # output pairs both ranked
    prompts: int

    @property
    def agreement(self) -> float | None:
        return _share(self.agreed, self.shared)


@dataclass(frozen=True)
class ProjectQuality:
    rankings: int
    annotators: int
    prompts: int
    prompts_overlapping: int  # ranked by two or more annotators
    agreement: float | None
    agreement_n: int
    alpha_likert: float | None
    alpha_likert_pairable: int
    alpha_flags: float | None
    alpha_flags_pairable: int
    median_seconds: float | None
    too_fast: int


@dataclass(frozen=True)
class QualityReport:
    project: ProjectQuality
    annotators: list[AnnotatorQuality]
    pairs: list[AnnotatorPair]


def quality_report(
    tasks: Sequence[RankedTask],
    *,
    flag_keys: Sequence[str],
    skipped: Mapping[str, int],
    gold: Mapping[int, Ranks] | None = None,
) -> QualityReport:
    """Every figure of the module docstring, from a project's submitted rankings.

    `gold` maps each gold prompt to its reference ranking.
    """
    gold = gold or {}
    by_prompt: dict[int, dict[str, RankedTask]] = defaultdict(dict)
    for task in tasks:
        by_prompt[task.prompt][task.annotator] = task
    taus = _consensus_taus(
        {prompt: judges for prompt, judges in by_prompt.items() if prompt not in gold}
    )
    golds = _gold_scores(tasks, gold)
    pairs = _pairs(by_prompt)
    fast = _too_fast(tasks)
    names = sorted({task.annotator for task in tasks} | set(skipped))
    annotators = [
        _annotator(
            name,
            [task for task in tasks if task.annotator == name],
            taus=taus.get(name, []),
            gold=golds.get(name, []),
            pairs=[pair for pair in pairs if name in pair.annotators],
            fast=fast,
            skipped=skipped.get(name, 0),
            flag_count=len(flag_keys),
        )
        for name in names
    ]
    return QualityReport(
        project=_project(tasks, by_prompt, pairs, fast, flag_keys, len(names)),
        annotators=annotators,
        pairs=pairs,
    )


def trust_score(taus: Sequence[float]) -> float | None:
    """Σ τ / (n + TRUST_PRIOR_PROMPTS), floored at 0; None without any τ.

    The τ are the annotator's τ with the leave-one-out consensus, one per ordinary
    prompt, and with the reference, one per gold task (module docstring).
    """
    if not taus:
        return None
    return max(0.0, sum(taus) / (len(taus) + TRUST_PRIOR_PROMPTS))


@dataclass(frozen=True)
class GoldScore:
    """One gold task of one annotator, against its reference ranking."""

    agreed: int  # output pairs related as the reference relates them
    shared: int  # output pairs both ranked
    tau: float | None  # τ-b with the reference; None when the annotator tied all


def gold_score(ranks: Ranks, reference: Ranks) -> GoldScore:
    """How one ranking matches a reference, on the outputs both ranked."""
    counts = pair_agreements({"judge": ranks, "reference": reference})
    agreement = counts[("judge", "reference")]
    shared = sorted(set(ranks) & set(reference))
    tau = kendall_tau_b([ranks[o] for o in shared], [reference[o] for o in shared])
    return GoldScore(agreed=agreement.agree, shared=agreement.shared, tau=tau)


def task_taus(
    tasks: Sequence[RankedTask], *, gold: Mapping[int, Ranks]
) -> dict[int, float]:
    """Assignment id → τ of that ranking with its yardstick, where it has one.

    The yardstick is the reference on a gold prompt, else the leave-one-out
    consensus of the prompt's other annotators; the review queue's "disagrees"
    filter reads it.
    """
    by_prompt: dict[int, dict[str, RankedTask]] = defaultdict(dict)
    for task in tasks:
        by_prompt[task.prompt][task.annotator] = task
    result = {}
    for prompt, judges in by_prompt.items():
        if prompt in gold:
            scores = {
                task.assignment: gold_score(task.ranks, gold[prompt]).tau
                for task in judges.values()
            }
            result.update({pk: tau for pk, tau in scores.items() if tau is not None})
            continue
        ranks = {name: task.ranks for name, task in judges.items()}
        for name, tau in consensus_taus(ranks).items():
            result[judges[name].assignment] = tau
    return result


def _gold_scores(
    tasks: Sequence[RankedTask], gold: Mapping[int, Ranks]
) -> dict[str, list[GoldScore]]:
    """Annotator → their score on each gold task they ranked."""
    scores: dict[str, list[GoldScore]] = defaultdict(list)
    for task in tasks:
        if task.prompt in gold:
            scores[task.annotator].append(gold_score(task.ranks, gold[task.prompt]))
    return scores


def _consensus_taus(
    by_prompt: Mapping[int, Mapping[str, RankedTask]],
) -> dict[str, list[float]]:
    """Annotator → their τ with the leave-one-out consensus, one per shared prompt."""
    taus: dict[str, list[float]] = defaultdict(list)
    for judges in by_prompt.values():
        ranks = {name: task.ranks for name, task in judges.items()}
        for name, tau in consensus_taus(ranks).items():
            taus[name].append(tau)
    return taus


def _pairs(by_prompt: Mapping[int, Mapping[str, RankedTask]]) -> list[AnnotatorPair]:
    """Agreement of every two annotators who ranked a prompt in common."""
    agree: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0, 0, 0])
    for judges in by_prompt.values():
        ranks = {name: task.ranks for name, task in judges.items()}
        for names, counts in pair_agreements(ranks).items():
            totals = agree[names]
            totals[0] += counts.agree
            totals[1] += counts.shared
            totals[2] += 1
    return [
        AnnotatorPair(annotators=names, agreed=agreed, shared=shared, prompts=prompts)
        for names, (agreed, shared, prompts) in sorted(agree.items())
    ]


def _too_fast(tasks: Sequence[RankedTask]) -> set[tuple[str, int]]:
    """(annotator, prompt) of the tasks done too fast for their number of outputs."""
    per_output = {
        (task.annotator, task.prompt): task.seconds / len(task.display_order)
        for task in tasks
        if task.seconds is not None
    }
    if not per_output:
        return set()
    floor = TOO_FAST_SHARE * statistics.median(per_output.values())
    return {key for key, seconds in per_output.items() if seconds < floor}


def _annotator(
    name: str,
    tasks: Sequence[RankedTask],
    *,
    taus: Sequence[float],
    gold: Sequence[GoldScore],
    pairs: Sequence[AnnotatorPair],
    fast: set[tuple[str, int]],
    skipped: int,
    flag_count: int,
) -> AnnotatorQuality:
    bias = position_bias((task.display_order, task.ranks) for task in tasks)
    seconds = [task.seconds for task in tasks if task.seconds is not None]
    ratings = [value for task in tasks for value in task.likert.values()]
    ticked = sum(len(flags) for task in tasks for flags in task.flags.values())
    boxes = sum(len(task.display_order) for task in tasks)
    gold_taus = [score.tau for score in gold if score.tau is not None]
    gold_shared = sum(score.shared for score in gold)
    return AnnotatorQuality(
        annotator=name,
        n=len(tasks),
        skipped=skipped,
        trust=trust_score([*taus, *gold_taus]),
        trust_n=len(taus) + len(gold_taus),
        consensus_tau=statistics.fmean(taus) if taus else None,
        gold_accuracy=_share(sum(score.agreed for score in gold), gold_shared),
        gold_n=gold_shared,
        gold_tasks=len(gold),
        gold_tau=statistics.fmean(gold_taus) if gold_taus else None,
        agreement=_share(sum(p.agreed for p in pairs), sum(p.shared for p in pairs)),
        agreement_n=sum(pair.shared for pair in pairs),
        position_bias=bias.tau,
        position_bias_z=bias.z,
        position_biased=bias.z is not None and abs(bias.z) >= POSITION_BIAS_Z,
        median_seconds=statistics.median(seconds) if seconds else None,
        too_fast=sum((name, task.prompt) in fast for task in tasks),
        likert_mean=statistics.fmean(ratings) if ratings else None,
        flag_rate=ticked / (boxes * flag_count) if boxes and flag_count else None,
    )


def _project(
    tasks: Sequence[RankedTask],
    by_prompt: Mapping[int, Mapping[str, RankedTask]],
    pairs: Sequence[AnnotatorPair],
    fast: set[tuple[str, int]],
    flag_keys: Sequence[str],
    annotators: int,
) -> ProjectQuality:
    shared = sum(pair.shared for pair in pairs)
    # One unit per output of a prompt: the values of the annotators who judged it.
    outputs = [
        (output, [task for task in judges.values() if output in task.ranks])
        for judges in by_prompt.values()
        for output in {output for task in judges.values() for output in task.ranks}
    ]
    likert = krippendorff_alpha(
        ([task.likert[output] for task in judged] for output, judged in outputs),
        metric="ordinal",
    )
    flags = krippendorff_alpha(
        (
            [float(key in task.flags.get(output, ())) for task in judged]
            for output, judged in outputs
            for key in flag_keys
        ),
        metric="nominal",
    )
    seconds = [task.seconds for task in tasks if task.seconds is not None]
    return ProjectQuality(
        rankings=len(tasks),
        annotators=annotators,
        prompts=len(by_prompt),
        prompts_overlapping=sum(len(judges) >= 2 for judges in by_prompt.values()),
        agreement=_share(sum(pair.agreed for pair in pairs), shared),
        agreement_n=shared,
        alpha_likert=likert.value,
        alpha_likert_pairable=likert.pairable,
        alpha_flags=flags.value,
        alpha_flags_pairable=flags.pairable,
        median_seconds=statistics.median(seconds) if seconds else None,
        too_fast=len(fast),
    )


def _share(part: int, whole: int) -> float | None:
    return part / whole if whole else None
