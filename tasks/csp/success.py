"""The csp26 success criteria: did a trial's final (relaxed) structure recover the ground state?

Two criteria, both against the compound's reference — the lower in energy of the
experimental structure and the judge's lowest known polymorph:

* ``energy`` (the LCOM paper's, §6): the formation energy per atom is within 20 %
  of the reference's, |E(x̂) − E*| / |E*| ≤ 0.2. For the elements (C, Si) the
  reference's formation energy is zero by definition, which makes a relative
  criterion meaningless; there it applies to the energy per atom instead.
* ``strict``: pymatgen's ``StructureMatcher`` matches the structure to the
  experimental structure or to the judge's lowest polymorph, and the energy per
  atom is at most 0.03 eV above the reference's.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from pymatgen.analysis.structure_matcher import StructureMatcher
from pymatgen.core import Structure

RELATIVE_TOLERANCE = 0.2
STRICT_DELTA_E = 0.03
"""eV/atom above the reference's energy that the strict criterion allows."""


@dataclass(frozen=True)
class Verdict:
    """How one final structure fares against one compound's reference under one energy model."""

    energy_success: bool
    strict_success: bool
    relative_error: float
    """|E(x̂) − E*| / |E*| on formation energies per atom (energies per atom for the elements)."""
    delta_e: float
    """E(x̂) − E* in eV/atom (energy per atom; equal to the formation-energy difference)."""
    matched: str | None
    """Which reference structure ``StructureMatcher`` matched ("experimental", "judge") or None."""


def judge(
    energy: float,
    formation_energy: float,
    reference_energy: float,
    reference_formation_energy: float,
    structure: Structure | None = None,
    references: dict[str, Structure] | None = None,
    element: bool = False,
) -> Verdict:
    """The verdict for a structure of ``energy`` and ``formation_energy`` per atom (eV) against the reference's.

    ``element`` (one-element compositions) judges the relative error on energies per
    atom. ``references`` maps "experimental" / "judge" to the structures a match may
    hit; without a structure nothing matches and the strict criterion fails.
    """
    # The paper prints (E(x, c*) − E(x, ĉ)) / |E(x, c*)| ≤ 0.2; with E(c*) the minimum
    # that numerator is never positive, so the bound would always hold — a sign slip.
    # We use the absolute relative error.
    value, target = (energy, reference_energy) if element else (formation_energy, reference_formation_energy)
    delta = energy - reference_energy
    finite = math.isfinite(delta) and math.isfinite(value - target)
    relative = abs(value - target) / abs(target) if finite and target else math.nan
    matched = _match(structure, references or {}) if structure is not None and finite else None
    return Verdict(
        energy_success=finite and relative <= RELATIVE_TOLERANCE,
        strict_success=matched is not None and delta <= STRICT_DELTA_E,
        relative_error=relative,
        delta_e=delta if finite else math.nan,
        matched=matched,
    )


def _match(structure: Structure, references: dict[str, Structure]) -> str | None:
    matcher = StructureMatcher()
    for name, reference in references.items():
        if reference is not None and matcher.fit(structure, reference):
            return name
    return None
