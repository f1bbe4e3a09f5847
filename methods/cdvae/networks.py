"""The three networks of our CD-VAE: a periodic message-passing encoder, the lattice MLP and the score network.

All three share one interaction block (``Interaction``): an invariant message
from the two atom states and a Gaussian radial basis of the edge length,
averaged over each atom's neighbours within the cutoff. This stands in for the
paper's DimeNet++ encoder and GemNet decoder (no angular/triplet terms); the
score network's output is equivariant because it is a learnt scalar weight per
edge times the edge direction.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from crystalbench.methods.cdvae.graph import CrystalBatch, Edges

MAX_Z = 100


def mlp(n_in: int, hidden: int, n_out: int) -> nn.Sequential:
    return nn.Sequential(nn.Linear(n_in, hidden), nn.SiLU(), nn.Linear(hidden, hidden), nn.SiLU(),
                         nn.Linear(hidden, n_out))


class RadialBasis(nn.Module):
    """Gaussians on [0, cutoff] times a cosine envelope that takes messages smoothly to zero at the cutoff."""

    def __init__(self, cutoff: float, n_rbf: int):
        super().__init__()
        self.cutoff = cutoff
        self.register_buffer("centres", torch.linspace(0.0, cutoff, n_rbf))
        self.width = cutoff / n_rbf

    def forward(self, length: torch.Tensor) -> torch.Tensor:
        """(E,) Å → (E, n_rbf)."""
        envelope = 0.5 * (torch.cos(math.pi * length.clamp(max=self.cutoff) / self.cutoff) + 1.0)
        return torch.exp(-(((length[:, None] - self.centres) / self.width) ** 2)) * envelope[:, None]


def neighbour_sum(values: torch.Tensor, index: torch.Tensor, n: int) -> torch.Tensor:
    """Sum of ``values (E, F)`` per ``index (E,)`` into (n, F)."""
    return torch.zeros(n, values.shape[1], device=values.device, dtype=values.dtype).index_add_(0, index, values)


def neighbour_mean(values: torch.Tensor, index: torch.Tensor, n: int) -> torch.Tensor:
    """Mean of ``values (E, F)`` per ``index (E,)`` into (n, F); atoms without neighbours get zeros."""
    total = neighbour_sum(values, index, n)
    count = torch.zeros(n, device=values.device, dtype=values.dtype).index_add_(
        0, index, torch.ones_like(index, dtype=values.dtype))
    return total / count.clamp(min=1.0)[:, None]


class Interaction(nn.Module):
    """h_i ← h_i + MLP([h_i, mean_j MLP([h_i, h_j, rbf(d_ij)])])."""

    def __init__(self, hidden: int, n_rbf: int):
        super().__init__()
        self.message = mlp(2 * hidden + n_rbf, hidden, hidden)
        self.update = mlp(2 * hidden, hidden, hidden)

    def forward(self, h: torch.Tensor, edges: Edges, rbf: torch.Tensor) -> torch.Tensor:
        messages = self.message(torch.cat([h[edges.src], h[edges.dst], rbf], dim=-1))
        return h + self.update(torch.cat([h, neighbour_mean(messages, edges.src, len(h))], dim=-1))


class Encoder(nn.Module):
    """Crystal graph and its lattice parameters → posterior mean and log-variance, each (B, latent_dim).

    The mean-pooled atom states alone carry the cell only through the edge
    lengths; the standardised lattice parameters (B, 6) of the (Niggli-reduced)
    cell are appended to the pooled state so z pins down the lattice the
    lattice head must reproduce. Invariant to rotations.
    """

    def __init__(self, hidden: int, layers: int, latent_dim: int, cutoff: float, n_rbf: int):
        super().__init__()
        self.embed = nn.Embedding(MAX_Z, hidden)
        self.rbf = RadialBasis(cutoff, n_rbf)
        self.blocks = nn.ModuleList(Interaction(hidden, n_rbf) for _ in range(layers))
        self.head = mlp(hidden + 6, hidden, 2 * latent_dim)

    def forward(self, crystals: CrystalBatch, edges: Edges,
                lattice_features: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        h = self.embed(crystals.species)
        rbf = self.rbf(edges.length)
        for block in self.blocks:
            h = block(h, edges, rbf)
        pooled = neighbour_mean(h, crystals.batch, crystals.n_crystals)
        mean, log_var = self.head(torch.cat([pooled, lattice_features], dim=-1)).chunk(2, dim=-1)
        return mean, log_var


class LatticeHead(nn.Module):
    """z (B, latent_dim) → standardised (a, b, c) / n_atoms^(1/3) and (α, β, γ), (B, 6)."""

    def __init__(self, latent_dim: int, hidden: int):
        super().__init__()
        self.net = mlp(latent_dim, hidden, 6)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.net(z)


class ScoreNetwork(nn.Module):
    """Noisy crystal, its latent and noise level → per-atom denoising direction (A, 3).

    The output ``u_i = Σ_j w_ij r̂_ij`` (a learnt weight per edge times its
    direction, so equivariant) estimates (true − noisy position)_i / σ in Cartesian Å
    (minimum image); the score is ``u / σ``. Atom types enter as embeddings, z
    and log σ are added to every atom state.
    """

    def __init__(self, hidden: int, layers: int, latent_dim: int, cutoff: float, n_rbf: int):
        super().__init__()
        self.embed = nn.Embedding(MAX_Z, hidden)
        self.latent = nn.Linear(latent_dim, hidden)
        self.noise = mlp(1, hidden, hidden)
        self.rbf = RadialBasis(cutoff, n_rbf)
        self.blocks = nn.ModuleList(Interaction(hidden, n_rbf) for _ in range(layers))
        self.edge_weight = mlp(2 * hidden + n_rbf, hidden, 1)

    def forward(self, crystals: CrystalBatch, edges: Edges, z: torch.Tensor, sigma: torch.Tensor) -> torch.Tensor:
        """``z`` (B, latent_dim), ``sigma`` (B,) → (A, 3)."""
        h = (self.embed(crystals.species) + self.latent(z)[crystals.batch]
             + self.noise(torch.log(sigma)[:, None])[crystals.batch])
        length = edges.length
        rbf = self.rbf(length)
        for block in self.blocks:
            h = block(h, edges, rbf)
        weight = self.edge_weight(torch.cat([h[edges.src], h[edges.dst], rbf], dim=-1))
        direction = edges.vector / length.clamp(min=1e-6)[:, None]
        return neighbour_sum(weight * direction, edges.src, len(h))
