"""``cdvae`` through the real harness: a csp26 sweep cell on Si with a tiny CD-VAE and a budget of 2."""

from __future__ import annotations

import pytest
from mlflow import MlflowClient

from crystalbench.harness.history import read_histories, read_results
from crystalbench.harness.spec import parse_spec
from crystalbench.harness.sweep import run_sweep
from tests.methods.cdvae.conftest import TINY

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def cdvae_sweep(local_ray, artifact_root, small_dataset_csv, tmp_path_factory):
    spec = {
        "suite": "csp_cdvae",
        "seeds": 1,
        "dataset": str(small_dataset_csv),
        "methods": [{"name": "cdvae", "params": {"model": {**TINY, "compounds": ["Si"]}}}],
        "tasks": [{"name": "csp26", "problems": ["Si"], "budget": 2, "batch_size": 1,
                   "params": {"relax_steps": 50}}],
        "storage": {"run_dir": str(tmp_path_factory.mktemp("cdvae") / "run")},
    }
    return run_sweep(parse_spec(spec), progress=False)


def test_the_cell_decodes_the_start_latent_within_its_budget(cdvae_sweep):
    assert len(cdvae_sweep.complete) == 1 and cdvae_sweep.failed == []
    history = read_histories(cdvae_sweep.run_dir)
    assert history.height == 2 and set(history["method"]) == {"cdvae"}
    (result,) = read_results(cdvae_sweep.run_dir)
    assert "energy_success" in result.extra["final"]["criteria"]


def test_the_parent_run_records_the_cdvae_quality(cdvae_sweep):
    run = MlflowClient(cdvae_sweep.tracking_uri).get_run(cdvae_sweep.parent_run_id)
    assert 0 <= run.data.metrics["prepare.cdvae.reconstruction_match_rate"] <= 1
    assert run.data.metrics["prepare.cdvae.train_seconds"] > 0
