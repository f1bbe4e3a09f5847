"""lcom and sl as in-process trials on the property tasks: proposals, trace, determinism, caching, bad input."""

from __future__ import annotations

import dataclasses
import json
from dataclasses import asdict
from pathlib import Path

import numpy as np
import polars as pl
import pytest
import torch

from crystalbench.api import registry
from crystalbench.harness.dataset import Dataset
from crystalbench.harness.errors import UserError
from crystalbench.harness.history import TrialResult, read_histories
from crystalbench.harness.runner import run_cell
from crystalbench.harness.spec import Cell, load_spec, parse_spec
from crystalbench.methods.lcom.artifact import load_latent
from crystalbench.methods.lcom.descent import descend
from crystalbench.methods.lcom.lcom import Lcom
from crystalbench.methods.lcom.sl import Sl
from crystalbench.methods.lcom.surrogate import Surrogate
from tests.helpers import REPO, small_spec, task_view
from tests.methods.lcom.conftest import PARAMS


def cell(method: str, task: str = "electronegativity", seed: int = 0, budget: int = 3, batch_size: int = 1) -> Cell:
    return Cell(method=method, method_label=method, method_params=PARAMS[method], task=task, task_params={},
                problem=task, seed=seed, budget=budget, batch_size=batch_size)


def problem(ctx, task: str = "electronegativity"):
    dataset = Dataset.load(Path(ctx.dataset_path))
    return registry.get_task(task)().load_problem(task, dataset, Path(ctx.task_artifacts[task]))


def result_of(ctx, c: Cell) -> dict:
    return asdict(TrialResult.read(ctx.trial_dir(c)))


def history_of(ctx, c: Cell) -> pl.DataFrame:
    return read_histories(ctx.run_dir).filter(pl.col("cell_id") == c.cell_id).sort("step")


@pytest.mark.parametrize("method, task", [("lcom", "electronegativity"), ("sl", "formation_energy")])
def test_a_trial_proposes_from_distinct_starts_and_traces_every_step(lcom_context, method, task):
    c = cell(method, task, budget=4, batch_size=2)
    result = run_cell(c, lcom_context)
    assert result.status == "complete" and result.n_calls == 4
    history = history_of(lcom_context, c)
    trace = result_of(lcom_context, c)["extra"]["trace"]
    proposals = trace["proposals"]
    assert len(proposals) == 4 and trace["steps"] == PARAMS[method]["steps"]
    assert all(len(p["surrogate"]) == PARAMS[method]["steps"] + 1 for p in proposals), "T + 1 surrogate values"
    assert [p["oracle"] for p in proposals] == history["score"].to_list()
    assert len({p["start"] for p in proposals}) == 4 and all(p["restart"] == 0 for p in proposals)
    assert [p["decoded"] for p in proposals] == history["valid"].to_list()
    p0 = problem(lcom_context, task)
    assert all(p["start_value"] == p0.initial_values[p["start"]] for p in proposals)


def test_the_first_proposal_is_encode_descend_decode_of_the_first_start(lcom_context, surrogates):
    p = problem(lcom_context)
    method = Sl(**PARAMS["sl"])
    method.setup(p, surrogates["sl", "electronegativity"], np.random.default_rng(7))
    [proposed] = method.ask(1)

    surrogate = Surrogate.load(surrogates["sl", "electronegativity"])
    codec = load_latent(surrogates["sl", "electronegativity"]).codec()
    start = p.initial_structures[method.starts[0]]
    u0 = surrogate.standardise(codec.encode([start]))
    path = descend(surrogate, u0, torch.zeros(1, 0), PARAMS["sl"]["steps"], 0.05)
    [expected] = codec.decode(surrogate.latent(path.final), [start], torch.Generator())
    assert (proposed is None) == (expected is None)
    if expected is not None:
        assert proposed.matches(expected) and np.allclose(proposed.lattice.abc, expected.lattice.abc)
    trace = method.trace()["proposals"][0]
    np.testing.assert_allclose(trace["surrogate"], surrogate.value(path.energies[:, 0]).numpy(), rtol=1e-5)
    assert trace["surrogate"][-1] > trace["surrogate"][0], "descent on the energy raises a maximised value"


def test_with_a_single_start_later_proposals_restart_from_a_perturbed_latent(lcom_context, surrogates):
    p = problem(lcom_context)
    single = dataclasses.replace(p, initial_structures=p.initial_structures[:1], initial_values=p.initial_values[:1])
    method = Lcom(**PARAMS["lcom"])
    method.setup(single, surrogates["lcom", "electronegativity"], np.random.default_rng(0))
    structures = method.ask(3)
    method.tell(structures, single.oracle(structures))
    proposals = method.trace()["proposals"]
    assert [q["start"] for q in proposals] == [0, 0, 0] and [q["restart"] for q in proposals] == [0, 1, 2]
    first_values = [q["surrogate"][0] for q in proposals]
    surrogate = Surrogate.load(surrogates["lcom", "electronegativity"])
    with torch.no_grad():
        exact = surrogate.value(surrogate(method.start_latents, torch.zeros(1, 0)))
    assert first_values[0] == pytest.approx(float(exact[0]), rel=1e-5), "the first proposal starts unperturbed"
    assert len(set(first_values)) == 3, "restarts start from different perturbed latents"


def test_tracing_the_path_keeps_the_proposals_and_decodes_every_kth_step(lcom_context, surrogates):
    p = problem(lcom_context)
    proposals = {}
    for every in (0, 4):
        method = Sl(**PARAMS["sl"] | {"path_every": every})
        method.setup(p, surrogates["sl", "electronegativity"], np.random.default_rng(5))
        proposals[every] = (method.ask(2), method.trace()["proposals"])
    plain, traced = proposals[0], proposals[4]
    assert [s.to(fmt="cif") if s else None for s in plain[0]] == [s.to(fmt="cif") if s else None for s in traced[0]]
    assert "path_cifs" not in plain[1][0]
    for structure, record in zip(traced[0], traced[1], strict=True):
        assert list(record["path_cifs"]) == ["0", "4", "8", "10"], "every 4th step and the last"
        assert (record["path_cifs"]["10"] is None) == (structure is None)


def test_a_trial_is_deterministic_and_seeded(lcom_context):
    c = cell("lcom", seed=3, budget=2)
    run_cell(c, lcom_context)
    first = history_of(lcom_context, c)
    first_trace = result_of(lcom_context, c)["extra"]["trace"]
    run_cell(c, lcom_context)
    again = history_of(lcom_context, c)
    assert again["cif"].to_list() == first["cif"].to_list() and again["score"].to_list() == first["score"].to_list()
    assert result_of(lcom_context, c)["extra"]["trace"] == first_trace
    other = cell("lcom", seed=4, budget=2)
    run_cell(other, lcom_context)
    assert [q["start"] for q in result_of(lcom_context, other)["extra"]["trace"]["proposals"]] != \
        [q["start"] for q in first_trace["proposals"]]


def test_the_surrogate_is_built_once_per_key(lcom_store, small_dataset, surrogates):
    built = surrogates["lcom", "electronegativity"]
    stamp = (built / "surrogate.pt").stat().st_mtime_ns
    assert Lcom.prepare(lcom_store, small_dataset, PARAMS["lcom"], task_view("electronegativity")) == built
    assert (built / "surrogate.pt").stat().st_mtime_ns == stamp, "a second prepare does not retrain"
    other_steps = PARAMS["lcom"] | {"steps": 40, "restart_noise": 0.1}
    assert Lcom.prepare(lcom_store, small_dataset, other_steps, task_view("electronegativity")) == built, \
        "optimisation settings do not key the surrogate"
    assert surrogates["sl", "electronegativity"] != built, "the loss keys it"
    assert surrogates["lcom", "formation_energy"] != built, "the labels key it"
    assert load_latent(built).directory == load_latent(surrogates["sl", "formation_energy"]).directory, \
        "one latent space serves every surrogate of equal stack settings"


def test_quality_figures_are_recorded(surrogates):
    lcom = json.loads((surrogates["lcom", "formation_energy"] / "quality.json").read_text())
    sl = json.loads((surrogates["sl", "formation_energy"] / "quality.json").read_text())
    for quality in (lcom, sl):
        assert quality["train_seconds"] > 0 and quality["n_heldout"] > 0 and 0 < quality["heldout_mse"] < 1.0
    assert "final_alpha" in lcom and lcom["final_alpha"] > 0 and "final_alpha" not in sl
    assert lcom["heldout_gap_standardised"] < sl["heldout_gap_standardised"]
    curves = json.loads((surrogates["lcom", "formation_energy"] / "metrics.json").read_text())
    assert len(curves["mse"]) == len(curves["alpha"]) == len(curves["gap"]) == PARAMS["lcom"]["surrogate"]["epochs"]


def test_a_task_with_other_parameters_trains_its_own_surrogate_on_its_own_labels(lcom_store, small_dataset,
                                                                                   surrogates):
    configured = task_view("formation_energy", n_estimators=20)
    built = Sl.prepare(lcom_store, small_dataset, PARAMS["sl"], configured)
    labels = configured.labelled_set(lcom_store, small_dataset)
    assert built != surrogates["sl", "formation_energy"]
    assert json.loads((built / "key.json").read_text())["labels"] == labels.source
    assert json.loads((surrogates["sl", "formation_energy"] / "key.json").read_text())["labels"] != labels.source


@pytest.mark.parametrize("params, message", [
    ({"steps": -1}, "steps must be a non-negative integer"),
    ({"steps": 2.5}, r"methods\[0\]\.params\.steps: input should be a valid integer, got 2\.5"),
    ({"tau": 0}, "tau must be positive"),
    ({"tau": -1.0}, "tau must be positive"),
    ({"step_size": 0}, "step_size must be a positive number"),
    ({"restart_noise": -0.1}, "restart_noise must be a non-negative number"),
    ({"adversarial_steps": 0}, "adversarial_steps must be >= 1"),
    ({"surrogate": {"epochs": 0}}, r"methods\[0\] \(lcom\): surrogate\.epochs must be >= 1"),
    ({"surrogate": {"hidden": "wide"}}, "surrogate.hidden: input should be a valid integer, got 'wide'"),
    ({"surrogate": {"depth": 3}}, "surrogate: unknown parameter 'depth'"),
    ({"stack": {"latent_dim": 2.5}}, "stack.latent_dim: input should be a valid integer, got 2.5"),
    ({"tau": "high"}, "params.tau: input should be a valid number, got 'high'"),
    ({"stepz": 3}, "unknown parameter 'stepz'"),
])
def test_bad_parameters_are_one_line_user_errors(small_dataset_csv, tmp_path, params, message):
    spec = small_spec(tmp_path / "run", small_dataset_csv, methods=[{"name": "lcom", "params": params}])
    with pytest.raises(UserError, match=message) as info:
        parse_spec(spec)
    assert "\n" not in str(info.value)


def test_sl_rejects_the_conservative_settings(small_dataset_csv, tmp_path):
    spec = small_spec(tmp_path / "run", small_dataset_csv, methods=[{"name": "sl", "params": {"tau": 1.0}}])
    with pytest.raises(UserError, match="tau"):
        parse_spec(spec)


@pytest.mark.parametrize("config, methods", [
    ("lcom_property.yaml", ["lcom", "sl", "crystal_lsbo", "random_search"]),
    ("lcom_property_small.yaml", ["lcom", "sl", "crystal_lsbo", "random_search"]),
    ("csp26_lcom.yaml", ["lcom", "sl", "cdvae", "random_search"]),
    ("lcom_tau_ablation.yaml", ["lcom_tau0.05", "lcom_tau0.2", "lcom_tau0.5", "lcom_tau1", "lcom_tau5", "sl"]),
])
def test_the_shipped_configs_are_valid_specs(config, methods):
    spec = load_spec(REPO / "configs" / config)
    assert [m.label for m in spec.methods] == methods and spec.seeds == (0, 1, 2)
