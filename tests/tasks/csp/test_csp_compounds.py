"""csp26 compounds: experimental references, polymorph builders and their coordination."""

from __future__ import annotations

import math

import numpy as np
import pytest
from pymatgen.analysis.local_env import CrystalNN
from pymatgen.core import Composition

from crystalbench.harness.errors import UserError
from crystalbench.tasks.csp.compounds import (
    COMPOUNDS,
    COORDINATION,
    cesium_chloride,
    diamond,
    graphite,
    lonsdaleite,
    polymorphs,
    reference,
    rocksalt,
    wurtzite,
    zinc_blende,
)


def nearest_neighbour_counts(structure) -> list[int]:
    """Neighbours of each site within 10 % of the shortest interatomic distance."""
    d_min = min(n.nn_distance for n in structure.get_neighbors(structure[0], 6.0))
    return [len(structure.get_neighbors(site, 1.1 * d_min)) for site in structure]


def test_the_26_compounds_in_table_order():
    assert len(COMPOUNDS) == 26
    assert COMPOUNDS[:3] == ("LiF", "NaF", "KF") and COMPOUNDS[-2:] == ("C", "Si")


@pytest.mark.parametrize("compound", COMPOUNDS)
def test_reference_has_the_compound_composition_and_a_source(compound):
    ref = reference(compound)
    assert ref.compound == compound
    assert ref.structure.composition.reduced_formula == Composition(compound).reduced_formula
    assert ref.prototype in COORDINATION
    assert ref.source
    assert ref.prototype in polymorphs(compound)


def test_nacl_is_rocksalt_with_a_564():
    ref = reference("NaCl")
    assert ref.prototype == "rocksalt"
    a = ref.structure.lattice.a * math.sqrt(2)  # primitive fcc vector = a/√2
    assert a == pytest.approx(5.640, abs=0.005)
    d = min(n.nn_distance for n in ref.structure.get_neighbors(ref.structure[0], 4.0))
    assert d == pytest.approx(a / 2, abs=1e-6)


def test_known_ground_states():
    assert reference("CsCl").prototype == "cesium_chloride"
    assert reference("ZnO").prototype == "wurtzite"
    assert reference("ZnS").prototype == "zinc_blende"
    assert reference("Si").prototype == "diamond"
    assert reference("C").prototype == "graphite"
    zno = reference("ZnO").structure
    assert zno.lattice.c / zno.lattice.a == pytest.approx(5.2066 / 3.2498, rel=1e-6)


@pytest.mark.parametrize(
    ("build", "coordination"),
    [
        (lambda: rocksalt(5.64, "Na", "Cl"), 6),
        (lambda: cesium_chloride(3.4, "Na", "Cl"), 8),
        (lambda: zinc_blende(5.41, "Zn", "S"), 4),
        (lambda: wurtzite(3.25, 5.21, 0.382, "Zn", "O"), 4),
        (lambda: diamond(5.43, "Si"), 4),
        (lambda: graphite(2.46, 6.71, "C"), 3),
        (lambda: lonsdaleite(2.52, 4.12, "C"), 4),
    ],
)
def test_builders_give_the_prototype_coordination(build, coordination):
    assert nearest_neighbour_counts(build()) == [coordination] * len(build())


def test_crystalnn_agrees_on_the_nacl_polymorphs():
    nn = CrystalNN()
    for name, structure in polymorphs("NaCl").items():
        assert [nn.get_cn(structure, i) for i in range(len(structure))] == [COORDINATION[name]] * len(structure)


@pytest.mark.parametrize("compound", COMPOUNDS)
def test_polymorph_starts_are_physical(compound):
    candidates = polymorphs(compound)
    assert len(candidates) == (3 if len(Composition(compound)) == 1 else 4)
    for name, structure in candidates.items():
        assert structure.composition.reduced_formula == Composition(compound).reduced_formula
        distances = structure.distance_matrix[np.triu_indices(len(structure), 1)]
        shortest = distances.min() if len(distances) else structure.lattice.abc[0]
        assert shortest > 1.0, name
        assert nearest_neighbour_counts(structure) == [COORDINATION[name]] * len(structure), name


def test_experimental_polymorph_keeps_the_experimental_lattice():
    assert polymorphs("ZnO")["wurtzite"].lattice.abc == pytest.approx(reference("ZnO").structure.lattice.abc)


def test_unknown_compound_is_a_user_error():
    with pytest.raises(UserError, match="unknown csp26 compound"):
        reference("NaBr")
