"""``crystal_lsbo`` (Algorithm 1) and ``crystal_lca_lsbo`` (Algorithm 2): one GP-EI proposal per ask.

The GP is fitted on the material latents of the labelled set: the encodings of the
task's initial crystals plus every proposed latent z* with its oracle value (invalid
decodes carry the task's penalty). Values are negated for ``min`` problems so the
GP always maximises.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from pymatgen.core import Structure

from crystalbench.api import ProblemView, capabilities
from crystalbench.methods.crystal_lsbo.bo import BOSettings, LatentBO
from crystalbench.methods.crystal_lsbo.latent_space import PARTS, load_training_data
from crystalbench.methods.crystal_lsbo.representation import P1Arrays, encode_structures
from crystalbench.methods.crystal_lsbo.stack_method import StackMethod
from crystalbench.methods.crystal_lsbo.training import Consistency


class CrystalLSBO(StackMethod):
    """Crystal-Standard-LSBO: the stack stays fixed; the GP grows by one point per iteration."""

    name = "crystal_lsbo"
    requires = frozenset({capabilities.OPEN_COMPOSITION})
    """The stack decodes any composition of the dataset; a fixed-composition task (csp26) is out of its reach."""

    def __init__(self, stack: dict | None = None, bound: float = 3.0, refit_every: int = BOSettings.refit_every,
                 num_restarts: int = BOSettings.num_restarts, raw_samples: int = BOSettings.raw_samples):
        super().__init__(stack, bound)
        if refit_every < 1:
            raise ValueError(f"refit_every must be >= 1, got {refit_every}")
        self.settings = BOSettings(refit_every=refit_every, num_restarts=num_restarts, raw_samples=raw_samples)

    def setup(self, problem: ProblemView, artifact_dir: Path | None, rng: np.random.Generator) -> None:
        super().setup(problem, artifact_dir, rng)
        self.sign = 1.0 if problem.direction == "max" else -1.0
        self.crystals: list[Structure | None] = list(problem.initial_structures)
        """The labelled crystals (None for invalid proposals), aligned with X and Y."""
        self.X = self.space.encode_structures(self.crystals).to(torch.float64)
        self.Y = torch.as_tensor(self.sign * problem.initial_values, dtype=torch.float64)
        self.bo = LatentBO(self.space.config.latent_dim, self.bound, self.settings)
        self._pending: torch.Tensor | None = None

    def ask(self, n: int) -> list[Structure | None]:
        """One proposal: the log-EI maximiser z* (1, d), decoded."""
        self._pending = self.bo.propose(self.X, self.Y, int(self.rng.integers(2**31)))
        return self.space.decode(self._pending.to(torch.float32))

    def tell(self, structures: list[Structure | None], values: np.ndarray) -> None:
        """Add the proposals to the GP's data; a NaN (no value at all) teaches it nothing and is left out."""
        keep = np.isfinite(np.asarray(values, dtype=float))
        self.X = torch.cat([self.X, self._pending[torch.as_tensor(keep)]])
        self.Y = torch.cat([self.Y, torch.as_tensor(self.sign * np.asarray(values, dtype=float)[keep],
                                                    dtype=torch.float64)])
        self.crystals.extend(s for s, k in zip(structures, keep) if k)


class CrystalLCALSBO(CrystalLSBO):
    """Crystal-LCA-LSBO: when a proposal beats τ, retrain all four VAEs (a per-trial copy) with the LCL term.

    τ is the ``tau_percentile`` of the initial labels in the problem's direction
    (100: their best). On a hit, N* = ``n_augment`` (default: the training batch
    size) latents are drawn from N(z*_part, σ_ref²) in each part space; the part
    VAEs are retrained for ``retrain_epochs`` on dataset ∪ valid proposals with
    γ·LCL, the Combined-VAE is retrained on the new part latents, the labelled
    crystals are re-encoded and the GP is refitted from its defaults.
    """

    name = "crystal_lca_lsbo"

    def __init__(self, stack: dict | None = None, bound: float = 3.0, refit_every: int = BOSettings.refit_every,
                 num_restarts: int = BOSettings.num_restarts, raw_samples: int = BOSettings.raw_samples,
                 sigma_ref: float = 0.3, gamma: float = 2.5,
                 tau_percentile: float = 100.0, n_augment: int | None = None, retrain_epochs: int = 2):
        super().__init__(stack, bound, refit_every, num_restarts, raw_samples)
        if not 0 <= tau_percentile <= 100:
            raise ValueError(f"tau_percentile must be in [0, 100], got {tau_percentile}")
        self.sigma_ref, self.gamma, self.tau_percentile = sigma_ref, gamma, tau_percentile
        self.n_augment, self.retrain_epochs = n_augment, retrain_epochs
        self.retrainings = 0

    def setup(self, problem: ProblemView, artifact_dir: Path | None, rng: np.random.Generator) -> None:
        super().setup(problem, artifact_dir, rng)
        self.tau = self.sign * float(np.percentile(self.sign * problem.initial_values, self.tau_percentile))
        self.generator = torch.Generator().manual_seed(int(rng.integers(2**63)))

    def tell(self, structures: list[Structure | None], values: np.ndarray) -> None:
        z_star = self._pending
        super().tell(structures, values)
        if structures[0] is not None and self.problem.better(float(values[0]), self.tau):
            self.retrain(z_star)

    def trace(self) -> dict:
        """τ and how many proposals beat it (each one retrained the trial's VAEs)."""
        return {"tau": self.tau, "retrainings": self.retrainings}

    def retrain(self, z_star: torch.Tensor) -> None:
        """Algorithm 2, lines 11–20, around the material latent ``z_star`` (1, d)."""
        space = self.space
        with torch.no_grad():
            centres = space.split_parts(space.combined.decode(z_star.to(torch.float32)))
        n_aug = self.n_augment or space.config.batch_size
        consistency = {p: Consistency(centres[p][0], self.sigma_ref, self.gamma, n_aug) for p in PARTS}
        data, y = load_training_data(self.artifact_dir)
        valid = [i for i, s in enumerate(self.crystals) if s is not None]
        labelled = encode_structures([self.crystals[i] for i in valid], space.config.max_sites)
        arrays = P1Arrays(*(np.concatenate([getattr(data, f), getattr(labelled, f)])
                            for f in ("lattice", "coords", "elements")))
        y = np.concatenate([y, np.full((len(valid), y.shape[1]), np.nan)])
        space.train_parts(arrays, y, self.retrain_epochs, self.generator, consistency)
        space.train_combined(arrays, y, self.retrain_epochs, self.generator)
        self.X[valid] = space.encode(labelled).to(torch.float64)
        self.bo.reset()
        self.retrainings += 1
