"""The round state machine, launch refusals, cancel, stale jobs, relaunch, re-runs."""

from __future__ import annotations

import math
from datetime import timedelta

import pytest
from django.utils import timezone

from annotate.models import Candidate, Prompt
from annotate.services import candidate_create, prompt_create
from training import services
from training.jobs import run_execute
from training.models import (
    CandidateOrigin,
    DataSnapshot,
    EvaluationSet,
    ModelVersion,
    Round,
    TrainingRun,
)
from training.rounds import IllegalTransition, allowed_next, check_transition
from training.steps import NO_EVALUATION_SET, STEPS
from training.tests.fixtures_rounds import QUICK, drain

S = Round.State


# --- the state machine --------------------------------------------------------------

PIPELINE_STEPS = [
    (S.COLLECTING, S.TRAINING_REWARD),
    (S.TRAINING_REWARD, S.TRAINING_POLICY),
    (S.TRAINING_POLICY, S.EVALUATING),
    (S.EVALUATING, S.GENERATING),
    (S.GENERATING, S.DONE),
]


@pytest.mark.parametrize(("current", "target"), PIPELINE_STEPS)
def test_each_active_state_moves_to_the_next_or_fails_or_cancels(current, target):
    assert allowed_next(current) == {target, S.FAILED, S.CANCELLED}
    for allowed in (target, S.FAILED, S.CANCELLED):
        check_transition(current, allowed)


@pytest.mark.parametrize(
    ("current", "target"),
    [
        (S.COLLECTING, S.TRAINING_POLICY),  # skipping a step
        (S.GENERATING, S.TRAINING_REWARD),  # going back
        (S.DONE, S.COLLECTING),  # leaving a final state
        (S.CANCELLED, S.TRAINING_REWARD),
        (S.DONE, S.FAILED),
        (S.FAILED, S.DONE),
    ],
)
def test_illegal_transitions_are_refused_with_what_is_allowed(current, target):
    with pytest.raises(IllegalTransition, match=f"from {current} to {target}"):
        check_transition(current, target)


def test_a_failed_round_resumes_only_at_the_step_that_failed():
    check_transition(S.FAILED, S.TRAINING_POLICY, failed_state=S.TRAINING_POLICY)
    check_transition(S.FAILED, S.CANCELLED, failed_state=S.TRAINING_POLICY)
    with pytest.raises(IllegalTransition, match="resumes at the step that failed"):
        check_transition(S.FAILED, S.TRAINING_REWARD, failed_state=S.TRAINING_POLICY)


# --- launching ----------------------------------------------------------------------


def test_launch_is_refused_without_enough_data_and_writes_nothing(
    ranked_project, queued, lead
):
    project = ranked_project(n_ranked=2, n_fresh=1)
    request = services.LaunchRequest(new_prompts=["A brand new prompt"], **QUICK)
    with pytest.raises(services.LaunchRefused) as refused:
        services.round_launch(project=project, request=request, launched_by=lead)
    assert set(refused.value.reasons) == {"data"}
    assert "2 rankings and 6 comparisons" in refused.value.reasons["data"]
    assert not Round.objects.exists() and not DataSnapshot.objects.exists()
    assert not Prompt.objects.filter(text="A brand new prompt").exists()
    assert queued == []


def test_launch_names_each_bad_setting_and_prompt(ranked_project, queued, lead):
    project = ranked_project()
    request = services.LaunchRequest(
        algorithm="ppo",
        policy_settings={"lr": "fast", "no_such_knob": 1},
        generation_settings={"k": 9},
        prompt_ids=[999_999],
    )
    with pytest.raises(services.LaunchRefused) as refused:
        services.round_launch(project=project, request=request, launched_by=lead)
    reasons = refused.value.reasons
    assert reasons["policy_settings.lr"] == "'fast' is not a float (or empty)"
    assert "unknown setting" in reasons["policy_settings.no_such_knob"]
    assert "outside this project's range 2–4" in reasons["generation_settings.k"]
    assert "[999999]" in reasons["prompts"]
    assert not Round.objects.exists()


def test_a_second_launch_is_refused_while_a_round_runs(ranked_project, queued, lead):
    project = ranked_project()
    first = services.round_launch(
        project=project, request=services.LaunchRequest(**QUICK), launched_by=lead
    )
    with pytest.raises(services.LaunchRefused) as refused:
        services.round_launch(
            project=project, request=services.LaunchRequest(**QUICK), launched_by=lead
        )
    assert refused.value.reasons == {
        "round": "Round 1 is still training reward model; wait for it to finish "
        "or cancel it."
    }
    assert list(Round.objects.values_list("pk", flat=True)) == [first.pk]


def test_launch_freezes_the_rankings_it_trains_on(
    ranked_project, queued, lead, django_capture_on_commit_callbacks
):
    project = ranked_project(n_ranked=5)
    with django_capture_on_commit_callbacks(execute=True):
        round_ = services.round_launch(
            project=project, request=services.LaunchRequest(**QUICK), launched_by=lead
        )
    snapshot = round_.snapshot
    assert snapshot.ranking_count == 5 and len(snapshot.annotation_ids) == 5
    assert snapshot.comparison_count == 5 * 3  # K=3: three pairs per ranking
    assert round_.generation_settings["k"] == 3
    assert [r.kind for r in round_.runs.all()] == ["train_reward"]
    assert queued == [round_.runs.get().pk]


# --- cancel, stale workers, relaunch ------------------------------------------------


def test_cancel_before_the_job_starts_stops_at_once(
    ranked_project, queued, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        round_ = services.round_launch(
            project=ranked_project(), request=services.LaunchRequest(**QUICK)
        )
    services.round_cancel(round_=round_)
    round_.refresh_from_db()
    assert round_.state == S.CANCELLED
    assert round_.runs.get().status == TrainingRun.Status.CANCELLED
    # The message still on the queue finds nothing to do.
    assert drain(queued) == ["skipped"]
    with pytest.raises(IllegalTransition, match="nothing to cancel"):
        services.round_cancel(round_=round_)


@pytest.mark.django_db(transaction=True)
def test_cancel_while_training_stops_at_the_next_step(ranked_project, queued, settings):
    settings.RANKWISE_RUN_HEARTBEAT_SECONDS = 0.05
    round_ = services.round_launch(
        project=ranked_project(), request=services.LaunchRequest(**QUICK)
    )

    def cancelling_step(run, reporter):
        services.round_cancel(round_=run.round)
        for step in range(1000):
            reporter(step / 1000, f"step {step}", {"loss": 1.0})
            reporter.stopping.wait(0.01)
        raise AssertionError("the job was not stopped")

    outcome = run_execute(
        queued.pop(), worker="t", steps={"train_reward": cancelling_step}
    )
    assert outcome == "cancelled"
    round_.refresh_from_db()
    run = round_.runs.get()
    assert (round_.state, run.status) == (S.CANCELLED, TrainingRun.Status.CANCELLED)
    assert 0 < run.progress < 1 and run.history


def test_a_silent_job_is_marked_failed_and_the_round_can_resume(
    ranked_project, queued, settings
):
    round_ = services.round_launch(
        project=ranked_project(), request=services.LaunchRequest(**QUICK)
    )
    run = round_.runs.get()
    silent_since = timezone.now() - timedelta(
        seconds=settings.RANKWISE_RUN_STALE_AFTER_SECONDS + 5
    )
    TrainingRun.objects.filter(pk=run.pk).update(
        status=TrainingRun.Status.RUNNING, worker="w1", heartbeat_at=silent_since
    )
    assert services.runs_reap_stale() == 1
    run.refresh_from_db()
    round_.refresh_from_db()
    assert run.status == TrainingRun.Status.FAILED
    assert "Worker w1 stopped responding: no heartbeat for" in run.error
    assert (round_.state, round_.failed_state) == (S.FAILED, S.TRAINING_REWARD)
    assert services.runs_reap_stale() == 0
    # A late finish of the lost job cannot overwrite the verdict.
    services.job_finished(run, TrainingRun.Status.SUCCEEDED)
    run.refresh_from_db()
    assert run.status == TrainingRun.Status.FAILED

    services.round_relaunch(round_=round_)
    round_.refresh_from_db()
    assert round_.state == S.TRAINING_REWARD and round_.error == ""
    second = round_.runs.get(attempt=2)
    assert (second.kind, second.status, second.out_dir) == (
        "train_reward",
        TrainingRun.Status.QUEUED,
        run.out_dir,  # same folder: the checkpoint is found there
    )
    with pytest.raises(IllegalTransition, match="Only a failed round"):
        services.round_relaunch(round_=round_)


def test_a_restarted_worker_fails_the_jobs_it_left_running(ranked_project, queued):
    round_ = services.round_launch(
        project=ranked_project(), request=services.LaunchRequest(**QUICK)
    )
    round_.runs.update(status=TrainingRun.Status.RUNNING, worker="celery@host")
    assert services.runs_fail_for_worker("celery@other") == 0
    assert services.runs_fail_for_worker("celery@host") == 1
    assert "restarted while this job ran" in round_.runs.get().error


# --- re-running steps ---------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_rerunning_each_step_adds_no_versions_or_candidates(ranked_project, queued):
    round_ = services.round_launch(
        project=ranked_project(), request=services.LaunchRequest(**QUICK)
    )
    drain(queued)
    round_.refresh_from_db()
    counts = (
        ModelVersion.objects.count(),
        Candidate.objects.count(),
        CandidateOrigin.objects.count(),
    )
    policy_path = round_.policy.path
    for run in round_.runs.order_by("id"):
        repeat = TrainingRun.objects.create(
            round=round_,
            kind=run.kind,
            attempt=run.attempt + 1,
            out_dir=run.out_dir,
            status=TrainingRun.Status.RUNNING,
        )
        STEPS[run.kind](repeat, _Silent())
        repeat.refresh_from_db()
        if run.kind in ("train_reward", "train_policy"):
            # The finished checkpoint is found: nothing is trained twice.
            assert repeat.resumed_from_step is not None
    assert (
        ModelVersion.objects.count(),
        Candidate.objects.count(),
        CandidateOrigin.objects.count(),
    ) == counts
    round_.refresh_from_db()
    assert round_.policy.path == policy_path


class _Silent:
    """A reporter that records nothing (the step functions only call it)."""

    def __call__(self, fraction, message, metrics):
        pass

    def phase(self, fraction, message):
        pass


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("algorithm", ["ppo", "rloo", "bon", "raft"])
def test_every_algorithm_runs_a_round_to_done(ranked_project, queued, algorithm):
    policy_settings = {
        "ppo": {"epochs": 1, "batch_size": 4, "max_new_tokens": 6},
        "rloo": {"epochs": 1, "batch_size": 4, "max_new_tokens": 6, "k": 2},
        "bon": {"n": 2, "max_new_tokens": 6},
        # QUICK's min_steps 0: 60 SFT steps on six 6-token demos collapse the policy
        # onto one reply, leaving too few distinct outputs to queue.
        "raft": {"rounds": 1, "epochs": 1, "min_steps": 0, "n": 2, "max_new_tokens": 6},
    }[algorithm]
    request = services.LaunchRequest(
        algorithm=algorithm, **{**QUICK, "policy_settings": policy_settings}
    )
    round_ = services.round_launch(project=ranked_project(), request=request)
    assert drain(queued) == ["succeeded"] * 4, round_.runs.values_list("error")
    round_.refresh_from_db()
    assert round_.state == S.DONE
    # Two fresh prompts: one held out for evaluation, K=3 outputs for the other.
    assert CandidateOrigin.objects.filter(round=round_).count() == 3
    base_row, new_row = round_.evaluation["policies"]
    assert base_row["version"] == round_.base_policy_id
    if algorithm == "bon":
        assert round_.policy == round_.base_policy
        # Judged as what it is: best-of-2 sampling of the base vs plain sampling.
        assert (new_row["sampling"], new_row["round"]) == ("best-of-2", 1)
        assert new_row["kl_to_parent"] == pytest.approx(math.log(2) - 1 / 2)
    else:
        assert round_.policy.parent == round_.base_policy
        assert (new_row["version"], new_row["sampling"]) == (round_.policy_id, "plain")


# --- the evaluation set and the lineage's evaluation --------------------------------


def _fresh_ids(project) -> list[int]:
    prompts = Prompt.objects.filter(project=project, candidates__isnull=True)
    return list(prompts.order_by("id").values_list("id", flat=True))


def test_the_first_launch_holds_out_every_second_fresh_prompt(
    ranked_project, queued, lead
):
    project = ranked_project(n_fresh=5)
    fresh = _fresh_ids(project)
    round_ = services.round_launch(
        project=project, request=services.LaunchRequest(**QUICK), launched_by=lead
    )
    held_out = EvaluationSet.objects.get(project=project)
    assert held_out.prompt_ids == [fresh[1], fresh[3]]
    assert held_out.chosen_by is None
    assert round_.prompt_ids == [fresh[0], fresh[2], fresh[4]]
    assert set(services.fresh_prompts(project).values_list("id", flat=True)) == set(
        round_.prompt_ids
    )
    # Frozen: prompts added later go to annotators, not to the evaluation set.
    prompt_create(project=project, text="A later prompt")
    assert services.evaluation_set_for(project=project) == held_out
    services.round_cancel(round_=round_)
    request = services.LaunchRequest(prompt_ids=[fresh[0], fresh[1]], **QUICK)
    with pytest.raises(services.LaunchRefused) as refused:
        services.round_launch(project=project, request=request, launched_by=lead)
    assert refused.value.reasons == {
        "prompts": f"Prompts [{fresh[1]}] are held out for evaluation; they never "
        "get outputs to annotate."
    }


def test_prompts_a_launch_names_are_not_held_out(ranked_project, queued):
    project = ranked_project(n_fresh=3)
    fresh = _fresh_ids(project)
    request = services.LaunchRequest(prompt_ids=fresh[:2], **QUICK)
    round_ = services.round_launch(project=project, request=request)
    assert round_.prompt_ids == fresh[:2]
    assert not EvaluationSet.objects.exists()  # one prompt left: nothing to spare
    # Without held-out prompts the round's evaluation says so instead of guessing.
    round_.policy = round_.base_policy
    round_.save()
    run = TrainingRun.objects.create(round=round_, kind="evaluate")
    assert STEPS["evaluate"](run, _Silent()) == {"skipped": NO_EVALUATION_SET}
    round_.refresh_from_db()
    assert round_.evaluation == {"skipped": NO_EVALUATION_SET}


def test_a_lead_chooses_prompts_without_outputs_and_launches_check_them(
    ranked_project, queued, lead
):
    project = ranked_project(n_fresh=3)
    fresh = _fresh_ids(project)
    ranked = Prompt.objects.filter(project=project, candidates__isnull=False).first()
    with pytest.raises(services.EvaluationSetRefused, match="have outputs"):
        services.evaluation_set_choose(
            project=project, prompt_ids=[fresh[0], ranked.pk], chosen_by=lead
        )
    with pytest.raises(services.EvaluationSetRefused, match="Choose 1 to 64"):
        services.evaluation_set_choose(project=project, prompt_ids=[])
    chosen = services.evaluation_set_choose(
        project=project, prompt_ids=[fresh[2], fresh[0]], chosen_by=lead
    )
    assert (chosen.prompt_ids, chosen.chosen_by) == ([fresh[0], fresh[2]], lead)
    assert list(services.fresh_prompts(project).values_list("id", flat=True)) == [
        fresh[1]
    ]
    assert "evaluation_set" not in services.launch_blockers(project)
    # Outputs imported for a held-out prompt would be ranked and trained on.
    candidate_create(prompt=Prompt.objects.get(pk=fresh[0]), text="x", source="x")
    assert "have outputs" in services.launch_blockers(project)["evaluation_set"]


@pytest.mark.django_db(transaction=True)
def test_two_rounds_score_their_whole_lineage_with_one_judge_each(
    ranked_project, queued
):
    project = ranked_project(n_fresh=4)
    first = services.round_launch(
        project=project, request=services.LaunchRequest(**QUICK)
    )
    assert drain(queued) == ["succeeded"] * 4
    request = services.LaunchRequest(new_prompts=["A second-round prompt"], **QUICK)
    second = services.round_launch(project=project, request=request)
    assert drain(queued) == ["succeeded"] * 4
    first.refresh_from_db()
    second.refresh_from_db()
    base = first.base_policy
    assert second.base_policy == first.policy
    held_out = EvaluationSet.objects.get(project=project).prompt_ids
    assert not Candidate.objects.filter(prompt_id__in=held_out).exists()
    lineages = {
        first: [base, first.policy],
        second: [base, first.policy, second.policy],
    }
    for round_, lineage in lineages.items():
        evaluation = round_.evaluation
        assert evaluation["judge"] == {
            "id": round_.reward_model_id,
            "name": round_.reward_model.name,
        }
        assert evaluation["prompt_ids"] == held_out
        rows = evaluation["policies"]
        assert [row["version"] for row in rows] == [v.pk for v in lineage]
        assert [row["round"] for row in rows] == list(range(len(lineage)))
        assert (rows[0]["win_rate_vs_base"], rows[0]["kl_to_base"]) == (0.5, 0.0)
        assert rows[-1]["roles"] == ["new"]
        assert rows[-1]["kl_to_parent"] is not None
    assert first.evaluation["policies"][0]["roles"] == ["base", "parent"]
    assert [row["roles"] for row in second.evaluation["policies"]] == [
        ["base"],
        ["parent"],
        ["new"],
    ]
    # Round 2 re-scored round 1's policy from its cached samples: same KL, new judge.
    then, now = first.evaluation["policies"][1], second.evaluation["policies"][1]
    assert now["kl_to_base"] == pytest.approx(then["kl_to_base"])
    cache = services.project_folder(project) / "evaluation"
    for version in (base, first.policy):
        assert len(list((cache / str(version.pk)).glob("samples-*.jsonl"))) == 1
    assert second.policy.metrics["evaluation"]["judge"] == second.reward_model.name


def test_an_over_long_new_prompt_is_refused_by_its_line(ranked_project, settings):
    project = ranked_project()
    settings.RANKWISE_MAX_PROMPT_CHARS = 20
    prompts_before = Prompt.objects.count()
    request = services.LaunchRequest(new_prompts=["", "Short one", "x" * 30], **QUICK)
    with pytest.raises(services.LaunchRefused) as refused:
        services.round_launch(project=project, request=request)
    assert refused.value.reasons == {
        "new_prompts": "New prompt 3: The prompt has 30 characters; expected at most "
        "20 (RANKWISE_MAX_PROMPT_CHARS)."
    }
    assert Prompt.objects.count() == prompts_before
    assert Round.objects.count() == 0


def test_a_reward_model_rendering_prompts_unlike_the_policy_is_refused(
    ranked_project,
):
    request = services.LaunchRequest(
        **{**QUICK, "reward_settings": {"chat_template": "never"}}
    )
    with pytest.raises(services.LaunchRefused) as refused:
        services.round_launch(project=ranked_project(), request=request)
    assert refused.value.reasons == {
        "reward_settings.chat_template": "'never' differs from the policy's 'auto': "
        "the reward model scores the policy's replies, so both render prompts the "
        "same way."
    }
    assert Round.objects.count() == 0
