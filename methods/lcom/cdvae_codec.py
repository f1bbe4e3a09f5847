"""The CD-VAE as a latent codec (csp26): c is the element-fraction vector, decoding keeps the start's species."""

from __future__ import annotations

from pathlib import Path

import torch
from pymatgen.core import Structure
from torch import Tensor

from crystalbench.methods.cdvae import CdvaeModel
from crystalbench.methods.lcom.composition import MAX_Z, element_fractions


class CdvaeCodec:
    """Encode to posterior means; decode by the CD-VAE's Langevin sampler with the start's species."""

    condition_dim = MAX_Z

    def __init__(self, model: CdvaeModel):
        self.model = model
        self.latent_dim = model.latent_dim

    @classmethod
    def load(cls, cdvae_dir: Path) -> CdvaeCodec:
        return cls(CdvaeModel.load(cdvae_dir, device="cpu"))

    def encodable(self, structure: Structure) -> bool:
        return structure.is_ordered

    def encode(self, structures: list[Structure]) -> Tensor:
        return self.model.encode(structures)

    def condition(self, structures: list[Structure]) -> Tensor:
        return element_fractions(structures)

    def decode(self, z: Tensor, starts: list[Structure], generator: torch.Generator) -> list[Structure | None]:
        species = [[site.specie.symbol for site in start] for start in starts]
        return self.model.decode(z, species, generator)
