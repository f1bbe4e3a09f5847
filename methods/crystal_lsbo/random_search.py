"""``random_search``: uniform latents in the Combined-VAE box [-3, 3]^d, decoded (Crystal-LSBO §5.2)."""

from __future__ import annotations

import numpy as np
import torch
from pymatgen.core import Structure

from harness.registry import register_method
from methods.crystal_lsbo.stack_method import StackMethod


@register_method
class RandomSearch(StackMethod):
    """Each ask decodes ``n`` latents drawn uniformly from the search box; nothing is learnt."""

    name = "random_search"

    def ask(self, n: int) -> list[Structure | None]:
        z = self.rng.uniform(-self.bound, self.bound, size=(n, self.space.config.latent_dim))
        return self.space.decode(torch.as_tensor(z, dtype=torch.float32))

    def tell(self, structures: list[Structure | None], values: np.ndarray) -> None:
        """Random search learns nothing from the values."""
