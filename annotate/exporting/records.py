"""Export records, one dict per row, built from prompt groups (no database).

Field names follow TRL's dataset conventions (prompt/chosen/rejected,
prompt/completion/label, prompt/completions/ranks); every row also carries ids for
provenance. `schemas.py` gives the Parquet/Arrow type of each field.
"""

from __future__ import annotations

import dataclasses
import statistics
from collections import Counter
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from itertools import combinations
from typing import Any

from annotate.exporting.agreement import PromptAgreement
from annotate.exporting.options import (
    ExportFormat,
    ExportOptions,
    MarginSource,
    Style,
    TiePolicy,
)
from annotate.exporting.reading import JudgedAnnotation, JudgedOutput, PromptGroup
from annotate.quality.selection import (
    Aggregate,
    Weighting,
    WeightTally,
    consensus_ranks,
    folded_weight,
    left_out_reason,
    ranking_weight,
)
from annotate.ranking import ExpandedPair, expand_ranking

Record = dict[str, Any]
Text = str | list[dict[str, str]]

# Chat prompts in standard (plain-text) style use the HH-RLHF turn markers.
STANDARD_ROLE_NAMES = {"user": "Human", "assistant": "Assistant"}


@dataclass
class ExportStats:
    """What an export wrote and what its filters left out; feeds the dataset card."""

    rows: Counter[str] = field(default_factory=Counter)  # per split
    prompts: Counter[str] = field(default_factory=Counter)  # per split
    annotations: int = 0
    annotators: set[str] = field(default_factory=set)  # bounded by the user count
    left_out: Counter[str] = field(default_factory=Counter)  # reason -> rows
    tie_rows: int = 0  # pairs rows with tie=true (ties=keep or split)
    consensus_rankings: int = 0  # aggregate: one per prompt, folding its annotations
    weights: WeightTally = field(default_factory=WeightTally)  # per exported ranking


def render_prompt(text: str, messages: list[dict[str, str]], style: Style) -> Text:
    """The prompt in the export style; chat turns flatten to HH-RLHF markers."""
    if style == Style.CONVERSATIONAL:
        return [dict(m) for m in messages] or [{"role": "user", "content": text}]
    if text or not messages:
        return text
    turns = "".join(
        f"\n\n{STANDARD_ROLE_NAMES.get(m['role'], m['role'].title())}: {m['content']}"
        for m in messages
    )
    return f"{turns}\n\nAssistant:"


def render_completion(text: str, style: Style) -> Text:
    if style == Style.CONVERSATIONAL:
        return [{"role": "assistant", "content": text}]
    return text


def group_records(
    group: PromptGroup,
    options: ExportOptions,
    stats: ExportStats,
    trust: Mapping[str, float | None] | None = None,
) -> Iterator[Record]:
    """Every record of one prompt in the chosen format, filters applied.

    `trust` maps annotator pseudonyms to their trust, for min_trust and weighting.
    """
    kept = _trusted(group.annotations, options, stats, trust or {})
    if not kept:
        return
    group = dataclasses.replace(group, annotations=tuple(a for a, _ in kept))
    # Agreement is among the rankings exported, before any are folded together.
    agreement = PromptAgreement([a.ranks for a, _ in kept])
    prompt = render_prompt(group.text, group.messages, options.style)
    for annotation, _ in kept:
        stats.annotations += 1
        if annotation.annotator is not None:
            stats.annotators.add(annotation.annotator)
    for annotation, weight, folded in _folded(kept, options, stats):
        if options.weighting != Weighting.NONE:
            stats.weights.add(weight)
        context = _Context(
            group, annotation, agreement, prompt, options, stats, weight, folded
        )
        if options.format == ExportFormat.PAIRS:
            yield from _pairs(context)
        elif agreement.ranking(annotation.ranks) < options.min_agreement:
            stats.left_out["annotation below min_agreement"] += 1
        else:
            yield from BUILDERS[options.format](context)


def _trusted(
    annotations: Sequence[JudgedAnnotation],
    options: ExportOptions,
    stats: ExportStats,
    trust: Mapping[str, float | None],
) -> list[tuple[JudgedAnnotation, float]]:
    """The annotations min_trust keeps, each with its weight (selection.py)."""
    kept = []
    for annotation in annotations:
        figure = trust.get(annotation.annotator) if annotation.annotator else None
        reason = left_out_reason(figure, options.min_trust)
        if reason is not None:
            stats.left_out[reason] += 1
            continue
        kept.append((annotation, ranking_weight(figure, options.weighting)))
    return kept


def _folded(
    kept: list[tuple[JudgedAnnotation, float]],
    options: ExportOptions,
    stats: ExportStats,
) -> list[tuple[JudgedAnnotation, float, tuple[int, ...]]]:
    """(annotation, weight, ids folded into it): each one, or the prompt's consensus."""
    method = options.aggregate
    if method == Aggregate.NONE:
        return [(annotation, weight, ()) for annotation, weight in kept]
    annotations = [annotation for annotation, _ in kept]
    weights = [weight for _, weight in kept]
    ranks = consensus_ranks(method, [a.ranks for a in annotations], weights)
    stats.consensus_rankings += 1
    return [
        (
            consensus_annotation(annotations, ranks),
            folded_weight(weights, options.weighting),
            tuple(annotation.annotation_id for annotation in annotations),
        )
    ]


def consensus_annotation(
    annotations: Sequence[JudgedAnnotation], ranks: Mapping[int, int]
) -> JudgedAnnotation:
    """The prompt's annotations as one: consensus ranks, low median Likert, flags."""
    outputs: dict[int, list[JudgedOutput]] = {}
    for annotation in annotations:
        for output in annotation.outputs:
            outputs.setdefault(output.candidate_id, []).append(output)
    merged = [
        JudgedOutput(
            candidate_id=candidate,
            text=judged[0].text,
            model=judged[0].model,
            round=judged[0].round,
            rank=ranks[candidate],
            likert=statistics.median_low(o.likert for o in judged),
            **_merged_flags([(o.flags, o.flags_no) for o in judged], "flags"),
        )
        for candidate, judged in outputs.items()
    ]
    annotators = {a.annotator for a in annotations}
    sources = {a.source for a in annotations}
    completed = [a.completed_at for a in annotations if a.completed_at is not None]
    return JudgedAnnotation(
        annotation_id=0,  # stands for several; records carry annotation_ids instead
        annotator=annotators.pop() if len(annotators) == 1 else None,
        source=sources.pop() if len(sources) == 1 else "mixed",
        skipped=False,
        skip_reason="",
        notes="",
        import_source="",
        time_spent_ms=None,
        created_at=max(a.created_at for a in annotations),
        completed_at=max(completed, default=None),
        display_order=(),
        outputs=tuple(sorted(merged, key=lambda o: (o.rank, o.candidate_id))),
        **_merged_flags(
            [(a.prompt_flags, a.prompt_flags_no) for a in annotations], "prompt_flags"
        ),
    )


def _merged_flags(
    answers: Sequence[tuple[Sequence[str], Sequence[str]]], name: str
) -> dict[str, tuple[str, ...]]:
    """Folded flag answers: every key any ticked (or answered Yes), and as answered
    No the keys some answered No and none ticked."""
    yes = {key for ticked, _ in answers for key in ticked}
    no = {key for _, answered_no in answers for key in answered_no} - yes
    return {name: tuple(sorted(yes)), f"{name}_no": tuple(sorted(no))}


@dataclass(frozen=True)
class _Context:
    group: PromptGroup
    annotation: JudgedAnnotation
    agreement: PromptAgreement
    prompt: Text
    options: ExportOptions
    stats: ExportStats
    weight: float  # the ranking's (selection.py); 1 without weighting
    folded: tuple[int, ...]  # aggregate: the annotations folded into this one

    def completion(self, output: JudgedOutput) -> Text:
        return render_completion(output.text, self.options.style)

    def ids(self) -> Record:
        aggregated = self.options.aggregate != Aggregate.NONE
        ids: Record = {
            "prompt_id": self.group.prompt_id,
            "annotation_id": None if aggregated else self.annotation.annotation_id,
            "annotator": self.annotation.annotator,
            "source": self.annotation.source,
        }
        if aggregated:
            ids["annotation_ids"] = list(self.folded)
            ids["annotations_folded"] = len(self.folded)
        return ids

    def prompt_flags(self) -> Record:
        """The prompt-level checklist's answers (flags_no: answered No)."""
        return {
            "prompt_flags": list(self.annotation.prompt_flags),
            "prompt_flags_no": list(self.annotation.prompt_flags_no),
        }

    def ranking_weight(self) -> Record:
        """The `weight` column of a ranking, present only when weighting is on."""
        if self.options.weighting == Weighting.NONE:
            return {}
        return {"weight": self.weight}


def _pairs(context: _Context) -> Iterator[Record]:
    annotation, options = context.annotation, context.options
    ranks = annotation.ranks
    expanded = expand_ranking(
        ranks, annotation.likert, keep_ties=options.ties != TiePolicy.DROP
    )
    if options.ties == TiePolicy.DROP:
        tied = sum(a == b for a, b in combinations(ranks.values(), 2))
        if tied:
            context.stats.left_out["tied pair (ties=drop)"] += tied
    for pair in expanded:
        agreement = context.agreement.pair(ranks, pair.chosen, pair.rejected)
        if agreement < options.min_agreement:
            context.stats.left_out["pair below min_agreement"] += 1
            continue
        for direction in _directions(pair, options.ties):
            yield from _pair_record(context, direction, agreement)


def _directions(pair: ExpandedPair, ties: TiePolicy) -> list[ExpandedPair]:
    """The pair as exported: a split tie becomes both directions at half weight."""
    if not (pair.is_tie and ties == TiePolicy.SPLIT):
        return [pair]
    half = pair.weight / 2
    return [
        ExpandedPair(pair.chosen, pair.rejected, True, half, 0, pair.likert_gap),
        ExpandedPair(pair.rejected, pair.chosen, True, half, 0, -pair.likert_gap),
    ]


def _pair_record(
    context: _Context, pair: ExpandedPair, agreement: float
) -> Iterator[Record]:
    outputs = {o.candidate_id: o for o in context.annotation.outputs}
    chosen, rejected = outputs[pair.chosen], outputs[pair.rejected]
    if context.options.exclude_flagged_chosen and chosen.flags:
        context.stats.left_out["flagged output as chosen"] += 1
        return
    if pair.is_tie:
        context.stats.tie_rows += 1
    yield {
        "prompt": context.prompt,
        "chosen": context.completion(chosen),
        "rejected": context.completion(rejected),
        **_margin(pair, context.options.margin),
        "weight": pair.weight * context.weight,
        "tie": pair.is_tie,
        "rank_gap": pair.rank_gap,
        "likert_gap": pair.likert_gap,
        "agreement": agreement,
        "judges": context.agreement.judges(pair.chosen, pair.rejected),
        **context.ids(),
        "chosen_id": chosen.candidate_id,
        "rejected_id": rejected.candidate_id,
        "chosen_model": chosen.model,
        "rejected_model": rejected.model,
        "chosen_round": chosen.round,
        "rejected_round": rejected.round,
    }


def _margin(pair: ExpandedPair, source: MarginSource) -> Record:
    """The `margin` column, present only when asked for: TRL reads it by name."""
    if source == MarginSource.RANK_GAP:
        return {"margin": float(pair.rank_gap)}
    if source == MarginSource.LIKERT_GAP:
        # The ranking is the judgement; ratings that contradict it (confirmed by the
        # annotator) ask for no separation rather than for the opposite one.
        return {"margin": float(max(pair.likert_gap, 0))}
    return {}


def kto_label(output: JudgedOutput, options: ExportOptions) -> bool | None:
    """Desirable (True), undesirable (False) or neutral (None, not exported).

    A flagged output is undesirable whatever its rating.
    """
    if output.flags or output.likert <= options.undesirable_max_likert:
        return False
    if output.likert >= options.desirable_min_likert:
        return True
    return None


def _unpaired(context: _Context) -> Iterator[Record]:
    for output in context.annotation.outputs:
        label = kto_label(output, context.options)
        if label is None:
            context.stats.left_out["neutral rating (unpaired)"] += 1
            continue
        yield {
            "prompt": context.prompt,
            "completion": context.completion(output),
            "label": label,
            **_output_fields(context, output),
        }


def _ratings(context: _Context) -> Iterator[Record]:
    for output in context.annotation.outputs:
        yield {
            "prompt": context.prompt,
            "completion": context.completion(output),
            **_output_fields(context, output),
        }


def _output_fields(context: _Context, output: JudgedOutput) -> Record:
    return {
        "likert": output.likert,
        "flags": list(output.flags),
        "flags_no": list(output.flags_no),
        **context.prompt_flags(),
        "rank": output.rank,
        "agreement": context.agreement.ranking(context.annotation.ranks),
        **context.ids(),
        "candidate_id": output.candidate_id,
        "model": output.model,
        "round": output.round,
    }


def _rankings(context: _Context) -> Iterator[Record]:
    outputs = context.annotation.outputs
    if len(outputs) < 2:  # e.g. an imported unpaired judgement: nothing to rank
        context.stats.left_out["ranking of fewer than 2 outputs"] += 1
        return
    yield {
        "prompt": context.prompt,
        "completions": [context.completion(output) for output in outputs],
        "ranks": [output.rank for output in outputs],
        "likert": [output.likert for output in outputs],
        "flags": [list(output.flags) for output in outputs],
        "flags_no": [list(output.flags_no) for output in outputs],
        **context.prompt_flags(),
        "agreement": context.agreement.ranking(context.annotation.ranks),
        "judges": len(context.group.annotations),
        **context.ranking_weight(),
        **context.ids(),
        "candidate_ids": [output.candidate_id for output in outputs],
        "models": [output.model for output in outputs],
        "rounds": [output.round for output in outputs],
    }


def _raw(context: _Context) -> Iterator[Record]:
    annotation = context.annotation
    by_id = {output.candidate_id: output for output in annotation.outputs}
    yield {
        "prompt": context.prompt,
        **context.ids(),
        "skipped": annotation.skipped,
        "skip_reason": annotation.skip_reason,
        "notes": annotation.notes,
        **context.prompt_flags(),
        "import_source": annotation.import_source,
        "time_spent_ms": annotation.time_spent_ms,
        "created_at": annotation.created_at.isoformat(),
        "completed_at": _iso(annotation),
        "display_order": list(annotation.display_order),
        "outputs": [
            {
                "letter": chr(ord("A") + position),
                "candidate_id": cid,
                "completion": context.completion(by_id[cid]),
                "model": by_id[cid].model,
                "round": by_id[cid].round,
                "rank": by_id[cid].rank,
                "likert": by_id[cid].likert,
                "flags": list(by_id[cid].flags),
                "flags_no": list(by_id[cid].flags_no),
            }
            for position, cid in enumerate(annotation.display_order)
            if cid in by_id  # a skipped task judged nothing
        ],
    }


def _iso(annotation: JudgedAnnotation) -> str | None:
    completed = annotation.completed_at
    return completed.isoformat() if completed is not None else None


BUILDERS: dict[str, Callable[[_Context], Iterator[Record]]] = {
    ExportFormat.UNPAIRED: _unpaired,
    ExportFormat.RATINGS: _ratings,
    ExportFormat.RANKINGS: _rankings,
    ExportFormat.RAW: _raw,
}
