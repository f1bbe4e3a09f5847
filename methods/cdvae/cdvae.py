"""``cdvae``: decode the start structure's latent without optimisation (the CD-VAE column of LCOM Table 1).

``setup`` encodes the problem's start (the seed's relaxed random structure,
``problem.initial_structures[0]``) to z₀. Each ``ask(n)`` decodes z₀ ``n`` times
with the start's atom types, each decode with fresh Langevin noise from the
trial's generator. The first proposal is the paper's single CD-VAE prediction;
a budget beyond 1 buys more stochastic decodes of the same z₀ (the harness
then judges the best of them), never a different latent. Use budget 1 for the
paper's column (``configs/csp26_cdvae.yaml``).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from pymatgen.core import Structure

from crystalbench.api import ArtifactStore, Dataset, Method, ProblemView, TaskView, capabilities
from crystalbench.methods.cdvae.artifact import prepare_cdvae
from crystalbench.methods.cdvae.config import CdvaeConfig
from crystalbench.methods.cdvae.model import CdvaeModel, default_device


class Cdvae(Method):
    """``model``: ``CdvaeConfig`` overrides (e.g. ``{epochs: 50}``); equal ``model`` parameters share one trained model."""

    name = "cdvae"
    requires = frozenset({capabilities.FIXED_COMPOSITION})

    def __init__(self, model: dict | None = None):
        super().__init__()
        self.config = CdvaeConfig.from_params(model)

    @classmethod
    def prepare(cls, store: ArtifactStore, dataset: Dataset, params: dict, task: TaskView) -> Path:
        """The CD-VAE trained on the task's labelled set (csp26: its training data, not the MP-20 ``dataset``)."""
        return prepare_cdvae(store, dataset, task, params.get("model") or {})

    def setup(self, problem: ProblemView, artifact_dir: Path | None, rng: np.random.Generator) -> None:
        if artifact_dir is None:
            raise ValueError("cdvae needs its prepared CD-VAE artifact")
        self.model = CdvaeModel.load(artifact_dir, default_device())
        start = problem.initial_structures[0]
        self.species = [site.specie.symbol for site in start]
        self.z0 = self.model.encode([start])  # (1, latent_dim)
        self.generator = torch.Generator().manual_seed(int(rng.integers(2**63)))

    def ask(self, n: int) -> list[Structure | None]:
        return self.model.decode(self.z0.expand(n, -1), [self.species] * n, self.generator)

    def tell(self, structures: list[Structure | None], values: np.ndarray) -> None:
        """CD-VAE learns nothing from the values."""
