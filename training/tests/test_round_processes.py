"""A round's jobs on several processes, and launches refused for the workers' GPUs."""

from __future__ import annotations

from pathlib import Path

import pytest

from training import selectors, services
from training.core import plan as memory_plan
from training.core.reward_config import RewardConfig
from training.models import ModelVersion, Round, TrainingRun
from training.tests.fixtures_rounds import QUICK, drain


@pytest.mark.django_db(transaction=True)
def test_a_round_trains_under_torchrun_with_two_processes(ranked_project, queued):
    project = ranked_project()
    request = services.LaunchRequest(**QUICK, launch_settings={"processes": 2})
    round_ = services.round_launch(project=project, request=request)
    assert round_.launch_settings == {"processes": 2}

    assert drain(queued) == ["succeeded"] * 4, list(round_.runs.values("error"))
    round_.refresh_from_db()
    assert round_.state == Round.State.DONE
    reward = ModelVersion.objects.get(round=round_, kind=ModelVersion.Kind.REWARD)
    policy = ModelVersion.objects.get(round=round_, kind=ModelVersion.Kind.POLICY)
    assert reward.metrics["world_size"] == policy.metrics["world_size"] == 2
    for kind in (TrainingRun.Kind.TRAIN_REWARD, TrainingRun.Kind.TRAIN_POLICY):
        run = round_.runs.get(kind=kind)
        steps = run.result["steps"]
        assert steps >= 1
        # Every step rank 0 reported reached the run's history and progress bar.
        assert len(run.history) == steps
        assert run.progress == 1.0
        assert "torch.distributed.run" in run.log_tail
        assert "--nproc-per-node=2" in run.log_tail
        assert (Path(run.out_dir) / "trainer.log").is_file()
    runs = selectors.round_status(round_=round_)["runs"]
    assert [run["processes"] for run in runs] == [2, 2, None, None]
    # Generation still runs in the worker, and its outputs join the queue.
    generated = round_.runs.get(kind=TrainingRun.Kind.GENERATE)
    assert generated.result["candidates_added"] > 0


def test_more_processes_than_worker_gpus_is_refused(ranked_project, queued, settings):
    settings.RANKWISE_WORKER_GPUS = 1
    project = ranked_project()
    for processes, reason in [
        (2, "2 processes need 2 GPUs; the workers have 1 (RANKWISE_WORKER_GPUS)."),
        (0, "Expected 1 or more, got 0."),
    ]:
        request = services.LaunchRequest(
            **QUICK, launch_settings={"processes": processes}
        )
        with pytest.raises(services.LaunchRefused) as refused:
            services.round_launch(project=project, request=request)
        assert refused.value.reasons == {"launch_settings.processes": reason}
    assert Round.objects.count() == 0
    assert queued == []


def test_a_plan_that_does_not_fit_the_gpus_is_refused_with_what_fits(
    ranked_project, queued, settings, tiny_model_dir
):
    settings.RANKWISE_POLICY_MODEL = str(tiny_model_dir)
    shape = memory_plan.load_shape(str(tiny_model_dir), score_head=True)
    reward = {**QUICK["reward_settings"]}

    def total(**changes) -> int:
        config = RewardConfig(**reward, **changes)
        return memory_plan.plan_memory(config, "reward", shape, ranking_size=3).total

    # Between full fine-tuning and LoRA with checkpointing: only the fixes fit.
    budget = (total() + total(lora=True, gradient_checkpointing=True)) / 2
    settings.RANKWISE_WORKER_GPU_MEMORY_GIB = budget / memory_plan.GIB
    project = ranked_project()
    with pytest.raises(services.LaunchRefused) as refused:
        services.round_launch(project=project, request=services.LaunchRequest(**QUICK))
    message = refused.value.reasons["reward_settings"]
    assert message.startswith(
        f"Training the reward model needs an estimated {total() / 2**30:.1f} GiB"
    )
    assert "It fits with: " in message
    assert "reward.lora=true, reward.gradient_checkpointing=true" in message
    assert Round.objects.count() == 0

    settings.RANKWISE_WORKER_GPU_MEMORY_GIB = total() * 3 / memory_plan.GIB
    round_ = services.round_launch(
        project=project, request=services.LaunchRequest(**QUICK)
    )
    assert round_.state == Round.State.TRAINING_REWARD
