"""Fixtures for the CD-VAE tests: a tiny CD-VAE trained in seconds on unlabelled NaCl and Si structures."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from pymatgen.core import Structure

from crystalbench.methods.cdvae.config import CdvaeConfig
from crystalbench.methods.cdvae.training import train
from crystalbench.tasks.csp.training_data import generate_structures

TINY = {"latent_dim": 8, "hidden": 16, "encoder_layers": 1, "score_layers": 1, "n_rbf": 8, "epochs": 3,
        "batch_size": 16, "noise_levels": 4, "langevin_steps": 2}
"""Trains in seconds: enough to exercise every path, not to be any good."""


@pytest.fixture(scope="session")
def tiny_structures() -> list[Structure]:
    """The csp26 training-data generator's NaCl and Si structures, unlabelled (no energy model needed)."""
    rng = np.random.default_rng(0)
    return [s for compound in ("NaCl", "Si") for _, s in generate_structures(compound, rng)]


@pytest.fixture(scope="session")
def tiny_model_dir(tiny_structures, tmp_path_factory) -> Path:
    """A directory holding the tiny CD-VAE as ``prepare_cdvae`` writes its model files."""
    model, _ = train(tiny_structures, CdvaeConfig.from_params({**TINY, "compounds": ["NaCl", "Si"]}))
    directory = tmp_path_factory.mktemp("tiny_cdvae")
    model.save(directory)
    return directory
