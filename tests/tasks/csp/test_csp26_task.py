"""csp26 problems: seeded starts, training data without ground states, success criteria, random structures."""

from __future__ import annotations

import math

import numpy as np
import pytest
from pymatgen.analysis.structure_matcher import StructureMatcher

from crystalbench.harness.errors import UserError
from crystalbench.tasks.csp.compounds import COMPOUNDS, polymorphs, reference
from crystalbench.tasks.csp.initial import initial_structure
from crystalbench.tasks.csp.random_structures import random_structure
from crystalbench.tasks.csp.success import judge
from crystalbench.tasks.csp.task import Csp26


@pytest.fixture(scope="module")
def nacl(task_store):
    task = Csp26()
    return task, task.load_problem("NaCl", None, task.prepare(task_store, None, ["NaCl"]), seed=0)


def test_one_problem_per_compound_and_bad_parameters_are_refused():
    assert Csp26().problem_names() == list(COMPOUNDS) and len(COMPOUNDS) == 26
    for bad in ({"energy_model": "vasp"}, {"judge": "vasp"}, {"relax_steps": 0}, {"service": {"gpus": 1}}):
        with pytest.raises(ValueError):
            Csp26(**bad)
    with pytest.raises(UserError):
        Csp26().load_problem("NaCl2", None, "/nonexistent", seed=0)


def test_the_problem_starts_from_the_seeds_relaxed_random_structure(nacl, task_store):
    task, problem = nacl
    start = initial_structure("NaCl", 0, "chgnet")
    assert problem.direction == "min" and problem.default_budget == 200
    assert len(problem.initial_structures) == 1 and problem.initial_values[0] == start.energy_per_atom
    assert problem.initial_structures[0] == start.structure and len(start.structure) == len(reference("NaCl").structure)
    other = task.load_problem("NaCl", None, task.prepare(task_store, None, ["NaCl"]), seed=1)
    assert other.initial_structures[0] != problem.initial_structures[0], "seeds start apart"
    worst = max(problem.dataset.labels("energy_per_atom").max(), problem.initial_values[0])
    assert problem.invalid_penalty == pytest.approx(worst + 10.0), "invalid is worse than anything known"


def test_the_training_data_holds_no_ground_state(nacl):
    _, problem = nacl
    training = problem.dataset.structures()
    assert len(training) >= 20 and set(problem.dataset.table["pretty_formula"]) == {"NaCl"}
    matcher = StructureMatcher()
    ground = reference("NaCl").structure
    assert not any(matcher.fit(s, ground) for s in training)
    assert np.isfinite(problem.dataset.labels("energy_per_atom")).all()
    # the other polymorphs are there: sub-optimal structures are the point of the set
    assert any(matcher.fit(s, polymorphs("NaCl")["cesium_chloride"]) for s in training)


def test_the_oracle_is_the_energy_per_atom_and_nan_for_none(nacl):
    _, problem = nacl
    values = problem.oracle([problem.initial_structures[0], None])
    assert values[0] == pytest.approx(problem.initial_values[0], abs=1e-5) and math.isnan(values[1])


def test_finalize_relaxes_and_judges(nacl):
    _, problem = nacl
    rocksalt = reference("NaCl").structure.copy()
    rocksalt.scale_lattice(rocksalt.volume * 1.1)
    final = problem.finalize(rocksalt).own
    assert final.metrics["relax_steps"] > 0 and final.criteria["energy_success"] and final.criteria["strict_success"]
    assert final.matched["strict_success"] == "experimental" and abs(final.metrics["delta_e"]) < 0.03
    wrong = problem.finalize(polymorphs("NaCl")["zinc_blende"]).own
    assert not wrong.criteria["strict_success"] and wrong.matched["strict_success"] is None
    assert wrong.metrics["delta_e"] > 0.03
    assert wrong.criteria["energy_success"], "zinc blende NaCl is within 20% of the rocksalt formation energy"


def test_success_criteria_take_the_absolute_relative_error():
    def energy(formation: float, **kw):  # energies per atom = formation energies - 1.5 eV here
        return judge(formation - 1.5, formation, -3.5, -2.0, **kw)

    assert energy(-1.9).energy_success and energy(-2.1).energy_success
    assert not energy(-1.5).energy_success, "25% above the reference fails"
    assert not energy(-2.5).energy_success, "25% below the reference also fails (|E - E*| / |E*|)"
    assert energy(-1.9).delta_e == pytest.approx(0.1)
    nan = energy(float("nan"))
    assert not nan.energy_success and not nan.strict_success and math.isnan(nan.delta_e)
    assert not energy(-2.0).strict_success, "strict needs a structure match"
    # elements: the reference's formation energy is 0, so the energy per atom is judged
    assert judge(-9.0, 0.2, -9.2, 0.0, element=True).energy_success
    assert not judge(-9.0, 0.2, -9.2, 0.0).energy_success


def test_random_structures_have_the_composition_and_follow_the_seed():
    species = {"Zn": 2, "O": 2}
    a = random_structure(species, np.random.default_rng(7))
    b = random_structure(species, np.random.default_rng(7))
    assert a == b and a.composition.reduced_formula == "ZnO" and len(a) == 4
    assert a != random_structure(species, np.random.default_rng(8))
    assert min(a.distance_matrix[np.triu_indices(4, 1)]) > 0.5
    p1 = random_structure({"Si": 2}, np.random.default_rng(0), space_group=1)
    assert p1.get_space_group_info(symprec=1e-3)[1] in (1, 2) and len(p1) == 2


def test_the_gpaw_judge_confirms_rocksalt_nacl():
    pytest.importorskip("gpaw", reason="GPAW is the optional `dft` extra (CI installs it)")
    task = Csp26(judge="gpaw")
    assert task.requested_judges() == ("gpaw",) and Csp26().requested_judges() == ()
    verdict = task.judge_structure("NaCl", reference("NaCl").structure, "gpaw")
    assert verdict.criteria["energy_success"] and verdict.criteria["strict_success"], verdict
    assert verdict.matched["strict_success"] == "experimental" and abs(verdict.metrics["delta_e"]) < 0.03
    assert verdict.metrics["formation_energy"] < 0 and verdict.metrics["seconds"] > 0


def test_a_judge_without_a_reference_for_the_compound_is_refused_before_the_search(task_store, monkeypatch):
    pytest.importorskip("gpaw", reason="GPAW is the optional `dft` extra (CI installs it)")
    from crystalbench.tasks.csp import reference_table

    rows = reference_table._rows
    without_nacl = {k: v for k, v in rows("gpaw").items() if k != "NaCl"}
    monkeypatch.setattr(reference_table, "_rows", lambda model: without_nacl if model == "gpaw" else rows(model))
    task = Csp26(judge="gpaw")
    with pytest.raises(UserError, match="no gpaw reference for NaCl"):
        task.load_problem("NaCl", None, task.prepare(task_store, None, ["NaCl"]), seed=0)
