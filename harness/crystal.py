"""Validity of proposed crystals, as the papers define it and a stricter physical check.

*Valid* (Crystal-LSBO §5.1, LCOM §6): the structure converts to a CIF and back —
a 3-D lattice of positive volume, fractional coordinates in range, at least one
element. *Physically valid* adds a minimum interatomic distance of 0.5 Å and a
charge-neutral oxidation-state guess. The two are reported as separate metrics.
"""

from __future__ import annotations

import warnings

import numpy as np
from pymatgen.core import Structure
from pymatgen.io.cif import CifParser, CifWriter

MIN_DISTANCE_A = 0.5


def to_cif(structure: Structure) -> str:
    """The CIF text of a structure (P1, as written by pymatgen)."""
    return str(CifWriter(structure))


def from_cif(text: str) -> Structure:
    """Parse exactly one structure from CIF text; raises ValueError on anything unparsable."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            structures = CifParser.from_str(text).parse_structures(primitive=False, on_error="raise")
        except Exception as exc:  # pymatgen raises many types for bad CIFs
            raise ValueError(f"unparsable CIF: {exc}") from exc
    if len(structures) != 1:
        raise ValueError(f"CIF holds {len(structures)} structures, expected 1")
    return structures[0]


def is_valid(structure: Structure | None) -> bool:
    """The papers' validity: positive-volume 3-D lattice, finite in-range coordinates, >= 1 element, CIF round trip."""
    if structure is None or len(structure) == 0:
        return False
    lattice = structure.lattice
    if not np.all(np.isfinite(lattice.matrix)) or not lattice.volume > 1e-6:
        return False
    frac = structure.frac_coords
    if not np.all(np.isfinite(frac)) or np.any(frac < -1e-6) or np.any(frac > 1 + 1e-6):
        return False
    try:
        back = from_cif(to_cif(structure))
    except ValueError:
        return False
    return len(back) == len(structure) and back.composition.reduced_formula == structure.composition.reduced_formula


def is_physically_valid(structure: Structure | None) -> bool:
    """Valid, no two atoms closer than 0.5 Å (periodic images included), and a charge-neutral oxidation guess."""
    return is_valid(structure) and is_physically_plausible(structure)


def is_physically_plausible(structure: Structure) -> bool:
    """The physical checks alone, for a structure already known to be valid."""
    centers, _, _, _ = structure.get_neighbor_list(MIN_DISTANCE_A)
    return len(centers) == 0 and is_charge_neutral(structure)


def is_charge_neutral(structure: Structure) -> bool:
    """Whether pymatgen finds any assignment of common oxidation states summing to zero (elements: always)."""
    composition = structure.composition
    if len(composition.elements) == 1:
        return True
    try:
        return len(composition.oxi_state_guesses(max_sites=-50)) > 0
    except ValueError:
        return False
