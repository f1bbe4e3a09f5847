"""The lattice-constant scan that stands in for a GPAW relaxation, on a toy energy."""

from __future__ import annotations

import numpy as np
import pytest
from pymatgen.core import Lattice, Structure

from crystalbench.tasks.csp.lattice_scan import scaled, scan_relax


def toy(v0: float):
    """E(V) with a minimum at volume v0, as a batched energy function."""

    def energy(structures):
        return np.array([(s.volume / v0 - 1.0) ** 2 - 3.0 for s in structures])

    return energy


@pytest.mark.parametrize("v0", [64.0, 80.0, 45.0])
def test_scan_finds_the_minimum_even_outside_the_first_range(v0):
    start = Structure(Lattice.cubic(4.0), ["Na", "Cl"], [[0, 0, 0], [0.5, 0.5, 0.5]])
    result = scan_relax(toy(v0), start)
    assert result.converged
    assert result.structure.volume == pytest.approx(v0, rel=2e-3)
    assert result.energy_per_atom == pytest.approx(-3.0, abs=1e-5)


def test_molecule_scan_changes_the_bond_not_the_box():
    dimer = Structure(Lattice.cubic(10.0), ["Cl", "Cl"], [[5, 5, 4], [5, 5, 6]], coords_are_cartesian=True)

    def energy(structures):
        return np.array([(s.get_distance(0, 1) - 2.1) ** 2 for s in structures])

    result = scan_relax(energy, dimer, molecule=True)
    assert result.converged
    assert result.structure.get_distance(0, 1) == pytest.approx(2.1, abs=1e-3)
    assert result.structure.lattice.abc == pytest.approx((10.0, 10.0, 10.0))
    assert scaled(dimer, 1.1, molecule=True).get_distance(0, 1) == pytest.approx(2.2)


def test_all_nan_energies_give_an_unconverged_nan():
    start = Structure(Lattice.cubic(4.0), ["Na", "Cl"], [[0, 0, 0], [0.5, 0.5, 0.5]])
    result = scan_relax(lambda structures: np.full(len(structures), np.nan), start)
    assert not result.converged and np.isnan(result.energy_per_atom)
