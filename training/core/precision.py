"""Mixed precision: fp32 master weights, an autocast forward, a loss scaler for fp16.

Trainable weights and their AdamW state stay fp32, so small updates are not rounded
away (bf16 keeps 8 significant bits: lr 5e-6 moves almost no bf16 weight); the
forward runs under `torch.autocast`, which computes matmuls in bf16/fp16. fp16's
narrow range needs the loss scaled up and steps with inf/NaN gradients skipped
(`torch.amp.GradScaler`); bf16 has fp32's range and needs no scaler.

Sharded with --fsdp, the shards are the fp32 master weights and FSDP gathers each
unit in fp32, so autocast casts exactly what it casts on one process. FSDP's own
MixedPrecisionPolicy (gathering in bf16) is not used: it would also run the
embeddings, norm scales and the autocast-free evaluation and reference forwards in
bf16, which one process does not, for half the gather traffic.
"""

from __future__ import annotations

from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass

import torch

from training.core.train_config import PRECISIONS, SAVE_DTYPES

MASTER_DTYPE = torch.float32  # trainable weights and optimiser state
AUTOCAST_DTYPES = {"bf16": torch.bfloat16, "fp16": torch.float16}
SAVED_DTYPES = {
    "float32": torch.float32,
    "bfloat16": torch.bfloat16,
    "float16": torch.float16,
}


@dataclass(frozen=True)
class Precision:
    """How a run computes: the autocast dtype (None: fp32 throughout) and its scaler."""

    device_type: str = "cpu"
    dtype: torch.dtype | None = None
    scaler: torch.amp.GradScaler | None = None
    # Autocast keeps its half-precision copy of each weight until the forward ends,
    # so forwards sharing a step cast once. Off for a sharded model: the copies of
    # every layer's gathered weights would add up to a whole model on each device.
    cache_casts: bool = True

    def autocast(self) -> AbstractContextManager[object]:
        """The forward's context: autocast to `dtype`, or nothing when it is None."""
        if self.dtype is None:
            return nullcontext()
        return torch.autocast(
            self.device_type, dtype=self.dtype, cache_enabled=self.cache_casts
        )

    def backward(self, loss: torch.Tensor) -> None:
        """Backpropagate `loss` (scaled up for fp16), outside any autocast region."""
        with torch.autocast(self.device_type, enabled=False):
            scaled = self.scaler.scale(loss) if self.scaler is not None else loss
            scaled.backward()

    @property
    def frozen_dtype(self) -> torch.dtype:
        """dtype for models that never train (reference, RL reward): bf16 if on."""
        return torch.bfloat16 if self.dtype == torch.bfloat16 else MASTER_DTYPE


def resolve_precision(
    mode: str, device: torch.device, *, cache_casts: bool = True
) -> Precision:
    """--mixed-precision `mode` on `device` (auto: bf16 where CUDA has it, else no)."""
    if mode not in PRECISIONS:
        raise ValueError(f"mixed_precision: expected one of {PRECISIONS}, got {mode!r}")
    if mode == "auto":
        bf16 = device.type == "cuda" and torch.cuda.is_bf16_supported()
        mode = "bf16" if bf16 else "no"
    dtype = AUTOCAST_DTYPES.get(mode)
    scaler = torch.amp.GradScaler(device.type) if mode == "fp16" else None
    return Precision(device.type, dtype, scaler, cache_casts)


def save_dtype(mode: str, base_dtype: torch.dtype | None) -> torch.dtype:
    """The saved weights' dtype: `mode`, or for auto the base model's (else fp32)."""
    if mode not in SAVE_DTYPES:
        raise ValueError(f"save_dtype: expected one of {SAVE_DTYPES}, got {mode!r}")
    if mode == "auto":
        return base_dtype if base_dtype is not None else torch.float32
    return SAVED_DTYPES[mode]
