"""The task contract: a task yields one or more problems (``crystalbench.api.problem``) and says what they offer.

A task is configured by its spec parameters (constructor keywords), builds what its
oracles need once per content hash (``prepare``), materialises a problem per trial
(``load_problem``) and declares its capabilities (``offers``), from which the harness
computes which methods can run on it (docs/architecture.md).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import ClassVar

import numpy as np
from pymatgen.core import Structure

from crystalbench.api.final import Judgement
from crystalbench.api.labelled_set import LabelledSet
from crystalbench.api.problem import Direction, Oracle, Problem
from crystalbench.harness.dataset import Dataset
from crystalbench.harness.errors import UserError
from crystalbench.harness.store import ArtifactStore


class Task(ABC):
    """A family of problems sharing data and an oracle kind, registered as a ``crystalbench.tasks`` entry point."""

    name: ClassVar[str]
    default_budget: ClassVar[int] = 1000
    offers: ClassVar[frozenset[str]] = frozenset()
    """Capabilities of this task's problems (``crystalbench.api.capabilities``); a method runs here
    when everything it ``requires`` is offered."""
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

    def labelled_set(self, store: ArtifactStore, dataset: Dataset, problems: Sequence[str] | None = None
                     ) -> LabelledSet:
        """Known crystals of ``problems`` (None: all) labelled with this task's objective.

        Tasks that offer ``labelled_training_set`` implement it; methods reach it through ``TaskView``.
        """
        raise UserError(f"task {self.name} offers no labelled training set")

    def scoring_oracle(self, problem: str) -> Oracle:
        """The oracle of ``problem`` for analyses after a run, outside any trial's budget (e.g. lcom's path energies).

        Tasks whose oracle needs no prepared artifact may offer it; none by default.
        """
        raise UserError(f"task {self.name} cannot score structures outside a trial")

    def start_services(self) -> list:
        """Start the Ray actors this task's oracles share (the caller keeps the handles); none by default."""
        return []

    def requested_judges(self) -> tuple[str, ...]:
        """The judges this configured task asks the sweep to run once its trials are done; none by default."""
        return ()

    def judged_proposals(self, judge: str) -> int:
        """How many of a trial's best distinct proposals ``judge`` scores; 0 (default): the trial's final structure."""
        return 0

    def prepare_judge(self, store: ArtifactStore, dataset: Dataset, judge: str) -> Path | None:
        """Build (once per content hash) what ``judge`` needs (e.g. the MLIP rung's reference); None: nothing."""
        return None

    def judge_structure(self, problem: str, structure: Structure, judge: str,
                        artifact_dir: Path | None = None) -> Judgement:
        """``judge``'s verdict on ``structure``, a final structure or a proposal of ``problem``.

        ``artifact_dir`` is what ``prepare_judge`` built.

        Called by ``harness.judging`` on any node, once per distinct final structure;
        must be deterministic so that trials sharing a structure may share its verdict.
        """
        raise UserError(f"task {self.name} has no judge {judge!r}")


@dataclass(frozen=True)
class TaskView:
    """What a method's ``prepare`` step sees of a configured task: read-only, no oracle.

    ``Method.prepare`` builds artifacts shared by every trial of the method on this
    task (trained models, surrogates); it decides what to build from the task's
    capabilities and learns from its labelled set, never from the task's name.
    """

    name: str
    params: Mapping[str, object]
    """The task's spec parameters (read-only)."""
    offers: frozenset[str]
    problems: tuple[str, ...]
    """Every problem of the task, in its stable order (not only those a sweep selected)."""
    _task: Task = field(repr=False, compare=False)

    @classmethod
    def of(cls, task: Task, params: Mapping[str, object]) -> TaskView:
        """The view of ``task``, configured with ``params``."""
        return cls(name=task.name, params=MappingProxyType(dict(params)), offers=task.offers,
                   problems=tuple(task.problem_names()), _task=task)

    def labelled_set(self, store: ArtifactStore, dataset: Dataset, problems: Sequence[str] | None = None
                     ) -> LabelledSet:
        """The task's labelled crystals of ``problems`` (None: all): see ``Task.labelled_set``."""
        return self._task.labelled_set(store, dataset, problems)


def initial_set(values: np.ndarray, direction: Direction, n_initial: int) -> np.ndarray:
    """Rows of the ``n_initial`` best finite ``values`` for ``direction`` (the papers' top-100 start)."""
    key = np.where(np.isfinite(values), values if direction == "min" else -values, np.inf)
    order = np.argsort(key, kind="stable")
    return order[: min(n_initial, int(np.isfinite(values).sum()))]


def invalid_penalty(values: np.ndarray, direction: Direction) -> float:
    """The penalty for an invalid proposal: the worst finite value over the dataset."""
    finite = values[np.isfinite(values)]
    return float(finite.max() if direction == "min" else finite.min())
