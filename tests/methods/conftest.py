"""Fixtures shared by the method tests: one torch thread, and the 300-crystal test dataset."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from crystalbench.harness.dataset import Dataset


@pytest.fixture(scope="session", autouse=True)
def one_torch_thread():
    """Two threads on a shared 2-core machine thrash; trials under Ray get one thread per CPU anyway."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="session")
def small_dataset(trial_context) -> Dataset:
    """The 300-crystal test dataset of ``trial_context``."""
    return Dataset.load(Path(trial_context.dataset_path))
