"""Quality figures from hand-made rankings (no database)."""

import pytest

from annotate.quality.report import RankedTask, quality_report, trust_score


def task(annotator, prompt, best_first, seconds):
    """A strict ranking, outputs shown in id order, every output rated 4."""
    return RankedTask(
        annotator=annotator,
        prompt=prompt,
        display_order=tuple(sorted(best_first)),
        ranks={output: rank for rank, output in enumerate(best_first, start=1)},
        likert=dict.fromkeys(best_first, 4),
        flags={},
        seconds=seconds,
    )


def test_trust_is_consensus_tau_shrunk_towards_chance():
    assert trust_score([]) is None
    assert trust_score([1.0] * 5) == pytest.approx(0.5)  # 5 / (5 + 5)
    assert trust_score([0.8] * 45) == pytest.approx(0.72)  # 36 / 50
    assert trust_score([-0.5, -0.2]) == 0.0


def test_agreement_consensus_and_speed_by_hand():
    tasks = [
        task("ann", 1, [1, 2, 3], 30),
        task("bob", 1, [1, 2, 3], 30),
        task("cyd", 1, [3, 2, 1], 3),
        task("ann", 2, [4, 5], 20),
        task("bob", 2, [5, 4], 20),
    ]
    report = quality_report(tasks, flag_keys=["rude"], skipped={"dee": 2})
    rows = {row.annotator: row for row in report.annotators}
    # ann agrees with bob on 3 of 4 shared pairs and with cyd on none of 3.
    assert (rows["ann"].agreement, rows["ann"].agreement_n) == (3 / 7, 7)
    assert report.project.agreement == pytest.approx(3 / 10)
    assert [(p.annotators, p.agreed, p.shared) for p in report.pairs] == [
        (("ann", "bob"), 3, 4),
        (("ann", "cyd"), 0, 3),
        (("bob", "cyd"), 0, 3),
    ]
    # On prompt 1 ann's and bob's others (one each way) tie everything: no τ;
    # on prompt 2 they are each other's consensus and disagree.
    assert (rows["ann"].consensus_tau, rows["ann"].trust_n) == (-1.0, 1)
    assert (rows["cyd"].consensus_tau, rows["cyd"].trust) == (-1.0, 0.0)
    # 1 s per output against a median of 10: under a quarter, too fast.
    assert [rows[name].too_fast for name in ("ann", "bob", "cyd")] == [0, 0, 1]
    # dee only skipped: listed with no figures.
    assert (rows["dee"].n, rows["dee"].skipped, rows["dee"].trust) == (0, 2, None)
    assert report.project.alpha_likert is None  # everybody rated 4: no variation
