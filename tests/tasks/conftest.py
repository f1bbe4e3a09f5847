"""Fixtures for the task tests."""

from __future__ import annotations

import pytest

from crystalbench.harness.store import ArtifactStore


@pytest.fixture(scope="session")
def task_store(tmp_path_factory) -> ArtifactStore:
    """One artifact store for the session, so tasks share the cached dataset validity mask (~13 s to build)."""
    return ArtifactStore(tmp_path_factory.mktemp("task_store"))
