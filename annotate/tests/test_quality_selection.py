"""Quality-aware selection against hand-worked cases (annotate/quality/selection.py)."""

import pytest

from annotate.quality.selection import (
    BELOW_MIN_TRUST,
    NO_TRUST_FIGURE,
    TRUST_WEIGHT_FLOOR,
    Judged,
    QualityOptionError,
    QualityOptions,
    bradley_terry_ranks,
    consensus_ranks,
    left_out_reason,
    majority_ranks,
    ranking_weight,
    ranks_from_scores,
    select_rankings,
    untied_pairs,
)

A, B, C, D = 1, 2, 3, 4


def test_left_out_reason_keeps_trust_at_the_minimum_and_drops_unknown():
    assert left_out_reason(0.1, None) is None
    assert left_out_reason(None, None) is None
    assert left_out_reason(0.3, 0.3) is None
    assert left_out_reason(0.29, 0.3) == BELOW_MIN_TRUST
    assert left_out_reason(None, 0.0) == NO_TRUST_FIGURE


def test_ranking_weight_is_trust_floored_and_one_without_weighting():
    assert ranking_weight(0.62, "none") == 1.0
    assert ranking_weight(None, "none") == 1.0
    assert ranking_weight(0.62, "trust") == 0.62
    assert ranking_weight(0.0, "trust") == TRUST_WEIGHT_FLOOR == 0.05
    assert ranking_weight(None, "trust") == TRUST_WEIGHT_FLOOR


def test_ranks_from_scores_are_dense_and_share_equal_scores():
    assert ranks_from_scores({A: 1.5, B: 1.5, C: 0.0, D: 2.0}) == {
        D: 1,
        A: 2,
        B: 2,
        C: 3,
    }


def test_majority_takes_each_pair_as_most_rankings_order_it():
    # a>b: 2 of 3; a>c: 3 of 3; b>c: 2 of 3 → Copeland a 2, b 1, c 0.
    rankings = [{A: 1, B: 2, C: 3}, {A: 1, C: 2, B: 3}, {B: 1, A: 2, C: 3}]
    assert majority_ranks(rankings, [1, 1, 1]) == {A: 1, B: 2, C: 3}


def test_majority_ties_an_even_vote_and_a_tie_majority():
    # a vs b: one each way → tie; both beat c → a 1.5, b 1.5, c 0.
    assert majority_ranks([{A: 1, B: 2, C: 3}, {B: 1, A: 2, C: 3}], [1, 1]) == {
        A: 1,
        B: 1,
        C: 2,
    }
    # Two rankings tie a and b, one puts a above: the tie has the most votes.
    tied = [{A: 1, B: 1}, {A: 1, B: 1}, {A: 1, B: 2}]
    assert majority_ranks(tied, [1, 1, 1]) == {A: 1, B: 1}


def test_majority_of_a_cycle_ties_everything():
    # a>b>c, b>c>a, c>a>b: each pair 2 to 1 round a cycle; Copeland 1 each.
    cycle = [{A: 1, B: 2, C: 3}, {B: 1, C: 2, A: 3}, {C: 1, A: 2, B: 3}]
    assert majority_ranks(cycle, [1, 1, 1]) == {A: 1, B: 1, C: 1}


def test_majority_votes_are_weighted():
    rankings = [{A: 1, B: 2}, {B: 1, A: 2}, {B: 1, A: 2}]
    assert majority_ranks(rankings, [1, 1, 1]) == {B: 1, A: 2}
    # One trusted ranking (1.0) outweighs two careless ones (0.3 + 0.3).
    assert majority_ranks(rankings, [1.0, 0.3, 0.3]) == {A: 1, B: 2}


def test_bradley_terry_ties_outputs_of_equal_strength():
    # a and b each win once against the other and both always beat c: a = b > c.
    rankings = [{A: 1, B: 2, C: 3}, {B: 1, A: 2, C: 3}]
    assert bradley_terry_ranks(rankings, [1, 1]) == {A: 1, B: 1, C: 2}


def test_bradley_terry_orders_a_majority_cycle_by_its_margins():
    # 3 x a>b>c, 2 x b>c>a, 2 x c>a>b: a>b 5:2, b>c 5:2, c>a 4:3 is a cycle, so
    # majority ties all three; wins a 8, b 7, c 6 give strengths a > b > c.
    rankings = [
        *[{A: 1, B: 2, C: 3}] * 3,
        *[{B: 1, C: 2, A: 3}] * 2,
        *[{C: 1, A: 2, B: 3}] * 2,
    ]
    weights = [1] * 7
    assert majority_ranks(rankings, weights) == {A: 1, B: 1, C: 1}
    assert bradley_terry_ranks(rankings, weights) == {A: 1, B: 2, C: 3}


def test_consensus_of_rankings_of_different_outputs_ranks_their_union():
    rankings = [{A: 1, B: 2}, {B: 1, C: 2}]
    # Majority: a>b 1:0, b>c 1:0, a-c never compared → a 1, b 1, c 0.
    assert consensus_ranks("majority", rankings, [1, 1]) == {A: 1, B: 1, C: 2}
    assert consensus_ranks("bradley-terry", rankings, [1, 1]) == {A: 1, B: 2, C: 3}
    assert consensus_ranks("majority", [{A: 2, B: 1}], [0.4]) == {A: 2, B: 1}


def test_untied_pairs_counts_the_trainer_comparisons():
    assert untied_pairs({A: 1, B: 1, C: 2, D: 3}) == 5


@pytest.mark.parametrize(
    ("values", "field", "message"),
    [
        ({"min_trust": 1.5}, "min_trust", "1.5 is not a number from 0 to 1"),
        ({"min_trust": "high"}, "min_trust", "'high' is not a number from 0 to 1"),
        ({"weighting": "votes"}, "weighting", "'votes' is not one of none, trust"),
        (
            {"aggregate": "mean"},
            "aggregate",
            "'mean' is not one of none, majority, bradley-terry",
        ),
    ],
)
def test_bad_options_name_their_field(values, field, message):
    with pytest.raises(QualityOptionError, match=message) as raised:
        QualityOptions(**values)
    assert raised.value.field == field


# Prompt 10: three annotators; prompt 20: the careless one alone.
CAREFUL_1, CAREFUL_2, CARELESS = 0.6, 0.4, 0.02
JUDGED = [
    Judged(annotation=1, prompt=10, trust=CAREFUL_1, ranks={A: 1, B: 2, C: 3}),
    Judged(annotation=2, prompt=10, trust=CAREFUL_2, ranks={A: 1, C: 2, B: 3}),
    Judged(annotation=3, prompt=10, trust=CARELESS, ranks={C: 1, B: 2, A: 3}),
    Judged(annotation=4, prompt=20, trust=CARELESS, ranks={A: 1, B: 1}),
    Judged(annotation=5, prompt=20, trust=None, ranks={B: 1, A: 2}),
]


def test_selection_by_default_keeps_every_ranking_at_weight_one():
    selection = select_rankings(JUDGED, QualityOptions())
    assert [r.annotations for r in selection.rankings] == [(1,), (2,), (3,), (4,), (5,)]
    assert {r.weight for r in selection.rankings} == {1.0}
    assert not selection.left_out
    assert selection.weight_summary() == {"min": 1.0, "mean": 1.0, "max": 1.0}


def test_selection_weighs_by_trust_and_drops_below_the_minimum():
    weighted = select_rankings(JUDGED, QualityOptions(weighting="trust"))
    assert [r.weight for r in weighted.rankings] == [0.6, 0.4, 0.05, 0.05, 0.05]
    assert weighted.weight_summary() == {
        "min": 0.05,
        "mean": pytest.approx((0.6 + 0.4 + 3 * 0.05) / 5),
        "max": 0.6,
    }
    trusted = select_rankings(JUDGED, QualityOptions(min_trust=0.3))
    assert trusted.annotation_ids == [1, 2]
    assert trusted.left_out == {BELOW_MIN_TRUST: 2, NO_TRUST_FIGURE: 1}


def test_aggregation_folds_each_prompt_into_one_weighted_consensus():
    options = QualityOptions(weighting="trust", aggregate="majority")
    selection = select_rankings(JUDGED, options)
    first, second = selection.rankings
    # Prompt 10, the careless vote floored to 0.05: a>b 1.0 : 0.05, a>c 1.0 : 0.05,
    # b>c 0.6 : 0.45 → a, b, c.
    assert (first.prompt, first.annotations, first.ranks) == (
        10,
        (1, 2, 3),
        {A: 1, B: 2, C: 3},
    )
    assert first.weight == pytest.approx((0.6 + 0.4 + 0.05) / 3)
    # Prompt 20: a tie (0.05) against b above (0.05): an even vote, a tie.
    assert (second.annotations, second.ranks, second.weight) == (
        (4, 5),
        {A: 1, B: 1},
        0.05,
    )
    unweighted = select_rankings(JUDGED, QualityOptions(aggregate="bradley-terry"))
    assert [r.weight for r in unweighted.rankings] == [1.0, 1.0]
