"""Simulated annotators through the real services: does the quality report see them?

Four careful annotators rank by a hidden quality with their own noise, a random
clicker ranks, rates and flags at random in a few seconds, and a hurried one always
puts the first output shown first (and ranks the rest carefully).
"""

import json
import random
import uuid
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from annotate.models import Candidate
from annotate.quality.report import POSITION_BIAS_Z
from annotate.quality.selectors import quality_report_compute
from annotate.services import (
    Submission,
    annotation_submit,
    assignment_next,
    assignment_skip,
)

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


def _annotate_all(project, users):
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


@pytest.fixture
def simulated(make_project, django_user_model):
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
    _annotate_all(project, users)
    return project


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
    # One unit per (output, flag) of InstructGPT's eight: the careful flag the same
    # bad outputs, the clicker's random flags pull α down.
    assert project.alpha_flags_pairable == 6 * PROMPTS * K * 8
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
