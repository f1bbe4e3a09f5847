"""The space-group-1 (P1) representation of a crystal: lattice, fractional coordinates, element one-hot.

A crystal of up to ``max_sites`` sites becomes three arrays (Crystal-LSBO §4.1,
Fig. 2A), one per part VAE:

* lattice ``(6,)``: a, b, c (Å), α, β, γ (degrees);
* coordinates ``(max_sites, 3)``: fractional coordinates, zero rows for empty slots;
* elements ``(max_sites, N_CLASSES)``: one-hot over ``VOCABULARY``; class 0 marks an
  empty slot, so occupancy is part of the one-hot.

``from_structure`` and ``to_structure`` are exact inverses for crystals whose
lattice was built from its parameters (as every CIF-parsed crystal's is).
``to_structure`` returns None when the arrays do not make a valid crystal.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
from pymatgen.core import Element, Lattice, Structure

from crystalbench.api import is_valid

MAX_Z = 100
VOCABULARY: tuple[str, ...] = ("",) + tuple(Element.from_Z(z).symbol for z in range(1, MAX_Z + 1))
"""Class 0 is the empty slot; class ``z`` is the element with atomic number ``z``."""
N_CLASSES = len(VOCABULARY)
EMPTY = 0


@dataclass(frozen=True)
class P1Arrays:
    """A batch of crystals in the P1 representation (float64 numpy)."""

    lattice: np.ndarray
    """(n, 6): a, b, c in Å; α, β, γ in degrees."""
    coords: np.ndarray
    """(n, max_sites, 3): fractional coordinates; zero in empty slots."""
    elements: np.ndarray
    """(n, max_sites, N_CLASSES): one-hot classes; class 0 = empty slot."""

    def __len__(self) -> int:
        return len(self.lattice)


def from_structure(structure: Structure, max_sites: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """One crystal as (lattice (6,), coords (max_sites, 3), elements (max_sites, N_CLASSES)).

    Raises ValueError for a crystal with more than ``max_sites`` sites, partial
    occupancy, or an element beyond ``MAX_Z``.
    """
    if len(structure) > max_sites:
        raise ValueError(f"{structure.composition.reduced_formula} has {len(structure)} sites > max_sites {max_sites}")
    if not structure.is_ordered:
        raise ValueError(f"{structure.composition.reduced_formula} is disordered; P1 needs one element per site")
    lattice = np.array([*structure.lattice.abc, *structure.lattice.angles], dtype=np.float64)
    coords = np.zeros((max_sites, 3))
    coords[: len(structure)] = structure.frac_coords
    elements = np.zeros((max_sites, N_CLASSES))
    elements[np.arange(max_sites), EMPTY] = 1.0
    for i, site in enumerate(structure):
        z = site.specie.Z
        if z > MAX_Z:
            raise ValueError(f"element {site.specie} beyond Z={MAX_Z}")
        elements[i, EMPTY] = 0.0
        elements[i, z] = 1.0
    return lattice, coords, elements


def encode_structures(structures: list[Structure], max_sites: int) -> P1Arrays:
    """Stack ``from_structure`` over a list of crystals."""
    parts = [from_structure(s, max_sites) for s in structures]
    return P1Arrays(
        lattice=np.stack([p[0] for p in parts]).reshape(len(parts), 6),
        coords=np.stack([p[1] for p in parts]).reshape(len(parts), max_sites, 3),
        elements=np.stack([p[2] for p in parts]).reshape(len(parts), max_sites, N_CLASSES),
    )


def to_structure(lattice: np.ndarray, coords: np.ndarray, classes: np.ndarray) -> Structure | None:
    """Assemble a crystal from lattice (6,), coords (max_sites, 3) and element classes (max_sites,) ints.

    Empty slots are dropped. None when no site is occupied, the lattice
    parameters do not span a 3-D cell, or the result fails ``harness.crystal.is_valid``.
    """
    occupied = classes != EMPTY
    if not occupied.any() or not np.all(np.isfinite(lattice)):
        return None
    a, b, c, alpha, beta, gamma = (float(v) for v in lattice)
    if min(a, b, c) <= 0 or not all(0 < angle < 180 for angle in (alpha, beta, gamma)):
        return None
    cosines = np.cos(np.radians([alpha, beta, gamma]))
    if 1 - (cosines**2).sum() + 2 * cosines.prod() <= 1e-8:  # (V / abc)^2: no 3-D cell for these angles
        return None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        structure = Structure(
            Lattice.from_parameters(a, b, c, alpha, beta, gamma),
            [VOCABULARY[k] for k in classes[occupied]],
            coords[occupied],
        )
    return structure if is_valid(structure) else None


def decode_arrays(arrays: P1Arrays) -> list[Structure | None]:
    """``to_structure`` for every row, taking the argmax class of each slot."""
    classes = arrays.elements.argmax(axis=-1)
    return [to_structure(arrays.lattice[i], arrays.coords[i], classes[i]) for i in range(len(arrays))]
