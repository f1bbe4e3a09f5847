"""``ftcp_random``: uniform samples in the latent box of an FTCP-VAE, decoded (Crystal-LSBO §5.2).

The Crystal-LSBO paper's "FTCP-VAE Random Search" baseline: the same search
bounds as its LSBO methods, [-3, 3] in every latent dimension (here the
FTCP-VAE's 256), without learning from the oracle values.
"""

from __future__ import annotations

import numpy as np
from pymatgen.core import Structure

from crystalbench.methods.ftcp.base import FTCPMethod
from crystalbench.methods.ftcp.latent_space import SEARCH_BOUND


class FTCPRandom(FTCPMethod):
    """z ~ U[-bound, bound]^d for every proposal; ``bound`` defaults to the LSBO box, 3."""

    name = "ftcp_random"

    def __init__(self, vae: dict | None = None, bound: float = SEARCH_BOUND):
        super().__init__(vae)
        if not bound > 0:
            raise ValueError(f"bound must be positive, got {bound}")
        self.bound = float(bound)

    def propose(self, n: int) -> np.ndarray:
        return self.rng.uniform(-self.bound, self.bound, (n, self.space.dim))

    def tell(self, structures: list[Structure | None], values: np.ndarray) -> None:
        """Random search learns nothing from the values."""
