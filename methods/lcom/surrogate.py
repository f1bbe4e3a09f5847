"""The surrogate energy model Ê_θ(z, c) of LCOM and SL: an MLP on a standardised latent and a condition.

Architecture as COMs' forward model (Trabucco et al. 2021; LCOM §4.3): two
hidden layers of ``hidden`` units (2048) with leaky ReLU, one output. The model
works in standardised units, as COMs does: the latent z enters as
u = (z − z_mean) / z_std and the output is the standardised *energy*
e = (E − y_mean) / y_std. The surrogate always predicts an energy to minimise:
a task value v of a ``max`` problem is learnt as E = −v (``energy_sign``), the
one place where the direction is handled; ``value`` turns a prediction back into
the task's own units and direction.
"""

from __future__ import annotations

import json
from pathlib import Path

import torch
from torch import Tensor, nn

from crystalbench.api import Direction

WEIGHTS_FILE = "surrogate.pt"
META_FILE = "surrogate.json"


def energy_sign(direction: Direction) -> float:
    """+1 for a minimised task value, −1 for a maximised one: energy = sign · value."""
    return 1.0 if direction == "min" else -1.0


class Surrogate(nn.Module):
    """Ê_θ(u, c) -> standardised energy (N,), for standardised latents u (N, latent_dim) and conditions c (N, condition_dim)."""

    def __init__(self, latent_dim: int, condition_dim: int, hidden: int, direction: Direction,
                 z_mean: Tensor, z_std: Tensor, y_mean: float, y_std: float):
        super().__init__()
        self.latent_dim, self.condition_dim, self.hidden = latent_dim, condition_dim, hidden
        self.direction: Direction = direction
        self.net = nn.Sequential(
            nn.Linear(latent_dim + condition_dim, hidden), nn.LeakyReLU(),
            nn.Linear(hidden, hidden), nn.LeakyReLU(),
            nn.Linear(hidden, 1),
        )
        self.register_buffer("z_mean", torch.as_tensor(z_mean, dtype=torch.float32).reshape(latent_dim))
        self.register_buffer("z_std", torch.as_tensor(z_std, dtype=torch.float32).reshape(latent_dim))
        self.y_mean, self.y_std = float(y_mean), float(y_std)

    @classmethod
    def seeded(cls, seed: int, **kwargs) -> Surrogate:
        """A new surrogate whose initial weights come from ``seed``; the global torch RNG is left as it was."""
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            return cls(**kwargs)

    def forward(self, u: Tensor, c: Tensor) -> Tensor:
        return self.net(torch.cat([u, c], dim=-1)).squeeze(-1)

    # -- units ---------------------------------------------------------------------------------
    def standardise(self, z: Tensor) -> Tensor:
        """Latents (N, latent_dim) -> standardised latents u (N, latent_dim)."""
        return (z - self.z_mean) / self.z_std

    def latent(self, u: Tensor) -> Tensor:
        """Standardised latents u (N, latent_dim) -> latents z for the decoder (N, latent_dim)."""
        return u * self.z_std + self.z_mean

    def standardise_values(self, values: Tensor) -> Tensor:
        """Task values (N,) -> the standardised energies the model is trained on (N,)."""
        return (energy_sign(self.direction) * values - self.y_mean) / self.y_std

    def value(self, energy: Tensor) -> Tensor:
        """Standardised energies (any shape) -> task values in the task's units and direction."""
        return energy_sign(self.direction) * (energy * self.y_std + self.y_mean)

    # -- persistence ---------------------------------------------------------------------------
    def save(self, directory: Path) -> None:
        """Weights as a tensor-only state dict, shape and units as JSON."""
        torch.save(self.state_dict(), Path(directory) / WEIGHTS_FILE)
        meta = {"latent_dim": self.latent_dim, "condition_dim": self.condition_dim, "hidden": self.hidden,
                "direction": self.direction, "y_mean": self.y_mean, "y_std": self.y_std}
        (Path(directory) / META_FILE).write_text(json.dumps(meta, indent=1))

    @classmethod
    def load(cls, directory: Path) -> Surrogate:
        """The saved surrogate in eval mode (weights loaded with ``weights_only=True``)."""
        meta = json.loads((Path(directory) / META_FILE).read_text())
        state = torch.load(Path(directory) / WEIGHTS_FILE, weights_only=True)
        model = cls(**meta, z_mean=state["z_mean"], z_std=state["z_std"])
        model.load_state_dict(state)
        return model.eval()
