"""A round run end to end in-process: launch, each job, lineage, idempotent re-runs."""

from __future__ import annotations

import pytest
from transformers import AutoModelForCausalLM, AutoModelForSequenceClassification

from annotate.services import assignment_next, membership_set
from training import services
from training.models import CandidateOrigin, ModelVersion, Round
from training.tests.fixtures_rounds import QUICK, drain


@pytest.mark.django_db(transaction=True)
def test_a_dpo_round_runs_to_done_and_feeds_the_queue(
    ranked_project, queued, lead, other_annotator
):
    project = ranked_project()
    request = services.LaunchRequest(algorithm="dpo", **QUICK)
    round_ = services.round_launch(project=project, request=request, launched_by=lead)
    assert round_.state == Round.State.TRAINING_REWARD
    assert drain(queued) == ["succeeded"] * 4
    round_.refresh_from_db()
    assert round_.state == Round.State.DONE
    reward = ModelVersion.objects.get(round=round_, kind="reward")
    policy = ModelVersion.objects.get(round=round_, kind="policy")
    assert round_.reward_model == reward and round_.policy == policy
    assert policy.parent == round_.base_policy
    assert policy.snapshot == round_.snapshot == reward.snapshot
    assert "eval_accuracy" in reward.metrics
    # One judge, the round's reward model, scored the base and the new policy.
    scored = [row["version"] for row in round_.evaluation["policies"]]
    assert scored == [round_.base_policy_id, policy.pk]
    # Both load with plain transformers, without rankwise.
    AutoModelForCausalLM.from_pretrained(policy.path)
    AutoModelForSequenceClassification.from_pretrained(reward.path)
    origins = CandidateOrigin.objects.filter(round=round_)
    assert origins.count() == 1 * 3  # two fresh prompts, one held out; K=3
    assert {o.model_version for o in origins} == {policy}
    # The new candidates are in the next annotator's queue, sources hidden.
    membership_set(project=project, user=other_annotator, role="annotator")
    assignment = assignment_next(project=project, annotator=other_annotator)
    assert assignment is not None
    generated = set(origins.values_list("candidate_id", flat=True))
    assert set(assignment.display_order) <= generated
