"""A saved reward model scores the same in rankwise and in plain transformers.

Plain transformers reads a sequence classifier's score at the last token that is not
config.pad_token_id; rankwise reads it at the EOS that ends each text. The two agree
only if the pad token is not EOS, so these tests train on tokenizers shaped like
Llama 3's (no pad token) and Qwen's (a pad token distinct from EOS).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any, cast

import pytest
import torch
from tokenizers import Tokenizer, decoders, pre_tokenizers, processors, trainers
from tokenizers.models import BPE
from transformers import (
    AutoModelForSequenceClassification,
    AutoTokenizer,
    LlamaConfig,
    LlamaForCausalLM,
    PretrainedConfig,
    PreTrainedModel,
    PreTrainedTokenizerFast,
    Qwen2Config,
    Qwen2ForCausalLM,
)

from training.core.batching import encode_prompt_completion
from training.core.models import REWARD_PAD_TOKEN, load_reward_model
from training.core.reward import score, train_reward
from training.core.reward_config import RewardConfig
from training.tests.conftest import CPU, SAMPLE_TEXTS
from training.tests.fixtures_training import synthetic_rankings

# Different lengths, so the batch of three is padded.
PROMPTS = ["Describe the day.", "Tell me about the weather.", "Write a short note."]
REPLIES = [" sunny", " It is sunny and green, with music and light.", " river stone"]
SHAPE: dict[str, Any] = {
    "hidden_size": 32,
    "num_hidden_layers": 2,
    "num_attention_heads": 4,
    "num_key_value_heads": 4,
    "intermediate_size": 64,
    "max_position_embeddings": 128,
}


def _tokenizer(
    *, specials: list[str], bos: str | None, eos: str, pad: str | None
) -> PreTrainedTokenizerFast:
    """A small byte-level BPE with the given special tokens (BOS prepended if any)."""
    raw = Tokenizer(BPE())
    raw.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    raw.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=400,
        special_tokens=specials,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    raw.train_from_iterator([*SAMPLE_TEXTS, *PROMPTS, *REPLIES], trainer=trainer)
    if bos is not None:
        raw.post_processor = processors.TemplateProcessing(
            single=f"{bos} $A", special_tokens=[(bos, raw.token_to_id(bos))]
        )
    return PreTrainedTokenizerFast(
        tokenizer_object=raw, bos_token=bos, eos_token=eos, pad_token=pad
    )


def _llama3_style() -> tuple[PreTrainedTokenizerFast, PretrainedConfig, type]:
    """Llama 3: BOS prepended, EOS, no pad token, no spare embedding rows."""
    specials = ["<|begin_of_text|>", "<|end_of_text|>"]
    tokenizer = _tokenizer(
        specials=specials, bos=specials[0], eos=specials[1], pad=None
    )
    config = LlamaConfig(vocab_size=len(tokenizer), **SHAPE)
    return tokenizer, config, LlamaForCausalLM


# Qwen 2.5's ChatML layout, without its default system turn.
CHATML = (
    "{% for message in messages %}<|im_start|>{{ message['role'] }}\n"
    "{{ message['content'] }}<|im_end|>\n{% endfor %}"
    "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)


def _qwen_style() -> tuple[PreTrainedTokenizerFast, PretrainedConfig, type]:
    """Qwen 2.5: no BOS, EOS <|im_end|>, pad <|endoftext|>, ChatML, spare rows."""
    specials = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]
    tokenizer = _tokenizer(
        specials=specials, bos=None, eos="<|im_end|>", pad=specials[0]
    )
    tokenizer.chat_template = CHATML
    config = Qwen2Config(
        vocab_size=len(tokenizer) + 16,
        pad_token_id=tokenizer.pad_token_id,
        **SHAPE,
    )
    return tokenizer, config, Qwen2ForCausalLM


Style = Callable[[], tuple[PreTrainedTokenizerFast, PretrainedConfig, type]]


@pytest.fixture(scope="module", params=[_llama3_style, _qwen_style])
def trained(request: pytest.FixtureRequest, tmp_path_factory: Any) -> Any:
    """A base causal LM of the style, and a reward model trained from it for 2 steps."""
    style: Style = request.param
    folder = tmp_path_factory.mktemp(style.__name__.strip("_"))
    tokenizer, config, model_class = style()
    torch.manual_seed(0)
    base: PreTrainedModel = model_class(config)
    base.save_pretrained(folder / "base")
    tokenizer.save_pretrained(folder / "base")
    data = folder / "rankings.jsonl"
    data.write_text("".join(json.dumps(r) + "\n" for r in synthetic_rankings(16)))
    reward = RewardConfig(
        data=str(data),
        model=str(folder / "base"),
        out=str(folder / "out"),
        epochs=1,
        min_steps=0,
        batch_size=8,
        lr=1e-3,
        eval_fraction=0.0,
        device="cpu",
    )
    train_reward(reward)
    return tokenizer, Path(reward.out)


@pytest.mark.parametrize("side", ["left", "right"])
def test_plain_transformers_scores_a_padded_batch_like_rankwise(
    trained: Any, side: str
) -> None:
    _, out = trained
    ours, tokenizer = load_reward_model(out, device=CPU, dtype=torch.float32)
    expected = score(ours.eval(), tokenizer, PROMPTS, REPLIES, chat_template="auto")

    plain_tokenizer = AutoTokenizer.from_pretrained(out, padding_side=side)
    plain = AutoModelForSequenceClassification.from_pretrained(out).eval()
    # README "Scoring with plain transformers", as written there.
    eos = plain_tokenizer.eos_token
    if plain_tokenizer.chat_template:  # rankwise's default --chat-template auto
        chats = [
            [
                {"role": "user", "content": prompt},
                {"role": "assistant", "content": reply.lstrip()},
            ]
            for prompt, reply in zip(PROMPTS, REPLIES, strict=True)
        ]
        rendered = cast(
            list[str], plain_tokenizer.apply_chat_template(chats, tokenize=False)
        )
        texts = [
            text[: text.rindex(eos) + len(eos)]  # the reply ends at its EOS
            for text in rendered
        ]
        batch = plain_tokenizer(
            texts, padding=True, add_special_tokens=False, return_tensors="pt"
        )
    else:
        texts = [p + r + eos for p, r in zip(PROMPTS, REPLIES, strict=True)]
        batch = plain_tokenizer(texts, padding=True, return_tensors="pt")
    with torch.no_grad():
        got = plain(**batch).logits[:, 0]

    # The same tokens as rankwise encodes (prompt, reply, EOS), only padded.
    attended = batch.attention_mask.bool()
    rows = zip(batch.input_ids, attended, PROMPTS, REPLIES, strict=True)
    for row, kept, prompt, reply in rows:
        ids, _ = encode_prompt_completion(
            tokenizer, prompt, reply, chat_template="auto", max_length=128
        )
        assert row[kept].tolist() == ids
    assert batch.attention_mask.sum(-1).unique().numel() == 3  # really padded
    assert torch.allclose(got, expected, atol=1e-4), (got, expected)


def test_reward_folder_pads_with_a_token_other_than_eos(trained: Any) -> None:
    base_tokenizer, out = trained
    saved = AutoTokenizer.from_pretrained(out)
    config = json.loads((out / "config.json").read_text())
    assert saved.pad_token_id is not None
    assert saved.pad_token_id != saved.eos_token_id
    assert config["pad_token_id"] == saved.pad_token_id
    if base_tokenizer.pad_token is None:  # Llama 3: one row added for the new token
        assert saved.pad_token == REWARD_PAD_TOKEN
        assert config["vocab_size"] == len(base_tokenizer) + 1
    else:  # Qwen: its own pad token kept, the vocabulary unchanged
        assert saved.pad_token == base_tokenizer.pad_token
        assert config["vocab_size"] == len(base_tokenizer) + 16
