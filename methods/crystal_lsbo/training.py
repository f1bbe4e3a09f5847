"""Training loops: eq. (4) for every VAE, plus the latent-consistency term of LCA retraining (eq. 6).

All randomness (initialisation, shuffling, reparameterisation noise, augmented
latents) comes from explicit seeds and ``torch.Generator`` objects, so the same
seed gives the same weights on CPU.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import Tensor

from crystalbench.methods.crystal_lsbo.vaes import VAE


def seeded(seed: int, build: Callable[[], VAE]) -> VAE:
    """Construct a model with its initial weights drawn from ``seed``, leaving the global torch RNG as it was."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return build()


@dataclass(frozen=True)
class Consistency:
    """LCA augmentation (App. A.1): latents ẑ ~ N(centre, σ_ref²), weighted by γ in the loss."""

    centre: Tensor
    """(latent_dim,) the part latent z* of a proposal that beat τ."""
    sigma: float
    gamma: float
    n: int
    """N*: augmented latents drawn (the paper: the training batch size)."""


def train_vae(
    model: VAE,
    x: Tensor,
    y: Tensor,
    labelled: Tensor,
    epochs: int,
    batch_size: int,
    lr: float,
    generator: torch.Generator,
    consistency: Consistency | None = None,
) -> list[float]:
    """Train ``model`` in place with RMSProp; returns the mean loss of each epoch.

    ``x`` (N, ...) inputs, ``y`` (N, N_PROPERTIES) standardised properties (any
    value where ``labelled`` (N,) is False). With ``consistency``, every batch also
    pays γ·mean LCL over the N* augmented latents (drawn once, as in Algorithm 2).
    """
    optimiser = torch.optim.RMSprop(model.parameters(), lr=lr)
    z_hat = None
    if consistency is not None:
        noise = torch.randn((consistency.n, consistency.centre.numel()), generator=generator)
        z_hat = consistency.centre.reshape(1, -1) + consistency.sigma * noise
    n = len(x)
    batch_size = min(batch_size, n)
    model.train()
    history = []
    for _ in range(epochs):
        order = torch.randperm(n, generator=generator)
        total, batches = 0.0, 0
        for start in range(0, n - batch_size + 1, batch_size):  # drop the ragged tail: batch norm needs > 1 row
            rows = order[start : start + batch_size]
            loss = model.loss(x[rows], y[rows], labelled[rows], generator)
            if z_hat is not None:
                loss = loss + consistency.gamma * model.consistency(z_hat).mean()
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
            total += float(loss.detach())
            batches += 1
        history.append(total / max(batches, 1))
    model.eval()
    return history
