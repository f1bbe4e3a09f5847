"""A problem is what a trial optimises; a method sees only its view, the runner holds the rest.

``ProblemView`` (what ``Method.setup`` receives): the task and problem names, the
direction, the dataset, the initial labelled set, the default budget, facts worth
logging and, where the task offers it, a sampler of random candidates.
``Problem`` (what ``Task.load_problem`` returns to the runner) adds what only the
harness may hold: the oracle, the invalid penalty and the finalisation. A method
therefore cannot call the oracle outside the budget (docs/architecture.md).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, fields
from typing import Literal

import numpy as np
from pymatgen.core import Structure

from crystalbench.api.final import FinalResult
from crystalbench.harness.dataset import Dataset

Oracle = Callable[[Sequence[Structure | None]], np.ndarray]
"""Batched, pure, deterministic: ``structures (n,) -> values (n,)``; NaN where a structure is invalid."""

Direction = Literal["min", "max"]


@dataclass(frozen=True)
class ProblemView:
    """What a method may know of a problem (e.g. the formation-energy proxy, or CSP of MgO)."""

    task: str
    name: str
    direction: Direction
    dataset: Dataset
    initial_structures: list[Structure]
    """The initial labelled set (property tasks: the best dataset rows; CSP: the seed's start), (n_initial,)."""
    initial_values: np.ndarray
    """Oracle values of ``initial_structures``, shape (n_initial,); they cost no budget."""
    default_budget: int
    info: dict = field(default_factory=dict)
    """Facts about the problem worth logging (e.g. the proxy's held-out MSE)."""
    sample: Callable[[int, np.random.Generator], list[Structure]] | None = None
    """``n`` random candidates of the problem's own search space (CSP: random crystals of the composition)."""

    def better(self, a: float, b: float) -> bool:
        """Whether value ``a`` is strictly better than ``b`` in this problem's direction."""
        return a < b if self.direction == "min" else a > b

    def best(self, values: np.ndarray) -> float:
        """The best of ``values`` (NaN ignored; NaN if all are NaN)."""
        if np.all(np.isnan(values)):
            return float("nan")
        return float(np.nanmin(values) if self.direction == "min" else np.nanmax(values))

    def rank(self, values: np.ndarray) -> np.ndarray:
        """Indices ordering ``values`` best first; NaN last, ties by index (stable)."""
        key = np.where(np.isnan(values), np.inf, values if self.direction == "min" else -values)
        return np.argsort(key, kind="stable")


@dataclass(frozen=True, kw_only=True)
class Problem(ProblemView):
    """A problem as the runner holds it: the view plus the oracle, the invalid penalty and the finalisation."""

    oracle: Oracle
    invalid_penalty: float
    finalize: Callable[[Structure], FinalResult] | None = None
    """Final metrics of the trial's best structure (CSP: relax it and judge success); None: nothing to add."""

    def view(self) -> ProblemView:
        """The method's view of this problem: everything but the oracle, the penalty and the finalisation."""
        return ProblemView(**{f.name: getattr(self, f.name) for f in fields(ProblemView)})
