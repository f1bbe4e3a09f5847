"""Electronegativity task: maximise the mean Pauling electronegativity of a crystal (Crystal-LSBO Fig. 4A).

The oracle is pymatgen's ``Composition.average_electroneg`` (atom-fraction
weighted Pauling electronegativity). It is exact and cheap, so the task
measures the optimiser, not a proxy. NaN for ``None``/invalid crystals and for
compositions with an element lacking a Pauling value (He, Ne, Ar, ...).
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import ClassVar, Literal

import numpy as np
from pymatgen.core import Composition, Structure

from crystalbench.api import ArtifactStore, Dataset, LabelledSet, Problem, Task, capabilities
from crystalbench.api.labelled import (
    ValidOracle,
    build_problem,
    check_problem_name,
    dataset_labelled_set,
    dataset_validity,
    evaluate_dataset,
    load_dataset_values,
    save_dataset_values,
)
from crystalbench.physics.property_judging import MlipJudged

ORACLE_VERSION = 1
"""Bump when ``mean_electronegativity`` changes: it keys the artifact."""


def mean_electronegativity(composition: Composition) -> float:
    """Atom-fraction-weighted Pauling electronegativity; NaN if any element has none (or pymatgen fails)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "No Pauling electronegativity for Ar. Setting to NaN."
        try:
            value = float(composition.average_electroneg)
        except Exception:  # unknown or dummy species, empty composition
            return math.nan
    return value if math.isfinite(value) else math.nan


def electronegativity_values(structures: list[Structure]) -> np.ndarray:
    """Value function of the oracle (valid crystals only), shape (n,)."""
    return np.array([mean_electronegativity(s.composition) for s in structures], dtype=float)


class Electronegativity(MlipJudged, Task):
    """One problem, ``electronegativity``: maximise the mean electronegativity, top-``n_initial`` dataset start.

    ``judge: mlip`` verifies each trial's ``judge_top_k`` best distinct proposals with the interatomic
    potential (``crystalbench.physics.property_judging``): a verified crystal is valid both ways, still
    the proposal after relaxing, and has a negative MLIP formation energy.
    """

    name: ClassVar[str] = "electronegativity"
    offers: ClassVar[frozenset[str]] = frozenset({capabilities.LABELLED_TRAINING_SET, capabilities.OPEN_COMPOSITION})
    direction: ClassVar[str] = "max"

    def __init__(self, n_initial: int = 100, judge: Literal["mlip"] | None = None, judge_top_k: int = 10):
        if n_initial < 1:
            raise ValueError(f"n_initial must be positive, got {n_initial}")
        if judge_top_k < 1:
            raise ValueError(f"judge_top_k must be positive, got {judge_top_k}")
        self.n_initial = n_initial
        self.judge, self.judge_top_k = judge, judge_top_k

    def verified_value(self, relaxed: Structure, formation_energy: float) -> float:
        return mean_electronegativity(relaxed.composition)

    def verified_extra(self, formation_energy: float) -> bool:
        return bool(formation_energy < 0)

    def problem_names(self) -> list[str]:
        return ["electronegativity"]

    def artifact_key(self, dataset: Dataset) -> dict:
        return {"task": self.name, "dataset": dataset.digest, "oracle_version": ORACLE_VERSION}

    def prepare(self, store: ArtifactStore, dataset: Dataset, problems: Sequence[str] | None = None) -> Path:
        """Evaluate the oracle on every dataset crystal once; save ``dataset_values.npy``."""
        valid = dataset_validity(store, dataset)

        def build(tmp: Path) -> None:
            save_dataset_values(tmp, evaluate_dataset(electronegativity_values, dataset, valid))

        return store.get_or_build(f"task/{self.name}", self.artifact_key(dataset), build)

    def labelled_set(self, store: ArtifactStore, dataset: Dataset, problems: Sequence[str] | None = None
                     ) -> LabelledSet:
        """The dataset crystals this task's oracle gives a finite value (the values ``prepare`` saved)."""
        return dataset_labelled_set(self.prepare(store, dataset), dataset, self.direction, self.problem_names()[0])

    def load_problem(self, name: str, dataset: Dataset, artifact_dir: Path, seed: int = 0) -> Problem:
        check_problem_name(self.name, name, self.problem_names())
        return build_problem(
            task=self.name,
            name=name,
            direction=self.direction,
            oracle=ValidOracle(electronegativity_values),
            dataset=dataset,
            dataset_values=load_dataset_values(artifact_dir, dataset),
            n_initial=self.n_initial,
            default_budget=self.default_budget,
            info={"oracle": "pymatgen Composition.average_electroneg (Pauling)"},
        )
