"""Random crystals of a fixed composition: the candidates of random search and the starts of CSP trials.

``random_structure`` draws a space group, then lets PyXtal place the atoms on
Wyckoff positions of that group with a volume scaled from atomic radii and a
minimum interatomic distance (PyXtal's tolerance matrix). This is how GN-OA
(Cheng et al. 2022) samples symmetric candidates; ``space_group=1`` gives the
plain random lattice and fractional coordinates of a P1 cell.

Every draw comes from the caller's ``numpy.random.Generator``, so a seed fixes
the structure (PyXtal receives a ``random_state`` drawn from it; its ``seed`` argument does not fix the result).
"""

from __future__ import annotations

import warnings

import numpy as np
from pymatgen.core import Structure

MAX_TRIES = 100
"""Space groups drawn before giving up on symmetry and falling back to P1."""


def random_structure(
    species: dict[str, int],
    rng: np.random.Generator,
    space_group: int | None = None,
    volume_factor: float = 1.1,
) -> Structure:
    """A random crystal with exactly ``species`` atoms in its cell (e.g. ``{"Na": 1, "Cl": 1}``).

    ``space_group`` None draws one uniformly from 2–230 until PyXtal can place
    the atoms in it (at most ``MAX_TRIES`` groups, then P1). ``volume_factor``
    scales PyXtal's estimate of the cell volume from atomic radii.
    """
    from pyxtal import pyxtal
    from pyxtal.msg import Comp_CompatibilityError

    elements, counts = list(species), [int(n) for n in species.values()]
    groups = [space_group] if space_group else [int(g) for g in rng.integers(2, 231, size=MAX_TRIES)] + [1]
    for group in groups:
        crystal = pyxtal()
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                crystal.from_random(
                    3, group, elements, counts, factor=volume_factor, conventional=False,
                    random_state=int(rng.integers(2**31)),
                )
        except (Comp_CompatibilityError, RuntimeError):  # RuntimeError: PyXtal gave up placing atoms in this group
            continue
        if crystal.valid:
            structure = crystal.to_pymatgen()
            if _counts(structure) == dict(zip(elements, counts)):
                return structure
    raise RuntimeError(f"PyXtal placed no random crystal of {species} in space groups {groups[:5]}…")


def _counts(structure: Structure) -> dict[str, int]:
    return {el.symbol: int(n) for el, n in structure.composition.element_composition.items()}
