"""A tiny Crystal-LSBO stack and tiny lcom/sl surrogates on the 300-crystal test dataset, built once per session."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from crystalbench.harness.runner import TrialContext, method_artifact_key
from crystalbench.harness.store import ArtifactStore
from crystalbench.methods.lcom.lcom import Lcom
from crystalbench.methods.lcom.sl import Sl
from tests.helpers import task_view
from tests.methods.crystal_lsbo.conftest import TINY as TINY_STACK

TINY_SURROGATE = {"hidden": 64, "epochs": 20, "lr": 1e-3, "batch_size": 32}
"""Paper settings are 2048 hidden, 50 epochs, lr 3e-5, batch 128: too slow for the default suite."""
PARAMS = {
    "sl": {"stack": TINY_STACK, "surrogate": TINY_SURROGATE, "steps": 10},
    "lcom": {"stack": TINY_STACK, "surrogate": TINY_SURROGATE, "steps": 10, "adversarial_steps": 10},
}
TINY_CDVAE = {"latent_dim": 8, "hidden": 16, "encoder_layers": 1, "score_layers": 1, "n_rbf": 8, "epochs": 3,
              "batch_size": 16, "noise_levels": 4, "langevin_steps": 2, "compounds": ["Si"]}
"""A CD-VAE that trains in seconds: enough to exercise the csp26 path, not to be any good."""
METHODS = {"sl": Sl, "lcom": Lcom}
TASKS = ("electronegativity", "formation_energy")


@pytest.fixture(scope="session")
def lcom_store(trial_context) -> ArtifactStore:
    """The trial context's store (``root/task/<name>/<digest>``), so the surrogates reuse its prepared tasks."""
    return ArtifactStore(Path(trial_context.task_artifacts["electronegativity"]).parents[2])


@pytest.fixture(scope="session")
def surrogates(lcom_store, small_dataset) -> dict[tuple[str, str], Path]:
    """(method, task) -> the prepared surrogate artifact of the tiny settings."""
    return {(name, task): METHODS[name].prepare(lcom_store, small_dataset, PARAMS[name], task_view(task))
            for name in METHODS for task in TASKS}


@pytest.fixture(scope="session")
def lcom_context(trial_context, surrogates, tmp_path_factory) -> TrialContext:
    """``trial_context`` with the tiny surrogates as lcom's and sl's artifacts on both property tasks."""
    artifacts = {method_artifact_key(m, t): str(path) for (m, t), path in surrogates.items()}
    return dataclasses.replace(trial_context, run_dir=str(tmp_path_factory.mktemp("lcom_run")),
                               method_artifacts=artifacts)
