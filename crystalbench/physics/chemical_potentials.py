"""Formation energies from an interatomic potential: elemental chemical potentials fitted to the dataset's labels.

``E_f(x) = e(x) − Σ_i c_i(x) μ_i``, with ``e`` the model's energy per atom and ``c_i`` the
atomic fractions. The ``μ_i`` are fitted by least squares on labelled crystals,
``e(x) − E_f^DFT(x) = Σ_i c_i(x) μ_i``.

Why fitted rather than the model's relaxed elemental ground states: the labels are
Materials Project formation energies, which mix GGA and GGA+U and carry the MP2020
anion and U corrections; no set of elemental reference energies reproduces those, while
a linear fit in the fractions absorbs them (it has the form of the corrections
themselves), and it needs nothing the benchmark does not ship. An element absent from
the fit has no potential: a crystal containing it gets NaN, never a guess.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from pymatgen.core import Composition


@dataclass(frozen=True)
class ChemicalPotentials:
    """Fitted elemental chemical potentials (eV/atom) of one energy model."""

    mu: dict[str, float]

    @classmethod
    def fit(cls, compositions: Sequence[Composition], energies: np.ndarray, labels: np.ndarray) -> ChemicalPotentials:
        """Least-squares ``μ`` from model energies per atom and DFT formation energies per atom, both shape (n,).

        Rows where either is not finite are left out.
        """
        keep = np.flatnonzero(np.isfinite(energies) & np.isfinite(labels))
        elements = sorted({str(el) for i in keep for el in Composition(compositions[i]).elements})
        column = {el: j for j, el in enumerate(elements)}
        fractions = np.zeros((len(keep), len(elements)))
        for r, i in enumerate(keep):
            for el, x in Composition(compositions[i]).fractional_composition.items():
                fractions[r, column[str(el)]] = x
        mu, *_ = np.linalg.lstsq(fractions, energies[keep] - labels[keep], rcond=None)
        return cls({el: float(mu[column[el]]) for el in elements})

    def formation_energy(self, composition: Composition, energy_per_atom: float) -> float:
        """``E_f`` per atom of a crystal of ``composition`` at ``energy_per_atom``; NaN for an element without ``μ``."""
        fractions = Composition(composition).fractional_composition
        if any(str(el) not in self.mu for el in fractions):
            return float("nan")
        return float(energy_per_atom - sum(x * self.mu[str(el)] for el, x in fractions.items()))

    def formation_energies(self, compositions: Sequence[Composition], energies: np.ndarray) -> np.ndarray:
        """``formation_energy`` of each, shape (n,)."""
        return np.array([self.formation_energy(c, e) for c, e in zip(compositions, energies, strict=True)])
