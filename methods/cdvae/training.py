"""Training the CD-VAE: lattice regression from z, denoising score matching of coordinates, KL to the prior.

Per crystal: z is drawn from the posterior, the lattice head regresses the
standardised lattice parameters, and the coordinates are perturbed with
Gaussian noise of one noise level drawn uniformly from the schedule; the score
network regresses (true − noisy)/σ in Cartesian Å, minimum image (Xie et al.'s
coordinate loss). The loss weights are the paper's (lattice 10, coordinates 10,
KL ``beta``). Cells are Niggli-reduced first, so the lattice head learns one
canonical setting per lattice.
"""

from __future__ import annotations

import hashlib
import time

import torch
from pymatgen.core import Structure

from crystalbench.methods.cdvae.config import CdvaeConfig
from crystalbench.methods.cdvae.graph import (
    CrystalBatch,
    batch_of,
    lattice_parameters,
    minimum_image,
)
from crystalbench.methods.cdvae.model import CdvaeModel, canonical, default_device

LATTICE_WEIGHT = 10.0
COORD_WEIGHT = 10.0


def train(structures: list[Structure], config: CdvaeConfig) -> tuple[CdvaeModel, dict]:
    """A CD-VAE trained on ``structures`` (in their canonical cells) and its history.

    History: ``epoch_loss``, ``train_seconds`` (wall clock) and ``train_cpu_seconds``
    (this process's CPU time, the figure that survives a busy machine).
    """
    structures = [canonical(s) for s in structures]
    torch.manual_seed(config.seed)
    generator = torch.Generator().manual_seed(config.seed)
    device = default_device()
    model = CdvaeModel(config)
    targets = lattice_parameters(batch_of(structures))
    model.lattice_mean.copy_(targets.mean(0))
    model.lattice_std.copy_(targets.std(0).clamp(min=1e-3) if len(structures) > 1 else torch.ones(6))
    model.to(device).train()
    optimiser = torch.optim.Adam(model.parameters(), lr=config.lr)
    scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimiser, T_max=config.epochs, eta_min=config.lr / 20)
    start, start_cpu = time.perf_counter(), time.process_time()
    losses = []
    for _ in range(config.epochs):
        order = torch.randperm(len(structures), generator=generator).tolist()
        total, count = 0.0, 0
        for first in range(0, len(order), config.batch_size):
            chosen = order[first:first + config.batch_size]
            crystals = batch_of([structures[i] for i in chosen]).to(device)
            loss = step_loss(model, crystals, generator)
            optimiser.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 10.0)
            optimiser.step()
            total, count = total + loss.item() * len(chosen), count + len(chosen)
        scheduler.step()
        losses.append(total / count)
    return model.eval(), {"epoch_loss": losses, "train_seconds": time.perf_counter() - start,
                          "train_cpu_seconds": time.process_time() - start_cpu}


def step_loss(model: CdvaeModel, crystals: CrystalBatch, generator: torch.Generator) -> torch.Tensor:
    """The training loss of one batch of canonical crystals."""
    device = model.device
    mean, log_var = model.posterior(crystals)
    z = mean + torch.exp(0.5 * log_var) * torch.randn(mean.shape, generator=generator).to(device)
    kl = -0.5 * torch.sum(1 + log_var - mean**2 - log_var.exp(), dim=-1).mean()
    predicted = model.lattice_head(z)
    lattice_loss = torch.mean((predicted - (lattice_parameters(crystals) - model.lattice_mean) / model.lattice_std) ** 2)

    level = torch.randint(len(model.sigmas), (crystals.n_crystals,), generator=generator).to(device)
    sigma = model.sigmas[level]  # (B,)
    sigma_atom = sigma[crystals.batch][:, None]
    lattice_atom = crystals.lattice[crystals.batch]
    noise = torch.randn(crystals.frac.shape, generator=generator).to(device) * sigma_atom
    noisy_frac = crystals.frac + torch.einsum("ai,aij->aj", noise, torch.linalg.inv(crystals.lattice)[crystals.batch])
    noisy = crystals.with_frac(noisy_frac)
    target = minimum_image(crystals.frac - noisy.frac, lattice_atom) / sigma_atom
    predicted_direction = model.denoising_direction(noisy, z, sigma)
    coord_loss = torch.mean(torch.sum((predicted_direction - target) ** 2, dim=-1))
    return LATTICE_WEIGHT * lattice_loss + COORD_WEIGHT * coord_loss + model.config.beta * kl


def split(ids: list[str], test_fraction: float) -> tuple[list[int], list[int]]:
    """Deterministic train/test positions: an id is held out when its hash falls below ``test_fraction``.

    Hashing the id (not the position) keeps a structure on its side of the
    split when other compounds' data are rebuilt.
    """
    held = [int(hashlib.sha256(i.encode()).hexdigest()[:8], 16) / 2**32 < test_fraction for i in ids]
    train_pos = [p for p, h in enumerate(held) if not h]
    test_pos = [p for p, h in enumerate(held) if h]
    return train_pos, test_pos
