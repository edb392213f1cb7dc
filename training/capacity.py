"""Whether a round's training jobs can run on the `gpu` queue's workers.

The web process cannot see the workers' GPUs, so the deployment states them
(RANKWISE_WORKER_GPUS, RANKWISE_WORKER_GPU_MEMORY_GIB). A launch is refused, before
anything is written, when a job asks for more processes than a worker has GPUs or
when its memory plan (training/core/plan.py) does not fit one GPU; the refusal names
the settings that would make it fit.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.db.models import Count

from annotate.models import Judgement
from training.core.reward_config import RewardConfig
from training.hyperparameters import LaunchConfig, job_processes, policy_config_class

if TYPE_CHECKING:
    from training.core import plan as memory_plan


def capacity_problems(
    *,
    algorithm: str,
    settings_by_group: Mapping[str, Mapping[str, Any]],
    model: str,
    annotation_ids: list[int],
) -> dict[str, str]:
    """Why the round's jobs would not run on the workers, by settings field."""
    launch = settings_by_group.get("launch_settings", {})
    processes = int(launch.get("processes", LaunchConfig.processes))
    gpus = settings.RANKWISE_WORKER_GPUS
    if processes < 1:
        return {"launch_settings.processes": f"Expected 1 or more, got {processes}."}
    if gpus and processes > gpus:
        return {
            "launch_settings.processes": (
                f"{processes} processes need {processes} GPUs; the workers have "
                f"{gpus} (RANKWISE_WORKER_GPUS)."
            )
        }
    gpu_gib = settings.RANKWISE_WORKER_GPU_MEMORY_GIB
    if gpu_gib is None or _is_unbuilt_default(model):
        return {}
    # Planning loads torch (a meta-device model): only where a budget is set, so a
    # web process without one never imports it.
    from training.core import plan as memory_plan

    try:
        policy = memory_plan.load_shape(model)
        reward = memory_plan.load_shape(model, score_head=True)
    except (OSError, ValueError) as err:
        return {
            "base_policy": (
                f"Cannot read the model config of {model} to plan its memory: {err}"
            )
        }
    ranking_size = _largest_ranking(annotation_ids)
    jobs: list[tuple[str, str, Any, memory_plan.ModelShape]] = [
        ("reward_settings", "reward", RewardConfig, reward)
    ]
    if algorithm in memory_plan.PLAN_ALGORITHMS:
        config_class = policy_config_class(algorithm)
        jobs.append(("policy_settings", algorithm, config_class, policy))
    problems = {}
    for group, kind, config_class, shape in jobs:
        config = config_class(**settings_by_group.get(group, {}))
        kwargs: dict[str, Any] = {
            "reward": reward,
            "ranking_size": ranking_size,
            "gpu_gib": gpu_gib,
            "processes": job_processes(kind, launch),
        }
        plan = memory_plan.plan_memory(config, kind, shape, **kwargs)
        if plan.fits is False:
            fixes = memory_plan.suggest_fixes(config, kind, shape, **kwargs)
            problems[group] = _refusal(group, plan, fixes)
    return problems


def _refusal(
    group: str, plan: memory_plan.MemoryPlan, fixes: list[memory_plan.Suggestion]
) -> str:
    from training.core.plan import GIB

    prefix = group.removesuffix("_settings")
    need = (
        f"Training the {'reward model' if prefix == 'reward' else 'policy'} needs an "
        f"estimated {plan.total / GIB:.1f} GiB per GPU; the workers' GPUs "
        f"have {plan.gpu_gib:g} GiB (RANKWISE_WORKER_GPU_MEMORY_GIB)."
    )
    if not fixes:
        return need + " No LoRA, checkpointing or micro-batch setting fits."
    options = "; ".join(
        ", ".join(
            f"{prefix}.{name}={json.dumps(value)}"
            for name, value in fix.changes.items()
        )
        + f" ({fix.plan.total / GIB:.1f} GiB)"
        for fix in fixes
    )
    return f"{need} It fits with: {options}."


def _is_unbuilt_default(model: str) -> bool:
    """The embedded default before its first build: tiny, nothing to plan."""
    from training.core.models import has_model

    return not settings.RANKWISE_POLICY_MODEL and not has_model(Path(model))


def _largest_ranking(annotation_ids: list[int]) -> int:
    """Outputs in the largest ranking of the data (K of the reward model's rows)."""
    sizes = (
        Judgement.objects.filter(annotation_id__in=annotation_ids)
        .values("annotation_id")
        .annotate(n=Count("id"))
        .values_list("n", flat=True)
    )
    return max(sizes, default=2)
