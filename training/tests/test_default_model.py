"""The embedded default model: trained once per machine, cached, and writes English."""

from __future__ import annotations

import re
import threading
import time
from pathlib import Path
from typing import Any

import pytest
import torch
from transformers import AutoModelForCausalLM

from annotate.demo import demo_content
from training import services
from training.core import models
from training.core.batching import encode_prompt_completion
from training.core.corpus import EVERYDAY_QA, chat_documents, everyday_chats
from training.core.generate_config import GenerateConfig
from training.core.generation import generate
from training.core.models import (
    DEFAULT_RECIPE,
    default_model_key,
    ensure_default_model,
    install_model,
    load_policy,
    load_tokenizer,
    read_extra,
)
from training.core.pretrain import (
    PretrainSettings,
    document_batches,
    pretrain_causal_lm,
)
from training.steps import ensure_model

CPU = torch.device("cpu")
# Debian's wamerican and wbritish (tests/run_suite.sh installs them): the corpus and
# the demo are written in British spelling.
DICTIONARIES = [
    Path("/usr/share/dict/american-english"),
    Path("/usr/share/dict/british-english"),
]
# Asked as chat messages; the demo's next-round prompts are asked as plain text,
# as a demo round samples them. None of them is in the corpus.
HELD_OUT = [
    "How do I fix a squeaky door?",
    "What is a good gift for a teacher?",
    "Why do dogs wag their tails?",
    "Tell me about the history of chocolate.",
    "What should I do on a long train journey?",
    "Write a short note to my neighbour about a parcel.",
    "How do I look after my teeth?",
    "What is the best way to learn to swim?",
]
WORD = re.compile(r"[A-Za-z]+(?:'[A-Za-z]+)?")


@pytest.fixture(scope="module")
def default_model() -> Path:
    """The cached default model (trained here on a machine's first run, ~1 min)."""
    return ensure_default_model()


@pytest.fixture(scope="module")
def dictionary() -> set[str]:
    missing = [str(p) for p in DICTIONARIES if not p.is_file()]
    if missing:
        pytest.fail(
            f"word lists missing: {missing}; apt-get install wamerican wbritish"
        )
    return {w.strip().lower() for p in DICTIONARIES for w in p.open(encoding="utf-8")}


def test_default_model_writes_english_on_unseen_prompts(
    default_model: Path, dictionary: set[str]
) -> None:
    prompts: list[Any] = [
        *demo_content().next_round_prompts,
        *([{"role": "user", "content": p}] for p in HELD_OUT),
    ]
    asked = {p if isinstance(p, str) else p[0]["content"] for p in prompts}
    assert not asked & {question for question, _ in EVERYDAY_QA}
    model, tokenizer = load_policy(default_model, device=CPU, dtype=torch.float32)
    config = GenerateConfig()  # the sampling a round uses: T 1.0, top-p 0.95, 64 new
    samples = generate(
        model,
        tokenizer,
        prompts,
        chat_template=config.chat_template,
        temperature=config.temperature,
        top_p=config.top_p,
        max_new_tokens=config.max_new_tokens,
        seed=0,
    )
    outputs = [row[0] for row in samples]
    texts = [g.text for g in outputs]
    assert len(texts) == 16
    assert not [t for t in texts if "\x00" in t or "\ufffd" in t]
    assert sum(bool(t.strip()) for t in texts) >= 14, texts
    words = [w.lower() for t in texts for w in WORD.findall(t)]
    assert len(words) >= 16 * 8, texts  # replies of a sentence or more, not a word
    known = sum(w in dictionary for w in words) / len(words)
    assert known >= 0.8, (known, texts)
    assert sum(g.finished for g in outputs) >= 12, texts  # ended with EOS, not cut


def test_every_builtin_reply_ends_within_the_default_new_tokens(
    default_model: Path,
) -> None:
    tokenizer = load_tokenizer(default_model)
    limit = GenerateConfig().max_new_tokens
    for question, answer in EVERYDAY_QA:
        reply = tokenizer(" " + answer, add_special_tokens=False).input_ids
        assert len(reply) + 1 <= limit, question  # + 1: the closing EOS


def test_the_cache_is_reused_and_keyed_by_corpus_and_recipe(
    default_model: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def no_rebuild(*args: Any) -> Path:
        raise AssertionError("the cached default model was rebuilt")

    monkeypatch.setattr(models, "build_default_model", no_rebuild)
    assert ensure_default_model() == default_model
    assert default_model.parent == models.cache_dir()
    chats = everyday_chats()
    key = default_model_key(chats, DEFAULT_RECIPE)
    assert default_model.name == f"default-model-{key}"
    fewer_steps = PretrainSettings(epochs=DEFAULT_RECIPE.pretrain.epochs - 1)
    others = {
        default_model_key(chats[:-1], DEFAULT_RECIPE),
        default_model_key(chats, models.DefaultModelRecipe(vocab_size=2000)),
        default_model_key(chats, models.DefaultModelRecipe(pretrain=fewer_steps)),
    }
    assert key not in others and len(others) == 3


def test_concurrent_first_calls_train_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RANKWISE_VAR_DIR", str(tmp_path))
    builds: list[Path] = []

    def slow_build(folder: Path, *args: Any) -> Path:
        builds.append(folder)
        time.sleep(0.2)  # long enough for the other callers to reach the lock
        folder.mkdir(parents=True)
        (folder / "config.json").write_text("{}")
        return folder

    monkeypatch.setattr(models, "build_default_model", slow_build)
    results: list[Path] = []
    threads = [
        threading.Thread(target=lambda: results.append(ensure_default_model()))
        for _ in range(3)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(builds) == 1
    assert results == [builds[0]] * 3
    assert builds[0].parent == tmp_path / "cache"


def test_install_copies_once_and_replaces_another_build(
    default_model: Path, tmp_path: Path
) -> None:
    folder = tmp_path / "tiny-default"
    assert install_model(default_model, folder) == folder
    assert read_extra(folder)["default_model"] == default_model.name
    AutoModelForCausalLM.from_pretrained(folder)  # plain transformers loads it
    weights = folder / "model.safetensors"
    before = weights.stat().st_mtime_ns
    install_model(default_model, folder)
    assert weights.stat().st_mtime_ns == before
    (folder / "rankwise.json").write_text('{"default_model": "an older build"}')
    install_model(default_model, folder)
    assert read_extra(folder)["default_model"] == default_model.name


def test_a_project_base_is_a_copy_made_once(
    default_model: Path, make_project: Any, settings: Any, tmp_path: Path
) -> None:
    settings.RANKWISE_MODELS_DIR = tmp_path / "models"
    settings.RANKWISE_POLICY_MODEL = ""
    base = services.base_policy_version(make_project())
    assert base.name == "base: embedded default model"
    path = Path(ensure_model(base))
    assert path == services.tiny_base_path(base.project)
    assert not path.is_symlink() and not path.resolve().is_relative_to(default_model)
    assert read_extra(path)["default_model"] == default_model.name
    (path / "rankwise.json").write_text('{"default_model": "an older build"}')
    ensure_model(base)  # rounds may have started from it: it is never replaced
    assert read_extra(path)["default_model"] == "an older build"


def test_chat_documents_encode_the_chat_and_the_plain_format(tokenizer: Any) -> None:
    one = (("user", "Say hi."), ("assistant", "Hi!"))
    two = (
        ("user", "Hi."),
        ("assistant", "Hello!"),
        ("user", "Bye."),
        ("assistant", "Bye!"),
    )
    documents = chat_documents(tokenizer, [one, two], max_length=64)
    messages = [{"role": "user", "content": "Say hi."}]
    reply = [{"role": "assistant", "content": "Hi!"}]
    # The plain format as raw text: under auto it would repeat the chat format.
    assert documents[:2] == [
        encode_prompt_completion(
            tokenizer, messages, reply, chat_template="auto", max_length=64
        )[0],
        encode_prompt_completion(
            tokenizer, "Say hi.", " Hi!", chat_template="never", max_length=64
        )[0],
    ]
    assert len(documents) == 3  # the two-question chat only in the chat format
    assert all(d[-1] == tokenizer.eos_token_id for d in documents)
    with pytest.raises(ValueError, match="ending with the assistant's reply"):
        chat_documents(tokenizer, [(("user", "Say hi."),)], max_length=64)


def test_document_batches_pack_whole_documents_from_each_block_start() -> None:
    documents = [[1, 10, 11, 2], [1, 20, 2], [1, 30, 31, 32, 2]]
    settings = PretrainSettings(batch_size=1, block_size=8)
    batches = document_batches(documents, settings, epoch=0)
    packed = []
    for input_ids, attention_mask in batches:
        assert input_ids.shape == attention_mask.shape == (1, 8)
        row = input_ids[0][attention_mask[0] == 1].tolist()
        assert row[0] == 1  # a block starts where a document starts
        packed += [[1, *part] for part in _split_at(row[1:], 1)]
    assert sorted(packed) == sorted(documents)  # each whole, each once
    again = document_batches(documents, settings, epoch=0)
    assert all(torch.equal(a[0], b[0]) for a, b in zip(again, batches, strict=True))
    with pytest.raises(ValueError, match="a document of 5 tokens does not fit"):
        document_batches(documents, PretrainSettings(block_size=4), epoch=0)
    with pytest.raises(ValueError, match="fills 1 blocks of 12 tokens; one batch"):
        document_batches(documents, PretrainSettings(block_size=12), epoch=0)


def _split_at(tokens: list[int], bos: int) -> list[list[int]]:
    parts: list[list[int]] = [[]]
    for token in tokens:
        if token == bos:
            parts.append([])
        else:
            parts[-1].append(token)
    return parts


def test_pretraining_lowers_the_loss(policy: tuple[Any, Any]) -> None:
    model, tokenizer = policy
    chats = everyday_chats()[:8]
    documents = chat_documents(tokenizer, chats, max_length=128)
    settings = PretrainSettings(epochs=8, batch_size=2, block_size=128)
    losses = pretrain_causal_lm(model, documents, settings)
    assert len(losses) == 8 * len(document_batches(documents, settings, epoch=0))
    assert sum(losses[-5:]) / 5 < 0.7 * sum(losses[:5]) / 5
    assert not model.training  # handed back ready to sample


@pytest.mark.django_db(transaction=True)
def test_a_demo_rounds_queued_outputs_read_as_english(
    default_model: Path, dictionary: set[str], settings: Any, tmp_path: Path
) -> None:
    from django.contrib.auth import get_user_model

    from annotate.demo import demo_seed
    from annotate.models import Candidate
    from training.models import Round
    from training.tests.fixtures_rounds import drain, rank_open_tasks

    settings.RANKWISE_MODELS_DIR = tmp_path / "models"
    settings.RANKWISE_POLICY_MODEL = ""
    project, _, _ = demo_seed()
    annotator = get_user_model().objects.get(username="annotator1")
    rank_open_tasks(project, annotator, limit=6)  # a few tasks, as a newcomer would
    queued: list[int] = []
    with services.jobs_kept_in(queued.append):
        # The defaults, but a short policy run: the base model writes the outputs'
        # language; training only shifts what it prefers to say.
        request = services.LaunchRequest(
            algorithm="dpo", policy_settings={"min_steps": 10}
        )
        round_ = services.round_launch(project=project, request=request)
        assert drain(queued) == ["succeeded"] * 4
    round_.refresh_from_db()
    assert round_.state == Round.State.DONE
    texts = list(
        Candidate.objects.filter(source=f"round-{round_.number}").values_list(
            "text", flat=True
        )
    )
    assert len(texts) >= 3 * len(round_.prompt_ids)  # K outputs for each new prompt
    assert not [t for t in texts if "\x00" in t or "\ufffd" in t]
    words = [w.lower() for t in texts for w in WORD.findall(t)]
    assert len(words) >= 5 * len(texts), texts
    known = sum(w in dictionary for w in words) / len(words)
    assert known >= 0.8, (known, texts)
