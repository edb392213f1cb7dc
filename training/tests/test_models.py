"""Building, loading and saving models; the saved folder works without rankwise."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import torch
from peft import PeftModel
from transformers import (
    AutoModelForCausalLM,
    AutoModelForSequenceClassification,
    AutoTokenizer,
)

from training.core import models
from training.core.batching import collate, encode_prompt_completion
from training.core.models import (
    LoraSettings,
    ModelError,
    build_tiny_model,
    default_model_path,
    load_policy,
    load_reward_model,
    pick_device,
    pick_dtype,
    read_extra,
    reward_scores,
    save_model,
)

CPU = torch.device("cpu")
TEXTS = [("Say hi.", " Hi!"), ("What is two plus two?", " Four, of course.")]


@dataclass(frozen=True)
class FakeConfig:
    learning_rate: float = 1e-5
    out: Path = Path("/tmp/run")


def _batch(tokenizer: Any, side: str = "right") -> Any:
    encodings = [
        encode_prompt_completion(tokenizer, p, c, chat_template="auto", max_length=64)
        for p, c in TEXTS
    ]
    return collate(encodings, pad_token_id=tokenizer.pad_token_id, padding_side=side)


def test_pick_device_and_dtype_on_cpu(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert pick_device() == CPU
    assert pick_dtype(CPU) == torch.float32


def test_tiny_model_folder_has_model_and_chat_tokenizer(tiny_model_dir: Path) -> None:
    names = {p.name for p in tiny_model_dir.iterdir()}
    assert {"config.json", "model.safetensors", "tokenizer.json"} <= names
    tok = AutoTokenizer.from_pretrained(tiny_model_dir)
    assert tok.bos_token and tok.eos_token and tok.pad_token
    chat = [{"role": "user", "content": "hi"}]
    text = tok.apply_chat_template(chat, tokenize=False, add_generation_prompt=True)
    assert isinstance(text, str)
    assert text.startswith(tok.bos_token) and "hi" in text


def test_build_is_idempotent_and_seeded(tmp_path: Path, tiny_model_dir: Path) -> None:
    weights = tiny_model_dir / "model.safetensors"
    before = weights.stat().st_mtime_ns
    assert build_tiny_model(tiny_model_dir, texts=["other"], seed=5) == tiny_model_dir
    assert weights.stat().st_mtime_ns == before
    again = build_tiny_model(tmp_path / "again", texts=[], seed=0)
    first = AutoModelForCausalLM.from_pretrained(again).state_dict()
    second = AutoModelForCausalLM.from_pretrained(
        build_tiny_model(tmp_path / "twice", texts=[], seed=0)
    ).state_dict()
    assert all(torch.equal(first[k], second[k]) for k in first)


def test_default_model_path_follows_env(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.delenv("RANKWISE_MODELS_DIR", raising=False)
    assert default_model_path() == models.REPO_ROOT / "var/models/tiny-default"
    monkeypatch.setenv("RANKWISE_MODELS_DIR", str(tmp_path))
    assert default_model_path() == tmp_path / "tiny-default"
    model, tok = load_policy(None, device=CPU)
    assert (tmp_path / "tiny-default" / "config.json").is_file()
    assert model.config.pad_token_id == tok.pad_token_id


def test_missing_folder_names_the_path(tmp_path: Path) -> None:
    missing = tmp_path / "nope" / "model"
    with pytest.raises(ModelError, match=str(missing)):
        load_policy(missing, device=CPU)


def test_hub_id_offline_gives_clear_error() -> None:
    from huggingface_hub import constants

    if not constants.HF_HUB_OFFLINE:
        pytest.skip("only meaningful with HF_HUB_OFFLINE=1")
    with pytest.raises(ModelError, match="no-such-org/no-such-model.*offline"):
        load_policy("no-such-org/no-such-model", device=CPU)


def test_policy_round_trip_through_plain_transformers(
    policy: tuple[Any, Any], tmp_path: Path
) -> None:
    model, tok = policy
    folder = save_model(
        model, tok, tmp_path / "out", config=FakeConfig(), extra={"round": 2}
    )
    plain = AutoModelForCausalLM.from_pretrained(folder).eval()
    batch = _batch(AutoTokenizer.from_pretrained(folder))
    with torch.no_grad():
        ours = model(input_ids=batch.input_ids, attention_mask=batch.attention_mask)
        theirs = plain(input_ids=batch.input_ids, attention_mask=batch.attention_mask)
    assert torch.equal(ours.logits, theirs.logits)
    saved = json.loads((folder / "rankwise_config.json").read_text())
    assert saved == {"learning_rate": 1e-5, "out": "/tmp/run"}
    assert read_extra(folder) == {"round": 2}


def test_reward_model_round_trip_gives_identical_scores(
    reward_model: tuple[Any, Any], tmp_path: Path
) -> None:
    model, tok = reward_model
    assert model.config.num_labels == 1
    assert model.config.pad_token_id == tok.pad_token_id
    folder = save_model(model, tok, tmp_path / "rm", extra={"reward_offset": 0.5})
    plain = AutoModelForSequenceClassification.from_pretrained(folder).eval()
    batch = _batch(tok)
    with torch.no_grad():
        ours = reward_scores(model, batch.input_ids, batch.attention_mask)
        theirs = plain(input_ids=batch.input_ids, attention_mask=batch.attention_mask)
    assert ours.shape == (2,)
    assert torch.allclose(ours, theirs.logits[:, 0], atol=1e-6)
    assert read_extra(folder) == {"reward_offset": 0.5}


def test_reward_score_same_for_left_and_right_padding(
    reward_model: tuple[Any, Any],
) -> None:
    model, tok = reward_model
    right, left = _batch(tok, "right"), _batch(tok, "left")
    assert not torch.equal(right.input_ids, left.input_ids)
    with torch.no_grad():
        from_right = reward_scores(model, right.input_ids, right.attention_mask)
        from_left = reward_scores(model, left.input_ids, left.attention_mask)
    assert torch.allclose(from_right, from_left, atol=1e-5)


def _perturb_lora(model: Any) -> None:
    # LoRA's B starts at zero; make the adapters change the output.
    with torch.no_grad():
        for name, param in model.named_parameters():
            if "lora_B" in name:
                param.normal_(std=0.5)


def test_lora_policy_saves_as_plain_merged_model(
    tiny_model_dir: Path, tmp_path: Path
) -> None:
    torch.manual_seed(0)
    model, tok = load_policy(tiny_model_dir, device=CPU, lora=LoraSettings(r=4))
    assert isinstance(model, PeftModel)
    _perturb_lora(model)
    folder = save_model(model.eval(), tok, tmp_path / "merged")
    assert not (folder / "adapter_config.json").exists()
    assert isinstance(model, PeftModel) and any(
        "lora_B" in n for n, _ in model.named_parameters()
    )
    plain = AutoModelForCausalLM.from_pretrained(folder).eval()
    batch = _batch(tok)
    with torch.no_grad():
        ours = model(input_ids=batch.input_ids, attention_mask=batch.attention_mask)
        theirs = plain(input_ids=batch.input_ids, attention_mask=batch.attention_mask)
    assert torch.allclose(ours.logits, theirs.logits, atol=1e-4)


def test_lora_reward_model_trains_score_head(
    tiny_model_dir: Path, tmp_path: Path
) -> None:
    torch.manual_seed(0)
    model, tok = load_reward_model(tiny_model_dir, device=CPU, lora=LoraSettings(r=4))
    trainable = [n for n, p in model.named_parameters() if p.requires_grad]
    assert any("score" in n for n in trainable)
    assert any("lora_A" in n for n in trainable)
    _perturb_lora(model)
    batch = _batch(tok)
    folder = save_model(model.eval(), tok, tmp_path / "rm-merged")
    plain = AutoModelForSequenceClassification.from_pretrained(folder).eval()
    with torch.no_grad():
        ours = reward_scores(model, batch.input_ids, batch.attention_mask)
        theirs = plain(input_ids=batch.input_ids, attention_mask=batch.attention_mask)
    assert torch.allclose(ours, theirs.logits[:, 0], atol=1e-4)
