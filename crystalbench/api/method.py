"""The method contract: ask/tell optimisers that never call an oracle themselves (docs/architecture.md).

``setup(problem, artifacts, rng)`` once, then the harness alternates
``ask(n)`` → oracle → ``tell(structures, values)`` until the budget is spent.
Offline methods (LCOM, SL) optimise inside ``ask`` against their own surrogate
and spend oracle calls only on what they finally propose.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from pathlib import Path
from typing import ClassVar

import numpy as np
from pymatgen.core import Structure

from crystalbench.api.problem import ProblemView
from crystalbench.api.task import TaskView
from crystalbench.harness.dataset import Dataset
from crystalbench.harness.store import ArtifactStore


class Exhausted(Exception):
    """Raised by ``ask`` when a method has nothing left to propose: the trial ends before its budget."""


class Method(ABC):
    """An optimiser, registered as a ``crystalbench.methods`` entry point.

    Constructor keyword arguments are the method's parameters from the spec.
    """

    name: ClassVar[str]
    requires: ClassVar[frozenset[str]] = frozenset()
    """Capabilities a task must offer for this method to run on it (``crystalbench.api.capabilities``)."""

    def __init__(self) -> None:
        """Subclasses take their spec parameters as keyword arguments here (none by default)."""

    @classmethod
    def prepare(cls, store: ArtifactStore, dataset: Dataset, params: dict, task: TaskView) -> Path | None:
        """Build shared artifacts (e.g. trained generative models) for ``task`` once per content hash; None if none.

        Called once per (method setting, task) before the trials; ``task`` is read-only and
        its labelled set (``task.labelled_set``) is what a method that trains learns from.
        """
        return None

    @abstractmethod
    def setup(self, problem: ProblemView, artifact_dir: Path | None, rng: np.random.Generator) -> None:
        """Start a trial on ``problem``; all randomness must come from ``rng``."""

    @abstractmethod
    def ask(self, n: int) -> list[Structure | None]:
        """Propose between 1 and ``n`` candidates; None stands for a decode that gave no valid crystal."""

    @abstractmethod
    def tell(self, structures: list[Structure | None], values: np.ndarray) -> None:
        """Receive the oracle values of the last ``ask`` (invalid ones already replaced by the penalty)."""

    def trace(self) -> dict:
        """JSON-able diagnostics of the trial beyond its oracle calls (e.g. LCOM's surrogate energy per step).

        Read once after the last ``tell``; the harness keeps it in ``result.json``
        (``extra.trace``) and as the MLflow artifact ``trace.json``. Empty: nothing to keep.
        """
        return {}

    def state_dict(self) -> dict:
        """Mid-trial checkpoint; methods that support resuming override this and ``load_state_dict``."""
        raise NotImplementedError(f"{self.name} does not checkpoint")

    def load_state_dict(self, state: dict) -> None:
        raise NotImplementedError(f"{self.name} does not checkpoint")
