"""The contract's toolkit for property tasks: an oracle that is a cheap function of one crystal.

Built-in users: electronegativity and formation energy; third-party: see docs/plugins.md.
A task that saves its oracle's value of every dataset crystal here
(``save_dataset_values``, read back by ``load_dataset_values``) offers the
``labelled_training_set`` capability: the offline methods learn from those values.

* ``ValidOracle`` turns a value function on valid crystals into the contract's
  oracle: invalid or ``None`` proposals give NaN, never reaching the function.
* ``dataset_validity`` caches which dataset rows pass ``harness.crystal.is_valid``
  (a CIF round trip, ~5 ms a crystal) once per dataset, for every task.
* ``evaluate_dataset`` runs a value function over the dataset in batches,
  giving exactly what the oracle would give on each row.
* ``save_dataset_values`` / ``load_dataset_values`` / ``build_problem`` turn those
  per-row values into a ``Problem`` (initial set, invalid penalty, info).
* ``dataset_labelled_set`` turns them into the task's ``LabelledSet``: the dataset
  rows with a finite value, named by the task artifact that computed them.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import partial
from pathlib import Path

import numpy as np
from pymatgen.core import Structure

from crystalbench.api import (
    ArtifactStore,
    Dataset,
    Direction,
    LabelledCrystals,
    LabelledSet,
    Oracle,
    Problem,
    UserError,
    initial_set,
    invalid_penalty,
    is_valid,
)

ValueFunction = Callable[[list[Structure]], np.ndarray]
"""Batched values of crystals already known to be valid: ``structures (n,) -> values (n,)``."""

DATASET_VALUES = "dataset_values.npy"
VALIDITY_VERSION = 1
"""Bump when ``harness.crystal.is_valid`` changes meaning: it keys the cached validity mask."""


class ValidOracle:
    """The contract's oracle around a value function: NaN for ``None`` and invalid crystals.

    A plain picklable object (no closures), so the harness can ship it to Ray actors.
    """

    def __init__(self, value_fn: ValueFunction):
        self.value_fn = value_fn

    def __call__(self, structures: Sequence[Structure | None]) -> np.ndarray:
        values = np.full(len(structures), np.nan)
        valid = [i for i, s in enumerate(structures) if is_valid(s)]
        if valid:
            values[valid] = np.asarray(self.value_fn([structures[i] for i in valid]), dtype=float)
        return values


def dataset_validity(store: ArtifactStore, dataset: Dataset) -> np.ndarray:
    """Whether each dataset row passes ``is_valid``, shape (len(dataset),) bool; computed once per dataset digest."""

    def build(tmp: Path) -> None:
        mask = np.array([is_valid(s) for s in dataset.structures()], dtype=bool)
        np.save(tmp / "valid.npy", mask, allow_pickle=False)

    path = store.get_or_build(
        "dataset_validity", {"dataset": dataset.digest, "validity_version": VALIDITY_VERSION}, build
    )
    mask = np.load(path / "valid.npy", allow_pickle=False)
    if mask.shape != (len(dataset),):
        raise UserError(f"validity artifact {path} has {mask.shape[0]} rows, dataset has {len(dataset)}")
    return mask


def evaluate_dataset(
    value_fn: ValueFunction, dataset: Dataset, valid: np.ndarray, batch_size: int = 512
) -> np.ndarray:
    """Oracle values of every dataset row, shape (len(dataset),): ``value_fn`` on valid rows, NaN elsewhere."""
    values = np.full(len(dataset), np.nan)
    rows = np.flatnonzero(valid)
    for start in range(0, len(rows), batch_size):
        batch = rows[start : start + batch_size]
        values[batch] = np.asarray(value_fn(dataset.structures(batch)), dtype=float)
    return values


def save_dataset_values(directory: Path, values: np.ndarray) -> None:
    np.save(Path(directory) / DATASET_VALUES, np.asarray(values, dtype=float), allow_pickle=False)


def load_dataset_values(artifact_dir: Path, dataset: Dataset) -> np.ndarray:
    """The per-row oracle values saved by ``prepare``; checks they belong to ``dataset``."""
    path = Path(artifact_dir) / DATASET_VALUES
    if not path.is_file():
        raise UserError(f"artifact {artifact_dir} lacks {DATASET_VALUES}; run prepare first")
    values = np.load(path, allow_pickle=False)
    if values.shape != (len(dataset),):
        raise UserError(
            f"artifact {artifact_dir} holds values for {values.shape[0]} crystals, the dataset has {len(dataset)}"
        )
    return values


def dataset_labelled_set(task_dir: Path, dataset: Dataset, direction: Direction, problem: str) -> LabelledSet:
    """The dataset rows with a finite saved value (``save_dataset_values`` in ``task_dir``) as one problem's set."""
    return LabelledSet(source=Path(task_dir).name, direction=direction, problems=(problem,),
                       loader=partial(_dataset_crystals, Path(task_dir), dataset, problem))


def _dataset_crystals(task_dir: Path, dataset: Dataset, problem: str) -> LabelledCrystals:
    values = load_dataset_values(task_dir, dataset)
    rows = np.flatnonzero(np.isfinite(values))
    return LabelledCrystals(ids=dataset.table["material_id"].gather(rows).to_list(), problems=[problem] * len(rows),
                            structures=dataset.structures(rows), values=values[rows].astype(float))


def build_problem(
    *,
    task: str,
    name: str,
    direction: Direction,
    oracle: Oracle,
    dataset: Dataset,
    dataset_values: np.ndarray,
    n_initial: int,
    default_budget: int,
    info: dict | None = None,
) -> Problem:
    """A Problem starting from the ``n_initial`` best dataset rows; invalid proposals get the worst value."""
    finite = np.isfinite(dataset_values)
    if not finite.any():
        raise UserError(f"{task}/{name}: the oracle gives no finite value on any dataset crystal")
    indices = initial_set(dataset_values, direction, n_initial)
    best = float(np.nanmin(dataset_values) if direction == "min" else np.nanmax(dataset_values))
    facts = {
        "dataset_best": best,
        "dataset_finite": int(finite.sum()),
        "dataset_size": len(dataset),
        "dataset_digest": dataset.digest,
        "n_initial": len(indices),
    }
    facts.update(info or {})
    return Problem(
        task=task,
        name=name,
        direction=direction,
        oracle=oracle,
        dataset=dataset,
        initial_structures=dataset.structures(indices),
        initial_values=dataset_values[indices].copy(),
        invalid_penalty=invalid_penalty(dataset_values, direction),
        default_budget=default_budget,
        info=facts,
    )


def check_problem_name(task: str, name: str, known: list[str]) -> None:
    if name not in known:
        raise UserError(f"task {task!r} has no problem {name!r}; known: {', '.join(known)}")
