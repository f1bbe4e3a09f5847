"""The formation-energy task: a deterministic XGBoost proxy, its held-out error, top-100 predicted start, reuse."""

from __future__ import annotations

import json
import pickle

import numpy as np
import pytest
from pymatgen.core import Lattice, Structure

from crystalbench.api import registry
from crystalbench.harness.errors import UserError
from crystalbench.harness.store import ArtifactStore
from crystalbench.tasks.formation_energy import FormationEnergy
from crystalbench.tasks.structure_features import FEATURE_NAMES


def rocksalt(a: float = 5.64) -> Structure:
    return Structure.from_spacegroup("Fm-3m", Lattice.cubic(a), ["Na", "Cl"], [[0, 0, 0], [0.5, 0.5, 0.5]])


@pytest.fixture(scope="module")
def prepared(task_store, bundled_dataset):
    task = FormationEnergy()
    path = task.prepare(task_store, bundled_dataset)
    return task, path, task.load_problem("formation_energy", bundled_dataset, path)


@pytest.fixture(scope="module")
def small_dataset(bundled_dataset):
    """~200 binaries of at most 4 sites: enough to train, cheap to validate twice."""
    return bundled_dataset.filter(n_elements=2, max_sites=4)


def test_registered() -> None:
    assert registry.get_task("formation_energy") is FormationEnergy
    assert FormationEnergy().problem_names() == ["formation_energy"]


def test_artifact_contents_and_error(prepared, bundled_dataset) -> None:
    _, path, problem = prepared
    assert (path / "model.ubj").is_file()
    assert not list(path.glob("*.pkl")) and not list(path.glob("*.pickle"))
    metrics = json.loads((path / "metrics.json").read_text())
    assert metrics["n_train"] + metrics["n_test"] == len(bundled_dataset)
    assert metrics["n_test"] == round(0.2 * len(bundled_dataset))
    assert metrics["feature_names"] == list(FEATURE_NAMES)
    assert metrics["test_mse"] < 0.1  # (eV/atom)^2; the paper's proxy: 0.04
    assert metrics["test_mae"] < 0.25
    assert problem.info["test_mse"] == metrics["test_mse"]
    assert problem.info["test_mae"] == metrics["test_mae"]


def test_problem(prepared, bundled_dataset) -> None:
    _, path, problem = prepared
    values = np.load(path / "dataset_values.npy")
    assert values.shape == (len(bundled_dataset),) and np.isfinite(values).all()
    assert problem.direction == "min"
    assert problem.default_budget == 1000
    # The 100 lowest *predicted* values, best first.
    assert len(problem.initial_structures) == 100 == len(problem.initial_values)
    assert np.all(np.diff(problem.initial_values) >= 0)
    np.testing.assert_array_equal(problem.initial_values, np.sort(values)[:100])
    assert problem.info["dataset_best"] == problem.initial_values[0]
    assert problem.invalid_penalty == values.max()
    # The loaded oracle reproduces the values computed at prepare time exactly.
    np.testing.assert_array_equal(problem.oracle(problem.initial_structures[:10]), problem.initial_values[:10])
    np.testing.assert_array_equal(problem.oracle(bundled_dataset.structures(np.arange(20))), values[:20])
    # The predictions track the labels (the training rows dominate, so this is loose).
    labels = bundled_dataset.labels("formation_energy_per_atom")
    assert np.corrcoef(values, labels)[0, 1] > 0.95


def test_oracle_nan_for_none_and_invalid(prepared) -> None:
    _, _, problem = prepared
    out_of_cell = Structure(Lattice.cubic(4.0), ["Na", "Cl"], [[0, 0, 0], [1.5, 0.5, 0.5]])
    values = problem.oracle([None, rocksalt(), out_of_cell, Structure(Lattice.cubic(3.0), [], [])])
    assert np.isnan(values[[0, 2, 3]]).all()
    assert -3.0 < values[1] < -1.0  # NaCl: about -2.1 eV/atom
    assert problem.oracle([]).shape == (0,)
    again = pickle.loads(pickle.dumps(problem.oracle))([rocksalt()])
    assert again[0] == values[1]


def test_artifact_reused(prepared, task_store, bundled_dataset, monkeypatch) -> None:
    task, path, _ = prepared
    mtime = (path / "model.ubj").stat().st_mtime_ns

    def no_rebuild(*args, **kwargs):
        raise AssertionError("prepare retrained an existing proxy")

    monkeypatch.setattr(FormationEnergy, "_build", no_rebuild)
    assert FormationEnergy(n_initial=10).prepare(task_store, bundled_dataset) == path
    assert (path / "model.ubj").stat().st_mtime_ns == mtime


def test_key_covers_hyperparameters_and_data(task_store, bundled_dataset, small_dataset) -> None:
    base = FormationEnergy()
    kind = f"task/{base.name}"
    here = task_store.path(kind, base.artifact_key(bundled_dataset))
    assert task_store.path(kind, FormationEnergy(n_initial=3).artifact_key(bundled_dataset)) == here
    for other in (FormationEnergy(max_depth=4), FormationEnergy(seed=1), FormationEnergy(split_seed=1)):
        assert task_store.path(kind, other.artifact_key(bundled_dataset)) != here
    assert task_store.path(kind, base.artifact_key(small_dataset)) != here


def test_training_is_deterministic(small_dataset, tmp_path) -> None:
    assert 100 < len(small_dataset) < 400
    task = FormationEnergy(n_estimators=200)
    paths = [task.prepare(ArtifactStore(tmp_path / name), small_dataset) for name in ("a", "b")]
    a, b = (np.load(p / "dataset_values.npy") for p in paths)
    np.testing.assert_array_equal(a, b)
    metrics = [json.loads((p / "metrics.json").read_text()) for p in paths]
    assert metrics[0]["test_mse"] == metrics[1]["test_mse"]
    assert (paths[0] / "model.ubj").read_bytes() == (paths[1] / "model.ubj").read_bytes()


def test_unknown_problem(prepared, bundled_dataset) -> None:
    _, path, _ = prepared
    with pytest.raises(UserError):
        FormationEnergy().load_problem("band_gap", bundled_dataset, path)
