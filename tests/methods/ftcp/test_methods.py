"""ftcp_random and ftcp_local: proposals, determinism of a trial, and how the local centre moves."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from crystalbench.api import registry
from crystalbench.harness.dataset import Dataset
from crystalbench.harness.errors import UserError
from crystalbench.harness.history import read_history
from crystalbench.harness.runner import run_cell
from crystalbench.harness.spec import Cell
from crystalbench.methods.ftcp.ftcp_local import FTCPLocal
from crystalbench.methods.ftcp.ftcp_random import FTCPRandom
from tests.methods.ftcp.conftest import TINY, tiny_params


def cell(**changes) -> Cell:
    base = Cell(method="ftcp_random", method_label="ftcp_random", method_params=tiny_params(),
                task="formation_energy", task_params={}, problem="formation_energy", seed=0, budget=8, batch_size=4)
    return dataclasses.replace(base, **changes)


def proposals(ctx, c: Cell) -> pl.DataFrame:
    run_cell(c, ctx)
    return read_history(ctx.trial_dir(c))


@pytest.mark.parametrize("method", ["ftcp_random", "ftcp_local"])
def test_a_trial_is_fixed_by_its_seed(ftcp_context, method):
    a = cell(method=method, method_label=method, seed=3)
    first = proposals(ftcp_context, a)
    assert first.height == 8
    second = proposals(ftcp_context, a)
    assert first.select("cif", "score").equals(second.select("cif", "score"))
    other = proposals(ftcp_context, dataclasses.replace(a, seed=4))
    assert other["score"].to_list() != first["score"].to_list()


def test_both_methods_run_on_both_property_tasks(ftcp_context):
    for method in ("ftcp_random", "ftcp_local"):
        assert registry.incompatibility(method, "electronegativity") is None
        rows = proposals(ftcp_context, cell(method=method, method_label=method, task="electronegativity",
                                            problem="electronegativity", budget=4))
        assert rows.height == 4


def problem(ctx, task: str):
    dataset = Dataset.load(Path(ctx.dataset_path))
    return registry.get_task(task)().load_problem(task, dataset, Path(ctx.task_artifacts[task]))


def test_random_samples_fill_the_search_box(ftcp_context, tiny_vae):
    method = FTCPRandom(**tiny_params())
    method.setup(problem(ftcp_context, "formation_energy"), tiny_vae, np.random.default_rng(0))
    z = method.propose(2000)
    assert z.shape == (2000, TINY.latent_dim) and np.all(np.abs(z) <= 3) and np.abs(z).max() > 2.9


@pytest.mark.parametrize("direction", ["min", "max"])
def test_local_centre_moves_only_to_a_better_valid_crystal(ftcp_context, tiny_vae, direction):
    prob = dataclasses.replace(problem(ftcp_context, "formation_energy"), direction=direction)
    method = FTCPLocal(**tiny_params())
    method.setup(prob, tiny_vae, np.random.default_rng(0))
    best = prob.rank(prob.initial_values)[0]
    start = method.space.encode([prob.initial_structures[best]])[0]
    np.testing.assert_array_equal(method.centre, start)
    assert method.centre_value == prob.initial_values[best]

    sign = 1.0 if direction == "max" else -1.0
    worse, better = method.centre_value - sign, method.centre_value + sign
    crystal = prob.dataset.structure(0)
    z = method.propose(3)
    assert np.abs(z - start).std() == pytest.approx(0.6, rel=0.5)
    method._last_z = z
    method.tell([crystal, None, crystal], np.array([worse, better, method.centre_value]))
    np.testing.assert_array_equal(method.centre, start), "worse, invalid or equal values keep the centre"
    method.tell([crystal, crystal, crystal], np.array([worse, better, better + sign]))
    np.testing.assert_array_equal(method.centre, z[2])
    assert method.centre_value == better + sign


def test_bad_parameters_are_one_line_user_errors():
    with pytest.raises(UserError, match="epoch"):
        registry.construct(FTCPRandom, {"vae": {"epoch": 3}}, "methods[0]")
    with pytest.raises(UserError, match="scale must be positive"):
        registry.construct(FTCPLocal, {"scale": 0}, "methods[0]")
