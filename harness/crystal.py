"""Validity of proposed crystals: as the papers define it, and the two checks the generative-crystal literature reports.

*Valid* (Crystal-LSBO §5.1, LCOM §6): the structure converts to a CIF and back —
a 3-D lattice of positive volume, fractional coordinates in range, at least one
element.

*Structurally valid* (CDVAE, DiffCSP, matbench-genmetrics): valid, no two atoms
closer than ``MIN_DISTANCE_A`` (periodic images included) and at least
``MIN_VOLUME_PER_ATOM_A3`` of cell volume per atom.

*Compositionally valid*: SMACT's rule (``smact.screening.smact_validity`` with its
defaults: charge neutrality over the ICSD-24 oxidation states with the Pauling
electronegativity test, metals and alloys valid), so intermetallics pass; a
one-element crystal is valid. Both are reported, and their conjunction. They replace
a combined "physically valid" that used pymatgen's oxidation-state guess, which
rejected 43 % of the real, DFT-stable crystals of the bundled dataset.
"""

from __future__ import annotations

import warnings
from functools import cache

import numpy as np
from pymatgen.core import Composition, Structure
from pymatgen.io.cif import CifParser, CifWriter

MIN_DISTANCE_A = 0.5
MIN_VOLUME_PER_ATOM_A3 = 0.1


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


def is_structurally_valid(structure: Structure | None) -> bool:
    """Valid, no two atoms closer than 0.5 Å (periodic images included), and >= 0.1 Å³ of volume per atom."""
    return is_valid(structure) and is_structurally_plausible(structure)


def is_structurally_plausible(structure: Structure) -> bool:
    """The structural checks alone, for a structure already known to be valid."""
    if structure.volume / len(structure) < MIN_VOLUME_PER_ATOM_A3:
        return False
    centers, _, _, _ = structure.get_neighbor_list(MIN_DISTANCE_A)
    return len(centers) == 0


def is_compositionally_valid(composition: Composition | Structure) -> bool:
    """SMACT's charge-neutrality and electronegativity rule (metals and alloys valid; one element: valid)."""
    if isinstance(composition, Structure):
        composition = composition.composition
    return _smact_valid(Composition(composition).reduced_formula)


@cache
def _smact_valid(formula: str) -> bool:
    from smact.screening import smact_validity

    composition = Composition(formula)
    return len(composition.elements) == 1 or bool(smact_validity(composition))
