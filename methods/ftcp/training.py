"""Training the FTCP-VAE: featurise the dataset, scale, split, and fit with the reference recipe.

Recipe of the FTCP reference code: RMSprop (lr 5e-4, ρ 0.9), loss weights KL 2
and property 10, per-row min-max scaling of the FTCP matrices fitted on the
training split, properties (formation energy, band gap) min-max scaled, and
the learning rate lowered to 1e-4 at epoch 50 and 5e-5 at epoch 100. The
reference trains 200 epochs in batches of 256 on ~40k crystals; on the bundled
~2k crystals and 2 CPU cores that budget would take an hour, so the defaults
are 30 epochs in batches of 32 (the model needs optimiser steps more than
epochs; fewer than 50 epochs never reach the first drop). All randomness
(initialisation, shuffling, reparameterisation noise, the split) comes from ``seed``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from crystalbench.api import Dataset, UserError
from crystalbench.api.params import Settings
from crystalbench.methods.ftcp.representation import Layout, encode
from crystalbench.methods.ftcp.vae import FTCPVAE, vae_loss

PROPERTIES = ("formation_energy_per_atom", "band_gap")
LR_DROPS = (50, 100)
"""Epochs at which the learning rate falls to 1/5 and 1/10 of its start (reference: 5e-4 -> 1e-4 -> 5e-5)."""


@dataclass(frozen=True)
class TrainingConfig(Settings):
    """Everything that determines the trained artifact (with the dataset digest)."""

    where = "vae"

    max_elements: int = 4
    max_sites: int = 20
    n_kpoints: int = 59
    latent_dim: int = 256
    epochs: int = 30
    batch_size: int = 32
    learning_rate: float = 5e-4
    kl_weight: float = 2.0
    property_weight: float = 10.0
    test_fraction: float = 0.2
    seed: int = 0
    quality_samples: int = 1000
    """Prior samples z ~ N(0, I) decoded for the valid-decode rate."""

    def check(self) -> None:
        for name in ("max_elements", "max_sites", "n_kpoints", "latent_dim", "epochs", "batch_size"):
            if getattr(self, name) < 1:
                raise UserError(f"vae.{name} must be >= 1, got {getattr(self, name)}")
        if self.quality_samples < 0:
            raise UserError(f"vae.quality_samples must be >= 0, got {self.quality_samples}")
        if not 0 < self.test_fraction < 1:
            raise UserError(f"vae.test_fraction must be in (0, 1), got {self.test_fraction}")

    @property
    def layout(self) -> Layout:
        return Layout(self.max_elements, self.max_sites, self.n_kpoints)


@dataclass(frozen=True)
class Featurised:
    """The dataset crystals that fit the layout, as FTCP matrices with their labels."""

    rows: np.ndarray
    """Dataset row of each matrix, shape (N,)."""
    matrices: np.ndarray
    """Unscaled FTCP matrices, shape (N, n_rows, n_channels)."""
    labels: np.ndarray
    """PROPERTIES of each crystal, shape (N, 2)."""
    skipped: int
    """Crystals left out: over the limits, disordered, or with a missing label."""


class MinMax:
    """Min-max scaling to [0, 1] (the reference uses scikit-learn's; a constant feature keeps span 1)."""

    def __init__(self, lo: np.ndarray, hi: np.ndarray):
        self.lo, self.hi = lo, hi
        span = hi - lo
        self.span = np.where(span > 0, span, 1.0)

    @classmethod
    def fit(cls, x: np.ndarray, axes: tuple[int, ...]) -> "MinMax":
        """Fit over ``axes`` (which must include axis 0); matrices (N, R, C) with axes (0, 2) give lo/hi (R, 1)."""
        return cls(x.min(axis=axes, keepdims=True)[0], x.max(axis=axes, keepdims=True)[0])

    def scale(self, x: np.ndarray) -> np.ndarray:
        return (x - self.lo) / self.span

    def unscale(self, x: np.ndarray) -> np.ndarray:
        return x * self.span + self.lo


def featurise(dataset: Dataset, layout: Layout) -> Featurised:
    """FTCP matrices of every dataset crystal that fits ``layout`` and has finite labels."""
    labels = np.stack([dataset.labels(p) for p in PROPERTIES], axis=1)
    rows, matrices = [], []
    for i in range(len(dataset)):
        structure = dataset.structure(i)
        if np.all(np.isfinite(labels[i])) and layout.fits(structure):
            rows.append(i)
            matrices.append(encode(structure, layout))
    if not rows:
        raise ValueError(f"no dataset crystal fits the FTCP layout {layout}")
    rows = np.array(rows)
    return Featurised(rows=rows, matrices=np.stack(matrices), labels=labels[rows], skipped=len(dataset) - len(rows))


def split(n: int, test_fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Train and held-out positions: a seeded permutation, the first ``round(test_fraction · n)`` are held out."""
    perm = np.random.default_rng(seed).permutation(n)
    n_test = max(1, int(round(test_fraction * n)))
    return np.sort(perm[n_test:]), np.sort(perm[:n_test])


def train(x: np.ndarray, y: np.ndarray, config: TrainingConfig) -> tuple[FTCPVAE, list[float]]:
    """Fit an FTCP-VAE on scaled matrices x (N, R, C) and scaled properties y (N, P); returns it in eval mode.

    Returns the model and the mean loss per sample of every epoch.
    """
    generator = torch.Generator().manual_seed(config.seed)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(config.seed)
        model = FTCPVAE(x.shape[1], x.shape[2], config.latent_dim, y.shape[1])
    optimiser = torch.optim.RMSprop(model.parameters(), lr=config.learning_rate, alpha=0.9, eps=1e-7)
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimiser, lambda epoch: 1.0 if epoch < LR_DROPS[0] else 0.2 if epoch < LR_DROPS[1] else 0.1)
    xt = torch.as_tensor(x, dtype=torch.float32)
    yt = torch.as_tensor(y, dtype=torch.float32)
    losses = []
    model.train()
    for _ in range(config.epochs):
        order = torch.randperm(len(xt), generator=generator)
        total = 0.0
        for start in range(0, len(xt), config.batch_size):
            batch = order[start : start + config.batch_size]
            if len(batch) < 2:  # batch norm needs two samples
                continue
            noise = torch.randn(len(batch), config.latent_dim, generator=generator)
            x_hat, y_hat, mu, log_var = model(xt[batch], noise)
            loss = vae_loss(xt[batch], x_hat, yt[batch], y_hat, mu, log_var, config.kl_weight, config.property_weight)
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
            total += loss.item()
        schedule.step()
        losses.append(total / len(xt))
    return model.eval(), losses

