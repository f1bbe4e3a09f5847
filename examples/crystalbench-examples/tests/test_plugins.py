"""The example plugins pass crystalbench's conformance kit, as any third-party plugin's suite would check."""

from __future__ import annotations

import pytest
from crystalbench_examples.band_gap import BandGap
from crystalbench_examples.mutation_search import MutationSearch

from crystalbench.api import ArtifactStore, Dataset, get_method, get_task
from crystalbench.testing import check_method, check_task


@pytest.fixture(scope="module")
def store(tmp_path_factory) -> ArtifactStore:
    return ArtifactStore(tmp_path_factory.mktemp("store"))


@pytest.fixture(scope="module")
def dataset() -> Dataset:
    return Dataset.from_file()


def test_both_are_found_through_their_entry_points():
    assert get_method("mutation_search") is MutationSearch and get_task("band_gap") is BandGap


def test_the_band_gap_task_conforms(store, dataset):
    check_task(BandGap(n_estimators=50), store, dataset)


@pytest.mark.parametrize("task", ["band_gap", "formation_energy", "electronegativity"])
def test_the_mutation_search_conforms_on_every_task_it_can_run_on(task, store, dataset):
    params = {"n_estimators": 50} if task == "band_gap" else {}
    check_method(MutationSearch, {"parents": 4}, get_task(task)(**params), store, dataset)


def test_the_proxy_beats_predicting_the_mean_gap(store, dataset):
    task = BandGap(n_estimators=50)
    info = task.load_problem("band_gap", dataset, task.prepare(store, dataset)).info
    labels = dataset.labels("band_gap")
    assert info["test_mae"] < 0.9 * float(abs(labels - labels.mean()).mean())
