"""crystal_lsbo, crystal_lca_lsbo and random_search as in-process trials on a tiny stack."""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pytest
import torch

from crystalbench.api import registry
from crystalbench.harness.dataset import Dataset
from crystalbench.harness.history import read_history
from crystalbench.harness.runner import run_cell
from crystalbench.harness.spec import Cell
from crystalbench.methods.crystal_lsbo.latent_space import LatentSpace
from crystalbench.methods.crystal_lsbo.lsbo import CrystalLCALSBO, CrystalLSBO

FAST = {"num_restarts": 2, "raw_samples": 64}
"""Smaller acquisition optimisation, to keep the tests quick."""


def cell(method: str, task: str = "electronegativity", seed: int = 0, budget: int = 3, **params) -> Cell:
    label = params.pop("label", method)
    if method != "random_search":
        params = FAST | params
    return Cell(method=method, method_label=label, method_params=params, task=task, task_params={},
                problem=task, seed=seed, budget=budget, batch_size=1)


def cifs(ctx, c: Cell) -> list:
    return read_history(ctx.trial_dir(c))["cif"].to_list()


ALL_CELLS = [(m, t) for m in ("crystal_lsbo", "crystal_lca_lsbo", "random_search")
             for t in ("electronegativity", "formation_energy")]
QUICK_CELLS = [("crystal_lsbo", "formation_energy"), ("crystal_lca_lsbo", "electronegativity"),
               ("random_search", "electronegativity"), ("random_search", "formation_energy")]


@pytest.mark.parametrize("method, task", [
    pytest.param(m, t, marks=() if (m, t) in QUICK_CELLS else pytest.mark.slow) for m, t in ALL_CELLS])
def test_a_trial_completes_on_both_property_tasks(lsbo_context, method, task):
    result = run_cell(cell(method, task), lsbo_context)
    assert result.status == "complete" and result.n_calls == 3


def test_an_lsbo_trial_is_deterministic(lsbo_context):
    c = cell("crystal_lsbo", seed=3, budget=2)
    run_cell(c, lsbo_context)
    first = read_history(lsbo_context.trial_dir(c))
    run_cell(c, lsbo_context)
    again = read_history(lsbo_context.trial_dir(c))
    assert again["cif"].to_list() == first["cif"].to_list() and again["score"].to_list() == first["score"].to_list()


def test_random_search_is_deterministic_and_seeded(lsbo_context):
    c = cell("random_search", seed=3, budget=5)
    run_cell(c, lsbo_context)
    first = cifs(lsbo_context, c)
    run_cell(c, lsbo_context)
    assert cifs(lsbo_context, c) == first
    other = cell("random_search", seed=4, budget=5)
    run_cell(other, lsbo_context)
    assert cifs(lsbo_context, other) != first


def problem(lsbo_context, task: str = "electronegativity"):
    dataset = Dataset.load(Path(lsbo_context.dataset_path))
    return registry.get_task(task)().load_problem(task, dataset, Path(lsbo_context.task_artifacts[task]))


def test_lsbo_proposals_stay_in_the_box(lsbo_context, tiny_stack):
    p = problem(lsbo_context)
    method = CrystalLSBO(bound=3.0, **FAST)
    method.setup(p, tiny_stack, np.random.default_rng(0))
    for _ in range(3):
        structures = method.ask(1)
        method.tell(structures, p.oracle(structures))
    proposed = method.X[len(p.initial_values):]
    assert proposed.shape == (3, 20) and float(proposed.abs().max()) <= 3.0


def digest(directory) -> dict[str, str]:
    return {f.name: hashlib.sha256(f.read_bytes()).hexdigest() for f in sorted(directory.iterdir()) if f.is_file()}


def test_lca_retraining_changes_a_copy_never_the_shared_artifact(lsbo_context, tiny_stack):
    before = digest(tiny_stack)
    p = problem(lsbo_context)
    method = CrystalLCALSBO(retrain_epochs=1, **FAST)
    method.setup(p, tiny_stack, np.random.default_rng(1))
    shared = LatentSpace.load(tiny_stack)
    weights = {k: v.clone() for k, v in method.space.combined.state_dict().items()}
    structures = method.ask(1)
    z_star = method._pending
    method.tell(structures, p.oracle(structures))
    method.retrain(z_star)  # what a proposal beating τ triggers
    assert method.trace() == {"tau": method.tau, "retrainings": 1}
    changed = method.space.combined.state_dict()
    assert any(not torch.equal(weights[k], changed[k]) for k in weights), "retraining must change the trial's copy"
    assert all(torch.equal(v, shared.combined.state_dict()[k]) for k, v in weights.items())
    assert digest(tiny_stack) == before
    assert torch.isfinite(method.X).all() and len(method.X) == len(method.Y) == len(p.initial_values) + 1
    method.tell(method.ask(1), np.array([p.invalid_penalty]))  # the GP refits on the re-encoded latents


def test_lca_retrains_only_when_a_proposal_beats_tau(lsbo_context, tiny_stack):
    p = problem(lsbo_context)
    method = CrystalLCALSBO(**FAST)
    method.setup(p, tiny_stack, np.random.default_rng(2))
    assert method.tau == p.best(p.initial_values)
    retrained = []
    method.retrain = retrained.append
    structures = method.ask(1)
    method.tell(structures, np.array([method.tau]))  # equal is not better
    assert not retrained
    method.ask(1)
    method.tell([p.initial_structures[0]], np.array([method.tau + 1.0]))
    assert len(retrained) == 1
