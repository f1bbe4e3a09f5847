"""prepare_cdvae on real csp26 training data (Si, CHGNet-labelled): the artifact, its quality figures, caching."""

from __future__ import annotations

import json
import time

import pytest
import torch

from crystalbench.harness.store import ArtifactStore
from crystalbench.methods.cdvae import CdvaeModel, prepare_cdvae
from crystalbench.methods.cdvae.artifact import METRICS_FILE, QUALITY_FILE
from tests.helpers import task_view
from tests.methods.cdvae.conftest import TINY

pytestmark = pytest.mark.slow

TINY_SI = {**TINY, "compounds": ["Si"], "test_fraction": 0.3}
CSP26 = task_view("csp26")


@pytest.fixture(scope="module")
def store(artifact_root) -> ArtifactStore:
    """The session's store, so the sweep test reuses the Si training data built here."""
    return ArtifactStore(artifact_root)


@pytest.fixture(scope="module")
def prepared(store):
    return prepare_cdvae(store, None, CSP26, TINY_SI)


def test_artifact_holds_weights_config_quality_and_training_time(prepared):
    assert sorted(p.name for p in prepared.iterdir()) == ["config.json", "key.json", "metrics.json", "model.pt",
                                                         "quality.json"]
    torch.load(prepared / "model.pt", weights_only=True)
    quality = json.loads((prepared / QUALITY_FILE).read_text())
    metrics = json.loads((prepared / METRICS_FILE).read_text())
    assert quality["n_held_out"] == metrics["n_test"] > 0 and metrics["n_train"] > metrics["n_test"]
    assert 0 <= quality["reconstruction_match_rate"] <= quality["valid_decode_rate"] <= 1
    assert metrics["train_seconds"] > 0 and metrics["device"] == "cpu"
    assert CdvaeModel.load(prepared).latent_dim == TINY["latent_dim"]


def test_second_prepare_reuses_the_trained_model(store, prepared):
    weights_written = (prepared / "model.pt").stat().st_mtime_ns
    start = time.perf_counter()
    assert prepare_cdvae(store, None, CSP26, TINY_SI) == prepared
    assert time.perf_counter() - start < 5, "found, not retrained"
    assert (prepared / "model.pt").stat().st_mtime_ns == weights_written


def test_other_hyperparameters_train_another_model(store, prepared):
    other = prepare_cdvae(store, None, CSP26, {**TINY_SI, "epochs": 1})
    assert other != prepared and (other / "model.pt").is_file()
    assert json.loads((other / "key.json").read_text())["training_data"] == \
        json.loads((prepared / "key.json").read_text())["training_data"]
