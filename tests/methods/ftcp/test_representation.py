"""The FTCP matrix: layout, round trip, reciprocal part, decode thresholds and invalid decodes."""

from __future__ import annotations

import numpy as np
import pytest
from pymatgen.core import Lattice, Structure

from crystalbench.harness.dataset import Dataset
from crystalbench.methods.ftcp.elements import MAX_Z, PROPERTY_NAMES, property_matrix
from crystalbench.methods.ftcp.representation import OCCUPANCY_THRESHOLD, Layout, decode, encode

LAYOUT = Layout()


def assert_round_trip(structure: Structure, layout: Layout = LAYOUT) -> None:
    back = decode(encode(structure, layout), layout)
    assert back is not None, structure.composition.reduced_formula
    assert [s.symbol for s in back.species] == [s.symbol for s in structure.species]
    np.testing.assert_allclose(back.lattice.abc, structure.lattice.abc, rtol=1e-9)
    np.testing.assert_allclose(back.lattice.angles, structure.lattice.angles, rtol=1e-9)
    np.testing.assert_allclose(back.frac_coords, np.mod(structure.frac_coords, 1.0), atol=1e-9)


def round_trip_all(dataset: Dataset) -> int:
    fitting = 0
    for i in range(len(dataset)):
        structure = dataset.structure(i)
        if LAYOUT.fits(structure):
            assert_round_trip(structure)
            fitting += 1
    return fitting


def test_round_trip_of_every_small_dataset_crystal_that_fits(small_dataset):
    dataset, _ = small_dataset
    assert round_trip_all(dataset) > 110


@pytest.mark.slow
def test_round_trip_of_every_bundled_crystal_that_fits(bundled_dataset):
    assert round_trip_all(bundled_dataset) == 2429  # 56 of 2,485 have 5 or 6 elements


def test_layout_rows_and_channels():
    layout = Layout(max_elements=5, max_sites=12, n_kpoints=40)
    assert layout.width == 5 and layout.n_channels == 45
    assert layout.n_rows == MAX_Z + 2 + 2 * 12 + 1 + len(PROPERTY_NAMES)
    hkl = layout.miller_indices
    assert hkl.shape == (40, 3) and len({tuple(h) for h in hkl}) == 40 and np.all(np.abs(hkl).sum(axis=1) > 0)
    assert np.all(np.diff(np.abs(hkl).sum(axis=1)) >= 0), "nearest to the origin first"
    assert Layout(max_elements=2).width == 3, "three columns at least, for lengths and coordinates"


def test_limits_decide_what_fits():
    ternary = Structure(Lattice.cubic(4), ["Na", "Cl", "O", "O"], np.random.default_rng(0).random((4, 3)))
    assert Layout(max_elements=3, max_sites=4).fits(ternary)
    assert not Layout(max_elements=2, max_sites=4).fits(ternary)
    assert not Layout(max_elements=3, max_sites=3).fits(ternary)
    with pytest.raises(ValueError, match="does not fit"):
        encode(ternary, Layout(max_elements=2))


def test_reciprocal_part_is_the_structure_factor_of_the_elemental_properties():
    a = 4.0
    single = Structure(Lattice.cubic(a), ["Cu"], [[0, 0, 0]])
    matrix = encode(single, LAYOUT)
    recip = matrix[:, LAYOUT.width :]
    hkl = LAYOUT.miller_indices
    np.testing.assert_allclose(recip[LAYOUT.kpoint_row], np.linalg.norm(hkl, axis=1) / a)
    cu = property_matrix()[29 - 1]
    np.testing.assert_allclose(recip[LAYOUT.property_rows], np.repeat(cu[:, None], len(hkl), axis=1))
    pair = Structure(Lattice.cubic(a), ["Cu", "Cu"], [[0, 0, 0], [0.5, 0, 0]])
    odd_h = hkl[:, 0] % 2 == 1
    np.testing.assert_allclose(encode(pair, LAYOUT)[LAYOUT.property_rows, LAYOUT.width :][:, odd_h], 0, atol=1e-12)
    assert np.all(recip[: LAYOUT.kpoint_row] == 0), "only the header and property rows carry reciprocal data"


def nacl() -> Structure:
    return Structure(Lattice.cubic(5.6), ["Na", "Cl"], [[0, 0, 0], [0.5, 0.5, 0.5]])


def test_decode_thresholds_for_occupancy_and_elements():
    matrix = encode(nacl(), LAYOUT)
    real = matrix[:, : LAYOUT.width]
    occupancy = real[LAYOUT.occupancy_rows]
    occupancy[2] = [OCCUPANCY_THRESHOLD * 0.99, 0, 0, 0]  # an empty site just under the threshold
    assert [s.symbol for s in decode(matrix, LAYOUT).species] == ["Na", "Cl"]
    occupancy[2] = [0.01, OCCUPANCY_THRESHOLD, 0, 0]  # at the threshold: occupied, by the largest column
    real[LAYOUT.coords_rows][2, :3] = [0.25, 0.25, 0.25]
    assert [s.symbol for s in decode(matrix, LAYOUT).species] == ["Na", "Cl", "Cl"]
    occupancy[0] = [0.4, 0.6, 0, 0]  # the largest occupancy wins, not a fixed 0.5 cut
    real[:MAX_Z, 0] = 0.3
    real[18, 0] = 0.31  # element column 0: the argmax over the vocabulary (Z = 19, K)
    assert [s.symbol for s in decode(matrix, LAYOUT).species] == ["Cl", "Cl", "Cl"]
    occupancy[1] = [0.9, 0, 0, 0]
    assert [s.symbol for s in decode(matrix, LAYOUT).species] == ["Cl", "K", "Cl"]


def test_coordinates_are_wrapped_into_the_cell():
    matrix = encode(nacl(), LAYOUT)
    matrix[LAYOUT.coords_rows][1, :3] = [1.5, -0.25, 0.5]
    np.testing.assert_allclose(decode(matrix, LAYOUT).frac_coords[1], [0.5, 0.75, 0.5])


@pytest.mark.parametrize("damage", ["no_site", "zero_length", "negative_length", "flat_angle", "degenerate_cell",
                                    "nan"])
def test_invalid_decodes_are_none(damage):
    matrix = encode(nacl(), LAYOUT)
    real = matrix[:, : LAYOUT.width]
    if damage == "no_site":
        real[LAYOUT.occupancy_rows] = OCCUPANCY_THRESHOLD / 2
    elif damage == "zero_length":
        real[LAYOUT.lengths_row, 1] = 0.0
    elif damage == "negative_length":
        real[LAYOUT.lengths_row, 2] = -3.0
    elif damage == "flat_angle":
        real[LAYOUT.angles_row, 0] = 180.0
    elif damage == "degenerate_cell":
        real[LAYOUT.angles_row, :3] = [10.0, 10.0, 170.0]
    else:
        real[LAYOUT.coords_rows][0, 0] = np.nan
    assert decode(matrix, LAYOUT) is None
