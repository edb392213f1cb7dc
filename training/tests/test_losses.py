"""Each loss in training/core/losses.py against numbers worked out by hand."""

import inspect
import math
from collections.abc import Callable

import pytest
import torch
import torch.nn.functional as F

from training.core.losses import (
    PREFERENCE_LOSSES,
    AdaptiveKLController,
    FixedKLController,
    cpo_loss,
    dpo_loss,
    gae_advantages,
    hinge_loss,
    ipo_loss,
    kto_loss,
    kwise_bradley_terry_loss,
    kwise_pairwise_accuracy,
    masked_mean,
    masked_whiten,
    orpo_loss,
    per_token_kl,
    plackett_luce_loss,
    ppo_policy_loss,
    ppo_value_loss,
    pretraining_nll_loss,
    rdpo_loss,
    rloo_advantages,
    rrhf_loss,
    simpo_loss,
)


def t(*values: float) -> torch.Tensor:
    return torch.tensor(values, dtype=torch.float64)


def neg_log_sigmoid(x: float) -> float:
    return -math.log(1 / (1 + math.exp(-x)))


def sigmoid(x: float) -> float:
    return 1 / (1 + math.exp(-x))


def close(actual: torch.Tensor, expected: list[float] | float) -> None:
    torch.testing.assert_close(
        actual, torch.as_tensor(expected, dtype=actual.dtype), rtol=1e-9, atol=1e-12
    )


# Two pairs shared by the reference-based losses. Log-ratio margins h by hand:
#   pair 0: h = (-1.0 - -1.5) - (-2.0 - -1.5) = 0.5 + 0.5 = 1.0
#   pair 1: h = (-2.0 - -2.0) - (-1.0 - -1.5) = 0.0 - 0.5 = -0.5
PAIRS = dict(
    policy_chosen_logps=t(-1.0, -2.0),
    policy_rejected_logps=t(-2.0, -1.0),
    ref_chosen_logps=t(-1.5, -2.0),
    ref_rejected_logps=t(-1.5, -1.5),
)


# ---------------------------------------------------------------------------
# Pairwise preference losses
# ---------------------------------------------------------------------------


def test_dpo_by_hand():
    loss = dpo_loss(**PAIRS, beta=0.5)
    close(loss, [neg_log_sigmoid(0.5 * 1.0), neg_log_sigmoid(0.5 * -0.5)])


def test_dpo_equal_logps_is_log_2():
    zeros = torch.zeros(3)
    loss = dpo_loss(zeros, zeros, zeros, zeros, beta=0.1)
    torch.testing.assert_close(loss, torch.full((3,), math.log(2)))


def test_dpo_gradient_is_beta_sigma_of_wrong_reward():
    # Rafailov et al.: ∇_{log π(yw)} L = -β σ(r̂_l - r̂_w) = -β σ(-β h), h = 1 here.
    chosen = PAIRS["policy_chosen_logps"].clone().requires_grad_()
    pairs = {**PAIRS, "policy_chosen_logps": chosen}
    dpo_loss(**pairs, beta=0.5).sum().backward()
    close(chosen.grad, [-0.5 * sigmoid(-0.5 * 1.0), -0.5 * sigmoid(-0.5 * -0.5)])


def test_cdpo_with_zero_smoothing_is_dpo():
    torch.testing.assert_close(
        dpo_loss(**PAIRS, beta=0.3, label_smoothing=0.0), dpo_loss(**PAIRS, beta=0.3)
    )


def test_cdpo_by_hand():
    # ε = 0.1: L = 0.9·(-log σ(βh)) + 0.1·(-log σ(-βh)), βh = 0.5 and -0.25.
    loss = PREFERENCE_LOSSES["cdpo"](**PAIRS, beta=0.5)
    close(
        loss,
        [
            0.9 * neg_log_sigmoid(0.5) + 0.1 * neg_log_sigmoid(-0.5),
            0.9 * neg_log_sigmoid(-0.25) + 0.1 * neg_log_sigmoid(0.25),
        ],
    )


# Token counts for PAIRS: chosen |yw| = 2 and 4, rejected |yl| = 4 and 2.
PAIR_LENGTHS = dict(
    chosen_lengths=torch.tensor([2, 4]), rejected_lengths=torch.tensor([4, 2])
)


def test_ipo_per_token_by_hand():
    # Per-token log-ratios: pair 0: 0.5/2 - (-0.5)/4 = 0.375; pair 1: 0/4 - 0.5/2
    # = -0.25. β = τ = 0.25, 1/(2τ) = 2: (0.375 - 2)² = 2.640625, (-2.25)² = 5.0625.
    loss = ipo_loss(**PAIRS, **PAIR_LENGTHS, beta=0.25, length_normalize=True)
    close(loss, [2.640625, 5.0625])


def test_ipo_summed_by_hand():
    # Summed h = 1 and -0.5, lengths ignored: (1 - 2)² = 1, (-0.5 - 2)² = 6.25.
    loss = ipo_loss(**PAIRS, **PAIR_LENGTHS, beta=0.25, length_normalize=False)
    close(loss, [1.0, 6.25])


def test_hinge_by_hand():
    # β = 0.5: max(0, 1 - 0.5·1) = 0.5, max(0, 1 + 0.5·0.5) = 1.25.
    close(hinge_loss(**PAIRS, beta=0.5), [0.5, 1.25])
    # h = 4: max(0, 1 - 2) = 0, and no gradient flows.
    chosen = t(3.0).requires_grad_()
    loss = hinge_loss(chosen, t(-1.0), t(0.0), t(0.0), beta=0.5)
    loss.sum().backward()
    close(loss, [0.0])
    close(chosen.grad, [0.0])


def test_rdpo_by_hand():
    # pair 0: 0.5·1.0 - 0.01·(10 - 5) = 0.45; pair 1: 0.5·(-0.5) - 0.01·(4 - 4) = -0.25.
    loss = rdpo_loss(
        **PAIRS,
        chosen_lengths=torch.tensor([10, 4]),
        rejected_lengths=torch.tensor([5, 4]),
        beta=0.5,
        alpha=0.01,
    )
    close(loss, [neg_log_sigmoid(0.45), neg_log_sigmoid(-0.25)])


def test_simpo_by_hand():
    # pair 0: 2·(-4/4) - 2·(-9/3) - 0.5 = -2 + 6 - 0.5 = 3.5
    # pair 1: 2·(-6/3) - 2·(-2/4) - 0.5 = -4 + 1 - 0.5 = -3.5
    loss = simpo_loss(
        t(-4.0, -6.0),
        t(-9.0, -2.0),
        torch.tensor([4, 3]),
        torch.tensor([3, 4]),
        beta=2.0,
        gamma=0.5,
    )
    close(loss, [neg_log_sigmoid(3.5), neg_log_sigmoid(-3.5)])


def test_cpo_per_token_nll_by_hand():
    # Preference on summed log-probs: -log σ(0.1·(-10 + 20)) = -log σ(1); -log σ(-1).
    # NLL per token of yw, |yw| = 4 and 5: 10/4 = 2.5 and 20/5 = 4; λ = 0.5.
    loss = cpo_loss(
        t(-10.0, -20.0),
        t(-20.0, -10.0),
        torch.tensor([4, 5]),
        beta=0.1,
        nll_weight=0.5,
        length_normalize=True,
    )
    close(loss, [neg_log_sigmoid(1.0) + 1.25, neg_log_sigmoid(-1.0) + 2.0])


def test_cpo_summed_nll_by_hand():
    # pair 0: -log σ(0.1·(-10 + 20)) - 1·(-10) = -log σ(1) + 10
    # pair 1: -log σ(0.1·(-20 + 10)) - 1·(-20) = -log σ(-1) + 20
    loss = cpo_loss(
        t(-10.0, -20.0),
        t(-20.0, -10.0),
        torch.tensor([4, 5]),
        beta=0.1,
        nll_weight=1.0,
        length_normalize=False,
    )
    close(loss, [neg_log_sigmoid(1.0) + 10, neg_log_sigmoid(-1.0) + 20])


@pytest.mark.parametrize("loss_fn", [ipo_loss, cpo_loss])
def test_ipo_and_cpo_default_to_per_token_as_their_papers(loss_fn):
    # IPO's authors and TRL average log-probs per token; so does CPO's NLL in TRL.
    inputs = preference_inputs(t(-12.0, -3.0), t(-5.0, -30.0))
    inputs["ref_chosen_logps"] = t(-10.0, -4.0)
    unset = call_fn(loss_fn, inputs)
    close(unset, call_fn(loss_fn, {**inputs, "length_normalize": True}))
    assert not torch.allclose(
        unset, call_fn(loss_fn, {**inputs, "length_normalize": False})
    )


def test_orpo_by_hand():
    # Mean token log-probs: chosen -2/4 = -0.5 and -6/3 = -2; rejected -2 and -0.5.
    def log_odds(x: float) -> float:
        return math.log(math.exp(x) / (1 - math.exp(x)))

    lam = 0.2
    loss = orpo_loss(t(-2.0, -6.0), t(-6.0, -2.0), t(4, 3), t(3, 4), lam=lam)
    close(
        loss,
        [
            0.5 + lam * neg_log_sigmoid(log_odds(-0.5) - log_odds(-2.0)),
            2.0 + lam * neg_log_sigmoid(log_odds(-2.0) - log_odds(-0.5)),
        ],
    )


def test_orpo_probability_one_stays_finite():
    # p(yw) = exp(0) = 1 has infinite odds; the loss must still be finite.
    chosen = torch.tensor([0.0, -1e-9, -200.0], requires_grad=True)
    loss = orpo_loss(chosen, torch.full((3,), -5.0), torch.ones(3), torch.ones(3))
    loss.sum().backward()
    assert torch.isfinite(loss).all() and torch.isfinite(chosen.grad).all()


def preference_inputs(chosen: torch.Tensor, rejected: torch.Tensor) -> dict:
    zeros = torch.zeros_like(chosen)
    return dict(
        policy_chosen_logps=chosen,
        policy_rejected_logps=rejected,
        ref_chosen_logps=zeros,
        ref_rejected_logps=zeros,
        chosen_lengths=torch.full_like(chosen, 7),
        rejected_lengths=torch.full_like(chosen, 9),
    )


def call(name: str, inputs: dict) -> torch.Tensor:
    """Dispatch by keyword, passing only the arguments the loss takes."""
    return call_fn(PREFERENCE_LOSSES[name], inputs)


def call_fn(loss_fn: Callable[..., torch.Tensor], inputs: dict) -> torch.Tensor:
    """Call `loss_fn` with only the keyword arguments it takes, as the trainer does."""
    wanted = inspect.signature(loss_fn).parameters
    return loss_fn(**{k: v for k, v in inputs.items() if k in wanted})


def test_preference_registry_names():
    assert set(PREFERENCE_LOSSES) == {
        "dpo",
        "cdpo",
        "ipo",
        "hinge",
        "rdpo",
        "simpo",
        "cpo",
        "orpo",
    }


@pytest.mark.parametrize("name", sorted(PREFERENCE_LOSSES))
def test_preference_losses_finite_at_extreme_margins(name):
    chosen = torch.tensor([-1e-3, -1e4, -50.0, -3.0], requires_grad=True)
    rejected = torch.tensor([-1e4, -1e-3, -50.0, -3.0], requires_grad=True)
    loss = call(name, preference_inputs(chosen, rejected))
    loss.sum().backward()
    assert loss.shape == (4,)
    for tensor in (loss, chosen.grad, rejected.grad):
        assert torch.isfinite(tensor).all(), name


def test_dpo_extreme_margins_by_hand():
    # βh = ±1000: -log σ(1000) ≈ 0, -log σ(-1000) ≈ 1000.
    loss = dpo_loss(t(0.0, -1e4), t(-1e4, 0.0), t(0.0, 0.0), t(0.0, 0.0), beta=0.1)
    close(loss, [0.0, 1000.0])


# ---------------------------------------------------------------------------
# KTO
# ---------------------------------------------------------------------------


def test_kto_by_hand():
    # r = policy - ref = [0.5, -0.5, 0.0]; z = 0.2; β = 0.5; λ_D = 1, λ_U = 2.
    kl = torch.tensor(0.2, dtype=torch.float64, requires_grad=True)
    policy = t(-1.0, -2.0, -3.0).requires_grad_()
    loss = kto_loss(
        policy,
        t(-1.5, -1.5, -3.0),
        torch.tensor([True, False, True]),
        kl,
        beta=0.5,
        desirable_weight=1.0,
        undesirable_weight=2.0,
    )
    close(
        loss,
        [
            1 - sigmoid(0.5 * (0.5 - 0.2)),
            2 * (1 - sigmoid(0.5 * (0.2 - -0.5))),
            1 - sigmoid(0.5 * (0.0 - 0.2)),
        ],
    )
    loss.sum().backward()
    assert kl.grad is None  # the KL baseline is detached
    assert torch.isfinite(policy.grad).all()


def test_kto_negative_kl_is_clamped_to_zero():
    loss = kto_loss(t(-1.0), t(-1.5), torch.tensor([True]), t(-3.0)[0], beta=0.5)
    close(loss, [1 - sigmoid(0.5 * 0.5)])


# ---------------------------------------------------------------------------
# K-wise Bradley–Terry reward loss
# ---------------------------------------------------------------------------


def expanded_pairs_loss(rewards, ranks, mask, margin_per_rank=0.0):
    """Reference: expand each annotation into its pairs with a plain double loop."""
    per_annotation = []
    for a in range(rewards.shape[0]):
        terms = []
        for w in range(rewards.shape[1]):
            for l in range(rewards.shape[1]):  # noqa: E741
                if mask[a, w] and mask[a, l] and ranks[a, w] < ranks[a, l]:
                    gap = float(ranks[a, l] - ranks[a, w])
                    logit = rewards[a, w] - rewards[a, l] - margin_per_rank * gap
                    terms.append(-F.logsigmoid(logit))
        if terms:
            per_annotation.append(sum(terms) / len(terms))  # weight 1/P_a
    return sum(per_annotation) / len(per_annotation)


def test_kwise_bt_by_hand_instructgpt():
    # K=3, ranks 1,2,3, rewards 1,0,-1: pairs (0,1), (0,2), (1,2), weighted 1/C(3,2).
    loss = kwise_bradley_terry_loss(t(1.0, 0.0, -1.0)[None], torch.tensor([[1, 2, 3]]))
    expected = (neg_log_sigmoid(1.0) + neg_log_sigmoid(2.0) + neg_log_sigmoid(1.0)) / 3
    close(loss, expected)


def test_kwise_bt_margin_by_hand():
    # Ranks 1 and 3, margin 0.25 per rank: -log σ(1.0 - 0.25·2).
    loss = kwise_bradley_terry_loss(
        t(1.0, 0.0)[None], torch.tensor([[1, 3]]), margin_per_rank=0.25
    )
    close(loss, neg_log_sigmoid(0.5))


def test_kwise_bt_weights_rankings_by_hand():
    # Ranking A: K=2, rewards 1, 0 -> -log σ(1). Ranking B: K=3, rewards 1, 0, -1
    # -> (-log σ(1) - log σ(2) - log σ(1)) / 3. Ranking C: all tied, no pair, so its
    # weight 5 counts nowhere. Weights 3 and 1: (3·A + 1·B) / 4.
    rewards = t(1.0, 0.0, 0.0, 1.0, 0.0, -1.0, 0.5, 0.2, 0.1).reshape(3, 3)
    ranks = torch.tensor([[1, 2, 0], [1, 2, 3], [1, 1, 1]])
    mask = torch.tensor([[True, True, False], [True, True, True], [True] * 3])
    a = neg_log_sigmoid(1.0)
    b = (neg_log_sigmoid(1.0) + neg_log_sigmoid(2.0) + neg_log_sigmoid(1.0)) / 3
    weighted = kwise_bradley_terry_loss(rewards, ranks, mask=mask, weights=t(3, 1, 5))
    close(weighted, (3 * a + b) / 4)
    plain = kwise_bradley_terry_loss(rewards, ranks, mask=mask)
    close(plain, (a + b) / 2)
    ones = kwise_bradley_terry_loss(rewards, ranks, mask=mask, weights=t(1, 1, 1))
    close(ones, (a + b) / 2)


@pytest.mark.parametrize("k", range(2, 10))
def test_kwise_bt_equals_expanded_pairs_with_ties_and_padding(k):
    gen = torch.Generator().manual_seed(k)
    n = 6
    rewards = torch.randn(n, k, generator=gen, dtype=torch.float64) * 3
    ranks = torch.randint(1, k + 1, (n, k), generator=gen)  # repeats are ties
    ranks[0] = torch.arange(1, k + 1)  # one annotation without ties: C(K,2) pairs
    ranks[1] = 1  # all tied: no pairs, so left out of the mean over annotations
    lengths = torch.randint(2, k + 1, (n,), generator=gen)
    lengths[0] = k
    mask = torch.arange(k)[None] < lengths[:, None]  # (n, k), padded on the right
    rewards[~mask] = 1e4  # garbage in padding slots must not matter
    ranks[~mask] = 0  # even a "best" rank in padding must not matter

    for margin in (0.0, 0.3):
        r_vec = rewards.clone().requires_grad_()
        r_ref = rewards.clone().requires_grad_()
        loss = kwise_bradley_terry_loss(r_vec, ranks, mask=mask, margin_per_rank=margin)
        expected = expanded_pairs_loss(r_ref, ranks, mask, margin)
        torch.testing.assert_close(loss, expected)
        loss.backward()
        expected.backward()
        torch.testing.assert_close(r_vec.grad, r_ref.grad)
        assert (r_vec.grad[~mask] == 0).all()


def test_kwise_bt_all_tied_is_zero_with_grad():
    rewards = torch.tensor([[0.3, -0.2, 1.0]], requires_grad=True)
    loss = kwise_bradley_terry_loss(rewards, torch.tensor([[2, 2, 2]]))
    loss.backward()
    assert loss.item() == 0.0
    assert torch.equal(rewards.grad, torch.zeros_like(rewards))


def test_kwise_bt_extreme_rewards_are_finite():
    rewards = torch.tensor([[-1e6, 1e6, 0.0]], requires_grad=True)
    loss = kwise_bradley_terry_loss(rewards, torch.tensor([[1, 2, 3]]))
    loss.backward()
    assert torch.isfinite(loss) and torch.isfinite(rewards.grad).all()


def test_kwise_accuracy_counts():
    # Row 0: (0,1) 3>1 ok, (0,2) 3>2 ok, (1,2) 1>2 wrong.
    # Row 1: ranks 1,1,2 → pairs (0,2) 5>0 ok, (1,2) 0>0 wrong; the tie gives no pair;
    #        the padded slot 3 gives none either.
    rewards = torch.tensor([[3.0, 1.0, 2.0, 0.0], [5.0, 0.0, 0.0, 9.0]])
    ranks = torch.tensor([[1, 2, 3, 4], [1, 1, 2, 3]])
    mask = torch.tensor([[True, True, True, False], [True, True, True, False]])
    correct, total = kwise_pairwise_accuracy(rewards, ranks, mask=mask)
    assert (correct.item(), total.item()) == (3, 5)


# ---------------------------------------------------------------------------
# Listwise losses
# ---------------------------------------------------------------------------


def test_rrhf_by_hand():
    # p = [-2/2, -6/3, -3/1] = [-1, -2, -3]; ranks [2, 1, 3] so slot 1 is best.
    # Pairs (better, worse): (1,0) max(0, -1 - -2) = 1, (1,2) max(0, -3 - -2) = 0,
    # (0,2) max(0, -3 - -1) = 0. SFT: -p_best = 2, weight 0.5 → 1. Total 2.
    loss = rrhf_loss(
        t(-2.0, -6.0, -3.0)[None],
        t(2, 3, 1)[None],
        torch.tensor([[2, 1, 3]]),
        sft_weight=0.5,
    )
    close(loss, [2.0])


def test_rrhf_ignores_padding():
    logps = t(-2.0, -6.0, -3.0, -1e4)[None]
    lengths = t(2, 3, 1, 0)[None]
    ranks = torch.tensor([[2, 1, 3, 0]])  # padded slot claims the best rank
    mask = torch.tensor([[True, True, True, False]])
    close(rrhf_loss(logps, lengths, ranks, mask=mask, sft_weight=0.5), [2.0])


def test_plackett_luce_by_hand():
    # Scores [1, 2, 0], ranks [2, 1, 3]: order 1 ≻ 0 ≻ 2.
    # NLL = -(2 - log(e + e² + 1)) - (1 - log(e + 1)) - 0
    loss = plackett_luce_loss(t(1.0, 2.0, 0.0)[None], torch.tensor([[2, 1, 3]]))
    e = math.e
    close(loss, [-(2 - math.log(e + e**2 + 1)) - (1 - math.log(e + 1))])


def test_plackett_luce_ties_share_risk_set():
    # Ranks [1, 1, 2]: slots 0 and 1 each face {0, 1, 2}; slot 2 faces {2}.
    loss = plackett_luce_loss(t(1.0, 2.0, 0.0)[None], torch.tensor([[1, 1, 2]]))
    denom = math.log(math.e + math.e**2 + 1)
    close(loss, [(denom - 1) + (denom - 2) + 0.0])


def test_plackett_luce_k2_equals_bradley_terry():
    gen = torch.Generator().manual_seed(0)
    scores = torch.randn(8, 2, generator=gen, dtype=torch.float64) * 4
    ranks = torch.tensor([[1, 2], [2, 1]]).repeat(4, 1)
    winner = ranks.argmin(dim=1)
    s_w = scores.gather(1, winner[:, None]).squeeze(1)
    s_l = scores.gather(1, 1 - winner[:, None]).squeeze(1)
    torch.testing.assert_close(
        plackett_luce_loss(scores, ranks), -F.logsigmoid(s_w - s_l)
    )


def test_plackett_luce_padding_is_ignored():
    scores = t(1.0, 2.0, 0.0, 1e4)[None].requires_grad_()
    ranks = torch.tensor([[2, 1, 3, 4]])
    mask = torch.tensor([[True, True, True, False]])
    loss = plackett_luce_loss(scores, ranks, mask=mask)
    expected = plackett_luce_loss(t(1.0, 2.0, 0.0)[None], ranks[:, :3])
    torch.testing.assert_close(loss, expected)
    loss.sum().backward()
    assert scores.grad[0, 3] == 0


# ---------------------------------------------------------------------------
# PPO pieces
# ---------------------------------------------------------------------------


def test_masked_mean_and_whiten():
    values = t(1.0, 3.0, 100.0)[None]
    mask = torch.tensor([[True, True, False]])
    close(masked_mean(values, mask), 2.0)
    close(masked_mean(values, mask, dim=1), [2.0])
    close(masked_mean(values, torch.zeros_like(mask)), 0.0)
    # mean 2, variance 1 → (1-2)/1, (3-2)/1; padding set to 0.
    torch.testing.assert_close(masked_whiten(values, mask), t(-1.0, 1.0, 0.0)[None])
    torch.testing.assert_close(
        masked_whiten(values, mask, shift_mean=False), t(1.0, 3.0, 0.0)[None]
    )


def test_gae_three_steps_by_hand():
    # γ = 0.9, λ = 0.8, γλ = 0.72; rewards [0, 0, 1], values [0.5, 0.6, 0.7].
    # δ2 = 1 + 0.9·0 - 0.7 = 0.3            A2 = 0.3
    # δ1 = 0 + 0.9·0.7 - 0.6 = 0.03         A1 = 0.03 + 0.72·0.3 = 0.246
    # δ0 = 0 + 0.9·0.6 - 0.5 = 0.04         A0 = 0.04 + 0.72·0.246 = 0.21712
    advantages, returns = gae_advantages(
        t(0.0, 0.0, 1.0)[None],
        t(0.5, 0.6, 0.7)[None],
        torch.ones(1, 3, dtype=torch.bool),
        gamma=0.9,
        lam=0.8,
    )
    close(advantages, [[0.21712, 0.246, 0.3]])
    close(returns, [[0.21712 + 0.5, 0.246 + 0.6, 0.3 + 0.7]])


def test_gae_skips_padding_on_both_sides():
    # The same 3-step row with a pad before and after, holding garbage.
    advantages, returns = gae_advantages(
        t(9.0, 0.0, 0.0, 1.0, 9.0)[None],
        t(9.0, 0.5, 0.6, 0.7, 9.0)[None],
        torch.tensor([[False, True, True, True, False]]),
        gamma=0.9,
        lam=0.8,
    )
    close(advantages, [[0.0, 0.21712, 0.246, 0.3, 0.0]])
    close(returns, [[0.0, 0.71712, 0.846, 1.0, 0.0]])


def test_ppo_clipping_active_and_inactive():
    # ε = 0.2. Per token, loss = max(-A ρ, -A clip(ρ)):
    #   ρ=1.5, A=+1: max(-1.5, -1.2) = -1.2  (clipped: no gradient)
    #   ρ=1.5, A=-1: max( 1.5,  1.2) =  1.5  (unclipped)
    #   ρ=0.5, A=+1: max(-0.5, -0.8) = -0.5  (unclipped)
    #   ρ=0.5, A=-1: max( 0.5,  0.8) =  0.8  (clipped: no gradient)
    ratios = t(1.5, 1.5, 0.5, 0.5)[None]
    logprobs = ratios.log().requires_grad_()
    advantages = t(1.0, -1.0, 1.0, -1.0)[None]
    mask = torch.ones(1, 4, dtype=torch.bool)
    loss = ppo_policy_loss(logprobs, torch.zeros(1, 4), advantages, mask)
    close(loss, (-1.2 + 1.5 - 0.5 + 0.8) / 4)
    loss.backward()
    # d(-A ρ)/d log π = -A ρ, averaged over 4 tokens.
    close(logprobs.grad, [[0.0, 1.5 / 4, -0.5 / 4, 0.0]])


def test_ppo_value_clipping():
    # ε = 0.2, old value 1.0, return 2.0:
    #   V=1.5: unclipped 0.25, clipped V=1.2 → 0.64; ½·0.64 = 0.32
    #   V=1.1: both 0.81; ½·0.81 = 0.405
    #   V=0.0: unclipped 4.0, clipped V=0.8 → 1.44; ½·4.0 = 2.0
    values = t(1.5, 1.1, 0.0)[None]
    loss = ppo_value_loss(
        values, torch.ones(1, 3), torch.full((1, 3), 2.0), torch.ones(1, 3)
    )
    close(loss, (0.32 + 0.405 + 2.0) / 3)


def test_masked_positions_contribute_nothing():
    mask = torch.tensor([[True, True, False]])
    logprobs = t(-0.1, -0.2, 1e4)[None].requires_grad_()
    values = t(1.5, 1.1, -1e4)[None].requires_grad_()
    old, garbage = t(-0.3, -0.2, -1e4)[None], t(0.5, -1.0, 1e4)[None]

    policy = ppo_policy_loss(logprobs, old, garbage, mask)
    value = ppo_value_loss(values, torch.ones(1, 3), garbage, mask)
    nll = pretraining_nll_loss(logprobs, mask)
    (policy + value + nll).backward()

    short = slice(0, 2)
    torch.testing.assert_close(
        policy,
        ppo_policy_loss(
            logprobs[:, short], old[:, short], garbage[:, short], mask[:, short]
        ),
    )
    torch.testing.assert_close(
        value,
        ppo_value_loss(
            values[:, short], torch.ones(1, 2), garbage[:, short], mask[:, short]
        ),
    )
    close(nll, (0.1 + 0.2) / 2)
    assert logprobs.grad[0, 2] == 0 and values.grad[0, 2] == 0
    assert torch.isfinite(logprobs.grad).all() and torch.isfinite(values.grad).all()


def test_per_token_kl_estimators():
    # π = 0.5, π_ref = 0.25: k1 = log 2; r = 0.25/0.5 = 0.5, k3 = (0.5 - 1) - log 0.5.
    logp, ref = t(math.log(0.5), 0.0), t(math.log(0.25), 0.0)
    close(per_token_kl(logp, ref), [math.log(2), 0.0])
    close(per_token_kl(logp, ref, estimator="k3"), [-0.5 - math.log(0.5), 0.0])
    with pytest.raises(ValueError, match="estimator"):
        per_token_kl(logp, ref, estimator="k9")  # type: ignore[arg-type]


def test_rloo_leave_one_out():
    # rewards [1, 2, 3, 6]: baselines (2+3+6)/3, (1+3+6)/3, (1+2+6)/3, (1+2+3)/3.
    close(rloo_advantages(t(1.0, 2.0, 3.0, 6.0)[None]), [[-8 / 3, -4 / 3, 0.0, 4.0]])
    with pytest.raises(ValueError, match="K >= 2"):
        rloo_advantages(t(1.0)[None])


def test_adaptive_kl_moves_beta_toward_target():
    # error = clip(KL/6 - 1, ±0.2); β ← β(1 + error·n_steps/horizon).
    up = AdaptiveKLController(init_beta=0.1, target_kl=6.0, horizon=10_000)
    assert up.update(12.0, 256) == pytest.approx(0.1 * (1 + 0.2 * 256 / 10_000))
    down = AdaptiveKLController(init_beta=0.1, target_kl=6.0, horizon=10_000)
    assert down.update(3.0, 256) == pytest.approx(0.1 * (1 - 0.2 * 256 / 10_000))
    small = AdaptiveKLController(init_beta=0.1, target_kl=6.0, horizon=10_000)
    assert small.update(6.6, 100) == pytest.approx(0.1 * (1 + 0.1 * 100 / 10_000))
    fixed = FixedKLController(init_beta=0.1)
    assert fixed.update(100.0, 256) == 0.1
