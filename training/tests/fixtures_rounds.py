"""A project with rankings and fresh prompts, and a way to run its jobs in-process."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from annotate.models import Project
from annotate.services import (
    Submission,
    annotation_submit,
    assignment_next,
    candidate_create,
    membership_set,
    prompt_create,
)

QUICK: dict[str, Any] = {
    "reward_settings": {"epochs": 1, "min_steps": 0, "batch_size": 4},
    "policy_settings": {"epochs": 1, "min_steps": 0, "batch_size": 4},
    "generation_settings": {"k": 3, "max_new_tokens": 6},
}
WORDS = ["kind", "clear", "short", "helpful", "polite", "vague", "rude", "wrong"]


def add_rankings(project: Project, annotator, n: int) -> None:
    """`n` prompts with 3 outputs each, ranked by a hidden rule: fewer 'x' is better."""
    membership_set(project=project, user=annotator, role="annotator")
    for p in range(n):
        prompt, _ = prompt_create(project=project, text=f"Question {p}: say something")
        for c in range(3):
            text = f" {WORDS[(p + c) % len(WORDS)]} answer" + " x" * (2 * c)
            candidate_create(prompt=prompt, text=text, source="seed")
    rank_open_tasks(project, annotator)


def rank_open_tasks(project: Project, annotator, *, limit: int | None = None) -> None:
    """The annotator ranks the tasks they are given, outputs in creation order."""
    done = 0
    while (limit is None or done < limit) and (
        assignment := assignment_next(project=project, annotator=annotator)
    ) is not None:
        done += 1
        ids = list(assignment.display_order)
        best_first = sorted(ids)  # creation order: add_rankings creates best first
        annotation_submit(
            assignment_id=assignment.pk,
            annotator=annotator,
            submission=Submission(
                client_id=uuid.uuid4(),
                buckets=[[cid] for cid in best_first],
                likert={cid: max(1, 7 - i) for i, cid in enumerate(best_first)},
                confirm_conflicts=True,
            ),
        )


@pytest.fixture
def ranked_project(db, lead, annotator, settings, tmp_path) -> Callable[..., Project]:
    """make(n_ranked=6, n_fresh=2): rankings to train on, prompts to generate for."""
    settings.RANKWISE_MODELS_DIR = tmp_path / "models"

    def make(*, n_ranked: int = 6, n_fresh: int = 2, slug: str = "rounds") -> Project:
        project = Project.objects.create(slug=slug, name="Rounds", min_k=2, max_k=4)
        membership_set(project=project, user=lead, role="lead")
        add_rankings(project, annotator, n_ranked)
        for f in range(n_fresh):
            prompt_create(project=project, text=f"Fresh prompt {f}: tell me")
        return project

    return make


@pytest.fixture
def queued() -> Iterator[list[int]]:
    """Job ids put on the queue, kept here instead of being sent to a broker."""
    from training import services

    ids: list[int] = []
    with services.jobs_kept_in(ids.append):
        yield ids


def drain(queued: list[int]) -> list[str]:
    """Run queued jobs in-process until none is left; their outcomes in order."""
    from training.jobs import run_execute
    from training.steps import STEPS

    outcomes = []
    while queued:
        outcomes.append(run_execute(queued.pop(0), worker="test", steps=STEPS))
    return outcomes
