"""What the three Crystal-LSBO methods share: the prepared stack and the ``stack`` spec parameter."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from crystalbench.api import ArtifactStore, Dataset, Method, ProblemView, TaskView
from crystalbench.methods.crystal_lsbo.latent_space import LatentSpace, StackConfig, prepare_stack


class StackMethod(Method):
    """A method working in the Combined-VAE latent space of a stack trained by ``prepare``.

    ``stack`` holds ``StackConfig`` settings (e.g. ``{latent_dim: 16, beta: 0.1, w: 1}``);
    every method with equal settings shares one trained artifact.
    """

    def __init__(self, stack: dict | None = None, bound: float = 3.0):
        self.stack = dict(stack or {})
        self.config = StackConfig.from_params(self.stack)
        if bound <= 0:
            raise ValueError(f"bound must be positive, got {bound}")
        self.bound = float(bound)

    @classmethod
    def prepare(cls, store: ArtifactStore, dataset: Dataset, params: dict, task: TaskView) -> Path:
        return prepare_stack(store, dataset, StackConfig.from_params(params.get("stack")))

    def setup(self, problem: ProblemView, artifact_dir: Path | None, rng: np.random.Generator) -> None:
        if artifact_dir is None:
            raise ValueError(f"{self.name} needs its prepared stack artifact")
        self.problem = problem
        self.artifact_dir = artifact_dir
        self.space = LatentSpace.load(artifact_dir)
        self.rng = rng
