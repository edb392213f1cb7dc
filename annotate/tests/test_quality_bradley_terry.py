"""Bradley–Terry fits against hand-computed strengths; bootstrap interval coverage."""

import math

import numpy as np
import pytest

from annotate.quality.bradley_terry import bt_bootstrap, bt_fit, win_rates


def test_two_items_fit_the_log_odds_of_their_record():
    # 3 wins to 1: p_a / p_b = 3, so the centred scores are ± ln(3) / 2.
    scores = bt_fit(np.array([[0, 3], [1, 0]]), prior=0)
    assert scores == pytest.approx([math.log(3) / 2, -math.log(3) / 2])


def test_three_items_fit_a_hand_checked_maximum_likelihood():
    # a beat b 2 of 3, b beat c 2 of 3, a beat c 4 of 5. With p = (4, 2, 1) each
    # item's wins equal its expected wins, Σ_j n_ij p_i / (p_i + p_j):
    # a: 3·4/6 + 5·4/5 = 6, b: 3·2/6 + 3·2/3 = 3, c: 3·1/3 + 5·1/5 = 2.
    wins = np.array([[0, 2, 4], [1, 0, 2], [1, 1, 0]])
    expected = np.log([4, 2, 1]) - np.log(2)  # centred: geometric mean 2
    assert bt_fit(wins, prior=0) == pytest.approx(expected, abs=1e-7)


def test_a_tie_is_half_a_win_for_each():
    # a won one game and tied two: wins 2 to 1, so p_a / p_b = 2.
    scores = bt_fit(np.array([[0, 1 + 2 * 0.5], [2 * 0.5, 0]]), prior=0)
    assert scores[0] - scores[1] == pytest.approx(math.log(2))


def test_the_prior_keeps_an_unbeaten_item_finite():
    # 3-0, plus one virtual tied game per item: wins 3.5 to 0.5, p_a / p_b = 7.
    scores = bt_fit(np.array([[0, 3], [0, 0]]), prior=1.0)
    assert scores[0] - scores[1] == pytest.approx(math.log(7))
    with pytest.raises(ValueError, match="prior: with prior=0 every item must"):
        bt_fit(np.array([[0, 3], [0, 0]]), prior=0)


def test_batched_fits_equal_single_fits():
    batch = np.array([[[0, 3], [1, 0]], [[0, 1], [1, 0]]])
    fits = bt_fit(batch)
    assert fits[0] == pytest.approx(bt_fit(batch[0]))
    assert fits[1] == pytest.approx([0, 0])


def test_win_rates_leave_unplayed_pairs_empty():
    rates = win_rates(np.array([[0, 3, 0], [1, 0, 0], [0, 0, 0.0]]))
    assert rates[0, 1] == 0.75 and rates[1, 0] == 0.25
    assert np.isnan(rates[0, 2])


def _simulated_prompt_wins(
    rng: np.random.Generator, strengths: np.ndarray, prompts: int
) -> np.ndarray:
    """Each prompt ranks 3 of the items by Plackett–Luce (Gumbel noise on the scores),
    whose pairwise marginals are exactly Bradley–Terry."""
    wins = np.zeros((prompts, len(strengths), len(strengths)))  # (P, M, M)
    for p in range(prompts):
        items = rng.choice(len(strengths), size=3, replace=False)
        best_first = items[np.argsort(-(strengths[items] + rng.gumbel(size=3)))]
        for i, winner in enumerate(best_first):
            for loser in best_first[i + 1 :]:
                wins[p, winner, loser] += 1
    return wins


def test_bootstrap_intervals_cover_the_true_strengths_at_the_stated_rate():
    rng = np.random.default_rng(11)
    truth = np.array([0.9, 0.3, -0.2, -1.0])
    truth -= truth.mean()
    covered = []
    for trial in range(60):
        wins = _simulated_prompt_wins(rng, truth, prompts=80)
        fit = bt_bootstrap(wins, samples=300, seed=trial)
        covered.extend((fit.low <= truth) & (truth <= fit.high))
    coverage = float(np.mean(covered))
    # 240 intervals at 95 %: a binomial standard error of 1.4 points.
    assert 0.90 <= coverage <= 0.99, coverage


def test_bootstrap_is_reproducible_and_reports_totals():
    rng = np.random.default_rng(5)
    wins = _simulated_prompt_wins(rng, np.array([1.0, 0.0, -1.0]), prompts=30)
    first, second = bt_bootstrap(wins, seed=4), bt_bootstrap(wins, seed=4)
    assert np.array_equal(first.low, second.low)
    assert first.wins.sum() == 30 * 3  # three pairs per ranking of three
    assert np.all(first.low <= first.scores) and np.all(first.scores <= first.high)
    with pytest.raises(ValueError, match="prompt_wins: expected at least one"):
        bt_bootstrap(np.zeros((0, 2, 2)))
