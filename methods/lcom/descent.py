"""Opt(Ê, c): T steps of gradient descent on the surrogate energy with respect to the latent (LCOM eq. 5).

The same procedure mines the adversarial latents z⁺ while training the
conservative surrogate and optimises a start's latent at ask time (LCOM §4.2:
"the optimization procedure Opt ... can then be repurposed"). As in COMs'
reference code, the step is ``step_size · √latent_dim`` in standardised latent
units, so one setting suits latent spaces of any width.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import Tensor

from crystalbench.methods.lcom.surrogate import Surrogate


@dataclass(frozen=True)
class Descent:
    """A descent path: the standardised energies at every step and where it ended."""

    energies: Tensor
    """(steps + 1, N): Ê at u_0 ... u_T, standardised, detached."""
    path: Tensor
    """(steps + 1, N, latent_dim): u_0 ... u_T, detached."""

    @property
    def final(self) -> Tensor:
        """u_T, (N, latent_dim)."""
        return self.path[-1]


def descend(surrogate: Surrogate, u0: Tensor, c: Tensor, steps: int, step_size: float) -> Descent:
    """Run ``steps`` plain gradient steps u ← u − η ∇_u Ê(u, c) from ``u0`` (N, latent_dim); c (N, condition_dim).

    Only the latents move; the surrogate's parameters collect no gradient.
    """
    eta = step_size * math.sqrt(u0.shape[-1])
    u = u0.detach()
    path, energies = [u], []
    for _ in range(steps):
        u = u.requires_grad_(True)
        energy = surrogate(u, c)
        (grad,) = torch.autograd.grad(energy.sum(), u)
        energies.append(energy.detach())
        u = (u - eta * grad).detach()
        path.append(u)
    with torch.no_grad():
        energies.append(surrogate(u, c))
    return Descent(energies=torch.stack(energies), path=torch.stack(path))
