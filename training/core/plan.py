"""Memory plan: estimated peak memory per device of a training run, by part.

Nothing is allocated: parameter counts come from a `torch.device("meta")` model built
from the config. Formulas, with P parameters, T trainable, c the compute dtype's bytes
(2 under bf16/fp16 autocast, 4 without), f the frozen models' bytes (2 under bf16, else
4), n = rows x max_length tokens per micro-batch, L layers, h hidden, kv = h x
key-value heads / heads, i intermediate size, V vocabulary:

- weights: P x c (the autocast copy of every weight; without autocast, the fp32 model)
- master weights: P x 4 under autocast (the model itself stays fp32), else 0
- gradients: T x 4 (fp32, as the master weights); optimizer: T x 8 (AdamW's 2 moments)
- LoRA: T = r x sum(in + out) over every Linear but the output head (+ a score head);
  under bf16 the frozen base is held in bf16 (recipe.load_trainable): weights P x 2,
  master weights T x 4
- activations per token per layer, Korthikanti et al. 2022 adapted to a Llama layer
  (RMSNorm, SwiGLU, RoPE, no dropout, fused SDPA keeping no s x s matrix):
  24h + c(3h + 2kv + 4i) bytes, + 2hc under autocast (the norms' casts); fp32: 4(9h +
  2kv + 4i); eager attention would add a x s x c, which this plan leaves out
- activations with checkpointing: 4h bytes per token per layer (the layer's fp32
  input) + one layer's full activations, recomputed in the backward pass
- activations outside the layers: the final norm, 12h bytes per token (+ hc autocast)
- logits: 2 x n x V x c (the logits and their gradient) + LOGPROB_CHUNK x V x 4 (the
  fp32 log-prob slice); a reward model's score head has no logits part
- rows: batch_size x completions per group (K for DPO/reward, k for RLOO); PPO
  batch_size / num_mini_batches; SFT and RAFT batch_size
- reference policy (PPO/RLOO without LoRA): P x f; DPO's reference is precomputed;
  reward model (PPO/RLOO): its P x f; PPO's value head is (h + 1) trainable weights
- data-parallel processes each hold all of the above: per-device memory does not
  change with --processes, only the global batch does
- with --fsdp over N processes, each holds 1/N of the fp32 weights (the model, or the
  master weights under autocast), gradients and optimizer; activations and logits
  are per process as before. Added, "gathered": the units FSDP holds whole at once,
  fp32: the embeddings (V x h, gathered through the whole forward and backward) with,
  for a policy, the output head's gradient (V x h, from the start of the backward),
  and two decoder layers' weights and gradients (the one computing and the one
  prefetched), (V x h x (2 or 1) + 4 x layer) x 4. Autocast's copies (weights, P x c)
  are cast from the gathered weights and kept for backward, so they are not
  divided; with checkpointing only the layer being recomputed and the output head
  keep theirs, (layer + head) x c. Not yet checked against a GPU's allocations
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import Any

import torch
from transformers import (
    AutoConfig,
    AutoModelForCausalLM,
    AutoModelForSequenceClassification,
    PretrainedConfig,
)

from training.core.logprobs import LOGPROB_CHUNK
from training.core.train_config import TrainConfig

GIB = 1024**3
FP32 = 4
HALF = 2
PLAN_ALGORITHMS = ("sft", "reward", "dpo", "ppo", "rloo", "raft")
# Heads the adapters leave alone: peft's "all-linear" skips the output layer.
OUTPUT_HEADS = ("lm_head", "score")


@dataclass(frozen=True)
class ModelShape:
    """What the plan needs of a model: its sizes and parameter counts."""

    layers: int
    hidden: int
    intermediate: int
    heads: int
    kv_heads: int
    vocab: int
    params: int
    lora_dims: int  # sum of in + out features over the Linears LoRA adapts
    score_head: bool  # a reward model: one score per token, no vocabulary logits
    layer_params: int  # one decoder layer's: what FSDP gathers at a time


@dataclass(frozen=True)
class MemoryPlan:
    """Estimated bytes per device by part, and the budget they are checked against."""

    algorithm: str
    parts: dict[str, int]
    rows: int
    tokens: int
    trainable: int
    params: int
    compute: str
    processes: int
    gpu_gib: float | None
    sharded: bool = False  # --fsdp over the processes

    @property
    def total(self) -> int:
        return sum(self.parts.values())

    @property
    def fits(self) -> bool | None:
        """Whether the total fits the budget; None when there is none."""
        return None if self.gpu_gib is None else self.total <= self.gpu_gib * GIB


@dataclass(frozen=True)
class Suggestion:
    """Settings changed from the planned run, and the plan they give."""

    changes: dict[str, Any]
    plan: MemoryPlan


def model_shape(config: PretrainedConfig, *, score_head: bool = False) -> ModelShape:
    """Sizes of the model `config` describes, counted on the meta device (no memory)."""
    with torch.device("meta"):
        if score_head:
            model = AutoModelForSequenceClassification.from_config(config)
        else:
            model = AutoModelForCausalLM.from_config(config)
    lora_dims = sum(
        module.in_features + module.out_features
        for name, module in model.named_modules()
        if isinstance(module, torch.nn.Linear)
        and name.rsplit(".", 1)[-1] not in OUTPUT_HEADS
    )
    heads = config.num_attention_heads
    params = sum(p.numel() for p in model.parameters())
    # The decoder layer FSDP shards as a unit (distributed.shard_model).
    layer_classes = set(model._no_split_modules or ())
    layers = [m for m in model.modules() if type(m).__name__ in layer_classes]
    layer_params = (
        sum(p.numel() for p in layers[0].parameters())
        if layers
        else params // config.num_hidden_layers
    )
    return ModelShape(
        layers=config.num_hidden_layers,
        hidden=config.hidden_size,
        intermediate=config.intermediate_size,
        heads=heads,
        kv_heads=getattr(config, "num_key_value_heads", None) or heads,
        vocab=config.vocab_size,
        params=params,
        lora_dims=lora_dims,
        score_head=score_head,
        layer_params=layer_params,
    )


def load_shape(name_or_path: str, *, score_head: bool = False) -> ModelShape:
    """The shape of a model folder's config.json; a reward model has one label."""
    config = AutoConfig.from_pretrained(name_or_path)
    if score_head:
        config.num_labels = 1
    return model_shape(config, score_head=score_head)


def compute_bytes(mixed_precision: str) -> int:
    """Bytes of the forward's dtype; auto plans for a GPU, where it means bf16."""
    return FP32 if mixed_precision == "no" else HALF


def frozen_bytes(mixed_precision: str) -> int:
    """Frozen models load in bf16 only under bf16 (precision.Precision.frozen_dtype)."""
    return HALF if mixed_precision in ("auto", "bf16") else FP32


def layer_activation_bytes(shape: ModelShape, c: int) -> int:
    """Bytes one decoder layer keeps for backward per token (module docstring)."""
    h, i = shape.hidden, shape.intermediate
    kv = h * shape.kv_heads // shape.heads
    autocast_casts = 2 * h * c if c != FP32 else 0
    return 24 * h + c * (3 * h + 2 * kv + 4 * i) + autocast_casts


def activation_bytes(
    shape: ModelShape, *, tokens: int, c: int, checkpointing: bool
) -> int:
    """Activations kept for backward by a forward over `tokens` tokens."""
    per_layer = layer_activation_bytes(shape, c)
    if checkpointing:
        layers = shape.layers * FP32 * shape.hidden + per_layer
    else:
        layers = shape.layers * per_layer
    final_norm = 12 * shape.hidden + (shape.hidden * c if c != FP32 else 0)
    return tokens * (layers + final_norm)


def weight_bytes(
    shape: ModelShape, *, c: int, shards: int, config: TrainConfig
) -> dict[str, int]:
    """The weights' parts, each over `shards` FSDP processes (module docstring)."""
    fp32 = _ceil_div(shape.params * FP32, shards)
    if shards == 1:
        parts = {"weights": shape.params * c}
        return parts | {"master weights": fp32 if c != FP32 else 0}
    embeddings = shape.vocab * shape.hidden
    held = embeddings * (1 if shape.score_head else 2) + 4 * shape.layer_params
    if c == FP32:
        return {"weights": fp32, "master weights": 0, "gathered": held * FP32}
    copies = shape.params * c
    if config.gradient_checkpointing:
        head = shape.hidden if shape.score_head else embeddings
        copies = (shape.layer_params + head) * c
    return {"weights": copies, "master weights": fp32, "gathered": held * FP32}


def _ceil_div(size: int, parts: int) -> int:
    """`size` bytes split over `parts` processes: the largest share (FSDP pads)."""
    return -(-size // parts)


def trainable_params(shape: ModelShape, config: TrainConfig, algorithm: str) -> int:
    """Parameters the optimiser updates: all, or LoRA's (plus reward/value heads)."""
    if not config.lora:
        heads = shape.hidden + 1 if algorithm == "ppo" else 0
        return shape.params + heads
    lora = config.lora_r * shape.lora_dims
    if algorithm == "reward":
        return lora + shape.hidden  # peft trains the fresh score head too
    return lora + (shape.hidden + 1 if algorithm == "ppo" else 0)


def micro_batch_rows(config: Any, algorithm: str, ranking_size: int) -> int:
    """Sequences in one forward with gradients (module docstring: rows)."""
    if algorithm in ("dpo", "reward"):
        return config.batch_size * ranking_size
    if algorithm == "rloo":
        return config.batch_size * config.k
    if algorithm == "ppo":
        return math.ceil(config.batch_size / config.num_mini_batches)
    return int(config.batch_size)


def plan_memory(
    config: Any,
    algorithm: str,
    policy: ModelShape,
    *,
    reward: ModelShape | None = None,
    ranking_size: int = 2,
    gpu_gib: float | None = None,
    processes: int = 1,
) -> MemoryPlan:
    """Peak memory per device of training `policy` (the reward model for `reward`)."""
    if algorithm not in PLAN_ALGORITHMS:
        raise ValueError(
            f"algorithm: expected one of {PLAN_ALGORITHMS}, got {algorithm}"
        )
    c = compute_bytes(config.mixed_precision)
    f = frozen_bytes(config.mixed_precision)
    rows = micro_batch_rows(config, algorithm, ranking_size)
    tokens = rows * config.max_length
    trainable = trainable_params(policy, config, algorithm)
    rl = algorithm in ("ppo", "rloo")
    logits = 0
    if not policy.score_head:
        logits = 2 * tokens * policy.vocab * c + LOGPROB_CHUNK * policy.vocab * FP32
    # LoRA refuses --fsdp (recipe.uses_fsdp); suggest_fixes turns it off with LoRA.
    shards = processes if config.fsdp and not config.lora and processes > 1 else 1
    weights = weight_bytes(policy, c=c, shards=shards, config=config)
    if config.lora and f == HALF:
        # The frozen base in bf16 (recipe.load_trainable): autocast needs no copy of
        # it, and only the adapters (and heads) keep fp32 master weights.
        weights = {"weights": policy.params * HALF, "master weights": trainable * FP32}
    parts = {
        **weights,
        "gradients": _ceil_div(trainable * FP32, shards),
        "optimizer": _ceil_div(trainable * 2 * FP32, shards),
        "activations": activation_bytes(
            policy, tokens=tokens, c=c, checkpointing=config.gradient_checkpointing
        ),
        "logits": logits,
        "reference policy": policy.params * f if rl and not config.lora else 0,
        "reward model": (reward or policy).params * f if rl else 0,
    }
    return MemoryPlan(
        algorithm=algorithm,
        parts=parts,
        rows=rows,
        tokens=tokens,
        trainable=trainable,
        params=policy.params,
        compute={HALF: "bf16/fp16 autocast", FP32: "fp32"}[c],
        processes=processes,
        gpu_gib=gpu_gib,
        sharded=shards > 1,
    )


def suggest_fixes(
    config: Any, algorithm: str, policy: ModelShape, **plan_kwargs: Any
) -> list[Suggestion]:
    """Settings that make a plan fit: LoRA, checkpointing, FSDP, smaller micro-batches.

    Each alone and LoRA or FSDP with checkpointing (FSDP only over several
    processes; LoRA turns it off); a smaller micro-batch halves batch_size (down to
    1) and doubles grad_accum_steps: an optimiser step sees as many prompts. Only
    changes that fit are returned, with the largest micro-batch that fits.
    """
    lora: dict[str, Any] = {"lora": True, **({"fsdp": False} if config.fsdp else {})}
    choices: list[dict[str, Any]] = [
        {},
        lora,
        {"gradient_checkpointing": True},
        {**lora, "gradient_checkpointing": True},
    ]
    if plan_kwargs.get("processes", 1) > 1 and not config.fsdp and not config.lora:
        choices += [{"fsdp": True}, {"fsdp": True, "gradient_checkpointing": True}]
    fits = [
        _largest_fitting(config, changes, algorithm, policy, plan_kwargs)
        for changes in choices
    ]
    return [fit for fit in fits if fit is not None]


def _largest_fitting(
    config: Any,
    changes: dict[str, Any],
    algorithm: str,
    policy: ModelShape,
    plan_kwargs: dict[str, Any],
) -> Suggestion | None:
    """`changes` at the largest micro-batch (halving, accumulating) that fits."""
    batch, accum = config.batch_size, config.grad_accum_steps
    while True:
        plan = plan_memory(
            dataclasses.replace(config, **changes), algorithm, policy, **plan_kwargs
        )
        if plan.fits:
            return Suggestion(changes, plan)
        if batch == 1:
            return None
        batch, accum = math.ceil(batch / 2), accum * 2
        changes = {**changes, "batch_size": batch, "grad_accum_steps": accum}


def option_text(changes: dict[str, Any]) -> str:
    """Changes as command-line options: --lora --batch-size 2 ..."""
    words = []
    for name, value in changes.items():
        option = name.replace("_", "-")
        if isinstance(value, bool):
            words.append(f"--{option}" if value else f"--no-{option}")
        else:
            words.append(f"--{option} {value}")
    return " ".join(words)


def plan_json(plan: MemoryPlan, suggestions: list[Suggestion]) -> dict[str, Any]:
    """The plan as JSON-ready numbers, in GiB."""
    return {
        "algorithm": plan.algorithm,
        "parameters": plan.params,
        "trainable_parameters": plan.trainable,
        "micro_batch_rows": plan.rows,
        "micro_batch_tokens": plan.tokens,
        "compute": plan.compute,
        "processes": plan.processes,
        "fsdp": plan.sharded,
        "parts_gib": {name: _gib(size) for name, size in plan.parts.items()},
        "total_gib": _gib(plan.total),
        "gpu_memory_gib": plan.gpu_gib,
        "fits": plan.fits,
        "suggestions": [
            {
                "options": option_text(s.changes),
                "changes": s.changes,
                "total_gib": _gib(s.plan.total),
            }
            for s in suggestions
        ],
    }


def plan_table(plan: MemoryPlan, suggestions: list[Suggestion]) -> str:
    """The plan as a readable table, the verdict and any settings that would fit."""
    lines = [
        f"{plan.algorithm}: {plan.params / 1e6:,.1f}M parameters, "
        f"{plan.trainable / 1e6:,.1f}M trainable; micro-batch {plan.rows} rows, "
        f"{plan.tokens} tokens; {plan.compute}; per device, {plan.processes} "
        f"process(es){', sharded (FSDP)' if plan.sharded else ''}",
        f"{'part':<20}{'GiB':>10}",
    ]
    lines += [f"{name:<20}{_gib(size):>10.2f}" for name, size in plan.parts.items()]
    lines.append(f"{'total':<20}{_gib(plan.total):>10.2f}")
    if plan.gpu_gib is None:
        return "\n".join(lines)
    budget = f"{plan.gpu_gib:g} GiB"
    lines.append(f"fits {budget}" if plan.fits else f"does not fit {budget}")
    if not plan.fits:
        if suggestions:
            lines.append("would fit with:")
            lines += [
                f"  {option_text(s.changes):<50}{_gib(s.plan.total):>8.2f} GiB"
                for s in suggestions
            ]
        else:
            lines.append("no LoRA / checkpointing / micro-batch setting fits")
    return "\n".join(lines)


def _gib(size: int) -> float:
    return round(size / GIB, 2)
