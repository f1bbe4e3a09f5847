"""The task contract: a task yields one or more problems; a problem is what a trial optimises.

A problem carries its training dataset, direction, initial labelled set (for a
seed), the oracle, the invalid penalty, the default budget and, where the task
has them, its final metrics (DESIGN.md, "Core contracts").
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import ClassVar, Literal

import numpy as np
from pymatgen.core import Structure

from harness.dataset import Dataset
from harness.errors import UserError
from harness.store import ArtifactStore

Oracle = Callable[[Sequence[Structure | None]], np.ndarray]
"""Batched, pure, deterministic: ``structures (n,) -> values (n,)``; NaN where a structure is invalid."""

Direction = Literal["min", "max"]


@dataclass
class Problem:
    """One optimisation problem of a task (e.g. the formation-energy proxy, or CSP of MgO)."""

    task: str
    name: str
    direction: Direction
    oracle: Oracle
    dataset: Dataset
    initial_structures: list[Structure]
    """The initial labelled set (property tasks: the best dataset rows; CSP: the seed's start), (n_initial,)."""
    initial_values: np.ndarray
    """Oracle values of ``initial_structures``, shape (n_initial,); they cost no budget."""
    invalid_penalty: float
    default_budget: int
    info: dict = field(default_factory=dict)
    """Facts about the problem worth logging (e.g. the proxy's held-out MSE)."""
    finalize: Callable[[Structure], dict] | None = None
    """Final metrics of the trial's best structure (CSP: relax it and judge success); None: nothing to add."""
    sample: Callable[[int, np.random.Generator], list[Structure]] | None = None
    """``n`` random candidates of the problem's own search space (CSP: random crystals of the composition)."""

    def better(self, a: float, b: float) -> bool:
        """Whether value ``a`` is strictly better than ``b`` in this problem's direction."""
        return a < b if self.direction == "min" else a > b

    def best(self, values: np.ndarray) -> float:
        """The best of ``values`` (NaN ignored; NaN if all are NaN)."""
        if np.all(np.isnan(values)):
            return float("nan")
        return float(np.nanmin(values) if self.direction == "min" else np.nanmax(values))

    def rank(self, values: np.ndarray) -> np.ndarray:
        """Indices ordering ``values`` best first; NaN last, ties by index (stable)."""
        key = np.where(np.isnan(values), np.inf, values if self.direction == "min" else -values)
        return np.argsort(key, kind="stable")


class Task(ABC):
    """A family of problems sharing data and an oracle kind. Subclasses register with ``@register_task``."""

    name: ClassVar[str]
    default_budget: ClassVar[int] = 1000
    samples_structures: ClassVar[bool] = False
    """Whether this task's problems offer ``Problem.sample`` (methods then need no generative model)."""
    judges: ClassVar[tuple[str, ...]] = ()
    """Judges this task can apply to a trial's final structure after the search (``crystalbench judge``)."""

    @abstractmethod
    def problem_names(self) -> list[str]:
        """Names of this task's problems, in a stable order."""

    @abstractmethod
    def prepare(self, store: ArtifactStore, dataset: Dataset, problems: Sequence[str] | None = None) -> Path:
        """Build (once per content hash) what the oracle needs for ``problems`` (None: all); return the directory."""

    @abstractmethod
    def load_problem(self, name: str, dataset: Dataset, artifact_dir: Path, seed: int = 0) -> Problem:
        """Materialise problem ``name`` for trial seed ``seed`` from the prepared artifacts (called in every trial)."""

    def start_services(self) -> list:
        """Start the Ray actors this task's oracles share (the caller keeps the handles); none by default."""
        return []

    def requested_judges(self) -> tuple[str, ...]:
        """The judges this configured task asks the sweep to run once its trials are done; none by default."""
        return ()

    def judge_structure(self, problem: str, structure: Structure, judge: str) -> dict:
        """Metrics ``<judge>_*`` of ``structure``, a final (relaxed) structure of ``problem``, under ``judge``.

        Called by ``harness.judging`` on any node, once per distinct final structure;
        must be deterministic so that trials sharing a structure may share its verdict.
        """
        raise UserError(f"task {self.name} has no judge {judge!r}")


def initial_set(values: np.ndarray, direction: Direction, n_initial: int) -> np.ndarray:
    """Rows of the ``n_initial`` best finite ``values`` for ``direction`` (the papers' top-100 start)."""
    key = np.where(np.isfinite(values), values if direction == "min" else -values, np.inf)
    order = np.argsort(key, kind="stable")
    return order[: min(n_initial, int(np.isfinite(values).sum()))]


def invalid_penalty(values: np.ndarray, direction: Direction) -> float:
    """The penalty for an invalid proposal: the worst finite value over the dataset."""
    finite = values[np.isfinite(values)]
    return float(finite.max() if direction == "min" else finite.min())
