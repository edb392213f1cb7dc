"""Agreement statistics against hand-worked and published values (no database)."""

import math
import random
import statistics
from fractions import Fraction

import pytest

from annotate.quality.stats import (
    consensus_taus,
    kendall_tau_b,
    krippendorff_alpha,
    mid_ranks,
    pair_agreements,
    position_bias,
)

# Krippendorff (2011), "Computing Krippendorff's Alpha-Reliability", section C:
# 4 observers x 12 units, nominal values 1-5, None where an observer gave none.
OBSERVERS = [
    [1, 2, 3, 3, 2, 1, 4, 1, 2, None, None, None],
    [1, 2, 3, 3, 2, 2, 4, 1, 2, 5, None, 3],
    [None, 3, 3, 3, 2, 3, 4, 2, 2, 5, 1, None],
    [1, 2, 3, 3, 2, 4, 4, 1, 2, 5, 1, None],
]
UNITS = [[v for v in unit if v is not None] for unit in zip(*OBSERVERS, strict=True)]


def test_tau_b_with_ties_in_one_ranking_by_hand():
    # Pairs of positions 1-4: three concordant, two discordant, one tied in y only.
    # τ_b = (3 − 2) / √(6 · 5).
    assert kendall_tau_b([1, 2, 3, 4], [1, 3, 2, 2]) == pytest.approx(1 / math.sqrt(30))


def test_tau_b_with_ties_in_both_by_hand():
    # Four concordant pairs, none discordant, one tie in x, one (other) tie in y.
    assert kendall_tau_b([1, 1, 2, 3], [1, 2, 2, 3]) == pytest.approx(4 / 5)
    assert kendall_tau_b([1, 2, 3], [3, 2, 1]) == -1.0


def test_tau_b_is_undefined_for_a_constant_ranking():
    assert kendall_tau_b([1, 2, 3], [2, 2, 2]) is None
    with pytest.raises(ValueError, match="equal-length"):
        kendall_tau_b([1, 2], [1, 2, 3])


def test_mid_ranks_share_the_positions_of_a_tie():
    # Buckets may skip numbers (rank 4 after rank 2): positions still run 1..K.
    assert mid_ranks({10: 1, 11: 1, 12: 2, 13: 4}) == {
        10: 1.5,
        11: 1.5,
        12: 3.0,
        13: 4.0,
    }


def test_consensus_tau_leaves_the_judge_out():
    rankings = {
        "a": {10: 1, 11: 2, 12: 3},
        "b": {10: 1, 11: 2, 12: 3},
        "c": {10: 1, 11: 3, 12: 2},
        "d": {10: 3, 11: 2, 12: 1},
    }
    taus = consensus_taus(rankings)
    # a against mean(b, c, d) = (5/3, 7/3, 2): agrees on 10 first, not on 11 vs 12.
    assert taus["a"] == pytest.approx(1 / 3)
    # d against mean(a, b, c) = (1, 7/3, 8/3): every pair the other way round.
    assert taus["d"] == pytest.approx(-1.0)
    assert consensus_taus({"alone": {10: 1, 11: 2}}) == {}


def test_consensus_compares_only_outputs_every_judge_ranked():
    rankings = {"a": {1: 1, 2: 2, 3: 3}, "b": {1: 1, 2: 2}, "c": {1: 2, 2: 1}}
    # Only outputs 1 and 2 are shared. For a and for b the other two disagree, so
    # their consensus ties 1 and 2 (τ undefined); for c, a and b both put 1 first.
    assert consensus_taus(rankings) == {"c": -1.0}


def test_pair_agreement_counts_ties_as_a_relation_and_only_shared_pairs():
    rankings = {
        "a": {1: 1, 2: 2, 3: 3},
        "b": {1: 1, 2: 1, 3: 2},  # ties 1 and 2: disagrees with a on that pair
        "c": {1: 2, 2: 1},  # ranked only two of the outputs
    }
    result = pair_agreements(rankings)
    assert (result[("a", "b")].agree, result[("a", "b")].shared) == (2, 3)
    assert (result[("a", "c")].agree, result[("a", "c")].shared) == (0, 1)
    assert (result[("b", "c")].agree, result[("b", "c")].shared) == (0, 1)


def test_alpha_nominal_matches_krippendorff_2011_worked_example():
    alpha = krippendorff_alpha(UNITS, metric="nominal")
    # Unit 12 has one value and drops out: n = 40 pairable values with
    # n_c = 9, 13, 10, 5, 3 and Σ o_cc = 32 on the diagonal of the coincidences:
    # α = ((n − 1) Σ o_cc − Σ n_c(n_c − 1)) / (n(n − 1) − Σ n_c(n_c − 1)).
    by_hand = Fraction(39 * 32 - 344, 40 * 39 - 344)
    assert alpha.pairable == 40
    assert alpha.value == pytest.approx(float(by_hand))
    assert round(alpha.value, 3) == 0.743  # the paper's figure


def test_alpha_interval_and_ordinal_on_the_same_data():
    assert round(krippendorff_alpha(UNITS, metric="interval").value, 3) == 0.849
    # 0.815 is the ordinal α Krippendorff gives for these data (Content Analysis,
    # 4th ed., ch. 12); the hand-worked case below checks the ordinal metric alone.
    assert round(krippendorff_alpha(UNITS, metric="ordinal").value, 3) == 0.815


def test_alpha_ordinal_by_hand():
    # Coincidences: o_11 = 2, o_12 = o_21 = 1, o_23 = o_32 = 1; n_1, n_2, n_3 = 3, 2, 1.
    # δ²_12 = (3/2 + 2/2)² = 6.25, δ²_23 = (2/2 + 1/2)² = 2.25, δ²_13 = (3/2 + 2 + 1/2)²
    # = 16. α = 1 − (n − 1) Σ o δ² / Σ n_c n_k δ² = 1 − 5 · 17 / 180.
    alpha = krippendorff_alpha([[1, 1], [1, 2], [2, 3]], metric="ordinal")
    assert alpha.value == pytest.approx(1 - 5 * 17 / 180)
    assert alpha.pairable == 6


def test_alpha_is_none_without_variation_and_rejects_unknown_metrics():
    assert krippendorff_alpha([[4, 4], [4, 4, 4]], metric="ordinal").value is None
    assert krippendorff_alpha([[4]], metric="nominal").pairable == 0
    with pytest.raises(ValueError, match="metric: expected nominal, ordinal"):
        krippendorff_alpha([[1, 2]], metric="ratio")  # type: ignore[arg-type]


def test_position_bias_by_hand():
    # Ranked exactly in display order: S = 3, var S = 3·2·11/18 = 11/3 per task.
    in_order = ([7, 8, 9], {7: 1, 8: 2, 9: 3})
    bias = position_bias([in_order, in_order])
    assert bias.tau == 1.0 and bias.tasks == 2
    assert bias.z == pytest.approx(6 / math.sqrt(22 / 3))
    # A tie in the first bucket: S = 2, var S = (66 − 2·1·9)/18, τ_b = 2/√(3·2).
    tied = position_bias([([7, 8, 9], {7: 1, 8: 1, 9: 2})])
    assert tied.tau == pytest.approx(2 / math.sqrt(6))
    assert tied.z == pytest.approx(2 / math.sqrt(48 / 18))
    assert position_bias([([7, 8], {7: 1, 8: 1})]).tasks == 0


def test_position_bias_z_is_standard_normal_for_unbiased_judges():
    rng = random.Random(3)
    zs = []
    for _ in range(400):
        tasks = []
        for _ in range(20):
            k = rng.randint(2, 6)
            order = list(range(k))
            rng.shuffle(order)
            tasks.append((order, {output: rng.randint(1, 3) for output in order}))
        z = position_bias(tasks).z
        assert z is not None
        zs.append(z)
    assert abs(statistics.fmean(zs)) < 0.15
    assert 0.9 < statistics.stdev(zs) < 1.1
