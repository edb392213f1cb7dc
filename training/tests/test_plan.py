"""`python -m training plan`: estimates against a loaded model and measured memory."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import torch
from transformers import LlamaConfig, LlamaForCausalLM

from training import cli
from training.core.dpo_config import DPOConfig
from training.core.models import load_policy
from training.core.plan import activation_bytes, load_shape, model_shape, plan_memory
from training.core.sft_config import SFTConfig
from training.core.train_config import LoraSettings

CPU = torch.device("cpu")


def _nbytes(tensors: Any) -> int:
    return sum(t.numel() * t.element_size() for t in tensors)


def test_weights_gradients_and_adamw_state_are_the_loaded_models_bytes(
    tiny_model_dir: Path,
) -> None:
    model, _ = load_policy(tiny_model_dir, device=CPU, dtype=torch.float32)
    model.train()
    ids = torch.randint(0, model.config.vocab_size, (2, 16))
    model(input_ids=ids, labels=ids).loss.backward()
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3)
    optimizer.step()
    moments = [  # AdamW's exp_avg and exp_avg_sq; its scalar step counters left out
        value
        for state in optimizer.state.values()
        for name, value in state.items()
        if name != "step"
    ]
    config = SFTConfig(mixed_precision="no")
    parts = plan_memory(config, "sft", load_shape(str(tiny_model_dir))).parts

    assert parts["weights"] == _nbytes(model.parameters())
    assert parts["master weights"] == 0
    assert parts["gradients"] == _nbytes(p.grad for p in model.parameters())
    assert parts["optimizer"] == _nbytes(moments)


def test_lora_trainable_parameters_match_peft(tiny_model_dir: Path) -> None:
    model, _ = load_policy(
        tiny_model_dir, device=CPU, dtype=torch.float32, lora=LoraSettings(r=4)
    )
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    config = SFTConfig(mixed_precision="no", lora=True, lora_r=4)
    plan = plan_memory(config, "sft", load_shape(str(tiny_model_dir)))

    assert plan.trainable == trainable
    assert plan.parts["gradients"] == 4 * trainable


def _saved_activation_bytes(model: torch.nn.Module, ids: torch.Tensor) -> int:
    """Bytes of the unique non-parameter storages autograd saves in one forward."""
    weights = {p.untyped_storage().data_ptr() for p in model.parameters()}
    storages: dict[int, int] = {}

    def pack(tensor: torch.Tensor) -> torch.Tensor:
        storage = tensor.untyped_storage()
        if storage.data_ptr() not in weights:
            storages[storage.data_ptr()] = storage.nbytes()
        return tensor

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda tensor: tensor):
        model(input_ids=ids, use_cache=False)
    return sum(storages.values())


def test_activation_estimate_is_within_a_quarter_of_the_measured() -> None:
    config = LlamaConfig(
        vocab_size=8000,
        hidden_size=256,
        intermediate_size=688,
        num_hidden_layers=8,
        num_attention_heads=8,
        num_key_value_heads=4,
        max_position_embeddings=256,
    )
    torch.manual_seed(0)
    model = LlamaForCausalLM(config).train()
    assert 9e6 < sum(p.numel() for p in model.parameters()) < 12e6
    ids = torch.randint(0, config.vocab_size, (2, 128))

    measured = _saved_activation_bytes(model, ids)
    estimate = activation_bytes(
        model_shape(config), tokens=ids.numel(), c=4, checkpointing=False
    )

    assert 0.75 < estimate / measured < 1.25, (estimate, measured)


def _plan(capsys: pytest.CaptureFixture[str], *args: str) -> str:
    assert cli.main(["plan", *args]) == 0
    return capsys.readouterr().out


def test_plan_says_fits_for_a_large_budget_and_not_for_a_tiny_one(
    tiny_model_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    model = ["--model", str(tiny_model_dir), "--mixed-precision", "no"]

    roomy = _plan(capsys, "sft", *model, "--gpu-memory", "1")
    cramped = _plan(capsys, "dpo", *model, "--gpu-memory", "0.0001")

    assert "\nfits 1 GiB" in roomy
    assert "\ndoes not fit 0.0001 GiB" in cramped


def test_8b_dpo_on_80_gib_suggests_lora_and_checkpointing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    LlamaConfig(  # Llama 3 8B's shape; only config.json is written
        vocab_size=128256,
        hidden_size=4096,
        intermediate_size=14336,
        num_hidden_layers=32,
        num_attention_heads=32,
        num_key_value_heads=8,
        tie_word_embeddings=False,
    ).save_pretrained(tmp_path)
    model = ["--model", str(tmp_path), "--gpu-memory", "80"]

    full = json.loads(_plan(capsys, "dpo", *model, "--json"))
    lora_options = ["--lora", "--gradient-checkpointing"]
    lora = json.loads(_plan(capsys, "dpo", *model, *lora_options, "--json"))
    table = _plan(capsys, "dpo", *model)

    assert round(full["parameters"] / 1e9, 2) == 8.03
    assert full["fits"] is False
    # bf16 copy 2 + fp32 master 4 + fp32 gradients 4 + AdamW 8 bytes per parameter
    assert full["parts_gib"]["optimizer"] == pytest.approx(59.83, abs=0.01)
    options = [s["options"] for s in full["suggestions"]]
    # At max_length 1024, LoRA alone keeps too many activations: 16 rows of 1024.
    assert "--lora" not in options
    assert "--lora --batch-size 2 --grad-accum-steps 4" in options
    assert "--lora --gradient-checkpointing" in options
    assert lora["fits"] is True
    assert lora["total_gib"] == next(
        s["total_gib"]
        for s in full["suggestions"]
        if s["options"] == "--lora --gradient-checkpointing"
    )
    assert "does not fit 80 GiB" in table and "would fit with:" in table
    # LoRA's frozen base is held in bf16 (2 bytes a parameter) and no fp32 master
    # copy of it exists; only the adapters' own fp32 copy does.
    assert lora["parts_gib"]["weights"] == pytest.approx(8.03e9 * 2 / 2**30, abs=0.01)
    assert lora["parts_gib"]["master weights"] < 0.2


def test_plan_options_are_the_trainers() -> None:
    parser = cli.build_parser()
    args = parser.parse_args(["plan", "dpo", "--loss", "ipo", "--batch-size", "2"])
    config = cli.config_from_args(DPOConfig, args)

    assert (config.loss, config.batch_size, config.data) == ("ipo", 2, "")


def _llama_8b() -> LlamaConfig:
    """Llama 3 8B's shape (untied embeddings); built on the meta device only."""
    return LlamaConfig(
        vocab_size=128256,
        hidden_size=4096,
        intermediate_size=14336,
        num_hidden_layers=32,
        num_attention_heads=32,
        num_key_value_heads=8,
        tie_word_embeddings=False,
    )


def test_fsdp_divides_weights_gradients_and_optimizer_by_the_processes() -> None:
    shape = model_shape(_llama_8b())
    full = DPOConfig(mixed_precision="no")
    sharded = DPOConfig(mixed_precision="no", fsdp=True)

    alone = plan_memory(full, "dpo", shape, processes=8).parts
    split = plan_memory(sharded, "dpo", shape, processes=8).parts
    one = plan_memory(sharded, "dpo", shape, processes=1).parts

    for part in ("weights", "gradients", "optimizer"):
        assert split[part] == alone[part] / 8  # 8B parameters divide evenly
    assert (split["activations"], split["logits"]) == (
        alone["activations"],
        alone["logits"],
    )
    # One process has nothing to shard over: the same plan as without --fsdp.
    assert one == plan_memory(full, "dpo", shape, processes=1).parts
    # Gathered whole at once, fp32: the embeddings and the output head's gradient
    # (2 x 128256 x 4096) and two decoder layers' weights and gradients (4 x 218M).
    assert shape.layer_params == 218_112_000
    assert split["gathered"] == (2 * 128256 * 4096 + 4 * 218_112_000) * 4


def test_fsdp_under_autocast_divides_the_master_weights_not_autocasts_copies() -> None:
    shape = model_shape(_llama_8b())

    plain = plan_memory(DPOConfig(fsdp=True), "dpo", shape, processes=8).parts
    checkpointed = plan_memory(
        DPOConfig(fsdp=True, gradient_checkpointing=True), "dpo", shape, processes=8
    ).parts

    assert plain["master weights"] == shape.params * 4 / 8
    # Autocast's bf16 copies are kept for backward whole; with checkpointing only
    # the recomputed layer's and the output head's are.
    assert plain["weights"] == shape.params * 2
    assert checkpointed["weights"] == (218_112_000 + 128256 * 4096) * 2


def test_plan_suggests_fsdp_when_there_are_processes_to_shard_over(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _llama_8b().save_pretrained(tmp_path)
    model = ["--model", str(tmp_path), "--gpu-memory", "80", "--json"]

    one = json.loads(_plan(capsys, "dpo", *model))
    eight = json.loads(_plan(capsys, "dpo", *model, "--processes", "8"))
    sharded = json.loads(_plan(capsys, "dpo", *model, "--processes", "8", "--fsdp"))

    assert not any("--fsdp" in s["options"] for s in one["suggestions"])
    fsdp = [s for s in eight["suggestions"] if "--fsdp" in s["options"]]
    assert [s["options"] for s in fsdp] == [
        "--fsdp --batch-size 2 --grad-accum-steps 4",
        "--fsdp --gradient-checkpointing",
    ]
    assert sharded["fsdp"] is True
    assert sharded["total_gib"] < eight["total_gib"]
    assert sharded["parts_gib"]["optimizer"] == pytest.approx(59.83 / 8, abs=0.01)
