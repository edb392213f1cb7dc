"""Rounds on real services: PostgreSQL, Redis and Celery worker processes.

`make test` runs this in its PostgreSQL pass. Rounds are launched the way a lead's
tools do (`manage.py run_round` against Redis) and run by a real worker on the `gpu`
queue; the test reads the shared database as the admin page would.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.db import connection
from transformers import AutoModelForCausalLM, AutoModelForSequenceClassification

from annotate.models import Membership
from annotate.selectors import prompts_open_to
from annotate.services import assignment_next, membership_set
from training import services
from training.models import CandidateOrigin, ModelVersion, Round, TrainingRun

ROOT = Path(__file__).resolve().parents[1]
STALE_AFTER_SECONDS = 6
K = 3  # outputs generated per prompt
pytestmark = [
    pytest.mark.integration,
    pytest.mark.postgres,
    pytest.mark.django_db(transaction=True),
]
QUICK_SETTINGS = [
    "reward.epochs=1",
    "reward.batch_size=4",
    f"generation.k={K}",
    "generation.max_new_tokens=64",  # realistic: long enough to write NUL or U+FFFD
]


@pytest.fixture
def services_env(settings, tmp_path):
    """Environment for subprocesses: this test database, Redis, quick heartbeats."""
    redis_url = os.environ.get("RANKWISE_TEST_REDIS_URL")
    if connection.vendor != "postgresql" or not redis_url:
        pytest.skip("runs in make test's PostgreSQL pass (needs PostgreSQL and Redis)")
    settings.RANKWISE_RUN_STALE_AFTER_SECONDS = STALE_AFTER_SECONDS  # this reaper's
    db = connection.settings_dict
    database_url = f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}"
    return {
        **os.environ,
        "DATABASE_URL": database_url,
        "CELERY_BROKER_URL": redis_url,
        "CELERY_RESULT_BACKEND": redis_url,
        "RANKWISE_MODELS_DIR": str(settings.RANKWISE_MODELS_DIR),
        "RANKWISE_RUN_HEARTBEAT_SECONDS": "1",
        "RANKWISE_RUN_STALE_AFTER_SECONDS": str(STALE_AFTER_SECONDS),
    }


class Worker:
    """A `celery worker --queues gpu,default` process, stoppable by kill -9."""

    def __init__(self, env: dict[str, str], log: Path, name: str):
        self.log = log
        self.process = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "config", "worker",
             "--pool", "solo", "--queues", "gpu,default", "--loglevel", "INFO",
             "--hostname", f"{name}@%h"],
            cwd=ROOT, env=env, stdout=log.open("ab"), stderr=subprocess.STDOUT,
            start_new_session=True,
        )  # fmt: skip

    def kill(self) -> None:
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=30)

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            self.process.wait(timeout=60)


def run_round(env: dict[str, str], *args: str) -> str:
    done = subprocess.run(
        [sys.executable, "manage.py", "run_round", "--project", "rounds", *args],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    return done.stdout


def wait_until(condition, *, timeout_s: float, what: str, log: Path):
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        services.runs_reap_stale()  # as the round page does on every poll
        value = condition()
        if value:
            return value
        time.sleep(0.2)
    tail = log.read_text(errors="replace")[-3000:] if log.exists() else ""
    raise AssertionError(f"timed out waiting for {what}; worker log:\n{tail}")


def finished(number: int):
    def check():
        round_ = Round.objects.get(project__slug="rounds", number=number)
        return round_ if round_.state not in (services.ACTIVE_STATES) else None

    return check


def assert_round_delivered(round_: Round, django_user_model) -> None:
    assert round_.state == Round.State.DONE, list(round_.runs.values("kind", "error"))
    policy = ModelVersion.objects.get(round=round_, kind="policy")
    reward = ModelVersion.objects.get(round=round_, kind="reward")
    AutoModelForCausalLM.from_pretrained(policy.path)
    AutoModelForSequenceClassification.from_pretrained(reward.path)
    assert "eval_accuracy" in reward.metrics and policy.metrics["evaluation"]
    generated = set(
        CandidateOrigin.objects.filter(round=round_).values_list(
            "candidate_id", flat=True
        )
    )
    # Every output the round generated was stored: PostgreSQL refuses text with NUL,
    # so a lossy output used to fail the round here.
    generate = round_.runs.get(kind="generate", status="succeeded")
    assert generate.result["prompts_short"] == 0
    assert generate.result["candidates_added"] == len(round_.prompt_ids) * K
    assert len(generated) == len(round_.prompt_ids) * K
    # The round's prompts, now with their new outputs, are in annotators' queues.
    annotator = django_user_model.objects.create_user(f"new-{round_.number}")
    membership_set(
        project=round_.project, user=annotator, role=Membership.Role.ANNOTATOR
    )
    open_to_them = prompts_open_to(project=round_.project, annotator=annotator)
    assert set(round_.prompt_ids) <= set(open_to_them.values_list("id", flat=True))
    assignment = assignment_next(project=round_.project, annotator=annotator)
    assert assignment is not None and len(assignment.display_order) == K


def test_dpo_and_ppo_rounds_run_on_a_worker_and_a_killed_job_resumes(
    ranked_project, services_env, tmp_path, django_user_model
):
    ranked_project(n_ranked=6, n_fresh=2)
    log = tmp_path / "worker.log"
    worker = Worker(services_env, log, "rounds-a")
    try:
        # A DPO round training on 2 torchrun processes per job, then a PPO round
        # starting from the DPO policy.
        run_round(services_env, "--algorithm", "dpo", *_set(QUICK_SETTINGS),
                  "--set", "policy.epochs=1",
                  "--set", "launch.processes=2")  # fmt: skip
        dpo = wait_until(finished(1), timeout_s=300, what="round 1", log=log)
        assert_round_delivered(dpo, django_user_model)
        trained = ModelVersion.objects.filter(round=dpo).order_by("kind")
        assert [(v.kind, v.metrics["world_size"]) for v in trained] == [
            ("policy", 2),
            ("reward", 2),
        ]

        run_round(services_env, "--algorithm", "ppo", *_set(QUICK_SETTINGS),
                  "--set", "policy.epochs=1", "--set", "policy.max_new_tokens=6",
                  "--prompt", "Second-round prompt", "--prompt", "Another")  # fmt: skip
        ppo = wait_until(finished(2), timeout_s=300, what="round 2", log=log)
        assert_round_delivered(ppo, django_user_model)
        assert ppo.base_policy == dpo.policy  # lineage: round 2 builds on round 1
        assert ppo.policy.parent == dpo.policy

        # A long DPO job, killed with its worker once it has checkpointed.
        run_round(services_env, "--algorithm", "dpo", *_set(QUICK_SETTINGS),
                  "--set", "policy.epochs=200", "--set", "policy.checkpoint_every=5",
                  "--prompt", "A third-round prompt")  # fmt: skip

        def checkpointed_policy_run():
            run = TrainingRun.objects.filter(
                round__number=3, kind="train_policy", status="running"
            ).first()
            checkpoint = Path(run.out_dir) / "checkpoint" / "state.pt" if run else None
            return run if checkpoint and checkpoint.is_file() else None

        wait_until(checkpointed_policy_run, timeout_s=300, what="a checkpoint", log=log)
        worker.kill()
        killed_at = time.monotonic()
        failed = wait_until(
            finished(3), timeout_s=STALE_AFTER_SECONDS * 4, what="failure", log=log
        )
        assert time.monotonic() - killed_at < STALE_AFTER_SECONDS * 4
        first = failed.runs.get(kind="train_policy", attempt=1)
        assert (failed.state, failed.failed_state) == ("failed", "training_policy")
        assert first.status == "failed" and "stopped responding" in first.error

        worker = Worker(services_env, log, "rounds-b")
        assert "round 3: Training policy" in run_round(services_env, "--relaunch", "3")
        resumed = wait_until(finished(3), timeout_s=300, what="resume", log=log)
        second = resumed.runs.get(kind="train_policy", attempt=2)
        assert second.status == "succeeded"
        assert second.resumed_from_step is not None and second.resumed_from_step >= 5
        assert resumed.state == "done"
        assert ModelVersion.objects.filter(round=resumed, kind="policy").count() == 1
    finally:
        worker.stop()


def _set(settings: list[str]) -> list[str]:
    return [part for setting in settings for part in ("--set", setting)]
