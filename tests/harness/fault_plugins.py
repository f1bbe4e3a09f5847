"""Tasks for the fault tests, loaded through a spec's ``plugins`` list like a user's own.

``judged_electronegativity`` is the electronegativity task whose trials end in a final
structure (their best valid proposal, unrelaxed) and whose judge ``slow_judge`` scores each
distinct final structure after the search, taking ``judge_seconds`` per structure: a sweep of it has a
judging stage long enough to be killed in. ``broken_prepare`` fails in its prepare step.
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

    def judged_proposals(self, judge: str) -> int:
        return 0  # the trial's final structure

    def prepare_judge(self, store, dataset: Dataset, judge: str) -> Path | None:
        return None

    def judge_structure(self, problem: str, structure: Structure, judge: str,
                        artifact_dir: Path | None = None) -> Judgement:
        time.sleep(self.judge_seconds)
        return Judgement(value=mean_electronegativity(structure.composition), criteria={"positive": True})


def _own_judgement(structure: Structure) -> FinalResult:
    return FinalResult(structure, Judgement(value=mean_electronegativity(structure.composition)))


@register_task
class BrokenPrepare(Electronegativity):
    """Electronegativity whose prepare step fails with an error that is no user's: a bug in a plugin."""

    name: ClassVar[str] = "broken_prepare"

    def prepare(self, store, dataset, problems=None) -> Path:
        raise RuntimeError("deliberate failure in prepare")
