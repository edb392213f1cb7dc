"""The round's state machine: which state follows which, and which job each runs.

collecting → training_reward → training_policy → evaluating → generating → done;
any active state may fail or be cancelled; a failed round is relaunched at the state
that failed. Pure: no database access, so the rules are tested on their own.
"""

from __future__ import annotations

from training.models import Round, TrainingRun

State = Round.State

PIPELINE: tuple[str, ...] = (
    State.COLLECTING,
    State.TRAINING_REWARD,
    State.TRAINING_POLICY,
    State.EVALUATING,
    State.GENERATING,
    State.DONE,
)
ACTIVE_STATES = frozenset(PIPELINE[:-1])
TERMINAL_STATES = frozenset({State.DONE, State.CANCELLED})

# The job a state runs; collecting runs none (launching freezes the data and moves on).
JOB_OF_STATE: dict[str, str] = {
    State.TRAINING_REWARD: TrainingRun.Kind.TRAIN_REWARD,
    State.TRAINING_POLICY: TrainingRun.Kind.TRAIN_POLICY,
    State.EVALUATING: TrainingRun.Kind.EVALUATE,
    State.GENERATING: TrainingRun.Kind.GENERATE,
}
STATE_OF_JOB = {job: state for state, job in JOB_OF_STATE.items()}
RESUMABLE_STATES = frozenset(JOB_OF_STATE)


class IllegalTransition(ValueError):
    """A state change the machine does not allow; the round is left as it was."""


def allowed_next(state: str) -> frozenset[str]:
    """The states a round in `state` may move to."""
    if state in ACTIVE_STATES:
        following = PIPELINE[PIPELINE.index(state) + 1]
        return frozenset({following, State.FAILED, State.CANCELLED})
    if state == State.FAILED:
        return RESUMABLE_STATES | {State.CANCELLED}
    return frozenset()


def check_transition(current: str, target: str, *, failed_state: str = "") -> None:
    """Raise IllegalTransition unless `current` → `target` is allowed.

    A failed round may only resume at the state that failed (`failed_state`).
    """
    if target not in allowed_next(current):
        allowed = ", ".join(sorted(allowed_next(current))) or "none (it is final)"
        raise IllegalTransition(
            f"A round cannot go from {current} to {target}; allowed: {allowed}."
        )
    if current == State.FAILED and target != State.CANCELLED and target != failed_state:
        raise IllegalTransition(
            f"A failed round resumes at the step that failed ({failed_state or '?'}), "
            f"not at {target}."
        )


def next_state(state: str) -> str:
    """The state after `state` in the pipeline."""
    if state not in ACTIVE_STATES:
        raise IllegalTransition(f"A round in {state} has no next step.")
    return PIPELINE[PIPELINE.index(state) + 1]
