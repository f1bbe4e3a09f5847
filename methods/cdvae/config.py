"""Hyperparameters of the CD-VAE latent space, with the paper's values beside our defaults.

Xie et al. (ICLR 2022) / LCOM §4.1 use a DimeNet++ encoder (hidden 256, 4
blocks), a 256-D latent, a GemNet score network, 50 noise levels from
σ = 10 Å to 0.01 Å and 100 Langevin steps per level (step_lr 1e-4). Our
defaults are sized to train in minutes on one CPU core (``reports/csp26/cdvae.md``).
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass

from crystalbench.api import TaskView, UserError
from crystalbench.api.params import Settings


@dataclass(frozen=True)
class CdvaeConfig(Settings):
    """What a trained CD-VAE depends on: its training data, architecture, training and sampling schedule."""

    where = "cdvae"

    compounds: tuple[str, ...] = ()
    """The problems whose labelled crystals it trains on; empty: every problem of the task (``resolved``)."""
    latent_dim: int = 64  # paper 256
    hidden: int = 64  # paper 256 (DimeNet++), 128 (GemNet)
    encoder_layers: int = 3  # paper 4 interaction blocks
    score_layers: int = 3
    cutoff: float = 6.0  # Å; paper 7 (encoder) and 7 (decoder)
    n_rbf: int = 32
    beta: float = 0.01  # KL weight; paper 0.01
    epochs: int = 150
    batch_size: int = 32
    lr: float = 1e-3
    sigma_begin: float = 10.0  # Å; paper 10
    sigma_end: float = 0.01  # Å; paper 0.01
    noise_levels: int = 10  # paper 50
    langevin_steps: int = 5  # per noise level; paper 100
    step_lr: float = 1e-4  # paper 1e-4
    test_fraction: float = 0.1
    seed: int = 0

    def check(self) -> None:
        positive_ints = ("latent_dim", "hidden", "encoder_layers", "score_layers", "n_rbf", "epochs", "batch_size",
                         "noise_levels", "langevin_steps")
        for name in positive_ints:
            if getattr(self, name) < 1:
                raise UserError(f"cdvae.{name} must be a positive integer, got {getattr(self, name)!r}")
        for name in ("cutoff", "beta", "lr", "sigma_begin", "sigma_end", "step_lr"):
            value = getattr(self, name)
            if not math.isfinite(value) or value <= 0:
                raise UserError(f"cdvae.{name} must be a positive number, got {value!r}")
        if not self.sigma_begin > self.sigma_end:
            raise UserError(f"cdvae.sigma_begin ({self.sigma_begin}) must exceed sigma_end ({self.sigma_end})")
        if not 0 < self.test_fraction < 1:
            raise UserError(f"cdvae.test_fraction must be in (0, 1), got {self.test_fraction!r}")

    @classmethod
    def from_params(cls, params: dict | None) -> CdvaeConfig:
        """The config of a spec's ``model`` parameters (``compounds`` as a list, as YAML gives it)."""
        params = dict(params or {})
        if isinstance(params.get("compounds"), list):
            params["compounds"] = tuple(params["compounds"])
        return super().from_params(params)

    def resolved(self, task: TaskView) -> CdvaeConfig:
        """This config with ``compounds`` set to the task's problems it trains on (all when empty)."""
        compounds = self.compounds or task.problems
        unknown = [c for c in compounds if c not in task.problems]
        if unknown:
            raise UserError(f"cdvae.compounds must be problems of task {task.name}, got {', '.join(unknown)}")
        return dataclasses.replace(self, compounds=tuple(compounds))

    def key(self) -> dict:
        """JSON-able identity (the artifact key's hyperparameter part)."""
        return dataclasses.asdict(self)
