"""The Crystal-LSBO Combined-VAE as a latent codec (property tasks): composition is part of z, c is empty."""

from __future__ import annotations

from pathlib import Path

import torch
from pymatgen.core import Structure
from torch import Tensor

from crystalbench.methods.crystal_lsbo.latent_space import LatentSpace


class CombinedVAECodec:
    """Encode and decode through a trained Crystal-LSBO stack; the decoder is deterministic."""

    condition_dim = 0

    def __init__(self, space: LatentSpace):
        self.space = space
        self.latent_dim = space.config.latent_dim

    @classmethod
    def load(cls, stack_dir: Path) -> CombinedVAECodec:
        return cls(LatentSpace.load(stack_dir))

    def encodable(self, structure: Structure) -> bool:
        return len(structure) <= self.space.config.max_sites and structure.is_ordered

    def encode(self, structures: list[Structure]) -> Tensor:
        return self.space.encode_structures(structures)

    def condition(self, structures: list[Structure]) -> Tensor:
        return torch.zeros(len(structures), 0)

    def decode(self, z: Tensor, starts: list[Structure], generator: torch.Generator) -> list[Structure | None]:
        """The decoded composition is whatever z says: ``starts`` and ``generator`` are not needed."""
        return self.space.decode(z)
