"""``band_gap``: maximise a band-gap proxy, an XGBoost model of the dataset's PBE band gaps.

This is how a property task is added from outside crystalbench. The oracle is a
cheap function of one crystal. ``crystalbench.api.labelled`` turns it into the
contract's oracle and problem: NaN for invalid crystals, the top-``n_initial``
start, the invalid penalty. Because the task saves the oracle's value of every
dataset crystal (``save_dataset_values``), it offers ``labelled_training_set``.
The offline methods (``lcom``, ``sl``) therefore run on it, and so does every
method that needs only ``open_composition``.

Features are 14 numbers: the mean and the spread (standard deviation) of six
element properties over the atoms (electronegativity, row, group, atomic radius,
Mendeleev number, Z), the volume per atom, and the number of elements. A proxy is
easy to exploit. A high value found by an optimiser means only that the proxy
predicts a large gap; the held-out MAE in ``info`` says how far to trust it.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from pathlib import Path
from typing import ClassVar

import numpy as np
import xgboost as xgb
from pymatgen.core import Element, Structure

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

FEATURE_VERSION = 1
PROPERTIES = ("X", "row", "group", "atomic_radius", "mendeleev_no", "Z")
MODEL_FILE, METRICS_FILE = "model.json", "metrics.json"


def features(structures: list[Structure]) -> np.ndarray:
    """(n, 14): per-atom mean and spread of six element properties, volume per atom, number of elements."""
    rows = []
    for s in structures:
        counts = s.composition.get_el_amt_dict()
        weights = np.array(list(counts.values()), dtype=float) / sum(counts.values())
        table = np.array([[_property(el, p) for p in PROPERTIES] for el in counts])
        mean = weights @ table
        spread = np.sqrt(weights @ (table - mean) ** 2)
        rows.append([*mean, *spread, s.volume / len(s), len(counts)])
    return np.asarray(rows, dtype=np.float32)


def _property(symbol: str, name: str) -> float:
    value = getattr(Element(symbol), name)
    return float(value) if value is not None and math.isfinite(float(value)) else 0.0


class ProxyValue:
    """The oracle's value function: the saved booster over ``features`` (picklable, for Ray)."""

    def __init__(self, model_path: Path):
        self.model_path = str(model_path)
        self.booster = xgb.Booster(params={"nthread": 1})
        self.booster.load_model(self.model_path)

    def __call__(self, structures: list[Structure]) -> np.ndarray:
        return np.asarray(self.booster.inplace_predict(features(structures)), dtype=float)

    def __reduce__(self):
        return ProxyValue, (self.model_path,)


class BandGap(Task):
    """One problem, ``band_gap``: maximise the proxy's predicted band gap (eV), top-``n_initial`` dataset start."""

    name: ClassVar[str] = "band_gap"
    offers: ClassVar[frozenset[str]] = frozenset({capabilities.LABELLED_TRAINING_SET, capabilities.OPEN_COMPOSITION})
    direction: ClassVar[str] = "max"
    default_budget: ClassVar[int] = 500

    def __init__(self, n_initial: int = 100, n_estimators: int = 400, max_depth: int = 5, learning_rate: float = 0.05,
                 seed: int = 0):
        if n_initial < 1 or n_estimators < 1 or max_depth < 1 or learning_rate <= 0:
            raise ValueError("n_initial, n_estimators and max_depth must be positive, learning_rate > 0")
        self.n_initial = int(n_initial)
        self.n_estimators = int(n_estimators)
        self.params = {"objective": "reg:squarederror", "tree_method": "hist", "max_depth": int(max_depth),
                       "learning_rate": float(learning_rate), "seed": int(seed), "nthread": 1}

    def problem_names(self) -> list[str]:
        return ["band_gap"]

    def prepare(self, store: ArtifactStore, dataset: Dataset, problems: Sequence[str] | None = None) -> Path:
        """Train the proxy on 80 % of the valid crystals, score it on 20 %, and save its value of every crystal."""
        key = {"task": self.name, "dataset": dataset.digest, "params": self.params, "n_estimators": self.n_estimators,
               "feature_version": FEATURE_VERSION, "xgboost": xgb.__version__}
        valid = dataset_validity(store, dataset)
        return store.get_or_build(f"task/{self.name}", key, lambda tmp: self._build(tmp, dataset, valid))

    def _build(self, tmp: Path, dataset: Dataset, valid: np.ndarray) -> None:
        labels = dataset.labels("band_gap")
        usable = np.flatnonzero(valid & np.isfinite(labels))
        x = features(dataset.structures(usable))
        order = np.random.default_rng(self.params["seed"]).permutation(len(usable))
        test, train = order[: len(order) // 5], order[len(order) // 5:]
        booster = xgb.train(self.params, xgb.DMatrix(x[train], label=labels[usable[train]]), self.n_estimators)
        booster.save_model(str(tmp / MODEL_FILE))
        value = ProxyValue(tmp / MODEL_FILE)
        error = value.booster.inplace_predict(x[test]) - labels[usable[test]]
        (tmp / METRICS_FILE).write_text(json.dumps({"test_mae": float(np.mean(np.abs(error))),
                                                    "n_train": len(train), "n_test": len(test)}))
        save_dataset_values(tmp, evaluate_dataset(value, dataset, valid))

    def labelled_set(self, store: ArtifactStore, dataset: Dataset, problems: Sequence[str] | None = None
                     ) -> LabelledSet:
        """The dataset crystals this task's oracle gives a finite value (the values ``prepare`` saved)."""
        return dataset_labelled_set(self.prepare(store, dataset), dataset, self.direction, self.problem_names()[0])

    def load_problem(self, name: str, dataset: Dataset, artifact_dir: Path, seed: int = 0) -> Problem:
        check_problem_name(self.name, name, self.problem_names())
        metrics = json.loads((Path(artifact_dir) / METRICS_FILE).read_text())
        return build_problem(
            task=self.name, name=name, direction=self.direction,
            oracle=ValidOracle(ProxyValue(Path(artifact_dir) / MODEL_FILE)), dataset=dataset,
            dataset_values=load_dataset_values(artifact_dir, dataset), n_initial=self.n_initial,
            default_budget=self.default_budget,
            info={"oracle": "XGBoost proxy of the PBE band gap (eV)", **metrics},
        )
