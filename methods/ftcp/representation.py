"""The FTCP representation (Ren et al., Matter 2022): a crystal as one real-valued matrix.

A crystal becomes a matrix of shape ``(layout.n_rows, layout.n_channels)``.
Rows are the 1-D convolution's length axis, columns its channels. The first
``E = max(max_elements, 3)`` columns hold the real-space part:

====================  ======================  =========================================================
rows                  block                   content
====================  ======================  =========================================================
``V``                 element one-hot         column j: the j-th distinct element (order of first site)
1                     lattice lengths         a, b, c (Å) in columns 0..2
1                     lattice angles          α, β, γ (degrees) in columns 0..2
``S``                 site coordinates        row i: fractional coordinates of site i in columns 0..2
``S``                 site occupancy          row i: one-hot over the E element columns; empty: zeros
1                     (reciprocal header)     zeros in the real part
``P``                 elemental properties    column j: property vector of the j-th element
====================  ======================  =========================================================

with ``V`` = 94 elements, ``S`` = ``max_sites``, ``P`` = 8 properties. The
last ``K = n_kpoints`` columns hold the reciprocal-space part: zeros except
the header row (|g_hkl| in 1/Å, crystallographic convention) and the ``P``
property rows, where column k is the real part of the Fourier transform of each
elemental property over the sites, ``F_p(hkl_k) = Σ_i f_p(site i) cos(2π hkl_k · r_i)``,
on a fixed list of Miller indices (the ``K`` non-zero hkl nearest the origin
in |h|+|k|+|l|, ties broken as in the reference code). The reference code
multiplies by ``π hkl·r`` instead of taking a cosine; the cosine is the
physical structure factor and is invariant under lattice translations of a site.

Only the real-space part is read back (``decode``); the reciprocal part is
extra input the autoencoder learns to reproduce. Decoding uses the original
work's thresholds: each element column is the argmax over the vocabulary; a
site is occupied when its largest occupancy value reaches
``occupancy_threshold`` (0.05) and then holds the element of that column.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from functools import cached_property

import numpy as np
from pymatgen.core import Element, Lattice, Structure

from crystalbench.api import is_valid
from crystalbench.methods.ftcp.elements import MAX_Z, PROPERTY_NAMES, SYMBOLS, property_matrix

OCCUPANCY_THRESHOLD = 0.05
"""A site is occupied when its largest occupancy value is at least this (FTCP reference code)."""


@dataclass(frozen=True)
class Layout:
    """Limits of the representation and the resulting row offsets."""

    max_elements: int = 4
    max_sites: int = 20
    n_kpoints: int = 59

    def __post_init__(self) -> None:
        if self.max_elements < 1 or self.max_sites < 1 or self.n_kpoints < 1:
            raise ValueError(f"FTCP limits must be positive, got {self}")

    @property
    def width(self) -> int:
        """Real-space columns E (at least 3, for the three lattice lengths and coordinates)."""
        return max(self.max_elements, 3)

    @property
    def n_channels(self) -> int:
        return self.width + self.n_kpoints

    @property
    def lengths_row(self) -> int:
        return MAX_Z

    @property
    def angles_row(self) -> int:
        return MAX_Z + 1

    @property
    def coords_rows(self) -> slice:
        return slice(MAX_Z + 2, MAX_Z + 2 + self.max_sites)

    @property
    def occupancy_rows(self) -> slice:
        return slice(MAX_Z + 2 + self.max_sites, MAX_Z + 2 + 2 * self.max_sites)

    @property
    def kpoint_row(self) -> int:
        return MAX_Z + 2 + 2 * self.max_sites

    @property
    def property_rows(self) -> slice:
        return slice(self.kpoint_row + 1, self.kpoint_row + 1 + len(PROPERTY_NAMES))

    @property
    def n_rows(self) -> int:
        return self.property_rows.stop

    @cached_property
    def miller_indices(self) -> np.ndarray:
        """The fixed reciprocal-lattice points, shape (n_kpoints, 3), int."""
        r = int(np.ceil(self.n_kpoints ** (1 / 3))) + 1
        grid = np.stack(np.meshgrid(*[np.arange(-r, r + 1)] * 3, indexing="ij"), axis=-1).reshape(-1, 3)
        grid = grid[np.any(grid != 0, axis=1)]
        order = np.lexsort((-grid[:, 2], -grid[:, 1], -grid[:, 0], np.abs(grid).sum(axis=1)))
        return grid[order[: self.n_kpoints]]

    def fits(self, structure: Structure) -> bool:
        """Whether ``structure`` is ordered and within the element, site and vocabulary limits."""
        if not structure.is_ordered or len(structure) == 0:
            return False
        elements = structure.composition.elements
        return (
            len(structure) <= self.max_sites
            and len(elements) <= self.max_elements
            and all(isinstance(e, Element) and e.Z <= MAX_Z for e in elements)
        )


def encode(structure: Structure, layout: Layout) -> np.ndarray:
    """The FTCP matrix of one crystal, shape (layout.n_rows, layout.n_channels); it must fit ``layout``."""
    if not layout.fits(structure):
        raise ValueError(f"{structure.composition.reduced_formula} ({len(structure)} sites) does not fit {layout}")
    site_z = np.array([site.specie.Z for site in structure])
    _, first = np.unique(site_z, return_index=True)
    element_z = site_z[np.sort(first)]  # distinct elements in order of first appearance
    column_of = {int(z): j for j, z in enumerate(element_z)}
    site_column = np.array([column_of[int(z)] for z in site_z])
    n_sites, n_elements = len(site_z), len(element_z)
    props = property_matrix()

    matrix = np.zeros((layout.n_rows, layout.n_channels))
    real = matrix[:, : layout.width]
    real[element_z - 1, np.arange(n_elements)] = 1.0
    real[layout.lengths_row, :3] = structure.lattice.abc
    real[layout.angles_row, :3] = structure.lattice.angles
    frac = np.mod(structure.frac_coords, 1.0)
    real[layout.coords_rows][:n_sites, :3] = frac
    real[layout.occupancy_rows][np.arange(n_sites), site_column] = 1.0
    real[layout.property_rows, :n_elements] = props[element_z - 1].T

    recip = matrix[:, layout.width :]
    hkl = layout.miller_indices
    recip[layout.kpoint_row] = np.linalg.norm(hkl @ structure.lattice.reciprocal_lattice_crystallographic.matrix, axis=1)
    recip[layout.property_rows] = props[site_z - 1].T @ np.cos(2 * np.pi * frac @ hkl.T)
    return matrix


def decode(matrix: np.ndarray, layout: Layout, occupancy_threshold: float = OCCUPANCY_THRESHOLD) -> Structure | None:
    """Read a crystal back from the real-space part of an FTCP matrix (n_rows, n_channels); None if invalid.

    Invalid: no occupied site, a non-positive or non-finite lattice length, an
    angle outside (0°, 180°), or a structure failing the papers' validity check
    (``harness.crystal.is_valid``: positive volume, CIF round trip).
    """
    real = np.asarray(matrix)[:, : layout.width]
    occupancy = real[layout.occupancy_rows]  # (S, E)
    occupied = occupancy.max(axis=1) >= occupancy_threshold
    if not occupied.any():
        return None
    column_z = real[:MAX_Z].argmax(axis=0) + 1  # (E,) element of each column
    species = [SYMBOLS[z - 1] for z in column_z[occupancy[occupied].argmax(axis=1)]]
    abc, angles = real[layout.lengths_row, :3], real[layout.angles_row, :3]
    if not (np.all(np.isfinite(abc)) and np.all(abc > 0) and np.all(np.isfinite(angles))
            and np.all((angles > 0) & (angles < 180))):
        return None
    coords = np.mod(real[layout.coords_rows][occupied, :3], 1.0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            structure = Structure(Lattice.from_parameters(*abc, *angles), species, coords)
        except Exception:  # pymatgen rejects degenerate lattices with several exception types
            return None
        return structure if is_valid(structure) else None
