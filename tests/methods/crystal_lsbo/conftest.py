"""A tiny Crystal-LSBO stack on the 300-crystal test dataset, trained once per session in seconds."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from crystalbench.harness.runner import TrialContext, method_artifact_key
from crystalbench.harness.store import ArtifactStore
from crystalbench.methods.crystal_lsbo.latent_space import StackConfig, prepare_stack

TINY = {"max_sites": 20, "part_epochs": 2, "combined_epochs": 3, "quality_samples": 40, "batch_size": 32}
METHODS = ("crystal_lsbo", "crystal_lca_lsbo", "random_search")


@pytest.fixture(scope="session")
def tiny_stack(small_dataset, tmp_path_factory) -> Path:
    """The tiny stack's artifact directory."""
    store = ArtifactStore(tmp_path_factory.mktemp("lsbo_store"))
    return prepare_stack(store, small_dataset, StackConfig(**TINY))


@pytest.fixture(scope="session")
def lsbo_context(trial_context, tiny_stack, tmp_path_factory) -> TrialContext:
    """``trial_context`` with the tiny stack as every Crystal-LSBO method's artifact, on both tasks."""
    artifacts = {method_artifact_key(m, t): str(tiny_stack)
                 for m in METHODS for t in ("electronegativity", "formation_energy")}
    return dataclasses.replace(trial_context, run_dir=str(tmp_path_factory.mktemp("lsbo_run")),
                               method_artifacts=artifacts)
