"""The MLIP rung on a property task: a tiny sweep with ``judge: mlip`` verifies its trials' best proposals."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from mlflow import MlflowClient
from pymatgen.core import Lattice, Structure

from crystalbench.harness.dataset import bundled_path, read_table
from crystalbench.harness.history import TRIALS_DIR, read_results
from crystalbench.harness.judging import judge_run
from crystalbench.harness.spec import parse_spec
from crystalbench.harness.sweep import run_sweep
from crystalbench.tasks.electronegativity import Electronegativity
from tests.helpers import small_spec

TOP_K = 3


@pytest.fixture(scope="module")
def tiny_dataset_csv(tmp_path_factory):
    """40 crystals of the bundled set, so the reference's relaxations take seconds."""
    path = tmp_path_factory.mktemp("tiny") / "tiny.csv"
    read_table(bundled_path()).gather_every(60).head(40).write_csv(path)
    return path


@pytest.fixture(scope="module")
def judged_sweep(tiny_dataset_csv, tmp_path_factory, local_ray, artifact_root):
    spec = small_spec(tmp_path_factory.mktemp("run") / "run", tiny_dataset_csv,
                      tasks=[{"name": "electronegativity", "budget": 6,
                              "params": {"judge": "mlip", "judge_top_k": TOP_K, "n_initial": 5}}])
    return run_sweep(parse_spec(spec), progress=False)


def test_each_trial_keeps_the_verdicts_on_its_best_distinct_proposals(judged_sweep):
    assert len(judged_sweep.complete) == 2 and judged_sweep.failed == [] and judged_sweep.unjudged == {}
    for result in read_results(judged_sweep.run_dir):
        entries = result.extra["judged"]["mlip"]
        assert 1 <= len(entries) <= TOP_K
        assert [e["score"] for e in entries] == sorted((e["score"] for e in entries), reverse=True), "best first"
        assert entries[0]["score"] == result.final_best, "the trial's best proposal is always judged"
        for entry in entries:
            assert set(entry["criteria"]) == {"structurally_valid", "compositionally_valid", "matches_proposal",
                                              "stable", "novel", "verified"}
            assert entry["relaxed"] and "e_above_hull" in entry["metrics"]
            assert not entry["criteria"]["novel"], "database proposes the dataset's own crystals"


def test_the_child_runs_carry_the_verified_figures(judged_sweep):
    state = json.loads(Path(judged_sweep.run_dir, "sweep.json").read_text())
    client = MlflowClient(state["tracking_uri"])
    experiment = client.get_run(state["parent_run_id"]).info.experiment_id
    runs = client.search_runs([experiment], f"tags.mlflow.parentRunId = '{state['parent_run_id']}'")
    assert len(runs) == 2
    for run in runs:
        assert {"verified.n_judged", "verified.n_verified", "verified.sun", "verified.exploitation_gap"} \
            <= set(run.data.metrics)


def test_a_rerun_judges_nothing_new_and_an_interrupted_stage_finishes(judged_sweep, local_ray):
    tasks = {"electronegativity": {"judge": "mlip", "judge_top_k": TOP_K, "n_initial": 5}}
    again = judge_run(judged_sweep.run_dir, "mlip", tasks, progress=False)
    assert again.judged == [] and again.already == 2
    first = read_results(judged_sweep.run_dir)[0]
    kept = first.extra["judged"].pop("mlip")
    first.write(f"{judged_sweep.run_dir}/{TRIALS_DIR}/{first.cell_id}")
    resumed = judge_run(judged_sweep.run_dir, "mlip", tasks, progress=False)
    assert resumed.judged == [first.cell_id] and resumed.already == 1
    redone = next(r for r in read_results(judged_sweep.run_dir) if r.cell_id == first.cell_id)
    assert [e["value"] for e in redone.extra["judged"]["mlip"]] == [e["value"] for e in kept], "deterministic"


@pytest.mark.slow  # relaxing atoms 0.2 Å apart takes the judge's full 300 FIRE steps (~1 min here)
def test_a_proposal_with_overlapping_atoms_is_never_verified(judged_sweep, artifact_root, tiny_dataset_csv):
    from crystalbench.api import ArtifactStore
    from crystalbench.harness.dataset import Dataset

    task = Electronegativity(judge="mlip")
    store = ArtifactStore(artifact_root)
    reference = task.prepare_judge(store, Dataset.from_file(tiny_dataset_csv), "mlip")
    overlapping = Structure(Lattice.cubic(4.0), ["Na", "Cl"], [[0, 0, 0], [0.05, 0, 0]])
    verdict = task.judge_structure("electronegativity", overlapping, "mlip", reference)
    assert not verdict.criteria["structurally_valid"] and not verdict.criteria["verified"]
