"""The electronegativity task: exact oracle, top-100 start, penalty, artifact reuse."""

from __future__ import annotations

import math
import pickle

import numpy as np
import pytest
from pymatgen.core import Composition, Lattice, Structure

import tasks.electronegativity as en_module
from crystalbench.api import registry
from crystalbench.harness.errors import UserError
from crystalbench.tasks.electronegativity import Electronegativity, mean_electronegativity


def rocksalt(a: float = 5.64) -> Structure:
    return Structure.from_spacegroup("Fm-3m", Lattice.cubic(a), ["Na", "Cl"], [[0, 0, 0], [0.5, 0.5, 0.5]])


def out_of_cell() -> Structure:
    """Fractional coordinate 1.5: not valid in the papers' sense."""
    return Structure(Lattice.cubic(4.0), ["Na", "Cl"], [[0, 0, 0], [1.5, 0.5, 0.5]])


@pytest.fixture(scope="module")
def prepared(task_store, bundled_dataset):
    task = Electronegativity()
    path = task.prepare(task_store, bundled_dataset)
    return task, path, task.load_problem("electronegativity", bundled_dataset, path)


def test_registered() -> None:
    assert registry.get_task("electronegativity") is Electronegativity
    assert Electronegativity().problem_names() == ["electronegativity"]


def test_known_values() -> None:
    assert mean_electronegativity(Composition("NaCl")) == pytest.approx((0.93 + 3.16) / 2)
    assert mean_electronegativity(Composition("Al2O3")) == pytest.approx((2 * 1.61 + 3 * 3.44) / 5)
    assert math.isnan(mean_electronegativity(Composition("NaAr")))  # Ar has no Pauling value
    assert math.isnan(mean_electronegativity(Composition("He")))


def test_oracle_nan_for_none_invalid_and_missing(prepared) -> None:
    _, _, problem = prepared
    argon = Structure(Lattice.cubic(5.3), ["Ar"], [[0, 0, 0]])
    empty = Structure(Lattice.cubic(3.0), [], [])
    values = problem.oracle([rocksalt(), None, out_of_cell(), argon, empty])
    assert values.shape == (5,)
    assert values[0] == pytest.approx(2.045)
    assert np.isnan(values[1:]).all()
    assert problem.oracle([]).shape == (0,)


def test_problem(prepared, bundled_dataset) -> None:
    _, path, problem = prepared
    values = np.load(path / "dataset_values.npy")
    assert values.shape == (len(bundled_dataset),)
    assert problem.direction == "max"
    assert problem.default_budget == 1000
    assert problem.dataset is bundled_dataset
    # The 100 best rows, best first, and nothing outside them beats them.
    assert len(problem.initial_structures) == 100 == len(problem.initial_values)
    assert np.all(np.diff(problem.initial_values) <= 0)
    np.testing.assert_array_equal(problem.initial_values, np.sort(values[np.isfinite(values)])[::-1][:100])
    assert problem.info["dataset_best"] == problem.initial_values[0] == np.nanmax(values)
    # The penalty is the worst dataset value.
    assert problem.invalid_penalty == np.nanmin(values)
    # Prepared values are what the oracle says.
    np.testing.assert_array_equal(problem.oracle(problem.initial_structures[:10]), problem.initial_values[:10])
    np.testing.assert_array_equal(problem.oracle(bundled_dataset.structures(np.arange(20))), values[:20])


def test_n_initial_and_unknown_problem(prepared, bundled_dataset) -> None:
    _, path, problem = prepared
    small = Electronegativity(n_initial=5).load_problem("electronegativity", bundled_dataset, path)
    np.testing.assert_array_equal(small.initial_values, problem.initial_values[:5])
    assert [s.composition for s in small.initial_structures] == [s.composition for s in problem.initial_structures[:5]]
    with pytest.raises(UserError):
        Electronegativity().load_problem("nope", bundled_dataset, path)


def test_artifact_reused(prepared, task_store, bundled_dataset, monkeypatch) -> None:
    task, path, _ = prepared
    mtime = (path / "dataset_values.npy").stat().st_mtime_ns

    def no_rebuild(*args, **kwargs):
        raise AssertionError("prepare rebuilt an existing artifact")

    monkeypatch.setattr(en_module, "evaluate_dataset", no_rebuild)
    assert Electronegativity(n_initial=7).prepare(task_store, bundled_dataset) == path
    assert (path / "dataset_values.npy").stat().st_mtime_ns == mtime


def test_oracle_pickles(prepared) -> None:
    _, _, problem = prepared
    oracle = pickle.loads(pickle.dumps(problem.oracle))
    assert oracle([rocksalt()])[0] == pytest.approx(2.045)
