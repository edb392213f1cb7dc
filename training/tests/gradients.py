"""One optimiser step's gradients, for tests that compare batch shapes of one update.

Accumulated micro-batches, several processes and one whole batch must give the same
update; these tests run exactly one step and compare what it leaves in `.grad`.
"""

from __future__ import annotations

from typing import Any

import torch

from training.core.recipe import run_training


def one_step_gradients(
    model: torch.nn.Module, groups: list[Any], step: Any, config: Any, **loop: Any
) -> dict[str, torch.Tensor]:
    """Gradients of the single optimiser step `config` makes over `groups`.

    The config must clip nothing (max_grad_norm=0) so the gradients are as summed.
    """
    state = run_training(model, groups, step, config, **loop)
    assert state.step == 1
    # The loop frees gradients before a step's forward, so the last step's remain.
    return {
        n: p.grad.clone() for n, p in model.named_parameters() if p.grad is not None
    }


def assert_same_gradients(
    expected: dict[str, torch.Tensor], actual: dict[str, torch.Tensor]
) -> None:
    assert expected.keys() == actual.keys() and expected
    for name, grad in expected.items():
        torch.testing.assert_close(actual[name], grad, atol=1e-5, rtol=1e-5, msg=name)
