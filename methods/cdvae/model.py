"""``CdvaeModel``: the composition-conditioned CD-VAE latent space LCOM optimises in (LCOM §4.1, Xie et al. 2022).

``encode`` maps crystals to posterior means z; ``decode`` maps z and each
crystal's fixed atom types back to a crystal: the lattice from an MLP on z,
the coordinates by annealed Langevin dynamics of the score network from
uniform random fractional coordinates over a geometric noise schedule. The
paper's composition and atom-count heads are left out: in CSP both are fixed.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import torch
from pymatgen.core import Lattice, Structure
from torch import nn

from crystalbench.api import is_structurally_valid
from crystalbench.methods.cdvae.config import CdvaeConfig
from crystalbench.methods.cdvae.graph import (
    CrystalBatch,
    atomic_numbers,
    batch_of,
    lattice_parameters,
    radius_edges,
    structures_of,
)
from crystalbench.methods.cdvae.networks import Encoder, LatticeHead, ScoreNetwork

WEIGHTS_FILE = "model.pt"
CONFIG_FILE = "config.json"


def default_device() -> torch.device:
    """The one place the device is chosen: the GPU when torch sees one, else the CPU."""
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def canonical(structure: Structure) -> Structure:
    """The Niggli-reduced cell: what the model trains on, encodes, and is judged against."""
    return structure.get_reduced_structure()


class CdvaeModel(nn.Module):
    """Encoder, lattice head and score network, with the lattice standardisation and noise schedule as buffers."""

    def __init__(self, config: CdvaeConfig):
        super().__init__()
        self.config = config
        self.encoder = Encoder(config.hidden, config.encoder_layers, config.latent_dim, config.cutoff, config.n_rbf)
        self.lattice_head = LatticeHead(config.latent_dim, config.hidden)
        self.score = ScoreNetwork(config.hidden, config.score_layers, config.latent_dim, config.cutoff, config.n_rbf)
        self.register_buffer("lattice_mean", torch.zeros(6))
        self.register_buffer("lattice_std", torch.ones(6))
        self.register_buffer("sigmas", torch.tensor(
            np.geomspace(config.sigma_begin, config.sigma_end, config.noise_levels), dtype=torch.float32))

    @property
    def latent_dim(self) -> int:
        return self.config.latent_dim

    @property
    def device(self) -> torch.device:
        return self.sigmas.device

    def save(self, directory: Path) -> None:
        torch.save(self.state_dict(), directory / WEIGHTS_FILE)
        (directory / CONFIG_FILE).write_text(json.dumps(self.config.key(), indent=1, sort_keys=True))

    @classmethod
    def load(cls, directory: Path, device: str | torch.device = "cpu") -> CdvaeModel:
        """The trained model of an artifact directory written by ``prepare_cdvae``, in eval mode on ``device``."""
        config = CdvaeConfig.from_params(json.loads((Path(directory) / CONFIG_FILE).read_text()))
        model = cls(config)
        model.load_state_dict(torch.load(Path(directory) / WEIGHTS_FILE, map_location="cpu", weights_only=True))
        return model.to(device).eval()

    def posterior(self, crystals: CrystalBatch) -> tuple[torch.Tensor, torch.Tensor]:
        """Posterior mean and log-variance, each (B, latent_dim), of crystals in their canonical cells."""
        lattice_features = (lattice_parameters(crystals) - self.lattice_mean) / self.lattice_std
        return self.encoder(crystals, radius_edges(crystals, self.config.cutoff), lattice_features)

    @torch.no_grad()
    def encode(self, structures: list[Structure]) -> torch.Tensor:
        """Posterior means (N, latent_dim) of ``structures`` (any cell setting); deterministic."""
        mean, _ = self.posterior(batch_of([canonical(s) for s in structures]).to(self.device))
        return mean

    def lattice_of(self, z: torch.Tensor, n_atoms: torch.Tensor) -> torch.Tensor:
        """(B, 6) lattice lengths (Å) and angles (degrees) the head predicts for ``z`` (B, latent_dim)."""
        params = self.lattice_head(z) * self.lattice_std + self.lattice_mean
        scale = n_atoms.to(params.dtype)[:, None] ** (1 / 3)
        return torch.cat([params[:, :3] * scale, params[:, 3:]], dim=-1)

    def denoising_direction(self, crystals: CrystalBatch, z: torch.Tensor, sigma: torch.Tensor) -> torch.Tensor:
        """Score network output u (A, 3) ≈ (true − noisy) / σ; ``sigma`` (B,)."""
        return self.score(crystals, radius_edges(crystals, self.config.cutoff), z, sigma)

    @torch.no_grad()
    def decode(self, z: torch.Tensor, species: list[list[str]], generator: torch.Generator) -> list[Structure | None]:
        """Crystals of latents ``z`` (N, latent_dim) with atom types ``species[i]``; None where not structurally valid.

        ``generator`` (a CPU ``torch.Generator``) draws the random start and the
        Langevin noise, so equal generator states give equal crystals on CPU.
        """
        if len(species) != len(z):
            raise ValueError(f"decode: {len(z)} latents but {len(species)} species lists")
        z = z.to(self.device, torch.float32)
        n_atoms = torch.tensor([len(s) for s in species])
        params = self.lattice_of(z, n_atoms.to(self.device)).cpu().numpy().astype(float)
        lattices = [Lattice.from_parameters(*p) for p in params]
        usable = [bool(np.all(np.isfinite(lat.matrix)) and lat.volume > 1e-3) for lat in lattices]
        matrices = np.stack([lat.matrix if ok else np.eye(3) for lat, ok in zip(lattices, usable, strict=True)])
        n_total = int(n_atoms.sum())
        crystals = CrystalBatch(
            species=torch.tensor([n for s in species for n in atomic_numbers(s)], dtype=torch.long),
            frac=torch.rand(n_total, 3, generator=generator),
            lattice=torch.tensor(matrices, dtype=torch.float32),
            batch=torch.repeat_interleave(torch.arange(len(species)), n_atoms),
        ).to(self.device)
        crystals = self.langevin(crystals, z, generator)
        return [s if ok and is_structurally_valid(s) else None
                for s, ok in zip(structures_of(crystals), usable, strict=True)]

    def langevin(self, crystals: CrystalBatch, z: torch.Tensor, generator: torch.Generator) -> CrystalBatch:
        """Annealed Langevin dynamics over ``sigmas``: x ← x + ε u/σ + √(2ε) ξ, ε = step_lr (σ/σ_end)²."""
        inverse = torch.linalg.inv(crystals.lattice)[crystals.batch]  # (A, 3, 3)
        sigma_end = float(self.sigmas[-1])
        for sigma in self.sigmas.tolist():
            step = self.config.step_lr * (sigma / sigma_end) ** 2
            sigma_b = torch.full((crystals.n_crystals,), sigma, device=self.device)
            for _ in range(self.config.langevin_steps):
                noise = torch.randn(crystals.frac.shape, generator=generator).to(self.device)
                move = step * self.denoising_direction(crystals, z, sigma_b) / sigma + math.sqrt(2 * step) * noise
                crystals = crystals.with_frac(crystals.frac + torch.einsum("ai,aij->aj", move, inverse))
        return crystals
