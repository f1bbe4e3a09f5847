"""``ftcp_local``: the FTCP authors' local search around the latent of the best crystal known so far.

Ren et al. (Matter 2022) design crystals by perturbing the latent points of
the best known compounds with Gaussian noise of scale ``Lp_scale = 0.6`` (their
reference code's default) and decoding. The Crystal-LSBO paper (§5.2) used it
as "FTCP-VAE Local Search": start from the best crystal of the initial labelled
set and keep sampling around the best found.

The centre starts at the latent mean of the best initial crystal that fits the
representation's limits, and it moves to the latent that produced a proposal
whenever that proposal is a valid crystal strictly better (in the problem's
direction) than the crystal at the centre.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from pymatgen.core import Structure

from crystalbench.api import ProblemView
from crystalbench.methods.ftcp.base import FTCPMethod

LOCAL_SCALE = 0.6
"""Standard deviation of the latent perturbation (``Lp_scale`` in the FTCP reference code)."""


class FTCPLocal(FTCPMethod):
    """z = centre + scale · N(0, I); the centre follows the best crystal found."""

    name = "ftcp_local"

    def __init__(self, vae: dict | None = None, scale: float = LOCAL_SCALE):
        super().__init__(vae)
        if not scale > 0:
            raise ValueError(f"scale must be positive, got {scale}")
        self.scale = float(scale)

    def setup(self, problem: ProblemView, artifact_dir: Path | None, rng: np.random.Generator) -> None:
        super().setup(problem, artifact_dir, rng)
        for i in problem.rank(problem.initial_values):
            structure = problem.initial_structures[i]
            if self.space.layout.fits(structure):
                self.centre = self.space.encode([structure])[0]
                self.centre_value = float(problem.initial_values[i])
                return
        raise ValueError(f"no initial crystal of {problem.name} fits the FTCP layout {self.space.layout}")

    def propose(self, n: int) -> np.ndarray:
        return self.centre + self.scale * self.rng.standard_normal((n, self.space.dim))

    def tell(self, structures: list[Structure | None], values: np.ndarray) -> None:
        for structure, value, z in zip(structures, values, self._last_z):
            if structure is not None and np.isfinite(value) and self.problem.better(float(value), self.centre_value):
                self.centre, self.centre_value = z, float(value)
