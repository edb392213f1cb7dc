"""Settings of candidate generation (`python -m training generate`)."""

from __future__ import annotations

from dataclasses import dataclass, field

from training.core.train_config import chat_template_field


@dataclass(frozen=True)
class GenerateConfig:
    """Sample K completions per prompt and write them as JSONL for annotation."""

    data: str = field(
        default="",
        metadata={
            "help": "prompts: any records with a 'prompt' field (.jsonl, .parquet)",
            "required": True,
        },
    )
    model: str | None = field(
        default=None,
        metadata={"help": "policy folder or hub id; omitted: the embedded tiny model"},
    )
    out: str = field(
        default="runs/generations",
        metadata={"help": "output folder; the file written is OUT/generations.jsonl"},
    )
    # --- what the annotators see: K outputs to rank, varied but not random noise
    k: int = field(default=4, metadata={"help": "completions per prompt (2 to 9)"})
    temperature: float = field(
        default=1.0, metadata={"help": "sampling temperature (0: greedy)"}
    )
    top_p: float = field(default=0.95, metadata={"help": "nucleus sampling mass"})
    max_new_tokens: int = field(
        default=64, metadata={"help": "longest completion in tokens"}
    )
    # With 64 new tokens, the 1024 a trainer keeps (TrainConfig.max_length).
    max_prompt_length: int = field(
        default=960, metadata={"help": "prompt tokens kept (the start is cut)"}
    )
    chat_template: str = chat_template_field()
    # --- throughput
    batch_size: int = field(default=8, metadata={"help": "sequences per generate call"})
    seed: int = field(default=0, metadata={"help": "sampling seed"})
    device: str = field(
        default="auto", metadata={"help": "auto (CUDA if present), cpu or cuda[:N]"}
    )
