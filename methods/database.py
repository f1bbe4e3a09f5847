"""``database``: propose the training dataset's crystals in seeded random order.

The reference row "Database" of Crystal-LSBO Table 1: what one finds by
screening known crystals with the same oracle, without generating anything.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from pymatgen.core import Structure

from crystalbench.api import Exhausted, Method, ProblemView


class Database(Method):
    """Every dataset crystal, in a random order fixed by the trial's seed.

    The initial labelled set is not excluded: with a budget covering the dataset,
    the top values found are the dataset's own (Table 1's "Database" row). When
    every crystal has been proposed the trial ends early (csp26's training data
    holds a few dozen structures per compound).
    """

    name = "database"

    def setup(self, problem: ProblemView, artifact_dir: Path | None, rng: np.random.Generator) -> None:
        self._dataset = problem.dataset
        self._order = rng.permutation(len(problem.dataset))
        self._next = 0

    def ask(self, n: int) -> list[Structure | None]:
        if self._next >= len(self._order):
            raise Exhausted(f"all {len(self._order)} dataset crystals proposed")
        rows = self._order[self._next : self._next + n]
        self._next += len(rows)
        return self._dataset.structures(rows)

    def tell(self, structures: list[Structure | None], values: np.ndarray) -> None:
        """Screening learns nothing from the values."""

    def state_dict(self) -> dict:
        return {"next": self._next}

    def load_state_dict(self, state: dict) -> None:
        self._next = int(state["next"])
