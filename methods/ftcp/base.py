"""What ``ftcp_random`` and ``ftcp_local`` share: the FTCP-VAE artifact and decoding proposals from it."""

from __future__ import annotations

from abc import abstractmethod
from pathlib import Path

import numpy as np
from pymatgen.core import Structure

from crystalbench.api import ArtifactStore, Dataset, Method, ProblemView, TaskView, capabilities
from crystalbench.methods.ftcp import artifact
from crystalbench.methods.ftcp.latent_space import LatentSpace
from crystalbench.methods.ftcp.training import TrainingConfig


class FTCPMethod(Method):
    """A search in the latent space of an FTCP-VAE trained once per (dataset, ``vae`` parameters).

    ``vae``: overrides of ``TrainingConfig`` (e.g. ``{epochs: 5}``); methods with
    equal ``vae`` parameters share one trained model.
    """

    requires = frozenset({capabilities.OPEN_COMPOSITION})

    def __init__(self, vae: dict | None = None):
        super().__init__()
        self.config = TrainingConfig.from_params(vae)

    @classmethod
    def prepare(cls, store: ArtifactStore, dataset: Dataset, params: dict, task: TaskView) -> Path:
        return artifact.prepare(store, dataset, TrainingConfig.from_params(params.get("vae")))

    def setup(self, problem: ProblemView, artifact_dir: Path | None, rng: np.random.Generator) -> None:
        if artifact_dir is None:
            raise ValueError(f"{self.name} needs its prepared FTCP-VAE artifact")
        self.problem = problem
        self.space = LatentSpace.load(artifact_dir)
        self.rng = rng
        self._last_z = np.empty((0, self.space.dim))

    def ask(self, n: int) -> list[Structure | None]:
        self._last_z = self.propose(n)
        return self.space.decode(self._last_z)

    @abstractmethod
    def propose(self, n: int) -> np.ndarray:
        """The next ``n`` latents, shape (n, dim); ``ask`` decodes them."""
