"""Data-parallel training on torch.distributed, as torchrun or accelerate launch it.

A launcher starts one process per device and sets WORLD_SIZE, RANK and LOCAL_RANK
(plus MASTER_ADDR/MASTER_PORT); `init_distributed` joins them into one process group
(gloo on CPU, nccl on CUDA). Without WORLD_SIZE there is one process and every helper
here is a no-op, so a plain `python -m training …` run is unchanged.

Each rank takes a disjoint shard of every micro-batch (`shard`), and the loop averages
the gradients of all ranks before clipping (`average_gradients`): the same update as
one process at the global batch, without wrapping the model in DDP (the recipes' step
functions call the model's own methods, which a DDP wrapper would hide).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Sequence
from typing import Any, TypeVar

import torch
import torch.distributed as dist

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
    """fn's one result per item, each rank doing every world_size-th; in order."""
    size = world_size()
    if size == 1:
        return fn(list(items))
    parts = gather(fn(list(items[rank() :: size])))  # rank r: items r, r+size, ...
    return [parts[i % size][i // size] for i in range(len(items))]
