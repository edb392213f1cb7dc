"""DPO-family trainer: pairs from one forward per completion, learning, every loss."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pytest
import torch

from training.core.batching import (
    Text,
    collate,
    encode_prompt_completion,
    encoding_fingerprint,
)
from training.core.data import (
    DataError,
    PairExample,
    RankingExample,
    UnpairedExample,
    rankings_to_pairs,
)
from training.core.dpo import (
    attach_reference,
    dpo_step,
    make_objective,
    preference_rankings,
    train_dpo,
)
from training.core.dpo_config import LOSS_NAMES, PAIRWISE_LOSS_NAMES, DPOConfig
from training.core.groups import collate_groups, encode_rankings
from training.core.logprobs import sequence_logprobs
from training.core.losses import PREFERENCE_LOSSES, dpo_loss
from training.core.models import load_policy
from training.core.recipe import load_trainable
from training.tests.conftest import CPU
from training.tests.fixtures_training import synthetic_pairs, synthetic_rankings

RANKINGS = [
    RankingExample("Say hi.", ["hi", "hello there", "go away"], [2, 1, 3], 3.0),
    RankingExample("Count.", ["one two", "1 2", "uno", "one"], [1, 3, 3, 2]),  # tie
]


def _logp(model: Any, tokenizer: Any, prompt: Text, completion: Text) -> torch.Tensor:
    """Summed completion log-prob of one sequence, forwarded on its own."""
    ids, mask = encode_prompt_completion(
        tokenizer, prompt, completion, chat_template="auto", max_length=64
    )
    batch = collate([(ids, mask)], pad_token_id=tokenizer.pad_token_id)
    return sequence_logprobs(model, batch)[0][0]


def _perturb(model: Any) -> None:
    """Move the policy away from the reference so log-ratios are not all zero."""
    generator = torch.Generator().manual_seed(1)
    with torch.no_grad():
        for param in model.parameters():
            param.add_(0.02 * torch.randn(param.shape, generator=generator))


def test_ranking_loss_equals_weighted_mean_over_explicit_pairs(
    policy: Any, tiny_model_dir: Path, tmp_path: Path
) -> None:
    model, tokenizer = policy
    pad = tokenizer.pad_token_id
    config = DPOConfig(out=str(tmp_path), ref_model=str(tiny_model_dir), beta=0.5)
    groups = encode_rankings(tokenizer, RANKINGS, max_length=64, chat_template="auto")
    groups = attach_reference(groups, model, config, pad_token_id=pad)
    _perturb(model)
    step = dpo_step(model, make_objective(config), CPU)
    with torch.no_grad():
        loss, metrics = step(collate_groups(groups, pad_token_id=pad))
        pairs = rankings_to_pairs(RANKINGS)
        terms = torch.stack([_pair_loss(model, tokenizer, groups, p) for p in pairs])
    weights = torch.tensor([p.weight for p in pairs])
    assert len(pairs) == 3 + 5  # the tie gives no pair
    expected = (terms * weights).sum() / weights.sum()
    assert torch.allclose(loss, expected, atol=1e-5)
    assert 0 <= metrics["reward_accuracy"] <= 1


def _pair_loss(model: Any, tokenizer: Any, groups: Any, pair: PairExample) -> Any:
    """DPO loss of one pair with separate forwards; the reference from the groups."""
    ranking = next(r for r in RANKINGS if r.prompt == pair.prompt)
    group = groups[RANKINGS.index(ranking)]
    ref = dict(zip(ranking.completions, group.ref_logps, strict=True))
    return dpo_loss(
        _logp(model, tokenizer, pair.prompt, pair.chosen).reshape(1),
        _logp(model, tokenizer, pair.prompt, pair.rejected).reshape(1),
        torch.tensor([ref[pair.chosen]]),
        torch.tensor([ref[pair.rejected]]),
        beta=0.5,
    )[0]


def test_reference_batched_by_length_keeps_each_groups_values(
    policy: Any, tmp_path: Path
) -> None:
    model, tokenizer = policy
    pad = tokenizer.pad_token_id
    records = [RankingExample(**r) for r in synthetic_rankings(6, k=3)]
    groups = encode_rankings(tokenizer, records, max_length=64, chat_template="auto")
    config = DPOConfig(out=str(tmp_path))
    attached = attach_reference(groups, model, config, pad_token_id=pad)
    assert [g.encodings for g in attached] == [g.encodings for g in groups]
    for group, got in zip(groups, attached, strict=True):
        alone = attach_reference([group], model, config, pad_token_id=pad)[0]
        assert got.ref_logps is not None and alone.ref_logps is not None
        assert torch.allclose(
            torch.tensor(got.ref_logps), torch.tensor(alone.ref_logps), atol=1e-4
        )


def test_dpo_widens_the_held_out_margin(
    write_jsonl: Any, tiny_model_dir: Path, tmp_path: Path
) -> None:
    data = write_jsonl(synthetic_pairs(100), "pairs.jsonl")
    config = DPOConfig(
        data=str(data),
        model=str(tiny_model_dir),
        out=str(tmp_path / "out"),
        epochs=2,
        min_steps=0,
        lr=5e-4,
        eval_fraction=0.2,
    )
    metrics = train_dpo(config).metrics
    assert metrics["eval_logp_margin_after"] > metrics["eval_logp_margin_before"] + 2
    assert metrics["eval_reward_accuracy"] >= 0.8
    assert metrics["eval_loss"] < 0.6  # log 2 = 0.69 at the start
    out = Path(config.out)
    assert (out / "model.safetensors").is_file() and (out / "loss_curve.png").is_file()
    assert list((out / "checkpoint").glob("ref-logprobs-*.pt"))  # computed once


@pytest.mark.parametrize("loss", LOSS_NAMES)
def test_every_loss_trains_a_step_without_nan(
    loss: str, policy: Any, tmp_path: Path
) -> None:
    model, tokenizer = policy
    pad = tokenizer.pad_token_id
    config = DPOConfig(out=str(tmp_path), loss=loss)
    records = [RankingExample(**r) for r in synthetic_rankings(3, k=3)]
    rankings = preference_rankings(records, config)
    groups = encode_rankings(tokenizer, rankings, max_length=64, chat_template="auto")
    groups = attach_reference(groups, model, config, pad_token_id=pad)
    model.train()
    loss_value, metrics = dpo_step(model, make_objective(config), CPU)(
        collate_groups(groups, pad_token_id=pad)
    )
    loss_value.backward()
    grads = [p.grad for p in model.parameters() if p.grad is not None]
    assert torch.isfinite(loss_value) and grads
    assert all(torch.isfinite(g).all() for g in grads)
    assert any(g.abs().sum() > 0 for g in grads)
    assert all(v == v for v in metrics.values())  # no NaN metric


def test_unpaired_records_need_kto() -> None:
    records = [
        UnpairedExample("Hi.", "hello", True),
        UnpairedExample("Hi.", "no", False),
    ]
    with pytest.raises(DataError, match="--loss kto"):
        preference_rankings(records, DPOConfig(data="u.jsonl"))
    rankings = preference_rankings(records, DPOConfig(loss="kto"))
    assert [(r.completions, r.ranks) for r in rankings] == [
        (["hello"], [1]),
        (["no"], [2]),
    ]
    pair = PairExample("Hi.", "hello", "no")
    kto_view = preference_rankings([pair], DPOConfig(loss="kto"))
    assert [r.ranks for r in kto_view] == [[1], [2]]


def test_the_config_names_exactly_the_pairwise_losses_the_trainer_has():
    # The config spells the names out so that reading it never imports torch.
    assert tuple(PREFERENCE_LOSSES) == PAIRWISE_LOSS_NAMES


@pytest.mark.parametrize("loss", ["ipo", "cpo"])
def test_length_normalize_reaches_ipo_and_cpo_per_token_by_default(
    loss: str, policy: Any, tmp_path: Path
) -> None:
    # One pair of unequal lengths: the trainer's loss in each form, worked by hand.
    model, tokenizer = policy
    pad = tokenizer.pad_token_id
    ranking = [RankingExample("Say hi.", ["hello there, my good friend", "no"], [1, 2])]
    groups = encode_rankings(tokenizer, ranking, max_length=64, chat_template="auto")
    plain = DPOConfig(out=str(tmp_path), loss=loss, beta=0.5)  # the defaults
    summed = DPOConfig(out=str(tmp_path), loss=loss, beta=0.5, length_normalize=False)
    groups = attach_reference(groups, model, plain, pad_token_id=pad)
    _perturb(model)
    batch = collate_groups(groups, pad_token_id=pad)
    steps = {
        c.length_normalize: dpo_step(model, make_objective(c), CPU)
        for c in (plain, summed)
    }
    with torch.no_grad():
        logps, counts = sequence_logprobs(model, batch.tokens)  # (2,): yw then yl
        got = {per_token: step(batch)[0] for per_token, step in steps.items()}
    assert plain.length_normalize and counts[0] > counts[1]
    ratio = logps - torch.tensor(groups[0].ref_logps)  # log π/π_ref of yw, yl
    if loss == "ipo":  # (h - 1/(2β))², 1/(2β) = 1
        per_token = (ratio[0] / counts[0] - ratio[1] / counts[1] - 1) ** 2
        total = (ratio[0] - ratio[1] - 1) ** 2
    else:  # -log σ(β (log π(yw) - log π(yl))) + NLL of yw, λ = 1
        preference = -torch.nn.functional.logsigmoid(0.5 * (logps[0] - logps[1]))
        per_token = preference - logps[0] / counts[0]
        total = preference - logps[0]
    assert torch.allclose(got[True], per_token, atol=1e-5)
    assert torch.allclose(got[False], total, atol=1e-5)


def test_online_dpo_adds_best_vs_worst_pairs_with_their_sampled_tokens(
    tiny_model_dir: Path, tmp_path: Path, tokenizer: Any
) -> None:
    from training.core.dpo import online_rankings
    from training.core.models import load_policy, load_reward_model, save_model

    reward, reward_tokenizer = load_reward_model(tiny_model_dir, device=CPU)
    save_model(reward, reward_tokenizer, tmp_path / "rm")
    policy, _ = load_policy(tiny_model_dir, device=CPU, dtype=torch.float32)
    config = DPOConfig(
        data="unused",
        online_samples=4,
        online_pair_weight=0.5,
        online_max_new_tokens=8,
        reward_model=str(tmp_path / "rm"),
        device="cpu",
    )
    pairs = online_rankings(policy, tokenizer, RANKINGS * 2, config, CPU)
    assert len(pairs) == len({json.dumps(r.prompt) for r in RANKINGS})
    # Sampled after templated prompts: labelled so, not reused under raw text.
    fingerprint = encoding_fingerprint(tokenizer, chat_template=config.chat_template)
    for pair in pairs:
        assert pair.ranks == [1, 2] and pair.weight == 0.5
        assert pair.tokenizer == fingerprint
        assert pair.completion_token_ids is not None
        for text, ids in zip(pair.completions, pair.completion_token_ids, strict=True):
            assert ids and tokenizer.decode(ids, skip_special_tokens=True) == text
    with pytest.raises(ValueError, match="online_samples"):
        online_rankings(
            policy, tokenizer, RANKINGS, DPOConfig(data="x", online_samples=4), CPU
        )


def test_under_bf16_the_reference_is_the_policy_as_training_computes_it(
    policy: Any, tmp_path: Path
) -> None:
    # Before any update the policy is its own reference: every log-ratio is 0 and the
    # DPO loss ln 2, only if the reference forward ran under the same autocast.
    model, tokenizer = policy
    pad = tokenizer.pad_token_id
    records = [RankingExample(**r) for r in synthetic_rankings(4, k=2)]
    groups = encode_rankings(tokenizer, records, max_length=64, chat_template="auto")
    config = DPOConfig(out=str(tmp_path), mixed_precision="bf16", device="cpu")
    attached = attach_reference(groups, model, config, pad_token_id=pad)
    step = dpo_step(model, make_objective(config), CPU)
    with torch.no_grad(), torch.autocast("cpu", dtype=torch.bfloat16):
        loss, _ = step(collate_groups(attached, pad_token_id=pad))
    assert loss.item() == pytest.approx(math.log(2), abs=1e-6)


def test_lora_under_bf16_starts_as_its_reference_on_a_bf16_base(
    tiny_model_dir: Path, tokenizer: Any, tmp_path: Path
) -> None:
    # The reference is the base with the adapters off; the adapters start at zero,
    # so the first loss is ln 2 with the base's weights held in bf16.
    config = DPOConfig(
        model=str(tiny_model_dir),
        out=str(tmp_path),
        lora=True,
        mixed_precision="bf16",
        device="cpu",
    )
    model, _ = load_trainable(load_policy, config, CPU)
    assert {p.dtype for p in model.parameters() if not p.requires_grad} == {
        torch.bfloat16
    }
    pad = tokenizer.pad_token_id
    records = [RankingExample(**r) for r in synthetic_rankings(4, k=2)]
    groups = encode_rankings(tokenizer, records, max_length=64, chat_template="auto")
    attached = attach_reference(groups, model, config, pad_token_id=pad)
    step = dpo_step(model, make_objective(config), CPU)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        loss, _ = step(collate_groups(attached, pad_token_id=pad))
    assert loss.item() == pytest.approx(math.log(2), abs=1e-6)
    loss.backward()
    trained = [p for p in model.parameters() if p.requires_grad]
    assert any(p.grad is not None and p.grad.abs().sum() > 0 for p in trained)
    assert all(p.grad is None or p.grad.dtype == torch.float32 for p in trained)
