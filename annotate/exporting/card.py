"""The dataset card (README.md) written beside every exported file or folder."""

from __future__ import annotations

from datetime import datetime

import pyarrow as pa

from annotate.exporting.options import (
    ExportFormat,
    ExportOptions,
    FileType,
    MarginSource,
    TiePolicy,
)
from annotate.exporting.records import ExportStats
from annotate.models import Project
from annotate.quality.selection import TRUST_WEIGHT_FLOOR

DEFINITIONS = f"""\
## Definitions

- **Ranks**: 1 = best; outputs sharing a rank were tied by the annotator. Ranks
  have no gaps: a rank bucket left empty counts for nothing ([[], [a], [b]] ranks
  a 1st and b 2nd).
- **Pairs** come from expanding each ranking into its pairs, better output first.
  `weight` is 1 / (pairs its ranking gives under the tie policy), so each ranking
  sums to 1 before the agreement and flag filters (InstructGPT's 1/C(K,2) when
  nothing is tied); `rank_gap` is rank of rejected − rank of chosen; `likert_gap`
  is Likert(chosen) − Likert(rejected).
- **margin** is a column only when the export asks for one, because TRL's
  RewardTrainer subtracts any `margin` column from the reward difference:
  `rank-gap` writes `rank_gap`, `likert-gap` writes `likert_gap` floored at 0 (a
  ranking the ratings contradict, which the annotator confirmed, asks for no
  separation rather than the opposite one), `none` writes no column.
- **Ties**: `drop` gives no pair for tied outputs; `keep` gives one pair with
  `tie` true, the lower output id as chosen; `split` gives both directions at half
  weight each. Tied pairs have rank gap 0.
- **Agreement** of a pair (a, b) in one ranking: among the exported rankings of the
  same prompt that judged both a and b, the share that relate them the same way
  (a above b, b above a, or tied), the ranking itself included — a prompt judged
  once has agreement 1.0. A ranking's agreement is the mean over its pairs.
  `min_agreement` is applied per pair for `pairs` and per ranking otherwise;
  `judges` says how many rankings the figure rests on.
- **Review**: a project lead may approve or reject an annotation with a comment;
  with `exclude_rejected` (the default) rejected annotations are left out whole,
  counted once each under "Left out by the filters", and the other rankings'
  agreement is computed without them.
- **min_trust**: annotations by annotators whose trust (the quality page's
  figure: their Kendall τ with the consensus and with gold references, shrunk
  towards 0 while they have few such tasks) is below it are left out; annotations
  without a trust figure (no task shared with another annotator and no gold task
  yet, or imported) are left out too whenever a minimum is set. Each is counted
  under "Left out by the filters". Agreement is computed without them.
- **weighting** `trust`: each ranking weighs its annotator's trust, at least
  {TRUST_WEIGHT_FLOOR} (the weight of annotations without a trust figure); `none`: 1.
  Pairs multiply their `weight` by it; rankings get a `weight` column only when
  weighting is on. Trainers that read weights divide by their sum, so only
  ratios matter.
- **aggregate**: `majority` or `bradley-terry` folds the exported annotations of
  each prompt into one consensus ranking of every output any of them ranked
  (`majority`: each pair as most rankings order it, weighted by their weights,
  an even vote a tie, outputs ranked by wins + ½ ties; `bradley-terry`: a
  per-prompt Bradley–Terry fit, a tie half a win each way, outputs ranked by
  strength, equal strengths tied). Its `annotation_id` is empty and
  `annotation_ids` / `annotations_folded` say what it folded; its Likert per
  output is the lower median of the folded ratings, its flags every flag any of
  them ticked, its weight the mean weight of the folded annotations (1 without
  weighting), its agreement that of the consensus with the folded rankings.
- **Flags**: `flags` holds the keys of the output flags the annotator ticked (or
  answered Yes), `prompt_flags` those of the checklist about the prompt (ratings,
  unpaired, rankings and raw formats). Where the project asks Yes/No, `flags_no`
  and `prompt_flags_no` hold the keys answered No; a key in neither list was not
  asked (a project where annotators tick what applies, or a flag added later), so
  it says nothing either way. "Flag checklists" above lists what each key means.
- **Unpaired labels** (KTO): a flagged output is undesirable (false); otherwise
  true from Likert `desirable_min_likert` up, false up to `undesirable_max_likert`,
  and outputs rated in between are left out.
- **annotator** is a pseudonym: a keyed hash (HMAC-SHA256 with the server's
  SECRET_KEY) of the user id, stable across exports of one server, never the name;
  empty for imported judgements, which no rankwise user made.
- **source**: `human` for judgements given in rankwise, `imported` for those loaded
  from files. `round` is the training round whose policy generated the output
  (empty for outputs not generated by a round).
- **Standard style** prompts are plain text; chat prompts are flattened with the
  HH-RLHF markers (`\\n\\nHuman: …\\n\\nAssistant:`). **Conversational style**
  prompts are lists of {{role, content}} messages and completions one assistant
  message.
- **Splits** (datasets folders): a prompt lands in `test` when a hash of its
  content and the seed falls below `test_fraction`, so no prompt is in both splits.
  A split with no rows is left out of the folder.
"""


def _quality(stats: ExportStats) -> str:
    """What the quality options made of the rankings: consensus and weights."""
    lines = []
    if stats.consensus_rankings:
        lines.append(
            f"{stats.annotations} annotations folded into "
            f"{stats.consensus_rankings} consensus rankings, one per prompt."
        )
    weights = stats.weights.summary()
    if weights is not None:
        lines.append(
            "Ranking weights: min {min:.3f}, mean {mean:.3f}, max {max:.3f}.".format(
                **weights
            )
        )
    if not lines:
        return ""
    return "\n".join(["## Annotation quality", "", *lines, ""])


def dataset_card(
    *,
    project: Project,
    options: ExportOptions,
    file_type: FileType,
    schema: pa.Schema,
    stats: ExportStats,
    created_at: datetime,
) -> str:
    """Markdown describing what was exported, from where, how, and how much."""
    return "\n".join(
        [
            f"# {project.name}: {options.format} export",
            "",
            f"Exported from rankwise project `{project.slug}` on "
            f"{created_at.isoformat(timespec='seconds')}.",
            f"Format `{options.format}`, {options.style} style, file type "
            f"`{file_type}`.",
            "",
            _counts(stats),
            _filters(options),
            _left_out(stats),
            *filter(None, [_quality(stats)]),
            _fields(schema),
            _checklists(project),
            *([_trl(options, stats)] if options.format == ExportFormat.PAIRS else []),
            DEFINITIONS,
        ]
    )


def _counts(stats: ExportStats) -> str:
    rows = [
        f"| {split} | {stats.rows[split]} | {stats.prompts[split]} |"
        for split in sorted(stats.rows)
    ]
    return "\n".join(
        [
            "## Counts",
            "",
            "| split | rows | prompts |",
            "|---|---|---|",
            *(rows or ["| (none) | 0 | 0 |"]),
            "",
            f"From {stats.annotations} annotations by {len(stats.annotators)} "
            "annotators.",
            "",
        ]
    )


def _filters(options: ExportOptions) -> str:
    lines = [f"| {name} | {value} |" for name, value in options.filters_summary()]
    return "\n".join(["## Filters", "", "| filter | value |", "|---|---|", *lines, ""])


def _left_out(stats: ExportStats) -> str:
    if not stats.left_out:
        return "## Left out by the filters\n\nNothing.\n"
    lines = [
        f"| {reason} | {count} |" for reason, count in sorted(stats.left_out.items())
    ]
    return "\n".join(
        [
            "## Left out by the filters",
            "",
            "| reason | count |",
            "|---|---|",
            *lines,
            "",
        ]
    )


def _fields(schema: pa.Schema) -> str:
    lines = [f"| `{field.name}` | `{field.type}` |" for field in schema]
    return "\n".join(["## Fields", "", "| field | type |", "|---|---|", *lines, ""])


def _checklists(project: Project) -> str:
    """What the flag keys mean: each checklist's keys, labels and descriptions."""
    asked = (
        "Annotators answer Yes or No for every flag."
        if project.asks_yes_no
        else "Annotators tick the flags that apply; an unticked flag is no answer."
    )
    lines = ["## Flag checklists", "", f"As the project has them now. {asked}", ""]
    for title, checklist in (
        ("Output flags (`flags`)", project.flags),
        ("Prompt flags (`prompt_flags`)", project.prompt_flags),
    ):
        rows = [
            f"| `{flag['key']}` | {_cell(flag['label'])} | "
            f"{_cell(flag.get('description', ''))} |"
            for flag in checklist
        ]
        lines += [f"{title}:", ""]
        lines += (
            ["| key | label | description |", "|---|---|---|", *rows]
            if rows
            else ["None asked."]
        )
        lines.append("")
    return "\n".join(lines)


def _cell(text: str) -> str:
    """Text in a Markdown table cell: a "|" in it would end the cell."""
    return text.replace("|", "\\|")


TRL_MARGIN = {
    MarginSource.NONE: "No `margin` column (margin=none), so RewardTrainer uses its "
    "plain loss −log σ(r_chosen − r_rejected).",
    MarginSource.RANK_GAP: "`margin` is the rank gap (margin=rank-gap): "
    "RewardTrainer asks the chosen reward to beat the rejected one by it.",
    MarginSource.LIKERT_GAP: "`margin` is the Likert gap floored at 0 "
    "(margin=likert-gap): RewardTrainer asks the chosen reward to beat the "
    "rejected one by it.",
}


def _trl(options: ExportOptions, stats: ExportStats) -> str:
    """What TRL's trainers make of this pairs export: the columns they read."""
    tied = f"{stats.tie_rows} row{' has' if stats.tie_rows == 1 else 's have'}"
    ties = {
        TiePolicy.DROP: "No row holds two tied outputs (ties=drop).",
        TiePolicy.KEEP: f"{tied} `tie` true (ties=keep): "
        "TRL trains on each as a real preference of `chosen` over `rejected`. "
        "Leave them out (`dataset.filter(lambda row: not row['tie'])`) unless your "
        "loss reads `tie`.",
        TiePolicy.SPLIT: f"{tied} `tie` true (ties=split), "
        "each tie in both directions: TRL trains on both at full weight, which pulls "
        "the two rewards together, a tie giving two rows where a preference gives "
        "one.",
    }
    return "\n".join(
        [
            "## Training with TRL",
            "",
            "TRL's DPOTrainer and RewardTrainer read `prompt`, `chosen` and "
            "`rejected`; RewardTrainer also reads a `margin` column whenever there "
            "is one (loss −log σ(r_chosen − r_rejected − margin)). No TRL trainer "
            "reads `weight`, `tie`, `rank_gap` or `likert_gap`. In TRL 1.16 "
            "DPOTrainer keeps only its tokenized columns (prompt_ids, chosen_ids, "
            "rejected_ids and the reference log-probabilities) and RewardTrainer "
            "only chosen_ids, rejected_ids and margin, dropping the rest "
            "(remove_unused_columns, on by default); DPOConfig.use_weighting is "
            "WPO's weighting from the policy's own probabilities, not this column. "
            "rankwise's trainer (`python -m training`) reads `weight`.",
            "",
            f"- {TRL_MARGIN[options.margin]}",
            f"- {ties[options.ties]}",
            "",
        ]
    )
