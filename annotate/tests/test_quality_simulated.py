"""Simulated annotators through the real services: does the quality report see them?

Four careful annotators rank by a hidden quality with their own noise, a random
clicker ranks, rates and flags at random in a few seconds, and a hurried one always
puts the first output shown first (and ranks the rest carefully).
"""

import json
import random
import statistics
import uuid
from collections import defaultdict
from dataclasses import dataclass
from io import StringIO
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from django.core.management import CommandError, call_command

from annotate.exporting import ExportOptions, export_records
from annotate.exporting.reading import Pseudonyms
from annotate.models import DEFAULT_FLAGS, Annotation, Candidate, Project
from annotate.quality.report import POSITION_BIAS_Z
from annotate.quality.selection import BELOW_MIN_TRUST, TRUST_WEIGHT_FLOOR
from annotate.quality.selectors import quality_report_compute
from annotate.quality.stats import kendall_tau_b
from annotate.services import (
    Submission,
    annotation_review,
    annotation_submit,
    assignment_next,
    assignment_skip,
)
from training import services as training_services
from training.core.data import load_rankings
from training.models import Round
from training.steps import write_snapshot

CAREFUL = ["cara_careful", "cem_careful", "chen_careful", "chiara_careful"]
CLICKER = "rick_random"
FIRST = "fiona_first"
PROMPTS, K = 24, 4
QUALITY = {"m0": 1.2, "m1": 0.4, "m2": -0.4, "m3": -1.2}  # hidden, by source


def _perceive(rng, true_quality):
    """What an annotator thinks of each output: truth plus their own noise."""
    return {cid: q + rng.gauss(0, 0.6) for cid, q in true_quality.items()}


def _judge(rng, name, order, true_quality):
    """(buckets, likert, flags, seconds) as this kind of annotator would submit."""
    if name == CLICKER:
        shuffled = rng.sample(order, len(order))
        likert = {cid: rng.randint(1, 7) for cid in order}
        flags = {cid: ["inappropriate"] for cid in order if rng.random() < 0.2}
        return [[cid] for cid in shuffled], likert, flags, rng.uniform(2, 4)
    seen = _perceive(rng, true_quality)
    best_first = sorted(order, key=lambda cid: -seen[cid])
    if name == FIRST:
        best_first.remove(order[0])
        best_first.insert(0, order[0])
    likert = {cid: min(7, max(1, round(4 + 1.5 * seen[cid]))) for cid in order}
    flags = {cid: ["fails_instruction"] for cid in order if seen[cid] < -1.3}
    return [[cid] for cid in best_first], likert, flags, rng.uniform(30, 90)


def _annotate_all(project, users) -> dict[int, float]:
    """Every user ranks every prompt; returns each output's hidden quality."""
    rng = random.Random(7)
    sources = dict(
        Candidate.objects.filter(prompt__project=project).values_list("id", "source")
    )
    # Shared by every annotator: each output's quality varies around its model's.
    truth = {
        cid: QUALITY[source] + rng.gauss(0, 0.8) for cid, source in sources.items()
    }
    for _ in range(PROMPTS):
        for user in users:
            assignment = assignment_next(project=project, annotator=user)
            assert assignment is not None
            submit_as_judged(rng, user, assignment, truth)
    return truth


def submit_as_judged(rng, user, assignment, truth) -> None:
    """Submit the task as the simulated annotator `user` judges it (_judge)."""
    order = list(assignment.display_order)
    buckets, likert, flags, seconds = _judge(
        rng, user.username, order, {cid: truth[cid] for cid in order}
    )
    annotation_submit(
        assignment_id=assignment.pk,
        annotator=user,
        submission=Submission(
            client_id=uuid.uuid4(),
            buckets=buckets,
            likert=likert,
            flags=flags,
            time_spent_ms=int(seconds * 1000),
            confirm_conflicts=True,
        ),
    )


@dataclass(frozen=True)
class Simulation:
    project: Project
    truth: dict[int, float]  # output id -> the quality every annotator perceives


@pytest.fixture
def simulation(make_project, django_user_model) -> Simulation:
    random.seed(13)  # assignment_next shuffles the display order with `random`
    users = [
        django_user_model.objects.create_user(name)
        for name in [*CAREFUL, CLICKER, FIRST]
    ]
    project = make_project(
        k=K,
        n_prompts=PROMPTS,
        slug="quality",
        members=users,
        annotations_per_prompt=len(users),
    )
    return Simulation(project, _annotate_all(project, users))


@pytest.fixture
def simulated(simulation) -> Project:
    return simulation.project


def test_simulated_annotators_are_told_apart(simulated):
    report = quality_report_compute(project=simulated)
    by_name = {a.annotator: a for a in report.annotators}
    clicker, first = by_name[CLICKER], by_name[FIRST]
    careful = [by_name[name] for name in CAREFUL]
    # Everybody ranked every prompt, so trust rests on all 24 of them.
    assert {a.n for a in report.annotators} == {a.trust_n for a in report.annotators}
    assert {a.n for a in report.annotators} == {PROMPTS}
    # The random clicker has the lowest trust, near 0; careful ones are far above.
    assert min(report.annotators, key=lambda a: a.trust) is clicker
    assert clicker.trust < 0.2 and abs(clicker.consensus_tau) < 0.25
    assert all(a.trust > 0.45 and a.consensus_tau > 0.55 for a in careful)
    assert clicker.trust < first.trust < min(a.trust for a in careful)
    # Agreement on shared pairs: near chance (a half) for the clicker.
    assert 0.4 < clicker.agreement < 0.6
    assert all(a.agreement > 0.7 for a in careful)
    # Position bias: found for the annotator who favours the first output only.
    assert first.position_biased and first.position_bias > 0.3
    assert first.position_bias_z >= POSITION_BIAS_Z
    assert not any(a.position_biased for a in [*careful, clicker])
    # The clicker's 2-4 s against the others' 30-90 s: every task too fast.
    assert clicker.too_fast == PROMPTS and clicker.median_seconds < 5
    assert all(a.too_fast == 0 for a in careful)


def test_project_figures_of_the_simulation(simulated, django_assert_num_queries):
    with django_assert_num_queries(4):  # skips, judgements, assignments, gold
        project = quality_report_compute(project=simulated).project
    assert (project.rankings, project.annotators) == (6 * PROMPTS, 6)
    assert project.prompts == project.prompts_overlapping == PROMPTS
    # 15 annotator pairs x 24 prompts x C(4, 2) output pairs.
    assert project.agreement_n == 15 * PROMPTS * 6
    assert 0.6 < project.agreement < 0.8
    # Six Likert values per output: five annotators rate from the truth with noise
    # of about one scale point, the clicker at random.
    assert project.alpha_likert_pairable == 6 * PROMPTS * K
    assert 0.35 < project.alpha_likert < 0.7
    # One unit per (output, flag) of the default checklist: the careful flag the same
    # bad outputs, the clicker's random flags pull α down.
    assert project.alpha_flags_pairable == 6 * PROMPTS * K * len(DEFAULT_FLAGS)
    assert 0.2 < project.alpha_flags < 0.7
    assert project.too_fast == PROMPTS


def test_quality_report_command_prints_the_documented_json_or_a_table(simulated):
    out = StringIO()
    call_command("quality_report", "--project", "quality", "--json", stdout=out)
    data = json.loads(out.getvalue())
    assert data["project"]["slug"] == "quality"
    assert data["project"]["rankings"] == 6 * PROMPTS
    row = next(a for a in data["annotators"] if a["annotator"] == CLICKER)
    assert {"n", "trust", "agreement", "gold_accuracy", "position_bias"} <= set(row)
    assert row["n"] == PROMPTS and row["gold_accuracy"] is None
    assert len(data["pairs"]) == 15  # every two of the six annotators
    table = StringIO()
    call_command("quality_report", "--project", "quality", stdout=table)
    text = table.getvalue()
    assert "144 rankings by 6 annotators on 24 prompts" in text
    first_row = next(line for line in text.splitlines() if line.startswith(FIRST))
    assert first_row.split()[1] == str(PROMPTS) and "*" in first_row


def test_quality_report_command_names_a_missing_project(db):
    with pytest.raises(CommandError, match="--project: no project with slug 'nope'"):
        call_command("quality_report", "--project", "nope")


def test_skipped_and_open_tasks_are_counted_apart(make_project, annotator, lead):
    project = make_project(k=3, n_prompts=2, members=[annotator])
    assignment = assignment_next(project=project, annotator=annotator)
    assignment_skip(
        assignment_id=assignment.pk,
        annotator=annotator,
        client_id=uuid.uuid4(),
        reason="Not my language",
    )
    assignment_next(project=project, annotator=annotator)  # left open
    report = quality_report_compute(project=project)
    [row] = report.annotators
    assert (row.annotator, row.n, row.skipped, row.trust) == (
        annotator.username,
        0,
        1,
        None,
    )
    assert report.project.rankings == 0 and report.project.agreement is None


# --- training uses quality: snapshots and exports ---------------------------------


def _launch(project, settings, tmp_path, **data_settings) -> Round:
    """A round launched with these data settings; its jobs are kept, not run."""
    settings.RANKWISE_MODELS_DIR = tmp_path / "models"
    request = training_services.LaunchRequest(
        data_settings=data_settings, new_prompts=["A fresh prompt for the next round"]
    )
    queued: list[int] = []
    with training_services.jobs_kept_in(queued.append):
        return training_services.round_launch(project=project, request=request)


def _snapshot(round_: Round) -> list[dict]:
    path = write_snapshot(round_)
    return [json.loads(line) for line in Path(path).read_text().splitlines()]


def _owners(project) -> dict[int, str]:
    """Annotation id -> its annotator's username."""
    return dict(
        Annotation.objects.filter(assignment__prompt__project=project).values_list(
            "id", "assignment__annotator__username"
        )
    )


def _trust(project) -> dict[str, float]:
    """Username -> trust: everybody has a figure, having ranked all 24 prompts."""
    report = quality_report_compute(project=project)
    trust = {a.annotator: a.trust for a in report.annotators if a.trust is not None}
    assert len(trust) == 6
    return trust


def test_the_trust_weighted_snapshot_weighs_the_clicker_least(
    simulated, settings, tmp_path
):
    trust = _trust(simulated)
    round_ = _launch(simulated, settings, tmp_path, weighting="trust")
    records = _snapshot(round_)
    owners = _owners(simulated)
    weights = defaultdict(set)
    for record in records:
        weights[owners[record["annotation_id"]]].add(record["weight"])
    # Every ranking kept, each at its annotator's trust (floored): one weight each.
    assert len(records) == round_.snapshot.ranking_count == 6 * PROMPTS
    expected = {name: max(value, TRUST_WEIGHT_FLOOR) for name, value in trust.items()}
    assert weights == {name: {weight} for name, weight in expected.items()}
    [clicker] = weights[CLICKER]
    assert min(expected, key=expected.get) == CLICKER
    # The trainer reads those weights from the file.
    loaded = load_rankings(round_.snapshot.path)
    assert [example.weight for example in loaded] == [r["weight"] for r in records]
    assert clicker < 0.2 and all(expected[name] > 2.5 * clicker for name in CAREFUL)
    data = round_.snapshot.details["data"]
    assert data["settings"] == {
        "min_trust": None,
        "weighting": "trust",
        "aggregate": "none",
    }
    assert data["left_out"] == {} and data["annotations"] == 6 * PROMPTS
    assert data["weights"] == {
        "min": clicker,
        "mean": pytest.approx(statistics.fmean(expected.values())),
        "max": max(expected.values()),
    }


def test_min_trust_leaves_the_clicker_out_of_the_snapshot(
    simulated, settings, tmp_path
):
    trust = _trust(simulated)
    assert trust[CLICKER] < 0.2 <= min(v for k, v in trust.items() if k != CLICKER)
    round_ = _launch(simulated, settings, tmp_path, min_trust=0.2)
    snapshot = round_.snapshot
    owners = _owners(simulated)
    assert {owners[pk] for pk in snapshot.annotation_ids} == {*CAREFUL, FIRST}
    # 5 annotators x 24 prompts, each ranking 4 outputs without ties: 6 pairs.
    assert (snapshot.ranking_count, snapshot.comparison_count) == (
        5 * PROMPTS,
        5 * PROMPTS * 6,
    )
    assert snapshot.details["data"]["left_out"] == {BELOW_MIN_TRUST: PROMPTS}
    records = _snapshot(round_)
    assert len(records) == 5 * PROMPTS and "weight" not in records[0]
    assert all(owners[record["annotation_id"]] != CLICKER for record in records)


def _mean_tau_with_truth(rankings, truth) -> float:
    """Mean Kendall τ-b of each ranking against the hidden quality (1 = its order).

    A ranking that ties every output tells nothing of the order: it counts as 0.
    """
    return statistics.fmean(
        kendall_tau_b([ranks[c] for c in ranks], [-truth[c] for c in ranks]) or 0.0
        for ranks in rankings
    )


@pytest.mark.parametrize("method", ["majority", "bradley-terry"])
def test_aggregation_gives_one_consensus_ranking_per_prompt(
    simulation, settings, tmp_path, method
):
    project, truth = simulation.project, simulation.truth
    round_ = _launch(project, settings, tmp_path, aggregate=method)
    records = _snapshot(round_)
    assert len(records) == round_.snapshot.ranking_count == PROMPTS
    assert len(load_rankings(round_.snapshot.path)) == PROMPTS  # the trainer's read
    assert {record["annotations_folded"] for record in records} == {6}
    assert round_.snapshot.details["data"]["annotations"] == 6 * PROMPTS
    owners = _owners(project)
    # Completions are written in output-id order: read the ranks back by id.
    consensus = []
    for record in records:
        assert {owners[pk] for pk in record["annotation_ids"]} == {
            *CAREFUL,
            CLICKER,
            FIRST,
        }
        outputs = sorted(
            Candidate.objects.filter(
                prompt__assignments__annotation=record["annotation_ids"][0]
            ).values_list("id", flat=True)
        )
        consensus.append(dict(zip(outputs, record["ranks"], strict=True)))
    singles = defaultdict(list)
    for annotation in Annotation.objects.filter(
        assignment__prompt__project=project
    ).prefetch_related("judgements"):
        ranks = {j.candidate_id: j.rank for j in annotation.judgements.all()}
        singles[owners[annotation.pk]].append(ranks)
    # The consensus orders the outputs by their hidden quality better than the
    # careful annotators do on average (τ 0.72-0.83 each, mean 0.76): the six
    # rankings' noise, the clicker's and the first-output bias average out.
    by_annotator = {name: _mean_tau_with_truth(r, truth) for name, r in singles.items()}
    careful = statistics.fmean(by_annotator[name] for name in CAREFUL)
    assert _mean_tau_with_truth(consensus, truth) > max(0.8, careful + 0.05)


def _pseudonyms(project) -> dict[str, str]:
    """Export pseudonym -> username of the project's annotators."""
    pseudonym = Pseudonyms()
    users = Annotation.objects.filter(assignment__prompt__project=project).values_list(
        "assignment__annotator__id", "assignment__annotator__username"
    )
    return {pseudonym(pk): name for pk, name in set(users)}


def test_trust_weighted_rankings_export_weighs_the_clicker_least(simulated):
    trust = _trust(simulated)
    names = _pseudonyms(simulated)
    options = ExportOptions(format="rankings", weighting="trust")
    weights = defaultdict(set)
    for row in export_records(project=simulated, options=options):
        weights[names[row["annotator"]]].add(row["weight"])
    assert weights == {
        name: {max(value, TRUST_WEIGHT_FLOOR)} for name, value in trust.items()
    }
    plain = next(export_records(project=simulated, options=ExportOptions("rankings")))
    assert "weight" not in plain and "annotation_ids" not in plain


def test_export_command_min_trust_and_weighting_on_pairs(simulated, tmp_path):
    trust = _trust(simulated)
    names = _pseudonyms(simulated)
    out = tmp_path / "pairs.jsonl"
    call_command(
        "export_data",
        *("--project", "quality", "--format", "pairs", "--out", str(out)),
        *("--min-trust", "0.2", "--weighting", "trust"),
        stdout=StringIO(),
    )
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    # The clicker's 24 rankings are left out; 5 x 24 rankings x 6 pairs remain.
    assert len(rows) == 5 * PROMPTS * 6
    assert CLICKER not in {names[row["annotator"]] for row in rows}
    # A pair weighs its ranking's 1/6 times its annotator's trust.
    for row in rows:
        assert row["weight"] == pytest.approx(trust[names[row["annotator"]]] / 6)
    card = (tmp_path / "pairs.README.md").read_text()
    assert f"| {BELOW_MIN_TRUST} | {PROMPTS} |" in card
    assert "| min_trust | 0.2 |" in card and "| weighting | trust |" in card
    low, high = min(trust[n] for n in [*CAREFUL, FIRST]), max(trust.values())
    assert f"Ranking weights: min {low:.3f}, mean " in card
    assert f"max {high:.3f}." in card
    assert "TRL 1.16 DPOTrainer keeps only its tokenized columns" in card


def test_aggregated_rankings_export_one_consensus_per_prompt(simulated, tmp_path):
    out = tmp_path / "consensus.parquet"
    call_command(
        "export_data",
        *("--project", "quality", "--format", "rankings", "--out", str(out)),
        *("--aggregate", "bradley-terry", "--weighting", "trust"),
        stdout=StringIO(),
    )
    table = pq.read_table(out)
    assert table.num_rows == PROMPTS
    assert set(table.column("annotations_folded").to_pylist()) == {6}
    assert set(table.column("annotation_id").to_pylist()) == {None}
    assert {len(ids) for ids in table.column("annotation_ids").to_pylist()} == {6}
    # The consensus weighs the mean trust weight of the six rankings it folds.
    mean_weight = statistics.fmean(
        max(value, TRUST_WEIGHT_FLOOR) for value in _trust(simulated).values()
    )
    assert table.column("weight").to_pylist() == pytest.approx([mean_weight] * PROMPTS)
    card = (tmp_path / "consensus.README.md").read_text()
    assert f"{6 * PROMPTS} annotations folded into {PROMPTS} consensus rankings" in card


def test_rejected_work_stays_out_of_exports_unless_included(simulated, lead, tmp_path):
    clicked = Annotation.objects.filter(assignment__annotator__username=CLICKER).first()
    annotation_review(
        annotation=clicked, reviewer=lead, verdict="rejected", comment="Random."
    )
    counts = {}
    for flags in ([], ["--include-rejected"]):
        out = tmp_path / f"pairs{len(flags)}.jsonl"
        call_command(
            "export_data",
            *("--project", "quality", "--format", "pairs", "--out", str(out)),
            *flags,
            stdout=StringIO(),
        )
        counts[bool(flags)] = len(out.read_text().splitlines())
    assert counts == {False: (6 * PROMPTS - 1) * 6, True: 6 * PROMPTS * 6}


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (["--min-trust", "1.5"], "min_trust: 1.5 is not a number from 0 to 1"),
        (
            ["--format", "ratings", "--weighting", "trust"],
            "weighting: applies to the pairs and rankings formats, not 'ratings'",
        ),
        (
            ["--format", "unpaired", "--aggregate", "majority"],
            "aggregate: applies to the pairs and rankings formats, not 'unpaired'",
        ),
    ],
)
def test_export_command_refuses_bad_quality_options(
    make_project, tmp_path, flags, message
):
    make_project(slug="small")
    out = tmp_path / "out.jsonl"
    with pytest.raises(CommandError, match=message):
        call_command(
            "export_data",
            *("--project", "small", "--out", str(out)),
            *(["--format", "pairs"] if "--format" not in flags else []),
            *flags,
        )
    assert not out.exists()
