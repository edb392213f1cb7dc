"""Losses for reward models, offline preference optimisation and PPO.

Pure functions of tensors: no model, no Django, no I/O. Every loss is something to
minimise. Conventions shared by every function:

- ``*_logps`` are per-sequence log-probs of the completion tokens, SUMMED over tokens,
  shape (B,); ``*_lengths`` are completion token counts, shape (B,).
- A loss that wants per-token log-probs divides by the lengths itself: SimPO, ORPO
  and RRHF always (their equations are per token); IPO's log-ratios and CPO's NLL
  term when ``length_normalize`` is true, the default, as their authors and TRL do.
- ``ranks`` are integers with 1 = best; equal ranks are ties and give no preference.
- ``mask`` is True (or 1) for real entries and False (or 0) for padding. Padded entries
  may hold any finite value: they change neither the loss nor the gradients.
- Pairwise preference losses return the UNREDUCED per-example loss, shape (B,), so a
  trainer can apply comparison weights before averaging.
"""

from collections.abc import Callable
from functools import partial
from typing import Literal

import torch
import torch.nn.functional as F
from torch import Tensor

# ---------------------------------------------------------------------------
# Shared pieces
# ---------------------------------------------------------------------------


def _log_ratio_margin(
    policy_chosen_logps: Tensor,
    policy_rejected_logps: Tensor,
    ref_chosen_logps: Tensor,
    ref_rejected_logps: Tensor,
) -> Tensor:
    """h = [log πθ(yw) - log πref(yw)] - [log πθ(yl) - log πref(yl)], shape (B,)."""
    chosen = policy_chosen_logps - ref_chosen_logps
    rejected = policy_rejected_logps - ref_rejected_logps
    return chosen - rejected


def _per_token(logps: Tensor, lengths: Tensor) -> Tensor:
    """Length-normalised log-prob (1/|y|) log π(y); a length of 0 counts as 1."""
    return logps / lengths.clamp(min=1)


def _per_token_if(logps: Tensor, lengths: Tensor, length_normalize: bool) -> Tensor:
    """(1/|y|) log π(y) if `length_normalize`, else the summed log π(y) unchanged."""
    return _per_token(logps, lengths) if length_normalize else logps


def _valid(ranks: Tensor, mask: Tensor | None) -> Tensor:
    """Boolean (N, K) of real (non-padding) slots."""
    if mask is None:
        return torch.ones_like(ranks, dtype=torch.bool)
    return mask.bool()


def _pairwise(
    scores: Tensor, ranks: Tensor, mask: Tensor | None
) -> tuple[Tensor, Tensor]:
    """Differences s_i - s_j and the indicator "i is ranked above j", both (N, K, K)."""
    valid = _valid(ranks, mask)
    scores = scores.masked_fill(~valid, 0.0)  # padding never reaches a gradient
    diff = scores.unsqueeze(2) - scores.unsqueeze(1)  # (N, K, K): [a, i, j] = s_i - s_j
    beats = ranks.unsqueeze(2) < ranks.unsqueeze(1)  # (N, K, K): rank_i < rank_j
    both_valid = valid.unsqueeze(2) & valid.unsqueeze(1)  # (N, K, K)
    return diff, beats & both_valid


def masked_mean(
    values: Tensor, mask: Tensor, dim: int | tuple[int, ...] | None = None
) -> Tensor:
    """Mean of `values` over positions where `mask` (same shape) is true; 0 if none."""
    mask = mask.bool()
    total = torch.where(mask, values, 0.0).sum(dim=dim)
    return total / mask.sum(dim=dim).clamp(min=1)


def masked_whiten(
    values: Tensor, mask: Tensor, *, shift_mean: bool = True, eps: float = 1e-8
) -> Tensor:
    """Normalise to zero mean, unit variance over masked positions; padding set to 0."""
    mean = masked_mean(values, mask)
    var = masked_mean((values - mean) ** 2, mask)
    whitened = (values - mean) * torch.rsqrt(var + eps)
    if not shift_mean:
        whitened = whitened + mean
    return torch.where(mask.bool(), whitened, 0.0)


# ---------------------------------------------------------------------------
# Reward model (K-wise rankings)
# ---------------------------------------------------------------------------


def kwise_bradley_terry_loss(
    rewards: Tensor,
    ranks: Tensor,
    *,
    mask: Tensor | None = None,
    margin_per_rank: float = 0.0,
    weights: Tensor | None = None,
) -> Tensor:
    """K-wise Bradley–Terry reward-model loss of InstructGPT (Ouyang et al. 2022).

    Each ranking's pairs share its weight (N,) equally, as in rankings_to_pairs;
    without weights every ranking counts the same (InstructGPT's 1/C(K,2) mean).
    """
    # InstructGPT (Ouyang et al. 2022, eq. 1): L = -1/C(K,2) Σ_(w,l) log σ(r_w - r_l)
    diff, beats = _pairwise(rewards, ranks, mask)  # (N, K, K): r_w - r_l, w above l
    rank_gap = (ranks.unsqueeze(1) - ranks.unsqueeze(2)).to(rewards.dtype)  # (N, K, K)
    logits = diff - margin_per_rank * rank_gap  # rank_gap[a, w, l] = rank_l - rank_w
    terms = torch.where(beats, -F.logsigmoid(logits), 0.0)  # (N, K, K)
    n_pairs = beats.sum(dim=(1, 2))  # (N,)
    per_annotation = terms.sum(dim=(1, 2)) / n_pairs.clamp(min=1)  # (N,)
    if weights is None:
        return masked_mean(per_annotation, n_pairs > 0)
    # A ranking without a strict pair (all tied) gives no term and takes no weight.
    counted = torch.where(n_pairs > 0, weights.to(rewards.dtype), 0.0)  # (N,)
    return (counted * per_annotation).sum() / counted.sum().clamp(min=1e-12)


def kwise_pairwise_accuracy(
    rewards: Tensor, ranks: Tensor, *, mask: Tensor | None = None
) -> tuple[Tensor, Tensor]:
    """(correctly ordered pairs, pairs) over strict preferences; ties are excluded."""
    diff, beats = _pairwise(rewards.detach(), ranks, mask)  # (N, K, K)
    correct = beats & (diff > 0)  # an exact reward tie on a strict pair is wrong
    return correct.sum(), beats.sum()


# ---------------------------------------------------------------------------
# Pairwise offline preference losses, each returning (B,)
# ---------------------------------------------------------------------------


def dpo_loss(
    policy_chosen_logps: Tensor,
    policy_rejected_logps: Tensor,
    ref_chosen_logps: Tensor,
    ref_rejected_logps: Tensor,
    *,
    beta: float = 0.1,
    label_smoothing: float = 0.0,
) -> Tensor:
    """DPO (Rafailov et al. 2023); label_smoothing ε > 0 is cDPO (Mitchell 2023)."""
    # DPO (Rafailov et al. 2023, eq. 7) + cDPO: L = -(1-ε) log σ(βh) - ε log σ(-βh)
    logits = beta * _log_ratio_margin(
        policy_chosen_logps, policy_rejected_logps, ref_chosen_logps, ref_rejected_logps
    )
    smoothed = label_smoothing * F.logsigmoid(-logits)
    return -(1.0 - label_smoothing) * F.logsigmoid(logits) - smoothed


def ipo_loss(
    policy_chosen_logps: Tensor,
    policy_rejected_logps: Tensor,
    ref_chosen_logps: Tensor,
    ref_rejected_logps: Tensor,
    chosen_lengths: Tensor,
    rejected_lengths: Tensor,
    *,
    beta: float = 0.1,
    length_normalize: bool = True,
) -> Tensor:
    """IPO (Azar et al. 2023), with β in the role of the paper's τ."""
    # IPO (Azar et al. 2023, eq. 17): L = (h - 1/(2τ))², h = log-ratio margin
    # h of per-token log-ratios by default: the IPO authors average over tokens (TRL
    # switched to it after asking them), so one target 1/(2τ) suits any length;
    # length_normalize=False gives the summed h.
    chosen = _per_token_if(
        policy_chosen_logps - ref_chosen_logps, chosen_lengths, length_normalize
    )
    rejected = _per_token_if(
        policy_rejected_logps - ref_rejected_logps, rejected_lengths, length_normalize
    )
    return (chosen - rejected - 1.0 / (2.0 * beta)) ** 2


def hinge_loss(
    policy_chosen_logps: Tensor,
    policy_rejected_logps: Tensor,
    ref_chosen_logps: Tensor,
    ref_rejected_logps: Tensor,
    *,
    beta: float = 0.1,
) -> Tensor:
    """SLiC-HF hinge (Zhao et al. 2023) on reference log-ratios, margin δ = 1/β."""
    # SLiC-HF (Zhao et al. 2023): L = max(0, δ - h); δ = 1/β, times β: max(0, 1 - βh)
    margin = _log_ratio_margin(
        policy_chosen_logps, policy_rejected_logps, ref_chosen_logps, ref_rejected_logps
    )
    return F.relu(1.0 - beta * margin)


def rdpo_loss(
    policy_chosen_logps: Tensor,
    policy_rejected_logps: Tensor,
    ref_chosen_logps: Tensor,
    ref_rejected_logps: Tensor,
    chosen_lengths: Tensor,
    rejected_lengths: Tensor,
    *,
    beta: float = 0.1,
    alpha: float = 0.01,
) -> Tensor:
    """R-DPO, length-regularised DPO (Park et al. 2024)."""
    # R-DPO (Park et al. 2024): L = -log σ(β h - (α|yw| - α|yl|)), h = log-ratio margin
    margin = _log_ratio_margin(
        policy_chosen_logps, policy_rejected_logps, ref_chosen_logps, ref_rejected_logps
    )
    length_gap = (chosen_lengths - rejected_lengths).to(margin.dtype)
    return -F.logsigmoid(beta * margin - alpha * length_gap)


def simpo_loss(
    policy_chosen_logps: Tensor,
    policy_rejected_logps: Tensor,
    chosen_lengths: Tensor,
    rejected_lengths: Tensor,
    *,
    beta: float = 2.0,
    gamma: float = 0.5,
) -> Tensor:
    """SimPO, reference-free and length-normalised (Meng et al. 2024)."""
    # SimPO (Meng et al. 2024, eq. 6): L = -log σ(β/|yw| logπ(yw) - β/|yl| logπ(yl) - γ)
    chosen = _per_token(policy_chosen_logps, chosen_lengths)
    rejected = _per_token(policy_rejected_logps, rejected_lengths)
    return -F.logsigmoid(beta * (chosen - rejected) - gamma)


def cpo_loss(
    policy_chosen_logps: Tensor,
    policy_rejected_logps: Tensor,
    chosen_lengths: Tensor,
    *,
    beta: float = 0.1,
    nll_weight: float = 1.0,
    length_normalize: bool = True,
) -> Tensor:
    """CPO, reference-free preference term plus NLL of yw (Xu et al. 2024)."""
    # CPO (Xu et al. 2024): L = -log σ(β log π(yw) - β log π(yl)) - λ log π(yw)
    # Summed log-probs in the preference term; the NLL term is yw's mean NLL per
    # token by default, as in TRL's CPOTrainer (a sum outweighs the preference term
    # about |yw| times). TRL pools the batch's tokens; here each pair's mean takes
    # the pair's weight, like its preference term.
    preference = -F.logsigmoid(beta * (policy_chosen_logps - policy_rejected_logps))
    nll = -_per_token_if(policy_chosen_logps, chosen_lengths, length_normalize)
    return preference + nll_weight * nll


def _log_odds(mean_logps: Tensor, *, eps: float = 1e-6) -> Tensor:
    """log(p / (1 - p)) for p = exp(mean_logps), kept finite as p → 1."""
    x = mean_logps.clamp(max=-eps)  # p = 1 exactly would give infinite odds
    return x - torch.log(-torch.expm1(x))  # log(1 - e^x) without cancellation


def orpo_loss(
    policy_chosen_logps: Tensor,
    policy_rejected_logps: Tensor,
    chosen_lengths: Tensor,
    rejected_lengths: Tensor,
    *,
    lam: float = 0.1,
) -> Tensor:
    """ORPO, odds-ratio preference optimisation (Hong et al. 2024)."""
    # ORPO (Hong et al. 2024): L = -log p(yw) - λ log σ(log odds(yw) - log odds(yl))
    chosen = _per_token(policy_chosen_logps, chosen_lengths)  # log p(yw)
    rejected = _per_token(policy_rejected_logps, rejected_lengths)
    odds_ratio = F.logsigmoid(_log_odds(chosen) - _log_odds(rejected))
    return -chosen - lam * odds_ratio


PREFERENCE_LOSSES: dict[str, Callable[..., Tensor]] = {
    "dpo": dpo_loss,
    "cdpo": partial(dpo_loss, label_smoothing=0.1),
    "ipo": ipo_loss,
    "hinge": hinge_loss,
    "rdpo": rdpo_loss,
    "simpo": simpo_loss,
    "cpo": cpo_loss,
    "orpo": orpo_loss,
}


# ---------------------------------------------------------------------------
# Unpaired and listwise losses
# ---------------------------------------------------------------------------


def kto_loss(
    policy_logps: Tensor,
    ref_logps: Tensor,
    desirable: Tensor,
    kl_reference: Tensor,
    *,
    beta: float = 0.1,
    desirable_weight: float = 1.0,
    undesirable_weight: float = 1.0,
) -> Tensor:
    """KTO on unpaired desirable/undesirable labels (Ethayarajh et al. 2024), (B,)."""
    # KTO (Ethayarajh et al. 2024): L = λ_D(1 - σ(β(r - z))) or λ_U(1 - σ(β(z - r)))
    log_ratio = policy_logps - ref_logps  # r
    z = kl_reference.detach().clamp(min=0)  # z is a baseline, not a training signal
    desirable_loss = desirable_weight * torch.sigmoid(beta * (z - log_ratio))  # σ(-x)
    undesirable_loss = undesirable_weight * torch.sigmoid(beta * (log_ratio - z))
    return torch.where(desirable.bool(), desirable_loss, undesirable_loss)


def rrhf_loss(
    completion_logps: Tensor,
    completion_lengths: Tensor,
    ranks: Tensor,
    *,
    mask: Tensor | None = None,
    sft_weight: float = 1.0,
) -> Tensor:
    """RRHF ranking loss plus SFT on the best completion (Yuan et al. 2023), (N,)."""
    # RRHF (Yuan et al. 2023): L = Σ_{rank_i<rank_j} max(0, p_j - p_i) - λ p_best
    scores = _per_token(completion_logps, completion_lengths)  # (N, K): p_i
    diff, beats = _pairwise(scores, ranks, mask)  # (N, K, K): p_i - p_j, i above j
    rank_loss = torch.where(beats, F.relu(-diff), 0.0).sum(dim=(1, 2))  # (N,)
    padded_ranks = ranks.masked_fill(~_valid(ranks, mask), ranks.max() + 1)  # (N, K)
    best = padded_ranks.argmin(dim=1, keepdim=True)  # (N, 1): first of the best
    sft = -scores.gather(1, best).squeeze(1)  # (N,)
    return rank_loss + sft_weight * sft


def plackett_luce_loss(
    scores: Tensor, ranks: Tensor, *, mask: Tensor | None = None
) -> Tensor:
    """Plackett–Luce ranking NLL (Plackett 1975; listwise DPO, Rafailov et al. 2023)."""
    # Plackett–Luce: L = -Σ_i [s_i - log Σ_{j: rank_j ≥ rank_i} exp(s_j)]
    # Ties share one risk set (Breslow): each tied item is scored against all items
    # ranked the same or lower, so a tie adds log-terms but prefers neither item.
    diff, beats = _pairwise(scores, ranks, mask)  # (N, K, K): s_i - s_j, i above j
    valid = _valid(ranks, mask)
    eye = torch.eye(ranks.shape[1], dtype=torch.bool, device=ranks.device)
    at_risk = (valid.unsqueeze(1) & ~beats.transpose(1, 2)) | eye  # (N, K, K): j vs i
    neg_diff = (-diff).masked_fill(~at_risk, float("-inf"))  # (N, K, K): s_j - s_i
    terms = torch.logsumexp(neg_diff, dim=2)  # (N, K): log Σ_j exp(s_j) - s_i
    return torch.where(valid, terms, 0.0).sum(dim=1)


# ---------------------------------------------------------------------------
# PPO / RLHF pieces
# ---------------------------------------------------------------------------


@torch.no_grad()
def gae_advantages(
    rewards: Tensor,
    values: Tensor,
    mask: Tensor,
    *,
    gamma: float = 1.0,
    lam: float = 0.95,
) -> tuple[Tensor, Tensor]:
    """GAE (Schulman et al. 2016); returns (advantages, returns)."""
    # GAE (Schulman et al. 2016, eq. 16): A_t = Σ (γλ)^l δ_t+l, δ_t = r_t + γV_t+1 - V_t
    # Padding anywhere in a row is skipped: V_{t+1} and A_{t+1} come from the next
    # response token, and are 0 after the last one.
    mask = mask.bool()
    next_value = torch.zeros_like(values[:, 0])  # (B,)
    next_advantage = torch.zeros_like(values[:, 0])  # (B,)
    advantages = []
    for t in reversed(range(values.shape[1])):
        delta = rewards[:, t] + gamma * next_value - values[:, t]
        advantage = delta + gamma * lam * next_advantage
        advantages.append(torch.where(mask[:, t], advantage, 0.0))
        next_value = torch.where(mask[:, t], values[:, t], next_value)
        next_advantage = torch.where(mask[:, t], advantage, next_advantage)
    advantages_bt = torch.stack(advantages[::-1], dim=1)  # (B, T)
    returns = torch.where(mask, advantages_bt + values, 0.0)
    return advantages_bt, returns


def ppo_policy_loss(
    logprobs: Tensor,
    old_logprobs: Tensor,
    advantages: Tensor,
    mask: Tensor,
    *,
    clip_range: float = 0.2,
) -> Tensor:
    """PPO clipped surrogate (Schulman et al. 2017) as a scalar loss to minimise."""
    # PPO (Schulman et al. 2017, eq. 7): L = -min(ρ A, clip(ρ, 1-ε, 1+ε) A), ρ = π/π_old
    log_ratio = torch.where(mask.bool(), logprobs - old_logprobs, 0.0)  # no inf on pads
    ratio = torch.exp(log_ratio)
    unclipped = -advantages * ratio
    clipped = -advantages * ratio.clamp(1.0 - clip_range, 1.0 + clip_range)
    return masked_mean(torch.maximum(unclipped, clipped), mask)


def ppo_value_loss(
    values: Tensor,
    old_values: Tensor,
    returns: Tensor,
    mask: Tensor,
    *,
    clip_range_value: float = 0.2,
) -> Tensor:
    """Clipped value loss of PPO (Schulman et al. 2017, as in OpenAI baselines)."""
    # PPO (Schulman et al. 2017, eq. 9 L^VF): ½ max((V - R)², (clip(V, V_old ± ε) - R)²)
    delta = (values - old_values).clamp(-clip_range_value, clip_range_value)
    clipped = old_values + delta
    loss = torch.maximum((values - returns) ** 2, (clipped - returns) ** 2)
    return 0.5 * masked_mean(loss, mask)


def per_token_kl(
    logprobs: Tensor, ref_logprobs: Tensor, *, estimator: Literal["k1", "k3"] = "k1"
) -> Tensor:
    """Per-token estimate of KL(π || π_ref) from sampled tokens (Schulman 2020)."""
    # Schulman (2020), "Approximating KL divergence": k1 = -log r, k3 = (r - 1) - log r
    log_ratio = logprobs - ref_logprobs  # -log r, with r = π_ref / π
    if estimator == "k1":
        return log_ratio
    if estimator == "k3":
        return torch.expm1(-log_ratio) + log_ratio
    raise ValueError(f"estimator must be 'k1' or 'k3', got {estimator!r}")


def pretraining_nll_loss(token_logprobs: Tensor, mask: Tensor) -> Tensor:
    """PPO-ptx pretraining term of InstructGPT (Ouyang et al. 2022), scalar."""
    # InstructGPT (Ouyang et al. 2022, eq. 2): objective += γ E_pretrain[log π(x)]
    return -masked_mean(token_logprobs, mask)


def rloo_advantages(rewards: Tensor) -> Tensor:
    """REINFORCE leave-one-out advantages (Ahmadian et al. 2024), shape (B, K)."""
    # RLOO (Ahmadian et al. 2024): A_i = r_i - 1/(K-1) Σ_{j≠i} r_j
    k = rewards.shape[1]
    if k < 2:
        raise ValueError(f"rewards must have K >= 2 samples per prompt, got K={k}")
    baseline = (rewards.sum(dim=1, keepdim=True) - rewards) / (k - 1)  # (B, K)
    return rewards - baseline


class AdaptiveKLController:
    """Adaptive KL coefficient of Ziegler et al. (2019)."""

    def __init__(self, init_beta: float, target_kl: float, horizon: int) -> None:
        self.beta = init_beta
        self.target_kl = target_kl
        self.horizon = horizon

    def update(self, current_kl: float, n_steps: int) -> float:
        """Move β toward the value that keeps the KL at target; returns the new β."""
        # Ziegler et al. (2019): e = clip(KL / KL_target - 1, ±0.2), β ← β(1 + K_β e)
        error = min(max(float(current_kl) / self.target_kl - 1.0, -0.2), 0.2)
        self.beta *= 1.0 + error * n_steps / self.horizon  # K_β = n_steps / horizon
        return self.beta


class FixedKLController:
    """Constant KL coefficient with the AdaptiveKLController interface."""

    def __init__(self, init_beta: float) -> None:
        self.beta = init_beta

    def update(self, current_kl: float, n_steps: int) -> float:
        """Return β unchanged."""
        return self.beta
