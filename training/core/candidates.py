"""Generate K candidates per prompt from a policy into a JSONL file for annotators."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tqdm.auto import tqdm

from training.core.batching import Text, as_reply, encoding_fingerprint
from training.core.data import load_examples
from training.core.generate_config import GenerateConfig
from training.core.generation import generate
from training.core.loop import ProgressCallback
from training.core.models import load_policy
from training.core.recipe import TrainResult, resolve_device

GENERATIONS_FILE = "generations.jsonl"
PROMPTS_PER_CALL = 16  # prompts per generate() call: progress moves, batches fill


def generate_candidates(
    config: GenerateConfig, *, progress_callback: ProgressCallback | None = None
) -> TrainResult:
    """Write {prompt, completions, token_ids, tokenizer, ...} per prompt to OUT."""
    prompts = unique_prompts(config.data)  # bad data fails before the model loads
    device = resolve_device(config.device)
    model, tokenizer = load_policy(config.model, device=device)
    out = Path(config.out)
    out.mkdir(parents=True, exist_ok=True)
    path = out / GENERATIONS_FILE
    with path.open("w", encoding="utf-8") as file:
        for start in tqdm(range(0, len(prompts), PROMPTS_PER_CALL), desc="generate"):
            chunk = prompts[start : start + PROMPTS_PER_CALL]
            for record in _sample(model, tokenizer, chunk, config, seed=start):
                file.write(json.dumps(record) + "\n")
            if progress_callback is not None:
                done = min(start + PROMPTS_PER_CALL, len(prompts))
                progress_callback(done / len(prompts), f"{done} prompts", {})
    return TrainResult(out, {"prompts": len(prompts), "k": config.k, "file": str(path)})


def unique_prompts(path: str | Path) -> list[Text]:
    """The prompts of any data file, each once, in file order."""
    seen, prompts = set(), []
    for example in load_examples(path):
        key = json.dumps(example.prompt, sort_keys=True)
        if key not in seen:
            seen.add(key)
            prompts.append(example.prompt)
    return prompts


def _sample(
    model: Any, tokenizer: Any, prompts: list[Text], config: GenerateConfig, seed: int
) -> list[dict[str, Any]]:
    """One output record per prompt with its K samples and their sampled tokens."""
    fingerprint = encoding_fingerprint(tokenizer, chat_template=config.chat_template)
    samples = generate(
        model,
        tokenizer,
        prompts,
        chat_template=config.chat_template,
        k=config.k,
        temperature=config.temperature,
        top_p=config.top_p,
        max_new_tokens=config.max_new_tokens,
        batch_size=config.batch_size,
        seed=config.seed + seed,  # each chunk its own stream, same on every rerun
        max_prompt_length=config.max_prompt_length,
    )
    return [
        {
            "prompt": prompt,
            "completions": [as_reply(prompt, g.text) for g in gens],
            "token_ids": [list(g.token_ids) for g in gens],
            "tokenizer": fingerprint,
            "n_tokens": [g.n_tokens for g in gens],
            "logprobs": [g.logprob for g in gens],
        }
        for prompt, gens in zip(prompts, samples, strict=True)
    ]
