"""The judging stage: csp26's GPAW judge on a run directory's final structures, once per distinct structure."""

from __future__ import annotations

import json

import pytest
import yaml
from mlflow import MlflowClient

from crystalbench.api import Judgement
from crystalbench.harness.cli import main
from crystalbench.harness.history import SPEC_FILE, SWEEP_FILE, TRIALS_DIR, TrialResult, read_results
from crystalbench.harness.judging import judge_run
from crystalbench.harness.tracking import Tracker, TrialRun
from crystalbench.tasks.csp.compounds import cesium_chloride, reference

pytest.importorskip("gpaw", reason="GPAW is the optional `dft` extra (CI installs it)")


def _trial(problem: str, method: str, seed: int, cif: str | None, status: str = "complete",
           judged: dict | None = None) -> TrialResult:
    extra = {"final": {"structure": cif, **Judgement(criteria={"strict_success": True}).to_json()}} if cif else {}
    return TrialResult(cell_id=f"csp26.{problem}.{method}.s{seed}", method=method, task="csp26", problem=problem,
                       seed=seed, status=status, budget=1, n_calls=1,
                       extra=extra | ({"judged": judged} if judged else {}))


@pytest.fixture
def run_dir(tmp_path):
    """A finished csp26 run as the sweep leaves it: spec, sweep state, trial results and MLflow child runs."""
    rocksalt = reference("NaCl").structure
    nudged = rocksalt.copy()
    nudged.translate_sites([1], [1e-3, 0, 0], frac_coords=False)
    trials = [
        _trial("NaCl", "a", 0, rocksalt.to(fmt="cif")),
        _trial("NaCl", "a", 1, nudged.to(fmt="cif")),
        _trial("NaCl", "b", 0, cesium_chloride(3.0, "Na", "Cl").to(fmt="cif")),
        _trial("NaCl", "b", 1, "data_broken\n_cell_length_a 3\n"),
        _trial("NaCl", "c", 0, rocksalt.to(fmt="cif"),
               judged={"gpaw": [{"step": None, "score": None,
                                 **Judgement(criteria={"strict_success": False}).to_json()}]}),
        _trial("NaCl", "d", 0, None, status="failed"),
        _trial("Xx", "a", 0, rocksalt.to(fmt="cif")),  # no such compound: the judge raises
    ]
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    tracker = Tracker(uri, "judging", (tmp_path / "mlartifacts").as_uri())
    parent = tracker.start_sweep("judging", {}, {}, None)
    for trial in trials:
        trial_dir = tmp_path / TRIALS_DIR / trial.cell_id
        trial_dir.mkdir(parents=True)
        trial.write(trial_dir)
        tracker.log_trial(parent, TrialRun(trial.cell_id, trial.cell_id, {}, {}), trial, trial_dir)
    (tmp_path / SPEC_FILE).write_text(yaml.safe_dump({"tasks": [{"name": "csp26", "params": {}}]}))
    (tmp_path / SWEEP_FILE).write_text(json.dumps({"tracking_uri": uri, "parent_run_id": parent}))
    return tmp_path


def test_each_distinct_final_structure_is_judged_once_and_kept(run_dir, local_ray):
    outcome = judge_run(run_dir, "gpaw", progress=False)
    assert sorted(outcome.judged) == ["csp26.NaCl.a.s0", "csp26.NaCl.a.s1", "csp26.NaCl.b.s0"]
    assert outcome.structures == 3, "rocksalt (twice, 1e-3 Å apart), CsCl type, and the Xx trial's"
    assert outcome.already == 1
    assert set(outcome.failed) == {"csp26.NaCl.b.s1", "csp26.Xx.a.s0"}
    assert "does not parse" in outcome.failed["csp26.NaCl.b.s1"]
    assert "no problem 'Xx'" in outcome.failed["csp26.Xx.a.s0"]

    results = {r.cell_id: r for r in read_results(run_dir)}
    verdicts = {cell: (r.extra.get("judged", {}).get("gpaw") or [None])[0] for cell, r in results.items()}
    rocksalt, nudged, cscl = (verdicts[f"csp26.NaCl.{c}"] for c in ("a.s0", "a.s1", "b.s0"))
    assert rocksalt["criteria"]["strict_success"] and rocksalt["matched"]["strict_success"] == "experimental"
    assert nudged == rocksalt, "one single point for both"
    assert results["csp26.NaCl.a.s1"].extra["final"]["criteria"]["strict_success"], "the search's own verdict stays"
    assert not cscl["criteria"]["strict_success"] and cscl["value"] > rocksalt["value"]
    assert verdicts["csp26.NaCl.c.s0"]["criteria"]["strict_success"] is False, "judged before: left as it was"
    assert verdicts["csp26.Xx.a.s0"] is None

    state = json.loads((run_dir / SWEEP_FILE).read_text())
    client = MlflowClient(state["tracking_uri"])
    experiment = client.get_run(state["parent_run_id"]).info.experiment_id
    runs = {r.data.tags["cell_id"]: r.data.metrics
            for r in client.search_runs([experiment], f"tags.mlflow.parentRunId = '{state['parent_run_id']}'")}
    assert runs["csp26.NaCl.a.s1"]["final.gpaw.strict_success"] == 1.0
    assert runs["csp26.NaCl.b.s0"]["final.gpaw.strict_success"] == 0.0
    assert "final.gpaw.value" not in runs["csp26.Xx.a.s0"]

    again = judge_run(run_dir, "gpaw", progress=False)
    assert again.judged == [] and again.already == 4 and set(again.failed) == set(outcome.failed)


def test_the_cli_refuses_what_it_cannot_judge_in_one_line(run_dir, tmp_path_factory, capsys):
    assert main(["judge", str(run_dir), "--judge", "vasp"]) == 2
    err = capsys.readouterr().err.strip()
    assert err == f"crystalbench: error: no task of {run_dir} has judge 'vasp'; known: gpaw"
    empty = tmp_path_factory.mktemp("empty")
    assert main(["judge", str(empty), "--judge", "gpaw"]) == 2
    assert "is not a sweep's run directory" in capsys.readouterr().err
    assert main(["judge", str(empty / "missing"), "--judge", "gpaw"]) == 2
    assert "run directory not found" in capsys.readouterr().err
