"""Ranking expansion: counts, ties, weights, margins, determinism."""

from math import comb

import pytest

from annotate.ranking import (
    buckets_to_ranks,
    dense_ranks,
    expand_ranking,
    ranking_conflicts,
)


@pytest.mark.parametrize("k", range(2, 10))
def test_strict_ranking_gives_k_choose_2_pairs_weighted_equally(k):
    ranks = {cid: cid for cid in range(1, k + 1)}  # candidate i is rank i
    likert = {cid: 8 - min(cid, 7) for cid in ranks}
    pairs = expand_ranking(ranks, likert, keep_ties=False)
    assert len(pairs) == comb(k, 2)
    assert {(p.chosen, p.rejected) for p in pairs} == {
        (a, b) for a in ranks for b in ranks if a < b
    }
    assert all(p.weight == pytest.approx(1 / comb(k, 2)) for p in pairs)
    assert sum(p.weight for p in pairs) == pytest.approx(1.0)
    assert not any(p.is_tie for p in pairs)


@pytest.mark.parametrize("k", range(3, 10))
def test_ties_give_fewer_pairs_and_weights_still_sum_to_one(k):
    # The two best outputs share rank 1; the rest are strictly ordered below them.
    ranks = {1: 1, 2: 1, **{cid: cid - 1 for cid in range(3, k + 1)}}
    likert = dict.fromkeys(ranks, 4)
    pairs = expand_ranking(ranks, likert, keep_ties=False)
    assert len(pairs) == comb(k, 2) - 1
    assert sum(p.weight for p in pairs) == pytest.approx(1.0)
    assert (1, 2) not in {(p.chosen, p.rejected) for p in pairs}


def test_kept_ties_become_tie_records_in_the_weight():
    ranks = {10: 1, 11: 1, 12: 2}
    pairs = expand_ranking(ranks, dict.fromkeys(ranks, 5), keep_ties=True)
    assert [(p.chosen, p.rejected, p.is_tie) for p in pairs] == [
        (10, 11, True),
        (10, 12, False),
        (11, 12, False),
    ]
    assert all(p.weight == pytest.approx(1 / 3) for p in pairs)


def test_all_tied_without_keeping_ties_gives_nothing():
    assert expand_ranking({1: 1, 2: 1, 3: 1}, {1: 3, 2: 3, 3: 3}, keep_ties=False) == []


def test_margins_are_rank_and_likert_gaps():
    ranks = {7: 1, 8: 3, 9: 2}  # rank 3 bucket used with rank 2 in between
    likert = {7: 6, 8: 2, 9: 5}
    by_pair = {
        (p.chosen, p.rejected): p
        for p in expand_ranking(ranks, likert, keep_ties=False)
    }
    assert by_pair[(7, 8)].rank_gap == 2 and by_pair[(7, 8)].likert_gap == 4
    assert by_pair[(7, 9)].rank_gap == 1 and by_pair[(7, 9)].likert_gap == 1
    assert by_pair[(9, 8)].rank_gap == 1 and by_pair[(9, 8)].likert_gap == 3


def test_expansion_is_deterministic_whatever_the_input_order():
    ranks = {5: 2, 3: 1, 9: 3, 1: 2}
    likert = {5: 4, 3: 6, 9: 1, 1: 4}
    shuffled = dict(reversed(list(ranks.items())))
    assert expand_ranking(ranks, likert, keep_ties=True) == expand_ranking(
        shuffled, likert, keep_ties=True
    )


def test_conflicts_list_pairs_ranked_against_their_ratings():
    ranks = {1: 1, 2: 2, 3: 3}
    likert = {1: 3, 2: 6, 3: 2}
    assert ranking_conflicts(ranks, likert) == [(1, 2)]


def test_empty_buckets_hold_no_rank():
    assert buckets_to_ranks([[4, 5], [], [6]]) == {4: 1, 5: 1, 6: 2}
    assert buckets_to_ranks([[], [7], [], [], [8, 9]]) == {7: 1, 8: 2, 9: 2}
    assert buckets_to_ranks([[3], [1], [2]]) == {3: 1, 1: 2, 2: 3}


def test_empty_buckets_widen_no_margin():
    """[[], [a], [b]] is a ranked above b by one rank, as [[a], [b]] is."""
    gapped = buckets_to_ranks([[], [10], [11]])
    [pair] = expand_ranking(gapped, {10: 6, 11: 3}, keep_ties=False)
    assert (pair.chosen, pair.rejected, pair.rank_gap) == (10, 11, 1)


def test_dense_ranks_close_gaps_and_keep_ties():
    assert dense_ranks({1: 2, 2: 5, 3: 5, 4: 7}) == {1: 1, 2: 2, 3: 2, 4: 3}
    assert dense_ranks({1: 1, 2: 2}) == {1: 1, 2: 2}
