"""``mutation_search``: a (mu + lambda) evolutionary search over crystals by pymatgen mutations.

Each child is a copy of a parent drawn by tournament from the ``parents`` best crystals
known so far (the problem's initial labelled set, then every told proposal). The child
is mutated in three ways:
- with probability ``substitution``, one species is replaced by an element of the same
  periodic-table group, one row up or down (e.g. O -> S, Na -> K), so that the search
  can leave the dataset's compositions while keeping charge-balancing chemistry
  plausible;
- the lattice is strained by up to ``strain`` along each axis;
- every site is moved by a Gaussian jitter of ``jitter`` Å.

It needs no trained model and no labelled data beyond the initial set, only that the
task accepts any composition.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from pymatgen.core import Element, Structure

from crystalbench.api import Method, ProblemView, capabilities


def group_neighbours(element: Element) -> list[Element]:
    """Elements of ``element``'s group one row above and below (none for the f-block or missing rows)."""
    found = []
    for row in (element.row - 1, element.row + 1):
        try:
            found.append(Element.from_row_and_group(row, element.group))
        except ValueError:
            continue
    return [e for e in found if e.Z <= 83 and not e.is_noble_gas]


class MutationSearch(Method):
    """Tournament selection among the best ``parents``, then substitution, strain and jitter."""

    name = "mutation_search"
    requires = frozenset({capabilities.OPEN_COMPOSITION})

    def __init__(self, parents: int = 8, tournament: int = 3, substitution: float = 0.5, strain: float = 0.05,
                 jitter: float = 0.05, keep: int = 64):
        if parents < 1 or tournament < 1 or keep < parents:
            raise ValueError("parents and tournament must be positive and keep >= parents")
        if not 0 <= substitution <= 1 or strain < 0 or jitter < 0:
            raise ValueError("substitution must be in [0, 1]; strain and jitter non-negative")
        self.parents, self.tournament, self.keep = int(parents), int(tournament), int(keep)
        self.substitution, self.strain, self.jitter = float(substitution), float(strain), float(jitter)

    def setup(self, problem: ProblemView, artifact_dir: Path | None, rng: np.random.Generator) -> None:
        self.problem, self.rng = problem, rng
        self.pool: list[tuple[float, Structure]] = []
        self._add(problem.initial_structures, np.asarray(problem.initial_values, dtype=float))

    def _add(self, structures: list[Structure | None], values: np.ndarray) -> None:
        self.pool += [(float(v), s) for s, v in zip(structures, values) if s is not None and np.isfinite(v)]
        order = self.problem.rank(np.array([v for v, _ in self.pool]))
        self.pool = [self.pool[i] for i in order[: self.keep]]

    def _parent(self) -> Structure:
        best = min(self.parents, len(self.pool))
        contenders = self.rng.choice(best, size=min(self.tournament, best), replace=False)
        return self.pool[int(contenders.min())][1]  # the pool is sorted best first

    def _mutant(self, parent: Structure) -> Structure:
        child = parent.copy()
        if self.rng.random() < self.substitution:
            species = sorted({site.specie for site in child}, key=lambda e: e.Z)
            old = species[int(self.rng.integers(len(species)))]
            options = group_neighbours(Element(old.symbol))
            if options:
                child.replace_species({old: options[int(self.rng.integers(len(options)))]})
        child.apply_strain(self.rng.uniform(-self.strain, self.strain, 3))
        for i in range(len(child)):
            child.translate_sites([i], self.rng.normal(0.0, self.jitter, 3), frac_coords=False, to_unit_cell=True)
        return child

    def ask(self, n: int) -> list[Structure | None]:
        return [self._mutant(self._parent()) for _ in range(n)]

    def tell(self, structures: list[Structure | None], values: np.ndarray) -> None:
        self._add(structures, np.asarray(values, dtype=float))
