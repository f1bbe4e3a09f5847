"""What LCOM and SL need of a latent space: encode, decode, and the condition c of the surrogate Ê(z, c).

Two adapters implement it: ``combined_codec.CombinedVAECodec`` (the Crystal-LSBO
Combined-VAE, property tasks: composition lives in z, so c is empty) and
``cdvae_codec.CdvaeCodec`` (the CD-VAE, csp26: the composition is fixed by the
problem and given to the surrogate as element fractions, and to the decoder as
the species of the start).
"""

from __future__ import annotations

from typing import Protocol

import torch
from pymatgen.core import Structure
from torch import Tensor


class LatentCodec(Protocol):
    """A trained latent space seen by the optimiser."""

    latent_dim: int
    condition_dim: int

    def encodable(self, structure: Structure) -> bool:
        """Whether ``encode`` accepts this crystal (e.g. not too many sites)."""

    def encode(self, structures: list[Structure]) -> Tensor:
        """Latents (N, latent_dim) of ``structures`` (posterior means)."""

    def condition(self, structures: list[Structure]) -> Tensor:
        """The surrogate's condition c (N, condition_dim) of each crystal."""

    def decode(self, z: Tensor, starts: list[Structure], generator: torch.Generator) -> list[Structure | None]:
        """Crystals of latents z (N, latent_dim); ``starts`` (N,) are the crystals each latent came from.

        None where the decode is not a valid crystal.
        """
