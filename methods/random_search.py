"""``random_search``: uniform random proposals from the problem's search space, nothing learnt.

* Property tasks (Crystal-LSBO §5.2): latents uniform in the Combined-VAE box
  [-bound, bound]^d, decoded by the same trained stack the LSBO methods use.
* Tasks whose problems sample structures themselves (csp26): random crystals of
  the composition from ``Problem.sample`` — the random search (RAS) of Cheng
  et al. 2022, symmetric by space group and Wyckoff positions as GN-OA draws them.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from pymatgen.core import Structure

from crystalbench.api import ArtifactStore, Dataset, ProblemView, TaskView, capabilities
from crystalbench.methods.crystal_lsbo.stack_method import StackMethod


class RandomSearch(StackMethod):
    """Each ask draws ``n`` fresh candidates; tell ignores the values."""

    name = "random_search"

    @classmethod
    def prepare(cls, store: ArtifactStore, dataset: Dataset, params: dict, task: TaskView) -> Path | None:
        if capabilities.SAMPLES_STRUCTURES in task.offers:
            return None
        return super().prepare(store, dataset, params, task)

    def setup(self, problem: ProblemView, artifact_dir: Path | None, rng: np.random.Generator) -> None:
        if problem.sample is None:
            super().setup(problem, artifact_dir, rng)
            return
        self.problem, self.space, self.rng = problem, None, rng

    def ask(self, n: int) -> list[Structure | None]:
        if self.space is None:
            return self.problem.sample(n, self.rng)
        z = self.rng.uniform(-self.bound, self.bound, size=(n, self.space.config.latent_dim))
        return self.space.decode(torch.as_tensor(z, dtype=torch.float32))

    def tell(self, structures: list[Structure | None], values: np.ndarray) -> None:
        """Random search learns nothing from the values."""
