"""Bradley–Terry strengths from pairwise wins, with bootstrap intervals by prompt.

P(i beats j) = p_i / (p_i + p_j) (Bradley & Terry 1952). A tie counts as half a win
for each side, as Chatbot Arena counts them: one strength per item, no tie parameter
to estimate (Davidson's extension would add one and change nothing in the order).
Scores are log-strengths centred to mean 0 over the compared items, so
P(i beats j) = 1 / (1 + exp(s_j − s_i)).

The fit is Hunter's (2004) MM algorithm, which raises the likelihood at every step.
`prior` adds, per item, that many virtual tied games spread evenly over the other
items: it keeps an item that never won (or never lost) at a finite score and pulls
scores resting on few games towards the others. With `prior=0` the fit is the plain
maximum-likelihood estimate, which exists only when every item has both won and lost
(and the games connect all items).

Intervals are percentile bootstrap intervals over prompts: a prompt's comparisons
come from the same rankings of the same outputs, so they are resampled together.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

DEFAULT_PRIOR = 1.0  # virtual tied games per item: one game's worth of shrinkage
DEFAULT_SAMPLES = 1000  # bootstrap refits
DEFAULT_LEVEL = 0.95
MAX_STEPS = 10_000  # MM converges linearly; small leaderboards need a few hundred


def bt_fit(
    wins: np.ndarray, *, prior: float = DEFAULT_PRIOR, tol: float = 1e-9
) -> np.ndarray:
    """Centred log-strengths, (..., M), from wins[..., i, j] = times i beat j.

    Any leading axes are independent problems fitted together (bootstrap samples).
    Stops when no score moves by more than `tol` in a step, or after MAX_STEPS.
    """
    wins = np.asarray(wins, dtype=float)
    m = wins.shape[-1]
    if m < 2:
        return np.zeros(wins.shape[:-1])
    virtual_ties = prior / (2 * (m - 1)) * (1 - np.eye(m))  # (M, M)
    batch = wins.reshape(-1, m, m) + virtual_ties  # (B, M, M)
    games = batch + batch.transpose(0, 2, 1)  # n_ij, (B, M, M)
    won = batch.sum(axis=2)  # W_i, (B, M)
    if ((won <= 0) | (games.sum(axis=2) - won <= 0)).any():
        raise ValueError(
            "prior: with prior=0 every item must have won and lost at least once "
            "(otherwise its maximum-likelihood strength is infinite); use prior > 0."
        )
    strengths = np.ones_like(won)  # p_i, (B, M)
    scores = np.zeros_like(won)
    for _ in range(MAX_STEPS):
        # MM step (Hunter 2004, eq. 3): p_i ← W_i / Σ_j n_ij / (p_i + p_j).
        pair_sums = strengths[:, :, None] + strengths[:, None, :]  # (B, M, M)
        strengths = won / (games / pair_sums).sum(axis=2)
        # Strengths are defined up to a common factor: keep their geometric mean 1.
        previous, scores = scores, np.log(strengths)
        scores -= scores.mean(axis=1, keepdims=True)
        strengths = np.exp(scores)
        if np.max(np.abs(scores - previous)) < tol:
            break
    return scores.reshape(wins.shape[:-1])


def win_rates(wins: np.ndarray) -> np.ndarray:
    """Share of its games against j that i won, (M, M); NaN where they never met."""
    games = wins + wins.T
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(games > 0, wins / games, np.nan)


@dataclass(frozen=True)
class BradleyTerry:
    """A fit on all prompts and its bootstrap interval per item."""

    scores: np.ndarray  # (M,) centred log-strengths
    low: np.ndarray  # (M,) lower end of the interval
    high: np.ndarray  # (M,) upper end
    wins: np.ndarray  # (M, M) times i beat j over all prompts, ties as halves
    samples: int
    level: float


def bt_bootstrap(
    prompt_wins: np.ndarray,
    *,
    samples: int = DEFAULT_SAMPLES,
    level: float = DEFAULT_LEVEL,
    seed: int = 0,
    prior: float = DEFAULT_PRIOR,
) -> BradleyTerry:
    """Fit on prompt_wins (P, M, M) summed, and refit on prompts drawn with replacement.

    The interval is the central `level` share of the refitted scores (percentile
    bootstrap); the same seed gives the same intervals.
    """
    prompt_wins = np.asarray(prompt_wins, dtype=float)
    n_prompts = prompt_wins.shape[0]
    if n_prompts == 0:
        raise ValueError("prompt_wins: expected at least one prompt's comparisons.")
    rng = np.random.default_rng(seed)
    draws = rng.multinomial(n_prompts, np.full(n_prompts, 1 / n_prompts), samples)
    resampled = np.einsum("bp,pij->bij", draws, prompt_wins)  # (samples, M, M)
    refits = bt_fit(resampled, prior=prior)  # (samples, M)
    tail = 100 * (1 - level) / 2
    low, high = np.percentile(refits, [tail, 100 - tail], axis=0)  # (M,) each
    total = prompt_wins.sum(axis=0)  # (M, M)
    return BradleyTerry(
        scores=bt_fit(total, prior=prior),
        low=low,
        high=high,
        wins=total,
        samples=samples,
        level=level,
    )
