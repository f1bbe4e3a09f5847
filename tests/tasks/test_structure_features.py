"""The proxy's featurisation: fixed layout, known values, NaN-safety, invariance."""

from __future__ import annotations

import numpy as np
import pytest
from pymatgen.core import Lattice, Structure

from crystalbench.tasks.structure_features import (
    ELEMENT_PROPERTIES,
    FEATURE_NAMES,
    STATISTICS,
    featurise,
    featurise_one,
)


def rocksalt(a: float = 5.64) -> Structure:
    return Structure.from_spacegroup("Fm-3m", Lattice.cubic(a), ["Na", "Cl"], [[0, 0, 0], [0.5, 0.5, 0.5]])


def col(name: str) -> int:
    return FEATURE_NAMES.index(name)


def test_layout() -> None:
    assert len(FEATURE_NAMES) == 42 == len(ELEMENT_PROPERTIES) * len(STATISTICS) + 10
    assert len(set(FEATURE_NAMES)) == len(FEATURE_NAMES)
    assert featurise([rocksalt()]).shape == (1, 42)
    assert featurise([]).shape == (0, 42)


def test_known_values_of_nacl() -> None:
    row = featurise([rocksalt()])[0]
    assert row[col("Z_mean")] == pytest.approx(14.0)
    assert row[col("Z_std")] == pytest.approx(3.0)
    assert (row[col("Z_min")], row[col("Z_max")]) == (11.0, 17.0)
    assert row[col("X_mean")] == pytest.approx((0.93 + 3.16) / 2)
    assert row[col("row_mean")] == pytest.approx(3.0)
    assert row[col("n_sites")] == 8
    assert row[col("n_elements")] == 2
    assert row[col("volume_per_atom")] == pytest.approx(5.64**3 / 8)
    assert row[col("density")] == pytest.approx(2.16, abs=0.01)  # NaCl: 2.165 g/cm^3
    assert [row[col(f"length_{k}_norm")] for k in (1, 2, 3)] == pytest.approx([1.0, 1.0, 1.0])
    assert [row[col(f"angle_{k}")] for k in (1, 2, 3)] == pytest.approx([90.0, 90.0, 90.0])


def test_none_gives_nan_row_and_missing_properties_are_skipped() -> None:
    argon = Structure(Lattice.cubic(5.3), ["Ar"], [[0, 0, 0]])
    na_ar = Structure(Lattice.cubic(5.0), ["Na", "Ar"], [[0, 0, 0], [0.5, 0.5, 0.5]])
    rows = featurise([None, argon, na_ar])
    assert np.isnan(rows[0]).all()
    # Ar has no Pauling electronegativity: its X statistics are missing, the rest are there.
    x_cols = [col(f"X_{s}") for s in STATISTICS]
    assert np.isnan(rows[1, x_cols]).all()
    assert np.isfinite(np.delete(rows[1], x_cols)).all()
    # In NaAr the X statistics are Na's alone (weights renormalised over elements that have a value).
    assert rows[2, col("X_mean")] == pytest.approx(0.93)
    assert rows[2, col("X_std")] == pytest.approx(0.0)
    assert rows[2, col("Z_mean")] == pytest.approx((11 + 18) / 2)
    assert not np.isinf(rows).any()


def test_invariant_to_site_order_and_axis_order() -> None:
    s = Structure(Lattice.orthorhombic(3.0, 4.0, 5.0), ["Li", "O", "O"], [[0, 0, 0], [0.5, 0.5, 0], [0, 0.5, 0.5]])
    lattice, flipped = Lattice.orthorhombic(3.0, 4.0, 5.0), Lattice.orthorhombic(5.0, 4.0, 3.0)
    shuffled = Structure(lattice, ["O", "Li", "O"], [[0, 0.5, 0.5], [0, 0, 0], [0.5, 0.5, 0]])
    swapped = Structure(flipped, ["Li", "O", "O"], [[0, 0, 0], [0, 0.5, 0.5], [0.5, 0.5, 0]])
    a, b, c = featurise([s, shuffled, swapped])
    np.testing.assert_allclose(a, b)
    np.testing.assert_allclose(a, c)


def test_bundled_dataset(bundled_dataset) -> None:
    structures = bundled_dataset.structures()
    features = featurise(structures)
    assert features.shape == (len(bundled_dataset), 42)
    rows_with_nan = np.flatnonzero(np.isnan(features).any(axis=1))
    # Only helium lacks data (no electronegativity, no atomic radius in pymatgen).
    assert all(set(map(str, structures[i].composition.elements)) & {"He", "Ne", "Ar"} for i in rows_with_nan)
    assert len(rows_with_nan) <= 2
    np.testing.assert_array_equal(features[:50], np.stack([featurise_one(s) for s in structures[:50]]))
