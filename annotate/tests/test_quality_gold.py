"""Gold tasks: marking a reference ranking, mixing gold prompts into queues, scoring.

The simulation reuses test_quality_simulated's annotators (careful ones with noise,
a random clicker, one who always puts the first-shown output first); the lead's
reference ranks each gold prompt's outputs by their hidden quality.
"""

import random
import uuid

import pytest
from django.core.exceptions import PermissionDenied
from django.urls import reverse
from django.utils.html import escape

from annotate.models import Assignment, Candidate, Prompt
from annotate.quality.report import RankedTask, gold_score, quality_report
from annotate.quality.selectors import (
    own_work,
    quality_report_compute,
    quality_report_data,
    ranking_in_letters,
)
from annotate.selectors import annotator_progress
from annotate.services import (
    ReviewError,
    Submission,
    annotation_submit,
    assignment_next,
    gold_ranking_from_annotation,
    gold_ranking_set,
)
from annotate.tests.test_quality_simulated import (
    CAREFUL,
    CLICKER,
    FIRST,
    QUALITY,
    submit_as_judged,
)


def _submit(user, assignment, buckets, likert=None):
    likert = likert or {cid: 4 for cid in assignment.display_order}
    annotation, _ = annotation_submit(
        assignment_id=assignment.pk,
        annotator=user,
        submission=Submission(
            client_id=uuid.uuid4(),
            buckets=buckets,
            likert=likert,
            confirm_conflicts=True,
        ),
    )
    return annotation


def _in_id_order(assignment):
    """Submit the task ranking its outputs by ascending id."""
    return [[cid] for cid in sorted(assignment.display_order)]


def _task(annotator, prompt, ranks, assignment=0):
    return RankedTask(
        annotator=annotator,
        prompt=prompt,
        display_order=tuple(ranks),
        ranks=ranks,
        likert={output: 4 for output in ranks},
        flags={},
        seconds=None,
        assignment=assignment,
    )


def test_gold_score_counts_pairs_related_as_the_reference_does():
    # Reference 1 > 3 > 2; the annotator 1 > 2 > 3: pairs (1,2) and (1,3) agree,
    # (2,3) does not. τ-b = (2 concordant − 1 discordant) / 3.
    score = gold_score({1: 1, 2: 2, 3: 3}, {1: 1, 2: 3, 3: 2})
    assert (score.agreed, score.shared) == (2, 3)
    assert score.tau == pytest.approx(1 / 3)
    # A tie agrees only with a tie; an all-tied ranking has no τ.
    tied = gold_score({1: 1, 2: 1, 3: 1}, {1: 1, 2: 1, 3: 2})
    assert (tied.agreed, tied.shared, tied.tau) == (1, 3, None)


def test_trust_counts_each_gold_task_beside_the_consensus_prompts():
    # Prompt 7 is ordinary and judged by ann and bob the same way (τ = 1 each).
    # Prompt 8 is gold: ann matches the reference (τ = 1), bob reverses it (τ = −1).
    same = {1: 1, 2: 2, 3: 3}
    reversed_ = {4: 3, 5: 2, 6: 1}
    tasks = [
        _task("ann", 7, same),
        _task("bob", 7, same),
        _task("ann", 8, {4: 1, 5: 2, 6: 3}),
        _task("bob", 8, reversed_),
    ]
    report = quality_report(
        tasks, flag_keys=[], skipped={}, gold={8: {4: 1, 5: 2, 6: 3}}
    )
    rows = {row.annotator: row for row in report.annotators}
    # Trust = (1 + 1) / (2 + 5) for ann, max(0, (1 − 1) / (2 + 5)) for bob.
    assert rows["ann"].trust == pytest.approx(2 / 7) and rows["ann"].trust_n == 2
    assert rows["bob"].trust == 0.0 and rows["bob"].trust_n == 2
    assert (rows["ann"].gold_accuracy, rows["ann"].gold_n) == (1.0, 3)
    assert (rows["bob"].gold_accuracy, rows["bob"].gold_tau) == (0.0, -1.0)
    # On the gold prompt the reference replaced the consensus: only prompt 7 there.
    assert rows["ann"].consensus_tau == rows["bob"].consensus_tau == 1.0


def test_gold_from_an_annotation_needs_a_lead_and_a_real_ranking(
    make_project, annotator, lead
):
    project = make_project(k=3, n_prompts=1, members=[annotator])
    assignment = assignment_next(project=project, annotator=annotator)
    annotation = _submit(annotator, assignment, _in_id_order(assignment))
    with pytest.raises(PermissionDenied, match="Only a lead of project tests"):
        gold_ranking_from_annotation(annotation=annotation, set_by=annotator)
    gold = gold_ranking_from_annotation(annotation=annotation, set_by=lead)
    ids = sorted(assignment.display_order)
    assert gold.output_ranks == {ids[0]: 1, ids[1]: 2, ids[2]: 3}
    assert gold.from_annotation == annotation and gold.created_by == lead
    prompt = assignment.prompt
    with pytest.raises(ReviewError, match="at least two different ranks"):
        gold_ranking_set(prompt=prompt, ranks=dict.fromkeys(ids, 1), set_by=lead)
    with pytest.raises(
        ReviewError, match=rf"rank every output .* got \[{ids[0]}, {ids[1]}\]"
    ):
        gold_ranking_set(prompt=prompt, ranks={ids[0]: 1, ids[1]: 2}, set_by=lead)


def _ordinary_and_gold(project, lead, n_gold):
    """Mark the last n_gold prompts gold, ranked by ascending output id."""
    gold_prompts = list(project.prompts.order_by("-id")[:n_gold])
    for prompt in gold_prompts:
        ids = sorted(prompt.candidates.values_list("id", flat=True))
        gold_ranking_set(
            prompt=prompt, ranks={cid: i + 1 for i, cid in enumerate(ids)}, set_by=lead
        )
    return {prompt.pk for prompt in gold_prompts}


def test_gold_prompts_are_mixed_in_once_each_outside_the_overlap(
    make_project, lead, django_user_model
):
    users = [django_user_model.objects.create_user(f"u{i}") for i in range(3)]
    # Overlap 1: an ordinary prompt goes to one annotator; gold ones to all three.
    project = make_project(
        k=3, n_prompts=8, members=users, annotations_per_prompt=1, gold_rate=0.5
    )
    gold = _ordinary_and_gold(project, lead, n_gold=2)
    random.seed(3)
    served = {user.username: [] for user in users}
    while True:
        progressed = False
        for user in users:
            assignment = assignment_next(project=project, annotator=user)
            if assignment is not None:
                served[user.username].append(assignment.prompt_id)
                _submit(user, assignment, _in_id_order(assignment))
                progressed = True
        if not progressed:
            break
    ordinary = Assignment.objects.exclude(prompt_id__in=gold)
    assert ordinary.count() == 6  # each of the 6 ordinary prompts once: overlap 1
    for prompts in served.values():
        assert len(prompts) == len(set(prompts))  # never a prompt twice
    gold_served = [p for prompts in served.values() for p in prompts if p in gold]
    assert 1 <= len(gold_served) <= 6  # at most once per annotator and gold prompt


def test_gold_rate_zero_never_serves_gold_and_gold_is_not_work_of_its_own(
    make_project, annotator, lead
):
    project = make_project(k=3, n_prompts=3, members=[annotator])
    gold = _ordinary_and_gold(project, lead, n_gold=1)
    for _ in range(2):
        assignment = assignment_next(project=project, annotator=annotator)
        assert assignment.prompt_id not in gold
        _submit(annotator, assignment, _in_id_order(assignment))
    project.gold_rate = 1.0
    project.save()
    # No ordinary work left: the queue is empty even though a gold task is unseen,
    # and the annotator's progress says nothing is left to do.
    assert assignment_next(project=project, annotator=annotator) is None
    progress = annotator_progress(project=project, annotator=annotator)
    assert (progress.done, progress.available) == (2, 0)


def _annotate_with_gold(project, users, truth):
    rng = random.Random(7)
    pending = list(users)
    while pending:
        for user in list(pending):
            assignment = assignment_next(project=project, annotator=user)
            if assignment is None:
                pending.remove(user)
                continue
            submit_as_judged(rng, user, assignment, truth)


@pytest.fixture
def simulated_with_gold(make_project, django_user_model, lead):
    random.seed(13)  # assignment_next draws gold tasks and display orders
    users = [
        django_user_model.objects.create_user(name)
        for name in [*CAREFUL, CLICKER, FIRST]
    ]
    project = make_project(
        k=4,
        n_prompts=36,
        slug="gold",
        members=users,
        annotations_per_prompt=len(users),
        gold_rate=0.3,
    )
    rng = random.Random(11)
    sources = dict(
        Candidate.objects.filter(prompt__project=project).values_list("id", "source")
    )
    truth = {cid: QUALITY[src] + rng.gauss(0, 0.8) for cid, src in sources.items()}
    # The lead's reference: the hidden quality order of the outputs.
    for prompt in Prompt.objects.filter(project=project).order_by("-id")[:12]:
        best_first = sorted(
            prompt.candidates.values_list("id", flat=True), key=truth.get
        )
        ranks = {cid: 4 - i for i, cid in enumerate(best_first)}
        gold_ranking_set(prompt=prompt, ranks=ranks, set_by=lead)
    _annotate_with_gold(project, users, truth)
    return project


def test_gold_accuracy_tells_the_careful_from_the_random_clicker(simulated_with_gold):
    report = quality_report_compute(project=simulated_with_gold)
    rows = {row.annotator: row for row in report.annotators}
    careful, clicker = [rows[name] for name in CAREFUL], rows[CLICKER]
    assert all(row.gold_tasks >= 3 for row in rows.values())
    assert all(row.gold_n == 6 * row.gold_tasks for row in rows.values())  # C(4,2)
    # Careful annotators see the truth through noise: most pairs as the reference.
    assert all(row.gold_accuracy > 0.75 and row.gold_tau > 0.5 for row in careful)
    # The clicker is at chance: about half the pairs, τ about 0.
    assert 0.25 < clicker.gold_accuracy < 0.75 and abs(clicker.gold_tau) < 0.35
    # With gold included, the clicker's trust is the lowest, and rests on more tasks.
    assert min(report.annotators, key=lambda row: row.trust) is clicker
    assert clicker.trust < 0.2 < min(row.trust for row in careful)
    assert all(row.trust_n > row.gold_tasks for row in rows.values())
    # The documented JSON carries gold accuracy now.
    data = quality_report_data(project=simulated_with_gold, report=report)
    row = next(a for a in data["annotators"] if a["annotator"] == CLICKER)
    assert row["gold_accuracy"] == clicker.gold_accuracy
    assert (row["gold_n"], row["gold_tasks"]) == (clicker.gold_n, clicker.gold_tasks)


def test_an_annotator_sees_each_check_task_beside_the_leads_ranking(
    make_project, lead, annotator, client
):
    project = make_project(k=3, n_prompts=2, members=[annotator], gold_rate=1.0)
    [gold] = _ordinary_and_gold(project, lead, n_gold=1)  # ascending id is best
    assignment = assignment_next(project=project, annotator=annotator)
    assert assignment.prompt_id == gold  # rate 1: the first task is the check
    first, second, third = sorted(assignment.display_order)
    # One pair the other way round: 2 of its 3 pairs as the reference.
    _submit(annotator, assignment, [[second], [first], [third]])
    letter = {o: chr(ord("A") + i) for i, o in enumerate(assignment.display_order)}

    [check] = own_work(project=project, annotator=annotator).gold_checks
    assert (check.assignment, check.agreed, check.shared) == (assignment.pk, 2, 3)
    assert check.yours == f"{letter[second]} > {letter[first]} > {letter[third]}"
    assert check.reference == f"{letter[first]} > {letter[second]} > {letter[third]}"
    client.force_login(annotator)
    page = client.get(reverse("annotate:my_work", args=[project.slug]))
    row = f"<td>{escape(check.yours)}</td><td>{escape(check.reference)}</td>"
    assert row in page.content.decode()
    assert "2 of 3" in page.content.decode()


def test_ties_read_as_equals_in_letters():
    assert ranking_in_letters({10: 2, 11: 1, 12: 2}, {10: "C", 11: "A", 12: "B"}) == (
        "A > B = C"
    )


def test_a_lead_can_keep_check_tasks_unrevealed(make_project, lead, annotator, client):
    project = make_project(k=3, n_prompts=2, members=[annotator], gold_rate=1.0)
    _ordinary_and_gold(project, lead, n_gold=1)
    assignment = assignment_next(project=project, annotator=annotator)
    _submit(annotator, assignment, _in_id_order(assignment))
    project.gold_feedback = False
    project.save()
    assert own_work(project=project, annotator=annotator).gold_checks == []
    client.force_login(annotator)
    page = client.get(reverse("annotate:my_work", args=[project.slug]))
    assert 'id="gold-checks"' not in page.content.decode()
    assert "Check tasks" not in page.content.decode()
