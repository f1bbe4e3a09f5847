"""Batched periodic crystal graphs: atoms of many crystals in one tensor, radius-graph edges over periodic images.

A batch of ``B`` crystals with ``A`` atoms in all is held as
``species (A,)`` atomic numbers, ``frac (A, 3)`` fractional coordinates,
``lattice (B, 3, 3)`` row-vector lattice matrices (Å) and ``batch (A,)`` the
crystal of each atom. Edges join every atom to each periodic image of every
atom within ``cutoff`` Å (pymatgen's cython neighbour search); their vectors are
recomputed in torch from the coordinates, so they follow the coordinates the
network sees.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from pymatgen.core import Element, Lattice, Structure
from pymatgen.optimization.neighbors import find_points_in_spheres

PERIODIC = np.ones(3, dtype=np.int64)


@dataclass
class CrystalBatch:
    """Atoms of ``B`` crystals: ``species (A,)`` long, ``frac (A, 3)``, ``lattice (B, 3, 3)``, ``batch (A,)`` long."""

    species: torch.Tensor
    frac: torch.Tensor
    lattice: torch.Tensor
    batch: torch.Tensor

    @property
    def n_crystals(self) -> int:
        return int(self.lattice.shape[0])

    @property
    def n_atoms(self) -> torch.Tensor:
        """Atoms per crystal, (B,)."""
        return torch.bincount(self.batch, minlength=self.n_crystals)

    def to(self, device: torch.device) -> CrystalBatch:
        return CrystalBatch(self.species.to(device), self.frac.to(device), self.lattice.to(device),
                            self.batch.to(device))

    def with_frac(self, frac: torch.Tensor) -> CrystalBatch:
        """The same crystals with other fractional coordinates (wrapped into [0, 1))."""
        return CrystalBatch(self.species, frac % 1.0, self.lattice, self.batch)


def lattice_parameters(crystals: CrystalBatch) -> torch.Tensor:
    """(B, 6): (a, b, c) / n_atoms^(1/3) in Å and (α, β, γ) in degrees, the lattice head's unstandardised target."""
    rows = crystals.lattice
    lengths = rows.norm(dim=-1)  # (B, 3)
    cosines = torch.stack([(rows[:, 1] * rows[:, 2]).sum(-1) / (lengths[:, 1] * lengths[:, 2]),
                           (rows[:, 0] * rows[:, 2]).sum(-1) / (lengths[:, 0] * lengths[:, 2]),
                           (rows[:, 0] * rows[:, 1]).sum(-1) / (lengths[:, 0] * lengths[:, 1])], dim=-1)
    angles = torch.rad2deg(torch.arccos(cosines.clamp(-1.0, 1.0)))
    return torch.cat([lengths / crystals.n_atoms.to(lengths.dtype)[:, None] ** (1 / 3), angles], dim=-1)


def batch_of(structures: list[Structure]) -> CrystalBatch:
    """A ``CrystalBatch`` of pymatgen structures (float32)."""
    return CrystalBatch(
        species=torch.tensor([site.specie.Z for s in structures for site in s], dtype=torch.long),
        frac=torch.tensor(np.concatenate([s.frac_coords % 1.0 for s in structures]), dtype=torch.float32),
        lattice=torch.tensor(np.stack([s.lattice.matrix for s in structures]), dtype=torch.float32),
        batch=torch.repeat_interleave(torch.arange(len(structures)), torch.tensor([len(s) for s in structures])),
    )


def atomic_numbers(species: list[str]) -> list[int]:
    return [Element(symbol).Z for symbol in species]


def structures_of(crystals: CrystalBatch) -> list[Structure]:
    """Pymatgen structures of a batch (no validity check)."""
    out = []
    frac, lattice, species, batch = (t.detach().cpu().numpy() for t in
                                     (crystals.frac, crystals.lattice, crystals.species, crystals.batch))
    for b in range(crystals.n_crystals):
        atoms = batch == b
        out.append(Structure(Lattice(lattice[b].astype(float)), [int(z) for z in species[atoms]],
                             frac[atoms].astype(float)))
    return out


@dataclass
class Edges:
    """Directed edges ``src -> dst`` (E,), with ``vector (E, 3)`` from the source atom to the destination image."""

    src: torch.Tensor
    dst: torch.Tensor
    vector: torch.Tensor

    @property
    def length(self) -> torch.Tensor:
        return self.vector.norm(dim=-1)


def radius_edges(crystals: CrystalBatch, cutoff: float) -> Edges:
    """Every (atom, periodic image of an atom) pair closer than ``cutoff`` Å, self-pairs at zero distance excluded."""
    frac = crystals.frac.detach().cpu().double().numpy()
    lattice = crystals.lattice.detach().cpu().double().numpy()
    batch = crystals.batch.cpu().numpy()
    src, dst, images = [], [], []
    offset = 0
    for b in range(crystals.n_crystals):
        n = int((batch == b).sum())
        cart = np.ascontiguousarray(frac[offset:offset + n] @ lattice[b])
        centre, neighbour, image, distance = find_points_in_spheres(
            cart, cart, r=float(cutoff), pbc=PERIODIC, lattice=np.ascontiguousarray(lattice[b]), tol=1e-8)
        keep = distance > 1e-6
        src.append(centre[keep] + offset)
        dst.append(neighbour[keep] + offset)
        images.append(image[keep])
        offset += n
    device = crystals.frac.device
    src_t = torch.as_tensor(np.concatenate(src), dtype=torch.long, device=device)
    dst_t = torch.as_tensor(np.concatenate(dst), dtype=torch.long, device=device)
    image_t = torch.as_tensor(np.concatenate(images), dtype=torch.float32, device=device)
    shift = crystals.frac[dst_t] + image_t - crystals.frac[src_t]
    vector = torch.einsum("ei,eij->ej", shift, crystals.lattice[crystals.batch[src_t]])
    return Edges(src_t, dst_t, vector)


def minimum_image(displacement_frac: torch.Tensor, lattice: torch.Tensor) -> torch.Tensor:
    """Cartesian minimum-image vectors (A, 3) of fractional displacements (A, 3); ``lattice`` (A, 3, 3) per atom.

    Searches the 27 neighbouring images of the wrapped displacement (exact for
    reasonably shaped cells, the Niggli-reduced cells this package trains on).
    """
    wrapped = displacement_frac - torch.round(displacement_frac)
    grid = torch.tensor([-1.0, 0.0, 1.0], device=wrapped.device)
    images = torch.cartesian_prod(grid, grid, grid)  # (27, 3)
    candidates = torch.einsum("aki,aij->akj", wrapped[:, None, :] + images[None], lattice)  # (A, 27, 3)
    best = candidates.norm(dim=-1).argmin(dim=1)
    return candidates[torch.arange(len(best), device=wrapped.device), best]
