"""The GP + Expected-Improvement loop of Crystal-LSBO (Algorithm 1, lines 2–3), maximising in a box.

A BoTorch ``SingleTaskGP`` (its default RBF kernel with one lengthscale per latent
dimension, i.e. RBF-ARD) on the labelled latents, log-EI maximised over
[-bound, bound]^d. Two patterns share this code:

* the *reference* pattern (the paper's code): a new GP with hyperparameters fitted
  from their defaults at every iteration, many acquisition restarts;
* the default *incremental* pattern: hyperparameters re-optimised every
  ``refit_every`` proposals, warm-started from the previous fit (at most
  ``warm_maxiter`` L-BFGS iterations); in between, the
  GP is conditioned on the grown labelled set with the last hyperparameters.
  The acquisition is optimised as the reference does (10 restarts from the best
  of 512 raw samples): with 4 and 256 the best of 25 proposals was worse than the
  reference's in every seed tried. ``benchmarks/lsbo_step.py`` measures both patterns.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import torch
from botorch.acquisition import LogExpectedImprovement
from botorch.exceptions import InputDataWarning
from botorch.fit import fit_gpytorch_mll
from botorch.models import SingleTaskGP
from botorch.models.transforms import Normalize, Standardize
from botorch.optim import optimize_acqf
from gpytorch.mlls import ExactMarginalLogLikelihood
from torch import Tensor

TRANSFORM_PREFIXES = ("outcome_transform", "input_transform")


@dataclass(frozen=True)
class BOSettings:
    """How each proposal is made; ``REFERENCE`` is the refit-from-scratch pattern."""

    refit_every: int = 10
    warm_start: bool = True
    warm_maxiter: int | None = 50
    """L-BFGS iterations of a warm-started fit (None: BoTorch's default, to convergence)."""
    num_restarts: int = 10
    raw_samples: int = 512


REFERENCE = BOSettings(refit_every=1, warm_start=False, warm_maxiter=None)


class LatentBO:
    """Proposes one latent point per call from labelled data ``(X (n, d), Y (n,))``, larger Y better."""

    def __init__(self, dim: int, bound: float = 3.0, settings: BOSettings = BOSettings()):
        self.bounds = torch.tensor([[-bound] * dim, [bound] * dim], dtype=torch.float64)
        self.settings = settings
        self._hyper: dict[str, Tensor] | None = None
        self._since_fit = 0

    def reset(self) -> None:
        """Forget the fitted hyperparameters (the latent space changed): the next call refits from defaults."""
        self._hyper = None
        self._since_fit = 0

    def model(self, X: Tensor, Y: Tensor) -> SingleTaskGP:
        """The GP on (X, Y), its hyperparameters fitted or reused as the settings say."""
        X, Y = X.to(torch.float64), Y.to(torch.float64).reshape(-1, 1)
        with warnings.catch_warnings():  # encoded crystals may lie outside the search box; that is fine for the GP
            warnings.simplefilter("ignore", InputDataWarning)
            gp = SingleTaskGP(X, Y, input_transform=Normalize(X.shape[-1], bounds=self.bounds),
                              outcome_transform=Standardize(1))
        refit = self._hyper is None or self._since_fit >= self.settings.refit_every
        warm = self._hyper is not None and (self.settings.warm_start or not refit)
        if warm:
            gp.load_state_dict(self._hyper, strict=False)
        if refit:
            maxiter = self.settings.warm_maxiter if warm else None
            options = {} if maxiter is None else {"optimizer_kwargs": {"options": {"maxiter": maxiter}}}
            fit_gpytorch_mll(ExactMarginalLogLikelihood(gp.likelihood, gp), **options)
            self._hyper = {k: v.detach().clone() for k, v in gp.state_dict().items()
                           if not k.startswith(TRANSFORM_PREFIXES)}
            self._since_fit = 0
        self._since_fit += 1
        gp.eval()
        return gp

    def propose(self, X: Tensor, Y: Tensor, seed: int) -> Tensor:
        """argmax of log-EI over the box, shape (1, d); all randomness from ``seed``."""
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            gp = self.model(X, Y)
            acquisition = LogExpectedImprovement(gp, best_f=Y.max().to(torch.float64))
            z, _ = optimize_acqf(acquisition, self.bounds, q=1, num_restarts=self.settings.num_restarts,
                                 raw_samples=self.settings.raw_samples, options={"seed": seed})
        return z.detach()
