"""Data-parallel (with --fsdp, sharded) training as torchrun / accelerate launch it.

A launcher starts one process per device and sets WORLD_SIZE, RANK and LOCAL_RANK
(plus MASTER_ADDR/MASTER_PORT); `init_distributed` joins them into one process group
(gloo on CPU, nccl on CUDA). Without WORLD_SIZE there is one process and every helper
here is a no-op, so a plain `python -m training …` run is unchanged.

Each rank takes a disjoint shard of every micro-batch (`shard`), and the loop averages
the gradients of all ranks before clipping (`average_gradients`): the same update as
one process at the global batch, without wrapping the model in DDP (the recipes' step
functions call the model's own methods, which a DDP wrapper would hide).

With --fsdp, `shard_model` applies torch's FSDP2 (`fully_shard`) instead: each rank
keeps 1/N of every weight, gradient and AdamW moment, and a unit of the model (a
decoder layer, a head) is all-gathered just before it computes and freed after. Its
backward reduce-scatters the gradients to their mean over the ranks, so the loop
skips `average_gradients`; clipping takes the norm over all shards. Because every
forward gathers weights from every rank, all ranks must run the same forwards in
the same order: `shard` and `split_map` pad so that none runs short, and the log-prob
paths whose forward count depends on a rank's rows step aside (`is_sharded`).
Checkpoints and the saved model hold whole tensors gathered to rank 0
(`gathered_training_state`, `gathered_state_dict`), the layout an unsharded run writes.
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from typing import Any, TypeVar, cast

import torch
import torch.distributed as dist
from torch.distributed.checkpoint.state_dict import (
    StateDictOptions,
    get_model_state_dict,
    get_state_dict,
    set_state_dict,
)
from torch.distributed.device_mesh import init_device_mesh
from torch.distributed.fsdp import FSDPModule, fully_shard
from torch.distributed.tensor import DTensor, distribute_tensor

T = TypeVar("T")
R = TypeVar("R")


def init_distributed() -> None:
    """Join torchrun's process group once when WORLD_SIZE is set; else do nothing."""
    if "WORLD_SIZE" not in os.environ or dist.is_initialized():
        return
    if torch.cuda.is_available():
        torch.cuda.set_device(local_rank())
    dist.init_process_group(backend="nccl" if torch.cuda.is_available() else "gloo")


def close_distributed() -> None:
    """Leave the process group, if this process joined one."""
    if dist.is_initialized():
        dist.destroy_process_group()


def world_size() -> int:
    """Processes training together (1 when not launched distributed)."""
    return dist.get_world_size() if dist.is_initialized() else 1


def rank() -> int:
    """This process's index among them (0 when not launched distributed)."""
    return dist.get_rank() if dist.is_initialized() else 0


def local_rank() -> int:
    """This process's device index on its host (torchrun's LOCAL_RANK)."""
    return int(os.environ.get("LOCAL_RANK", "0"))


def is_main() -> bool:
    """True on rank 0, the one process that writes results, checkpoints, models."""
    return rank() == 0


def barrier() -> None:
    """Wait until every rank gets here (rank 0 finishing its writes, say)."""
    if dist.is_initialized():
        dist.barrier()


def shard(items: Sequence[T]) -> list[T]:
    """This rank's contiguous share of `items`; every rank gets as many.

    When len(items) is not a multiple of the world size, items repeat from the start
    to fill it (as torch's DistributedSampler pads), so no rank runs short of a
    forward and the others wait for it forever.
    """
    size = world_size()
    if size == 1:
        return list(items)
    if not items:
        raise ValueError("shard: no items to share between ranks")
    per_rank = -(-len(items) // size)  # ceil
    padded = [items[i % len(items)] for i in range(per_rank * size)]
    return padded[rank() * per_rank : (rank() + 1) * per_rank]


def average_gradients(parameters: Iterable[torch.nn.Parameter]) -> None:
    """Replace each gradient by its mean over the ranks (a missing one counts 0)."""
    size = world_size()
    if size == 1:
        return
    for param in parameters:
        if param.grad is None:
            param.grad = torch.zeros_like(param)
        dist.all_reduce(param.grad, op=dist.ReduceOp.SUM)
        param.grad.div_(size)


def broadcast_parameters(parameters: Iterable[torch.nn.Parameter]) -> None:
    """Give every rank rank 0's values, so all start from the same weights."""
    if world_size() == 1:
        return
    for param in parameters:
        dist.broadcast(param.data, src=0)


def gather(value: Any) -> list[Any]:
    """Every rank's `value` (picklable), in rank order."""
    if world_size() == 1:
        return [value]
    values: list[Any] = [None] * world_size()
    dist.all_gather_object(values, value)
    return values


def split_map(fn: Callable[[list[T]], list[R]], items: Sequence[T]) -> list[R]:
    """fn's one result per item, each rank doing every world_size-th; in order.

    Every rank calls fn on as many items: the last ones repeat the first items (their
    results are dropped), as `shard` pads, so no rank runs fewer forwards than another.
    """
    size = world_size()
    if size == 1:
        return fn(list(items))
    padded = -(-len(items) // size) * size  # ceil to a multiple of the ranks
    mine = [items[i % len(items)] for i in range(rank(), padded, size)]
    parts = gather(fn(mine))  # rank r: items r, r+size, ...
    return [parts[i % size][i // size] for i in range(len(items))]


def is_sharded(model: Any) -> bool:
    """True for a model `shard_model` sharded (FSDP), whose forwards are collective."""
    return isinstance(model, FSDPModule)


def shard_model(model: torch.nn.Module, device: torch.device) -> torch.nn.Module:
    """`model` sharded over the ranks with FSDP2, each rank's shard moved to `device`.

    The units, each gathered whole only while it computes: every decoder layer (the
    model's `_no_split_modules`, as accelerate's transformer wrap policy picks), then
    each top-level child that shares no weight with another (a reward model's backbone
    and score head, which reward_scores calls apart; an untied output head), then
    the root with the rest. Tied input and output embeddings stay in the root, since
    one unit shards a parameter. Weights are gathered in their own dtype (fp32), so a
    forward under autocast computes exactly as on one process.
    """
    mesh = init_device_mesh(device.type, (world_size(),))
    layer_classes = set(getattr(model, "_no_split_modules", None) or ())
    units = [m for m in model.modules() if type(m).__name__ in layer_classes]
    for unit in [*units, *_untied_children(model), model]:
        # Explicitly True: FSDP would keep a root (and the backbone reward_scores
        # calls as one) gathered after a no-grad forward, until the next backward.
        fully_shard(unit, mesh=mesh, reshard_after_forward=True)
    return model


def _untied_children(model: torch.nn.Module) -> list[torch.nn.Module]:
    """The model's direct children with weights that no other child shares."""
    children = [c for c in model.children() if any(True for _ in c.parameters())]
    holders = Counter(id(p) for child in children for p in child.parameters())
    return [c for c in children if all(holders[id(p)] == 1 for p in c.parameters())]


def laid_out_like(param: torch.Tensor, value: torch.Tensor) -> torch.Tensor:
    """`value` (param's whole shape, or broadcast to it) as param holds it: its shard.

    For an in-place update of a sharded parameter; an unsharded one takes `value`.
    """
    if not isinstance(param, DTensor):
        return value
    whole = value.expand(param.shape).contiguous()
    return distribute_tensor(whole, param.device_mesh, param.placements)


def gathered_state_dict(model: torch.nn.Module) -> dict[str, Any]:
    """A sharded model's whole state dict on rank 0's CPU ({} on the other ranks).

    Every rank must call it: each tensor is all-gathered from the shards in turn.
    """
    options = StateDictOptions(full_state_dict=True, cpu_offload=True)
    state = get_model_state_dict(model, options=options)
    # A tied weight (input and output embeddings) is gathered once per name; as one
    # tensor again, save_pretrained drops the alias as it does unsharded.
    names: dict[int, str] = {}
    for name, param in model.named_parameters(remove_duplicate=False):
        first = names.setdefault(id(param), name)
        if state and first != name:
            state[name] = state[first]
    return state


def gathered_training_state(
    model: torch.nn.Module, optimizer: torch.optim.Optimizer
) -> tuple[dict[str, Any], dict[str, Any]]:
    """A sharded model's trainable weights and optimiser state, whole, on rank 0.

    In the layout an unsharded model and `optimizer.state_dict()` give (optimiser
    state keyed by parameter index), so a checkpoint resumes with or without FSDP on
    any number of ranks. Collective; the other ranks get empty dicts.
    """
    options = StateDictOptions(
        full_state_dict=True, cpu_offload=True, ignore_frozen_params=True
    )
    weights, moments = get_state_dict(model, optimizer, options=options)
    by_name = cast(dict[str, Any], moments)
    if not by_name:
        return weights, {}
    names = [name for group in by_name["param_groups"] for name in group["params"]]
    return weights, _rekeyed(by_name, {name: i for i, name in enumerate(names)})


def load_training_state(
    model: torch.nn.Module,
    optimizer: torch.optim.Optimizer,
    weights: dict[str, Any],
    optimizer_state: dict[str, Any],
) -> None:
    """Load whole weights and index-keyed optimiser state into a sharded model's shards.

    Every rank passes the whole state (each keeps its shard of it); frozen weights
    missing from `weights` keep their values.
    """
    names = {param: name for name, param in model.named_parameters()}
    order = [names[p] for group in optimizer.param_groups for p in group["params"]]
    set_state_dict(
        model,
        optimizer,
        model_state_dict=weights,
        optim_state_dict=_rekeyed(optimizer_state, dict(enumerate(order))),
        options=StateDictOptions(full_state_dict=True, strict=False),
    )


def _rekeyed(state: dict[str, Any], key: dict[Any, Any]) -> dict[str, Any]:
    """An optimiser state dict with every parameter key k replaced by key[k]."""
    return {
        "state": {key[k]: value for k, value in state["state"].items()},
        "param_groups": [
            {**group, "params": [key[k] for k in group["params"]]}
            for group in state["param_groups"]
        ],
    }
