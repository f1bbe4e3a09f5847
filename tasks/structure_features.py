"""A fixed, cheap featurisation of a crystal: composition statistics plus lattice shape (42 numbers).

The formation-energy proxy (``tasks.formation_energy``) regresses on these. The
paper fed the FTCP matrix to XGBoost (Crystal-LSBO §5.2); we use simple
descriptors instead, which reach a similar held-out error on the bundled data.

Features, in ``FEATURE_NAMES`` order:

* for each of the 8 elemental properties in ``ELEMENT_PROPERTIES`` (atomic
  number, Pauling electronegativity, atomic radius, period, group, Mendeleev
  number, atomic mass, molar volume): the atom-fraction-weighted mean, the
  weighted standard deviation, the minimum and the maximum over the elements
  present (32 features);
* volume per atom (Å^3), density (g/cm^3), number of sites, number of
  elements, the three lattice lengths divided by the cube root of the cell
  volume (sorted ascending) and the three lattice angles in degrees (sorted
  ascending) (10 features).

NaN-safety: an elemental property pymatgen lacks (e.g. the electronegativity
of He, Ne, Ar) is NaN; the statistics of a property are taken over the
elements that have it (weights renormalised) and are NaN only when none has
it. A ``None`` structure gives a row of NaN. XGBoost treats NaN as missing.

Bump ``FEATURE_VERSION`` whenever anything here changes what a row contains:
it is part of the proxy's artifact key.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from functools import lru_cache

import numpy as np
from pymatgen.core import Element, Structure

FEATURE_VERSION = 1

ELEMENT_PROPERTIES: tuple[str, ...] = (
    "Z",
    "X",
    "atomic_radius",
    "row",
    "group",
    "mendeleev_no",
    "atomic_mass",
    "molar_volume",
)
STATISTICS: tuple[str, ...] = ("mean", "std", "min", "max")
LATTICE_FEATURES: tuple[str, ...] = (
    "volume_per_atom",
    "density",
    "n_sites",
    "n_elements",
    "length_1_norm",
    "length_2_norm",
    "length_3_norm",
    "angle_1",
    "angle_2",
    "angle_3",
)
FEATURE_NAMES: tuple[str, ...] = tuple(
    f"{prop}_{stat}" for prop in ELEMENT_PROPERTIES for stat in STATISTICS
) + LATTICE_FEATURES

_AMU_PER_A3_TO_G_PER_CM3 = 1.66053906660


@lru_cache(maxsize=None)
def element_properties(symbol: str) -> np.ndarray:
    """``ELEMENT_PROPERTIES`` of one element as floats, shape (8,); NaN where pymatgen has no value."""
    out = np.full(len(ELEMENT_PROPERTIES), np.nan)
    try:
        element = Element(symbol)
    except ValueError:  # dummy species, unknown symbol
        return out
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # pymatgen warns for every missing datum
        for k, prop in enumerate(ELEMENT_PROPERTIES):
            try:
                value = getattr(element, prop)
            except (AttributeError, KeyError, ValueError, TypeError):
                continue
            if value is None:
                continue
            try:
                out[k] = float(value)
            except (TypeError, ValueError):
                continue
    out.setflags(write=False)
    return out


def _symbol(species: object) -> str:
    return str(getattr(species, "symbol", species))


def _composition_block(symbols: list[str], amounts: np.ndarray) -> np.ndarray:
    """Weighted mean, weighted std, min, max of each property, interleaved per property: shape (32,)."""
    props = np.stack([element_properties(s) for s in symbols])  # (n_el, n_props)
    weights = np.abs(amounts)[:, None] * np.isfinite(props)  # (n_el, n_props)
    total = weights.sum(axis=0)
    filled = np.where(np.isfinite(props), props, 0.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = (weights * filled).sum(axis=0) / total
        var = (weights * (filled - mean) ** 2).sum(axis=0) / total
        std = np.sqrt(np.maximum(var, 0.0))
    masked = np.where(np.isfinite(props), props, np.nan)
    have = total > 0
    lo = np.full(props.shape[1], np.nan)
    hi = np.full(props.shape[1], np.nan)
    if have.any():
        lo[have] = np.nanmin(masked[:, have], axis=0)
        hi[have] = np.nanmax(masked[:, have], axis=0)
    mean[~have] = np.nan
    std[~have] = np.nan
    return np.stack([mean, std, lo, hi], axis=1).reshape(-1)


def featurise_one(structure: Structure | None) -> np.ndarray:
    """``FEATURE_NAMES`` of one crystal, shape (42,); all NaN for ``None`` or an empty structure."""
    row = np.full(len(FEATURE_NAMES), np.nan)
    if structure is None or len(structure) == 0:
        return row
    composition = structure.composition
    symbols = [_symbol(sp) for sp in composition]
    amounts = np.array([composition[sp] for sp in composition], dtype=float)
    n_comp = len(ELEMENT_PROPERTIES) * len(STATISTICS)
    row[:n_comp] = _composition_block(symbols, amounts)

    lattice = structure.lattice
    volume = float(lattice.volume)
    n_atoms = float(np.abs(amounts).sum())
    masses = np.array([element_properties(s)[ELEMENT_PROPERTIES.index("atomic_mass")] for s in symbols])
    mass = float(np.abs(amounts) @ masses)
    with np.errstate(invalid="ignore", divide="ignore"):
        scale = np.cbrt(volume) if volume > 0 else np.nan
        row[n_comp:] = np.concatenate(
            [
                [volume / n_atoms if n_atoms > 0 else np.nan],
                [mass / volume * _AMU_PER_A3_TO_G_PER_CM3 if volume > 0 else np.nan],
                [len(structure), len(set(symbols))],
                np.sort(np.asarray(lattice.abc, dtype=float)) / scale,
                np.sort(np.asarray(lattice.angles, dtype=float)),
            ]
        )
    row[~np.isfinite(row)] = np.nan  # no infinities reach the model
    return row


def featurise(structures: Sequence[Structure | None]) -> np.ndarray:
    """Feature matrix of a batch of crystals, shape (n, len(FEATURE_NAMES)), float64; NaN rows for ``None``."""
    if len(structures) == 0:
        return np.empty((0, len(FEATURE_NAMES)))
    return np.stack([featurise_one(s) for s in structures])
