"""A cheap relaxation for DFT: scan one length scale at fixed shape and fit its minimum.

Full GPAW relaxations of positions and cell cost tens of single points with
stress; the csp26 polymorphs are high-symmetry prototypes whose only free
parameters are the lattice constant(s) (and wurtzite's u), so the GPAW judge
scans the uniform scale s of the cell (volume ∝ s³) at the prototype's shape —
ideal wurtzite c/a and u unless experiment gives them, graphite at the
experimental c/a — fits a Birch–Murnaghan equation of state E(V), and takes a
single point at the fitted minimum. For a molecule in a box the scale applies
to the positions about their centroid (the bond lengths) and the box stays.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence

import numpy as np
from ase.eos import EquationOfState
from pymatgen.core import Lattice, Structure

from crystalbench.physics.energy_models import Relaxation

SCALES: tuple[float, ...] = (0.95, 0.975, 1.0, 1.025, 1.05)
"""Linear scale factors of the first scan (volume −14 % … +16 %)."""
MAX_EXTENSIONS = 4
"""How many extra points the scan may add, one step beyond whichever end is lowest, before giving up."""

EnergyFunction = Callable[[Sequence[Structure]], np.ndarray]


def scaled(structure: Structure, scale: float, molecule: bool = False) -> Structure:
    """The structure with its cell (or, for a molecule, its positions about the centroid) scaled by ``scale``."""
    if molecule:
        cart = structure.cart_coords
        centroid = cart.mean(axis=0)
        return Structure(structure.lattice, structure.species, centroid + scale * (cart - centroid),
                         coords_are_cartesian=True, site_properties=structure.site_properties)
    return Structure(Lattice(structure.lattice.matrix * scale), structure.species, structure.frac_coords,
                     site_properties=structure.site_properties)


def scan_relax(energy: EnergyFunction, structure: Structure, molecule: bool = False) -> Relaxation:
    """Minimise the energy over the uniform scale of ``structure``; ``steps`` counts single points.

    ``converged`` is True when the minimum is bracketed by the scan and the fit
    succeeds; otherwise the lowest point scanned is returned with ``converged=False``.
    """
    start = time.perf_counter()
    scales = list(SCALES)
    energies = list(energy([scaled(structure, s, molecule) for s in scales]))
    step = SCALES[1] - SCALES[0]
    for _ in range(MAX_EXTENSIONS):
        finite = [(e, s) for e, s in zip(energies, scales) if math.isfinite(e)]
        if not finite:
            break
        lowest = min(finite)[1]
        if min(scales) < lowest < max(scales):
            break
        new = lowest - step if lowest == min(scales) else lowest + step
        scales.append(new)
        energies.extend(energy([scaled(structure, new, molecule)]))
    finite = [(s, e) for s, e in zip(scales, energies) if math.isfinite(e)]
    best_scale, best_energy = min(finite, key=lambda pair: pair[1]) if finite else (1.0, math.nan)
    bracketed = bool(finite) and min(s for s, _ in finite) < best_scale < max(s for s, _ in finite)
    fitted = _fit_minimum(finite, molecule) if bracketed else None
    converged = fitted is not None
    if converged:
        final = scaled(structure, fitted, molecule)
        final_energy = float(energy([final])[0])
        scales.append(fitted)
        if not math.isfinite(final_energy) or final_energy > best_energy:
            final, final_energy = scaled(structure, best_scale, molecule), best_energy
    else:
        final, final_energy = scaled(structure, best_scale, molecule), best_energy
    return Relaxation(final, float(final_energy), converged, len(scales), time.perf_counter() - start)


def _fit_minimum(points: list[tuple[float, float]], molecule: bool) -> float | None:
    """The scale at the minimum, fitted to the five points nearest the lowest one.

    A crystal: Birch–Murnaghan in volume, or a cubic in volume where that fit
    fails; a molecule: a cubic in the bond-length scale. None when the fitted
    minimum falls outside the points fitted.
    """
    best = min(points, key=lambda pair: pair[1])[0]
    nearest = sorted(sorted(points, key=lambda pair: abs(pair[0] - best))[:5])
    scales = np.array([s for s, _ in nearest])
    energies = np.array([e for _, e in nearest])
    x = scales if molecule else scales**3
    fitted = None
    if not molecule:
        try:
            fitted = float(EquationOfState(x, energies, eos="birchmurnaghan").fit(warn=False)[0])
        except Exception:  # noqa: BLE001 — fall back to the polynomial below
            fitted = None
    if fitted is None or not x.min() <= fitted <= x.max():
        polynomial = np.polynomial.Polynomial.fit(x, energies, min(3, len(x) - 1))
        roots = [r.real for r in polynomial.deriv().roots() if abs(r.imag) < 1e-12]
        minima = [r for r in roots if polynomial.deriv(2)(r) > 0 and x.min() <= r <= x.max()]
        fitted = float(min(minima, key=polynomial)) if minima else None
    if fitted is None:
        return None
    return fitted if molecule else float(np.cbrt(fitted))
