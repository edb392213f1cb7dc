"""The human leaderboard of a project's models: Bradley–Terry over people's rankings.

A contender is the model version that generated an output (CandidateOrigin) or, for
an output with no recorded origin (imported or seeded), the `source` name it came
with. In every submitted human ranking, each two outputs of different contenders
give the better-ranked one a win (a tie gives each half); outputs of one contender
never meet here, so only prompts that mix contenders count. Scores, intervals and
their meaning: annotate.quality.bradley_terry (bootstrap by prompt).

It lives in training/ because it reads CandidateOrigin; annotate's pages and API
(the layer that shows both sides) import it, annotate's models and services do not.
"""

from __future__ import annotations

import dataclasses
import math
from collections import defaultdict
from dataclasses import dataclass
from itertools import combinations
from typing import Any

import numpy as np

from annotate.models import Annotation, Judgement, Project
from annotate.quality.bradley_terry import (
    DEFAULT_LEVEL,
    DEFAULT_PRIOR,
    DEFAULT_SAMPLES,
    bt_bootstrap,
    win_rates,
)

# (model version id, None) for generated outputs, (None, source) for the others.
ContenderKey = tuple[int | None, str | None]


@dataclass(frozen=True)
class LeaderboardRow:
    rank: int
    model: str  # the model version's name, or the outputs' source
    model_version: int | None
    source: str | None
    score: float  # centred log-strength: P(i beats j) = 1 / (1 + exp(s_j − s_i))
    low: float
    high: float
    comparisons: int  # head-to-head pairs, ties included
    wins: float  # ties count half
    prompts: int


@dataclass(frozen=True)
class Leaderboard:
    rows: list[LeaderboardRow]  # best score first
    win_rates: list[list[float | None]]  # [i][j]: share of i's games with j i won
    counts: list[list[int]]  # [i][j]: games between i and j, rows' order
    prompts: int  # prompts with at least one head-to-head pair
    comparisons: int
    samples: int
    level: float
    prior: float


def leaderboard_compute(
    *, project: Project, samples: int = DEFAULT_SAMPLES, seed: int = 0
) -> Leaderboard:
    """Bradley–Terry scores of the project's contenders with bootstrap intervals."""
    names, pairs = _head_to_head(project)
    keys = sorted({key for _, won, lost, _ in pairs for key in (won, lost)}, key=str)
    prompts = sorted({prompt for prompt, *_ in pairs})
    if len(keys) < 2:
        return Leaderboard(
            rows=[],
            win_rates=[],
            counts=[],
            prompts=len(prompts),
            comparisons=len(pairs),
            samples=samples,
            level=DEFAULT_LEVEL,
            prior=DEFAULT_PRIOR,
        )
    index = {key: i for i, key in enumerate(keys)}
    row_of = {prompt: i for i, prompt in enumerate(prompts)}
    prompt_wins = np.zeros((len(prompts), len(keys), len(keys)))  # (P, M, M)
    for prompt, won, lost, tie in pairs:
        share = 0.5 if tie else 1.0
        prompt_wins[row_of[prompt], index[won], index[lost]] += share
        prompt_wins[row_of[prompt], index[lost], index[won]] += 1.0 - share
    fit = bt_bootstrap(prompt_wins, samples=samples, seed=seed)
    games = prompt_wins + prompt_wins.transpose(0, 2, 1)  # (P, M, M)
    order = sorted(range(len(keys)), key=lambda i: -fit.scores[i])
    rows = [
        LeaderboardRow(
            rank=place,
            model=names[keys[i]],
            model_version=keys[i][0],
            source=keys[i][1],
            score=float(fit.scores[i]),
            low=float(fit.low[i]),
            high=float(fit.high[i]),
            comparisons=int(round(games[:, i].sum())),
            wins=float(fit.wins[i].sum()),
            prompts=int(np.count_nonzero(games[:, i].sum(axis=1))),
        )
        for place, i in enumerate(order, start=1)
    ]
    rates = win_rates(fit.wins)[np.ix_(order, order)]  # (M, M) in rows' order
    return Leaderboard(
        rows=rows,
        win_rates=[[None if math.isnan(x) else float(x) for x in row] for row in rates],
        counts=games.sum(axis=0)[np.ix_(order, order)].round().astype(int).tolist(),
        prompts=len(prompts),
        comparisons=len(pairs),
        samples=samples,
        level=fit.level,
        prior=DEFAULT_PRIOR,
    )


def leaderboard_data(*, project: Project, board: Leaderboard) -> dict[str, Any]:
    """The leaderboard as `leaderboard --json` prints it (shape in the README)."""
    project_data = {"slug": project.slug, "name": project.name}
    return {"project": project_data, **dataclasses.asdict(board)}


def _head_to_head(
    project: Project,
) -> tuple[dict[ContenderKey, str], list[tuple[int, ContenderKey, ContenderKey, bool]]]:
    """Contender names, and every (prompt, better, worse, tied) pair of contenders."""
    judged: dict[tuple[int, int], list[tuple[ContenderKey, int]]] = defaultdict(list)
    names: dict[ContenderKey, str] = {}
    for (
        annotation,
        prompt,
        rank,
        source,
        version,
        version_name,
    ) in Judgement.objects.filter(
        annotation__assignment__prompt__project=project,
        annotation__assignment__annotator__isnull=False,
        annotation__skipped=False,
        annotation__source=Annotation.Source.HUMAN,
    ).values_list(
        "annotation_id",
        "annotation__assignment__prompt_id",
        "rank",
        "candidate__source",
        "candidate__origin__model_version_id",
        "candidate__origin__model_version__name",
    ):
        key: ContenderKey = (version, None) if version is not None else (None, source)
        names[key] = version_name if version is not None else source
        judged[(annotation, prompt)].append((key, rank))
    pairs = []
    for (_, prompt), outputs in judged.items():
        for (a, rank_a), (b, rank_b) in combinations(outputs, 2):
            if a == b:
                continue
            better, worse = (a, b) if rank_a <= rank_b else (b, a)
            pairs.append((prompt, better, worse, rank_a == rank_b))
    return names, pairs
