"""A task with a judge, for the fault tests: a sweep of it has a judging stage long enough to be killed in.

``judged_electronegativity`` is the electronegativity task whose trials end in a final
structure (their best valid proposal, unrelaxed) and whose judge ``slow_judge`` scores each
distinct final structure after the search, taking ``judge_seconds`` per structure. Loaded
through a spec's ``plugins`` list, like a user's own task.
"""

from __future__ import annotations

import dataclasses
import time
from pathlib import Path
from typing import ClassVar

from pymatgen.core import Structure

from crystalbench.api import Dataset, FinalResult, Judgement, Problem, capabilities, register_task
from crystalbench.tasks.electronegativity import Electronegativity, mean_electronegativity


@register_task
class JudgedElectronegativity(Electronegativity):
    """Electronegativity with a final structure per trial and a slow judge of it."""

    name: ClassVar[str] = "judged_electronegativity"
    offers: ClassVar[frozenset[str]] = Electronegativity.offers | {capabilities.FINAL_RELAXATION}
    judges: ClassVar[tuple[str, ...]] = ("slow_judge",)

    def __init__(self, n_initial: int = 100, judge_seconds: float = 2.0):
        super().__init__(n_initial)
        self.judge_seconds = judge_seconds

    def load_problem(self, name: str, dataset: Dataset, artifact_dir: Path, seed: int = 0) -> Problem:
        problem = super().load_problem(name, dataset, artifact_dir, seed)
        return dataclasses.replace(problem, task=self.name, finalize=_own_judgement)

    def requested_judges(self) -> tuple[str, ...]:
        return self.judges

    def judge_structure(self, problem: str, structure: Structure, judge: str) -> Judgement:
        time.sleep(self.judge_seconds)
        return Judgement(value=mean_electronegativity(structure.composition), criteria={"positive": True})


def _own_judgement(structure: Structure) -> FinalResult:
    return FinalResult(structure, Judgement(value=mean_electronegativity(structure.composition)))
