"""The budget-keeping wrapper around a task's oracle.

Methods never see this object: the runner calls it with what ``ask`` returned.
It checks validity itself (so an oracle only ever receives valid structures or
None), applies the task's invalid penalty, refuses calls beyond the budget and
times every batch.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from pymatgen.core import Structure

from crystalbench.api import Oracle
from crystalbench.harness.crystal import is_compositionally_valid, is_structurally_plausible, is_valid


class BudgetExceeded(RuntimeError):
    """Raised when more oracle calls are requested than the budget has left."""


@dataclass(frozen=True)
class Evaluation:
    """The outcome of one batched oracle call over n structures."""

    values: np.ndarray
    """Raw oracle values, shape (n,); NaN where invalid or where the oracle gave NaN/inf."""
    scores: np.ndarray
    """``values`` with NaN replaced by the invalid penalty, shape (n,): what the method is told."""
    valid: np.ndarray
    """CIF-round-trip validity, shape (n,), bool."""
    structurally_valid: np.ndarray
    """Valid + no two atoms closer than 0.5 Å + >= 0.1 Å³ per atom, shape (n,), bool (``harness.crystal``)."""
    compositionally_valid: np.ndarray
    """Valid + SMACT's charge-neutrality and electronegativity rule, shape (n,), bool."""
    seconds: float
    """Wall time of the whole batch, validity checks included."""


class BudgetedOracle:
    """Counts oracle calls against ``budget``; one structure is one call."""

    def __init__(self, oracle: Oracle, budget: int, invalid_penalty: float):
        if budget < 1:
            raise ValueError(f"budget must be positive, got {budget}")
        self._oracle = oracle
        self.budget = budget
        self.invalid_penalty = float(invalid_penalty)
        self.calls = 0

    @property
    def remaining(self) -> int:
        return self.budget - self.calls

    def __call__(self, structures: Sequence[Structure | None]) -> Evaluation:
        n = len(structures)
        if n > self.remaining:
            raise BudgetExceeded(f"{n} oracle calls requested, {self.remaining} of {self.budget} left")
        start = time.perf_counter()
        valid = np.array([is_valid(s) for s in structures], dtype=bool)
        structural = np.array([bool(v) and is_structurally_plausible(s) for s, v in zip(structures, valid)], dtype=bool)
        compositional = np.array([bool(v) and is_compositionally_valid(s) for s, v in zip(structures, valid)],
                                 dtype=bool)
        values = np.asarray(self._oracle([s if v else None for s, v in zip(structures, valid)]), dtype=float)
        if values.shape != (n,):
            raise RuntimeError(f"oracle returned shape {values.shape} for {n} structures")
        values = np.where(valid & np.isfinite(values), values, np.nan)
        self.calls += n
        return Evaluation(
            values=values,
            scores=np.where(np.isnan(values), self.invalid_penalty, values),
            valid=valid,
            structurally_valid=structural,
            compositionally_valid=compositional,
            seconds=time.perf_counter() - start,
        )
