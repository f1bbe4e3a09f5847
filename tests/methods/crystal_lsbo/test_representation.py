"""The P1 representation: exact round trips, and None for arrays that make no valid crystal."""

from __future__ import annotations

import numpy as np
import pytest

from crystalbench.methods.crystal_lsbo.representation import (
    EMPTY,
    decode_arrays,
    encode_structures,
    from_structure,
    to_structure,
)


def assert_round_trip(structures):
    arrays = encode_structures(structures, max_sites=40)
    assert arrays.coords.shape == (len(structures), 40, 3) and arrays.lattice.shape == (len(structures), 6)
    back = decode_arrays(arrays)
    mismatched = [s.composition.reduced_formula for s, b in zip(structures, back) if b != s]
    assert not mismatched, f"round trip changed {len(mismatched)} crystals, e.g. {mismatched[:5]}"
    for s, b in zip(structures, back):  # coordinates bit for bit; the lattice rebuilt from (a, b, c, α, β, γ)
        assert np.array_equal(b.frac_coords, s.frac_coords) and [x.symbol for x in b.species] == [x.symbol for x in s.species]
        assert np.allclose(b.lattice.matrix, s.lattice.matrix, rtol=0, atol=1e-9)


def test_round_trip_is_exact_on_a_sample(bundled_dataset):
    assert_round_trip(bundled_dataset.structures(range(0, len(bundled_dataset), 25)))


@pytest.mark.slow
def test_round_trip_is_exact_for_every_bundled_crystal(bundled_dataset):
    assert_round_trip(bundled_dataset.structures())


def test_occupancy_is_the_empty_class(bundled_dataset):
    s = bundled_dataset.structure(0)
    _, coords, elements = from_structure(s, max_sites=40)
    assert elements.sum(-1).tolist() == [1.0] * 40
    assert (elements.argmax(-1) != EMPTY).sum() == len(s) and not coords[len(s):].any()


def test_too_many_sites_is_refused(bundled_dataset):
    s = bundled_dataset.structure(0)
    with pytest.raises(ValueError, match="max_sites"):
        from_structure(s, max_sites=len(s) - 1)


@pytest.mark.parametrize("lattice, classes", [
    ([4, 4, 4, 90, 90, 90], [EMPTY, EMPTY]),          # no occupied site
    ([-4, 4, 4, 90, 90, 90], [8, 12]),                # negative length
    ([4, 4, 4, 170, 170, 20], [8, 12]),               # angles that span no 3-D cell
    ([4, 4, 4, 90, 190, 90], [8, 12]),                # angle out of range
    ([np.nan, 4, 4, 90, 90, 90], [8, 12]),            # not finite
])
def test_invalid_arrays_decode_to_none(lattice, classes):
    coords = np.array([[0.0, 0.0, 0.0], [0.5, 0.5, 0.5]])
    assert to_structure(np.array(lattice, dtype=float), coords, np.array(classes)) is None


def test_valid_arrays_decode_to_a_structure():
    s = to_structure(np.array([4.2, 4.2, 4.2, 90, 90, 90.0]), np.array([[0, 0, 0], [0.5, 0.5, 0.5]]), np.array([12, 8]))
    assert s is not None and s.composition.reduced_formula == "MgO"
