"""Fixtures for the FTCP tests: a 124-crystal dataset, a tiny FTCP-VAE trained on it, a trial context."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from crystalbench.harness.dataset import Dataset, bundled_path, read_table
from crystalbench.harness.store import ArtifactStore
from crystalbench.methods.ftcp import artifact
from crystalbench.methods.ftcp.training import TrainingConfig

TINY = TrainingConfig(epochs=2, latent_dim=8, batch_size=32, quality_samples=10)
"""Trains in seconds on the small dataset: enough to exercise every path, not to be any good."""


@pytest.fixture(scope="session")
def small_dataset(tmp_path_factory) -> tuple[Dataset, Path]:
    """124 crystals of the bundled set (every 20th row) and the CSV they were read from."""
    path = tmp_path_factory.mktemp("ftcp_data") / "small.csv"
    read_table(bundled_path()).gather_every(20).write_csv(path)
    return Dataset.from_file(path), path


@pytest.fixture(scope="session")
def tiny_vae(small_dataset, tmp_path_factory) -> Path:
    """The artifact directory of the tiny FTCP-VAE trained on the small dataset."""
    store = ArtifactStore(tmp_path_factory.mktemp("ftcp_store"))
    return artifact.prepare(store, small_dataset[0], TINY)


@pytest.fixture(scope="session")
def ftcp_context(small_dataset, tiny_vae, tmp_path_factory):
    """A TrialContext over the small dataset with both property tasks and the tiny FTCP-VAE prepared."""
    from crystalbench.api import registry
    from crystalbench.harness.runner import TrialContext, method_artifact_key

    dataset, _ = small_dataset
    root = tmp_path_factory.mktemp("ftcp_context")
    dataset.save(root / "dataset.parquet")
    store = ArtifactStore(root / "store")
    tasks = ("electronegativity", "formation_energy")
    return TrialContext(
        suite="t", run_dir=str(root / "run"), dataset_path=str(root / "dataset.parquet"),
        task_artifacts={t: str(registry.get_task(t)().prepare(store, dataset)) for t in tasks},
        method_artifacts={method_artifact_key(m, t): str(tiny_vae) for m in ("ftcp_random", "ftcp_local")
                          for t in tasks},
    )


def tiny_params() -> dict:
    """Method parameters selecting the tiny FTCP-VAE."""
    return {"vae": dataclasses.asdict(TINY)}
