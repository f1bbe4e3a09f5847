"""Every built-in method passes the conformance kit a third-party method runs (crystalbench.testing.check_method).

Small models (a few epochs) on the 300-crystal test dataset: the kit checks the
contract (determinism, ask sizes, penalties and NaN, checkpoints), not quality.
"""

from __future__ import annotations

import pytest

from crystalbench.api import ArtifactStore, Dataset, get_method, get_task, method_names
from crystalbench.testing import check_method

STACK = {"max_sites": 20, "part_epochs": 2, "combined_epochs": 3, "quality_samples": 40, "batch_size": 32}
OFFLINE = {"stack": STACK, "surrogate": {"hidden": 64, "epochs": 5, "lr": 1e-3, "batch_size": 32}, "steps": 5}
CDVAE = {"latent_dim": 8, "hidden": 16, "encoder_layers": 1, "score_layers": 1, "n_rbf": 8, "epochs": 2,
         "batch_size": 16, "noise_levels": 4, "langevin_steps": 2, "compounds": ["Si"]}
CASES = {
    "database": ({}, "electronegativity", {}, None),
    "random_search": ({"stack": STACK}, "electronegativity", {}, None),
    "crystal_lsbo": ({"stack": STACK}, "formation_energy", {}, None),
    "crystal_lca_lsbo": ({"stack": STACK}, "electronegativity", {}, None),
    "ftcp_random": ({"vae": {"epochs": 2, "latent_dim": 8, "quality_samples": 10}}, "electronegativity", {}, None),
    "ftcp_local": ({"vae": {"epochs": 2, "latent_dim": 8, "quality_samples": 10}}, "electronegativity", {}, None),
    "lcom": ({**OFFLINE, "adversarial_steps": 5}, "electronegativity", {}, None),
    "sl": (OFFLINE, "electronegativity", {}, None),
    "cdvae": ({"model": CDVAE}, "csp26", {"relax_steps": 20}, "Si"),
}


@pytest.fixture(scope="module")
def store(tmp_path_factory) -> ArtifactStore:
    return ArtifactStore(tmp_path_factory.mktemp("conformance"))


@pytest.mark.parametrize("name", sorted(CASES))
def test_the_built_in_method_passes_the_conformance_kit(name, store, small_dataset_csv):
    params, task, task_params, problem = CASES[name]
    check_method(get_method(name), params, get_task(task)(**task_params), store, Dataset.from_file(small_dataset_csv),
                 problem=problem, budget=4, batch_size=2)


def test_every_built_in_method_is_covered():
    assert set(CASES) == {n for n in method_names() if get_method(n).__module__.startswith("crystalbench.methods.")}
