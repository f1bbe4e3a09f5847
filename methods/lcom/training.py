"""Training the surrogate: supervised regression (SL) or the conservative loss of COMs (LCOM).

Supervised: minimise the MSE between Ê(u, c) and the standardised energies.

Conservative (LCOM §4.2; COMs eq. 6 and its reference code), per batch:

* mine adversarial latents u⁺ = Opt(Ê, c) by ``adversarial_steps`` gradient steps
  of the current surrogate from the batch's own latents;
* the *over-estimation gap* g = mean Ê(u_data) − mean Ê(u⁺): how much lower the
  surrogate thinks the optimised latents are than the data it was fitted on;
* model loss  MSE + α · g  (the paper's MSE − α(E[Ê(z⁺)] − E[Ê(z_data)])): pushes
  Ê up at u⁺ and down on the data;
* the Lagrangian dual: α = exp(log α), and log α takes an Adam step on
  α · (τ − g) with g held fixed, so α grows while the gap exceeds the limit τ
  and shrinks once it is below.

Both losses use Adam on the model. Energies and the gap are in standardised
units, so τ is in standard deviations of the training energies.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import torch
from torch import Tensor

from crystalbench.methods.lcom.descent import descend
from crystalbench.methods.lcom.surrogate import Surrogate


@dataclass(frozen=True)
class Conservatism:
    """Settings of the conservative term (COMs: α₀ 1, α lr 0.01; LCOM: τ 1, 50 adversarial steps)."""

    tau: float = 1.0
    alpha: float = 1.0
    alpha_lr: float = 0.01
    adversarial_steps: int = 50
    step_size: float = 0.05

    def __post_init__(self) -> None:
        if not self.tau > 0:
            raise ValueError(f"tau must be positive, got {self.tau}")
        if not self.alpha > 0:
            raise ValueError(f"alpha must be positive (it is learnt as log alpha), got {self.alpha}")
        if not self.alpha_lr > 0:
            raise ValueError(f"alpha_lr must be positive, got {self.alpha_lr}")
        if self.adversarial_steps < 1:
            raise ValueError(f"adversarial_steps must be >= 1, got {self.adversarial_steps}")
        if not self.step_size > 0:
            raise ValueError(f"step_size must be positive, got {self.step_size}")


@dataclass
class TrainingLog:
    """Per-epoch means of the batch MSE and over-estimation gap, and α after each epoch (conservative only)."""

    mse: list[float] = field(default_factory=list)
    gap: list[float] = field(default_factory=list)
    alpha: list[float] = field(default_factory=list)


def train_surrogate(
    surrogate: Surrogate,
    u: Tensor,
    c: Tensor,
    energy: Tensor,
    epochs: int,
    batch_size: int,
    lr: float,
    generator: torch.Generator,
    conservatism: Conservatism | None = None,
) -> TrainingLog:
    """Train ``surrogate`` in place on standardised latents u (N, d), conditions c (N, k), standardised energies (N,).

    ``conservatism`` None is plain supervised regression. Batches are a fresh
    permutation from ``generator`` every epoch; the last batch may be smaller.
    """
    optimiser = torch.optim.Adam(surrogate.parameters(), lr=lr)
    log_alpha = torch.tensor(math.log(conservatism.alpha) if conservatism else 0.0, requires_grad=True)
    alpha_optimiser = torch.optim.Adam([log_alpha], lr=conservatism.alpha_lr if conservatism else 0.0)
    log = TrainingLog()
    n = len(u)
    surrogate.train()
    for _ in range(epochs):
        order = torch.randperm(n, generator=generator)
        mse_sum = gap_sum = 0.0
        batches = 0
        for start in range(0, n, batch_size):
            rows = order[start : start + batch_size]
            predicted = surrogate(u[rows], c[rows])
            mse = (predicted - energy[rows]).pow(2).mean()
            loss = mse
            if conservatism is not None:
                adversarial = descend(surrogate, u[rows], c[rows], conservatism.adversarial_steps,
                                      conservatism.step_size).final
                gap = predicted.mean() - surrogate(adversarial, c[rows]).mean()
                loss = mse + log_alpha.exp().detach() * gap
                alpha_loss = log_alpha.exp() * (conservatism.tau - gap.detach())
                alpha_optimiser.zero_grad()
                alpha_loss.backward()
                alpha_optimiser.step()
                gap_sum += float(gap.detach())
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
            mse_sum += float(mse.detach())
            batches += 1
        log.mse.append(mse_sum / batches)
        if conservatism is not None:
            log.gap.append(gap_sum / batches)
            log.alpha.append(float(log_alpha.detach().exp()))
    surrogate.eval()
    return log


def over_estimation_gap(surrogate: Surrogate, u: Tensor, c: Tensor, steps: int, step_size: float) -> float:
    """Mean standardised Ê(u) − Ê(Opt(u)) after ``steps`` descent steps: how far the surrogate lets itself be pushed."""
    path = descend(surrogate, u, c, steps, step_size)
    return float(path.energies[0].mean() - path.energies[-1].mean())
