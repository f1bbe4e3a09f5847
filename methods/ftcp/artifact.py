"""The ``prepare`` artifact of the FTCP methods: an FTCP-VAE trained once per (dataset, config, code version).

``prepare`` featurises the dataset, trains the VAE on a seeded split, measures
its latent-space quality (``methods.ftcp.quality``) and stores the latent space
(``model.pt``, ``config.json``) with ``metrics.json``. The key is the dataset
digest, the ``TrainingConfig`` and ``ARTIFACT_VERSION`` (bump it when the
representation or training code changes); the store adds the package version.
"""

from __future__ import annotations

import dataclasses
import json
import time
from pathlib import Path

import torch

from crystalbench.api import ArtifactStore, Dataset
from crystalbench.methods.ftcp.latent_space import LatentSpace
from crystalbench.methods.ftcp.quality import measure
from crystalbench.methods.ftcp.training import MinMax, TrainingConfig, featurise, split, train

ARTIFACT_KIND = "ftcp_vae"
ARTIFACT_VERSION = 2
METRICS_FILE = "metrics.json"


def artifact_key(dataset: Dataset, config: TrainingConfig) -> dict:
    return {"kind": ARTIFACT_KIND, "version": ARTIFACT_VERSION, "dataset": dataset.digest,
            "config": dataclasses.asdict(config)}


def prepare(store: ArtifactStore, dataset: Dataset, config: TrainingConfig) -> Path:
    """The artifact directory for (dataset, config), training it first if missing (the store locks the key)."""
    return store.get_or_build(ARTIFACT_KIND, artifact_key(dataset, config), lambda out: build(out, dataset, config))


def build(out: Path, dataset: Dataset, config: TrainingConfig) -> None:
    """Featurise, split, scale, train, measure; write the artifact files into ``out``."""
    data = featurise(dataset, config.layout)
    train_pos, test_pos = split(len(data.rows), config.test_fraction, config.seed)
    x_scaler = MinMax.fit(data.matrices[train_pos], axes=(0, 2))
    y_scaler = MinMax.fit(data.labels[train_pos], axes=(0,))
    start = time.perf_counter()
    model, losses = train(x_scaler.scale(data.matrices[train_pos]), y_scaler.scale(data.labels[train_pos]), config)
    seconds = time.perf_counter() - start
    space = LatentSpace(model, config.layout, x_scaler, y_scaler)
    space.save(out, config)
    metrics = {
        "n_fitting": int(len(data.rows)),
        "n_skipped": int(data.skipped),
        "n_train": int(len(train_pos)),
        "n_test": int(len(test_pos)),
        "train_seconds": seconds,
        "torch_threads": torch.get_num_threads(),
        "final_loss": losses[-1],
        **measure(space, data.matrices[test_pos], data.labels[test_pos], config),
    }
    (out / METRICS_FILE).write_text(json.dumps(metrics, indent=2, sort_keys=True))
