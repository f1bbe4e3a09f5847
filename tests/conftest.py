"""Fixtures shared across the test suite."""

from __future__ import annotations

import pytest

from harness.dataset import Dataset


@pytest.fixture(scope="session")
def bundled_dataset() -> Dataset:
    """The bundled 2,485-crystal MP-20 subset, parsed once per test session (~10 s). Do not mutate."""
    return Dataset.from_file()
