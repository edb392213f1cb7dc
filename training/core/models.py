"""Loading, building and saving the policy and reward models (Hugging Face layout)."""

from __future__ import annotations

import dataclasses
import fcntl
import hashlib
import json
import logging
import os
import re
import shutil
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

import torch
from peft import LoraConfig, PeftModel, get_peft_model
from peft.tuners.lora import LoraLayer
from tokenizers import Tokenizer, decoders, pre_tokenizers, processors, trainers
from tokenizers.models import BPE
from transformers import (
    AutoConfig,
    AutoModelForCausalLM,
    AutoModelForSequenceClassification,
    AutoTokenizer,
    LlamaConfig,
    LlamaForCausalLM,
    PreTrainedModel,
    PreTrainedTokenizerBase,
    PreTrainedTokenizerFast,
)

from training.core.batching import last_token_index, position_ids_from_mask
from training.core.corpus import Chat, chat_documents, everyday_chats
from training.core.precision import MASTER_DTYPE, save_dtype
from training.core.pretrain import PretrainSettings, pretrain_causal_lm
from training.core.train_config import LoraSettings, TrainConfig

log = logging.getLogger(__name__)

REPO_ROOT = Path(__file__).resolve().parents[2]
RANKWISE_CONFIG_FILE = "rankwise_config.json"
RANKWISE_EXTRA_FILE = "rankwise.json"
DEFAULT_MODEL_BUILD = "default_model"  # rankwise.json: the cached build copied

# Zephyr-style turns. A reply ends with EOS, so generation stops after one reply and
# the assistant completion carries its own EOS; other turns end with a newline, so a
# model never learns that text like a question is followed by EOS (an empty reply).
CHAT_TEMPLATE = (
    "{{ bos_token }}{% for message in messages %}"
    "<|{{ message['role'] }}|>\n{{ message['content'] }}"
    "{% if message['role'] == 'assistant' %}{{ eos_token }}{% else %}\n{% endif %}"
    "{% endfor %}{% if add_generation_prompt %}<|assistant|>\n{% endif %}"
)
SPECIAL_TOKENS = ["<pad>", "<s>", "</s>", "<|system|>", "<|user|>", "<|assistant|>"]
# Added to a reward model's tokenizer that pads with EOS (add_reward_pad_token).
REWARD_PAD_TOKEN = "<|pad|>"

# Enough text that BPE learns common English merges when no project data is given.
BUILTIN_CORPUS = [
    "The quick brown fox jumps over the lazy dog.",
    "Please summarise the following paragraph in one sentence.",
    "Here is a short answer to your question.",
    "I am sorry, but I cannot help with that request.",
    "Write a haiku about the sea and the moon.",
    "What is the capital of France? The capital of France is Paris.",
    "Explain how a reward model is trained from human rankings.",
    "The assistant should be helpful, honest and harmless.",
    "Translate this sentence into German, please.",
    "Once upon a time there was a small robot who liked to read books.",
    "Step one: read the question. Step two: think. Step three: answer.",
    "Numbers: 0 1 2 3 4 5 6 7 8 9 10 100 1000.",
    "def add(a, b):\n    return a + b\n",
    "Thank you! Is there anything else I can help you with today?",
]


@dataclass(frozen=True)
class TinyModelShape:
    """Size of a tiny Llama: small enough to train on one CPU core."""

    hidden_size: int = 64  # tiny so tests and `make run` train in seconds
    num_hidden_layers: int = 2  # two layers still exercise the KV cache across layers
    num_attention_heads: int = 4  # head_dim 16, as small as RoPE stays meaningful
    intermediate_size: int = 128  # 2x hidden, the usual MLP ratio halved
    max_position_embeddings: int = 512  # longest prompt + completion we ever encode


class ModelError(OSError):
    """A model or tokenizer could not be found or loaded; the message names it."""


def pick_device() -> torch.device:
    """CUDA when available, else CPU."""
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def pick_dtype(device: torch.device) -> torch.dtype:
    """dtype of a model that only infers: bf16 on CUDA that has it, else fp32.

    Trainers load what they train in fp32 (precision.MASTER_DTYPE) and their frozen
    models in Precision.frozen_dtype; this default is for sampling and evaluation.
    """
    if device.type == "cuda" and torch.cuda.is_bf16_supported():
        return torch.bfloat16
    return torch.float32


@dataclass(frozen=True)
class DefaultModelRecipe:
    """How the default model is built from its corpus; all of it is in its cache key."""

    # 2 layers of 128 (~0.8M parameters, half in the embedding): in a one-minute
    # budget, 700 steps of 2 layers sampled cleaner English than 550 of 4 layers
    # (dictionary words 0.98 vs 0.97 of 64-token samples on unseen prompts).
    shape: TinyModelShape = TinyModelShape(
        hidden_size=128,
        num_hidden_layers=2,
        num_attention_heads=4,
        intermediate_size=352,
    )
    vocab_size: int = 3000  # most words are one token, so few half-words get sampled
    pretrain: PretrainSettings = PretrainSettings()


DEFAULT_RECIPE = DefaultModelRecipe()


def default_model_path() -> Path:
    """Folder of the embedded default model ($RANKWISE_MODELS_DIR or var/models)."""
    root = os.environ.get("RANKWISE_MODELS_DIR")
    base = Path(root) if root else REPO_ROOT / "var" / "models"
    return base / "tiny-default"


def cache_dir() -> Path:
    """Models built once per machine: <$RANKWISE_VAR_DIR, else var>/cache."""
    root = os.environ.get("RANKWISE_VAR_DIR")
    return (Path(root) if root else REPO_ROOT / "var") / "cache"


def ensure_default_model() -> Path:
    """The default model's folder in the machine's cache, trained at first use.

    The first call trains it (about a minute on one CPU core); later calls, in any
    process, return the cached folder; concurrent first calls train it once.
    """
    chats = everyday_chats()
    folder = cache_dir() / f"default-model-{default_model_key(chats, DEFAULT_RECIPE)}"
    if not has_model(folder):
        with _locked(folder.parent / f".{folder.name}.lock"):
            if not has_model(folder):  # another process built it while we waited
                build_default_model(folder, chats, DEFAULT_RECIPE)
    return folder


def default_model_key(chats: Sequence[Chat], recipe: DefaultModelRecipe) -> str:
    """A hash of everything that decides the default model's weights."""
    spec = {
        "chats": chats,
        "texts": BUILTIN_CORPUS,
        "template": CHAT_TEMPLATE,
        "recipe": dataclasses.asdict(recipe),
    }
    text = json.dumps(spec, sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def build_default_model(
    folder: Path, chats: Sequence[Chat], recipe: DefaultModelRecipe
) -> Path:
    """Train a tiny Llama and its BPE tokenizer on `chats`; save it to `folder`."""
    contents = [content for chat in chats for _, content in chat]
    # BUILTIN_CORPUS shapes the tokenizer only: as documents, its bare instructions
    # would teach the model to end right after a prompt.
    tokenizer = train_tokenizer(
        [*BUILTIN_CORPUS, *contents],
        vocab_size=recipe.vocab_size,
        max_length=recipe.shape.max_position_embeddings,
    )
    documents = chat_documents(
        tokenizer, chats, max_length=recipe.shape.max_position_embeddings
    )
    log.info(
        "training the default model once (~1 min on a CPU core), on %d tokens: %s",
        sum(len(d) for d in documents),
        folder,
    )
    model: Any = _random_llama(tokenizer, recipe.shape, recipe.pretrain.seed)
    losses = pretrain_causal_lm(
        model.to(pick_device()), documents, recipe.pretrain, desc="default model"
    )
    log.info("default model trained: loss %.2f -> %.2f", losses[0], losses[-1])
    # Build aside and rename: a crash mid-save never leaves half a model behind.
    tmp = folder.parent / f".{folder.name}.tmp-{os.getpid()}"
    shutil.rmtree(tmp, ignore_errors=True)
    extra = {DEFAULT_MODEL_BUILD: folder.name, "loss": [losses[0], losses[-1]]}
    save_model(model.cpu(), tokenizer, tmp, extra=extra)
    os.replace(tmp, folder)
    return folder


def install_model(source: Path, folder: Path) -> Path:
    """Copy the model at `source` to `folder`, replacing a copy of another build.

    A copy, not a link: the folder stays loadable if the cache is cleared or rebuilt.
    """
    build = read_extra(source).get(DEFAULT_MODEL_BUILD)
    if _is_copy_of(folder, build):
        return folder
    with _locked(folder.parent / f".{folder.name}.lock"):
        if not _is_copy_of(folder, build):  # another process may have copied it
            tmp = folder.parent / f".{folder.name}.tmp-{os.getpid()}"
            shutil.rmtree(tmp, ignore_errors=True)
            shutil.copytree(source, tmp)
            shutil.rmtree(folder, ignore_errors=True)
            os.replace(tmp, folder)
    return folder


def _is_copy_of(folder: Path, build: str | None) -> bool:
    return has_model(folder) and read_extra(folder).get(DEFAULT_MODEL_BUILD) == build


@contextmanager
def _locked(path: Path) -> Iterator[None]:
    """Hold an exclusive lock on the file `path` (created if missing) in the block."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a") as file:
        fcntl.flock(file, fcntl.LOCK_EX)  # released when the file closes
        yield


def has_model(folder: Path) -> bool:
    """True when `folder` holds a saved Hugging Face model."""
    return (folder / "config.json").is_file()


def build_tiny_model(
    folder: Path,
    *,
    texts: Iterable[str] = (),
    vocab_size: int = 512,
    seed: int = 0,
    shape: TinyModelShape = TinyModelShape(),
) -> Path:
    """Build (once) a random tiny Llama and a BPE tokenizer trained on `texts`."""
    folder = Path(folder)
    if has_model(folder):
        return folder
    # Build aside and rename: a concurrent reader never sees half a model.
    tmp = folder.parent / f".{folder.name}.tmp-{os.getpid()}"
    shutil.rmtree(tmp, ignore_errors=True)
    tokenizer = train_tokenizer(
        [*BUILTIN_CORPUS, *texts],
        vocab_size=vocab_size,
        max_length=shape.max_position_embeddings,
    )
    model = _random_llama(tokenizer, shape, seed)
    model.save_pretrained(tmp)
    tokenizer.save_pretrained(tmp)
    try:
        os.replace(tmp, folder)
    except OSError:
        shutil.rmtree(tmp, ignore_errors=True)  # another process finished first
        if not has_model(folder):
            raise
    return folder


def train_tokenizer(
    texts: Iterable[str], *, vocab_size: int, max_length: int = 512
) -> PreTrainedTokenizerFast:
    """Train a byte-level BPE tokenizer with BOS/EOS/pad tokens and a chat template."""
    raw = Tokenizer(BPE())
    raw.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    raw.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=SPECIAL_TOKENS,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),  # any byte encodes
        show_progress=False,
    )
    raw.train_from_iterator(texts, trainer=trainer)
    bos_id = raw.token_to_id("<s>")
    raw.post_processor = processors.TemplateProcessing(
        single="<s> $A", pair="<s> $A $B", special_tokens=[("<s>", bos_id)]
    )
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=raw,
        bos_token="<s>",
        eos_token="</s>",
        pad_token="<pad>",
        model_max_length=max_length,
    )
    tokenizer.chat_template = CHAT_TEMPLATE
    return tokenizer


def _random_llama(
    tokenizer: PreTrainedTokenizerBase, shape: TinyModelShape, seed: int
) -> LlamaForCausalLM:
    """A Llama-style causal LM with seeded random weights sized for `tokenizer`."""
    config = LlamaConfig(
        vocab_size=len(tokenizer),
        **dataclasses.asdict(shape),
        num_key_value_heads=shape.num_attention_heads,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
        tie_word_embeddings=True,  # halves the parameters of a vocab-dominated model
    )
    with torch.random.fork_rng(devices=[]):  # seed without touching the caller's RNG
        torch.manual_seed(seed)
        model = LlamaForCausalLM(config)
    model.generation_config.pad_token_id = tokenizer.pad_token_id
    return model


def resolve_model(name_or_path: str | Path | None) -> str:
    """Local folder, the embedded default (None) or a hub id; missing folders raise."""
    if name_or_path is None:
        return str(install_model(ensure_default_model(), default_model_path()))
    path = Path(name_or_path).expanduser()
    if path.is_dir():
        return str(path)
    if path.exists():
        raise ModelError(f"model path {path} is a file; expected a model folder")
    if not _looks_like_hub_id(str(name_or_path)):
        raise ModelError(f"model folder {path} does not exist")
    return str(name_or_path)


def _looks_like_hub_id(name: str) -> bool:
    """Hub ids are 'name' or 'org/name'; anything else must be a local path."""
    return re.fullmatch(r"[\w.-]+(/[\w.-]+)?", name) is not None and not (
        name.startswith(".")
    )


def _from_pretrained(loader: Any, name: str, **kwargs: Any) -> Any:
    """`loader.from_pretrained`, turning a missing model into a clear ModelError."""
    try:
        return loader.from_pretrained(name, **kwargs)
    except OSError as err:
        offline = os.environ.get("HF_HUB_OFFLINE", "0") not in ("0", "", "false")
        why = "the hub is offline (HF_HUB_OFFLINE=1)" if offline else "the hub failed"
        raise ModelError(
            f"cannot load model {name!r}: not a local folder and {why}: {err}"
        ) from err


def load_tokenizer(name_or_path: str | Path | None) -> PreTrainedTokenizerBase:
    """Load a tokenizer with a pad token (EOS if it has none) and left padding."""
    tokenizer = _from_pretrained(AutoTokenizer, resolve_model(name_or_path))
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    tokenizer.padding_side = "left"  # generation appends on the right
    return tokenizer


def load_policy(
    name_or_path: str | Path | None = None,
    *,
    device: torch.device | None = None,
    dtype: torch.dtype | None = None,
    lora: LoraSettings | None = None,
) -> tuple[PreTrainedModel, PreTrainedTokenizerBase]:
    """Load a causal LM and its tokenizer (None: the embedded default)."""
    model, tokenizer = _load_with_tokenizer(
        AutoModelForCausalLM, name_or_path, device=device, dtype=dtype
    )
    model.generation_config.pad_token_id = tokenizer.pad_token_id
    if lora is not None:
        model = apply_lora(model, lora, task_type="CAUSAL_LM")
    return model, tokenizer


def load_reward_model(
    name_or_path: str | Path | None = None,
    *,
    device: torch.device | None = None,
    dtype: torch.dtype | None = None,
    lora: LoraSettings | None = None,
) -> tuple[PreTrainedModel, PreTrainedTokenizerBase]:
    """Load a one-output sequence classifier; from a causal LM the head is random.

    A tokenizer that pads with EOS (or has no pad token) gets a pad token of its own
    (add_reward_pad_token), so the saved model scores the same in plain transformers.
    """
    model, tokenizer = _load_with_tokenizer(
        AutoModelForSequenceClassification,
        name_or_path,
        device=device,
        dtype=dtype,
        num_labels=1,
    )
    if tokenizer.pad_token_id == tokenizer.eos_token_id:
        add_reward_pad_token(model, tokenizer)
    if lora is not None:
        model = apply_lora(model, lora, task_type="SEQ_CLS")
    return model, tokenizer


def add_reward_pad_token(
    model: PreTrainedModel, tokenizer: PreTrainedTokenizerBase
) -> None:
    """Give a reward model a pad token of its own (REWARD_PAD_TOKEN), not EOS.

    Transformers' sequence classifiers (LlamaForSequenceClassification and the other
    decoder ones) read the score at the rightmost token that is not
    config.pad_token_id. A text ends with EOS (that is where rankwise reads it), so
    with pad = EOS, the usual fallback for tokenizers without a pad token (Llama 3),
    plain transformers reads the token before it and scores differently. So the pad
    token must be one that never ends a text, in both the saved tokenizer and
    config.json: then `AutoTokenizer` pads with it and
    `AutoModelForSequenceClassification` reads the EOS, like rankwise, for either
    padding side. Only setting config.pad_token_id to some unused id would leave the
    tokenizer padding with EOS (or unable to pad at all). The new embedding row
    (if the vocabulary had no spare row) sits only at masked positions, so it
    changes no score; token ids stay the same, so texts encode as before.
    """
    tokenizer.add_special_tokens({"pad_token": REWARD_PAD_TOKEN})
    embeddings = cast(torch.nn.Embedding, model.get_input_embeddings())
    if len(tokenizer) > embeddings.num_embeddings:
        # mean_resizing samples from the embeddings' covariance (a 4096x4096
        # matrix for Llama 3 8B) to help generation; a row only padding reads
        # needs none of that.
        model.resize_token_embeddings(len(tokenizer), mean_resizing=False)
    model.config.pad_token_id = tokenizer.pad_token_id


def _load_with_tokenizer(
    auto_class: Any,
    name_or_path: str | Path | None,
    *,
    device: torch.device | None,
    dtype: torch.dtype | None,
    **kwargs: Any,
) -> tuple[PreTrainedModel, PreTrainedTokenizerBase]:
    """The model on its device, its config's pad id taken from the tokenizer."""
    name = resolve_model(name_or_path)
    tokenizer = load_tokenizer(name)
    device = device or pick_device()
    model = _from_pretrained(
        auto_class,
        name,
        pad_token_id=tokenizer.pad_token_id,
        dtype=dtype or pick_dtype(device),
        **kwargs,
    )
    model.to(device)
    return model, tokenizer


@torch.no_grad()
def upcast_trainable(model: torch.nn.Module) -> None:
    """Every trainable parameter in fp32, whatever the frozen weights around it hold
    (a LoRA score head copied from a bf16 base, say): optimiser steps on fp32."""
    for parameter in model.parameters():
        if parameter.requires_grad and parameter.dtype != MASTER_DTYPE:
            parameter.data = parameter.data.to(MASTER_DTYPE)


def apply_lora(model: PreTrainedModel, lora: LoraSettings, *, task_type: str) -> Any:
    """Wrap `model` with LoRA adapters; for SEQ_CLS peft also trains the score head."""
    targets = lora.target_modules
    config = LoraConfig(
        r=lora.r,
        lora_alpha=lora.alpha,
        lora_dropout=lora.dropout,
        target_modules=targets if isinstance(targets, str) else list(targets),
        task_type=task_type,
    )
    return get_peft_model(model, config)


def reward_scores(
    model: Any, input_ids: torch.Tensor, attention_mask: torch.Tensor
) -> torch.Tensor:
    """Scalar reward per sequence, read at the last attended token (either padding)."""
    inner: Any = model.get_base_model() if isinstance(model, PeftModel) else model
    if not hasattr(inner, "score"):  # encoder classifiers pool on their own
        out = model(input_ids=input_ids, attention_mask=attention_mask)
        return out.logits[:, 0]  # (B,)
    backbone = getattr(inner, inner.base_model_prefix)
    hidden = backbone(
        input_ids=input_ids,
        attention_mask=attention_mask,
        position_ids=position_ids_from_mask(attention_mask),
    ).last_hidden_state  # (B, T, H)
    rows = torch.arange(hidden.shape[0], device=hidden.device)
    last = hidden[rows, last_token_index(attention_mask)]  # (B, H)
    return inner.score(last)[:, 0].float()  # (B,)


def save_model(
    model: Any,
    tokenizer: PreTrainedTokenizerBase,
    folder: Path,
    *,
    config: object | None = None,
    extra: dict[str, Any] | None = None,
    state_dict: dict[str, torch.Tensor] | None = None,
) -> Path:
    """Save a plain HF folder (LoRA merged), rankwise_config.json and rankwise.json.

    A TrainConfig's save_dtype sets the saved weights' dtype; the live model keeps
    its own (fp32 master weights go on training after a checkpoint). `state_dict`
    stands in for the weights of a model that holds only its shard of them (FSDP).
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    state = state_dict
    if isinstance(model, PeftModel):
        # Merged weights in a new state dict: the live model keeps training its
        # adapters after a checkpoint, and no second copy of it is made.
        state = merged_lora_state(model)
        model = model.get_base_model()
    if isinstance(config, TrainConfig):
        dtype = save_dtype(config.save_dtype, base_dtype(config.model))
        _save_as(model, folder, dtype, state)
    else:
        model.save_pretrained(folder, state_dict=state)
    tokenizer.save_pretrained(folder)
    if config is not None:
        _write_json(folder / RANKWISE_CONFIG_FILE, dataclasses.asdict(config))  # type: ignore[call-overload]
    if extra is not None:
        _write_json(folder / RANKWISE_EXTRA_FILE, extra)
    return folder


@torch.no_grad()
def merged_lora_state(model: PeftModel) -> dict[str, torch.Tensor]:
    """The base model's state dict, plain names, W + scale * B @ A for LoRA layers.

    One layer at a time on its device, then on the CPU: peft's merge_and_unload
    would rewrite the live model, and merging a deep copy doubles its memory.
    """
    base = model.get_base_model()
    modules = dict(base.named_modules())
    state: dict[str, torch.Tensor] = {}
    for key, value in base.state_dict().items():
        name = _plain_name(key, model.active_adapter)
        if name is None:
            continue
        owner = modules.get(key.removesuffix(".base_layer.weight"))
        if isinstance(owner, LoraLayer):
            layer = cast(Any, owner)  # peft's Linear, Embedding, ... define it
            deltas = [layer.get_delta_weight(a) for a in owner.active_adapters]
            value = value + sum(deltas)
        state[name] = value.cpu()
    return state


def _plain_name(key: str, adapter: str) -> str | None:
    """A peft-wrapped parameter's name in the plain model, None for adapter weights."""
    parts = key.split(".")
    if "original_module" in parts or any(p.startswith("lora_") for p in parts):
        return None
    key = key.replace(".base_layer.", ".")
    return key.replace(f".modules_to_save.{adapter}.", ".")


def _save_as(
    model: Any,
    folder: Path,
    dtype: torch.dtype,
    state: dict[str, torch.Tensor] | None = None,
) -> None:
    """save_pretrained of `state` (the model's own by default) cast to `dtype`."""
    state = {
        key: value.to(dtype) if value.is_floating_point() else value
        for key, value in (model.state_dict() if state is None else state).items()
    }
    model.save_pretrained(folder, state_dict=state)
    # save_pretrained writes the live model's dtype; the file holds `dtype`.
    path = folder / "config.json"
    saved = json.loads(path.read_text())
    saved["dtype"] = str(dtype).removeprefix("torch.")
    path.write_text(json.dumps(saved, indent=2, sort_keys=True) + "\n")


def base_dtype(name_or_path: str | Path | None) -> torch.dtype | None:
    """The dtype a model's config.json states (`dtype`/`torch_dtype`), or None."""
    dtype = _from_pretrained(AutoConfig, resolve_model(name_or_path)).dtype
    if isinstance(dtype, str):
        dtype = getattr(torch, dtype, None)
    return dtype if isinstance(dtype, torch.dtype) else None


def read_extra(folder: Path) -> dict[str, Any]:
    """The `extra` dict saved beside a model (e.g. the reward offset), or {}."""
    path = Path(folder) / RANKWISE_EXTRA_FILE
    return json.loads(path.read_text()) if path.is_file() else {}


def _write_json(path: Path, data: dict[str, Any]) -> None:
    """Write JSON; Paths, dtypes and other objects become strings."""
    path.write_text(json.dumps(data, indent=2, sort_keys=True, default=str) + "\n")
