"""The prepared FTCP-VAE: content-addressed, deterministic, safe to load, with its quality metrics."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import torch

from crystalbench.harness.store import ArtifactStore
from crystalbench.methods.ftcp import artifact
from crystalbench.methods.ftcp.latent_space import LatentSpace
from crystalbench.methods.ftcp.representation import encode
from crystalbench.methods.ftcp.training import featurise
from tests.methods.ftcp.conftest import TINY


def test_artifact_holds_tensors_config_and_metrics(tiny_vae, small_dataset):
    assert sorted(p.name for p in tiny_vae.iterdir()) == ["config.json", "key.json", "metrics.json", "model.pt"]
    torch.load(tiny_vae / "model.pt", weights_only=True)
    metrics = json.loads((tiny_vae / artifact.METRICS_FILE).read_text())
    dataset, _ = small_dataset
    assert metrics["n_fitting"] + metrics["n_skipped"] == len(dataset)
    assert metrics["n_train"] + metrics["n_test"] == metrics["n_fitting"]
    for rate in ("prior_valid_rate", "prior_both_valid_rate", "box_valid_rate", "recon_valid_rate",
                 "recon_element_accuracy", "recon_n_sites_accuracy"):
        assert 0 <= metrics[rate] <= 1, rate
    assert metrics["prior_both_valid_rate"] <= metrics["prior_valid_rate"]
    assert metrics["recon_lengths_mape"] >= 0 and metrics["property_mae_formation_energy_per_atom"] >= 0


def test_prepare_is_deterministic_and_built_once(tiny_vae, small_dataset, tmp_path):
    dataset, _ = small_dataset
    store = ArtifactStore(tmp_path)
    again = artifact.prepare(store, dataset, TINY)
    assert again != tiny_vae and again.name == tiny_vae.name, "same content hash, another store"
    first, second = (torch.load(p / "model.pt", weights_only=True) for p in (tiny_vae, again))
    for name, tensor in first["model"].items():
        assert torch.equal(tensor, second["model"][name]), name
    metrics = [json.loads((p / artifact.METRICS_FILE).read_text()) for p in (tiny_vae, again)]
    for m in metrics:
        m.pop("train_seconds")
    assert metrics[0] == metrics[1]
    stamp = (again / "model.pt").stat().st_mtime_ns
    assert artifact.prepare(store, dataset, TINY) == again and (again / "model.pt").stat().st_mtime_ns == stamp
    other = store.path(artifact.ARTIFACT_KIND, artifact.artifact_key(dataset, dataclasses.replace(TINY, seed=1)))
    assert other != again, "the seed is part of the key"


def test_limits_skip_and_count_crystals_that_do_not_fit(small_dataset):
    dataset, _ = small_dataset
    layout = dataclasses.replace(TINY, max_elements=2, max_sites=8).layout
    data = featurise(dataset, layout)
    expected = sum(layout.fits(dataset.structure(i)) for i in range(len(dataset)))
    assert len(data.rows) == expected and data.skipped == len(dataset) - expected
    assert data.matrices.shape == (expected, layout.n_rows, layout.n_channels) and data.labels.shape == (expected, 2)


def test_latent_space_encodes_and_decodes_in_batches(tiny_vae, small_dataset, monkeypatch):
    space = LatentSpace.load(tiny_vae)
    dataset, _ = small_dataset
    crystals = [s for s in dataset.structures(range(10)) if space.layout.fits(s)][:3]
    z = space.encode(crystals)
    assert z.shape == (3, TINY.latent_dim)
    assert space.decode_matrices(z).shape == (3, space.layout.n_rows, space.layout.n_channels)
    assert len(space.decode(np.zeros((4, TINY.latent_dim)))) == 4
    good = encode(crystals[0], space.layout)
    empty = good.copy()
    empty[space.layout.occupancy_rows] = 0.0
    monkeypatch.setattr(space, "decode_matrices", lambda z: np.stack([good, empty]))
    decoded = space.decode(np.zeros((2, TINY.latent_dim)))
    assert decoded[0] is not None and decoded[1] is None, "an invalid decode becomes None"
