"""The conformance kit: what a method or task plugin must do to run in crystalbench, checked in its own test suite.

    from crystalbench.testing import check_method, check_task

    def test_my_task_conforms(tmp_path):
        check_task(MyTask(), ArtifactStore(tmp_path), Dataset.from_file())

    def test_my_method_conforms(tmp_path):
        check_method(MyMethod, {"sigma": 0.5}, FormationEnergy(), ArtifactStore(tmp_path), Dataset.from_file())

Every built-in method and task passes these checks in crystalbench's own suite
(``tests/test_conformance.py``). A failed check raises ``ConformanceError``, whose
message names the check and what was seen. The kit drives a method through the same
budgeted oracle the runner uses (``harness.oracle.BudgetedOracle``), so a method that
passes here behaves the same inside a sweep (docs/architecture.md, docs/plugins.md).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
from pymatgen.core import Structure

from crystalbench.api import (
    ArtifactStore,
    Dataset,
    Exhausted,
    FinalResult,
    Judgement,
    Method,
    Problem,
    ProblemView,
    Task,
    TaskView,
    capabilities,
)
from crystalbench.api.registry import missing_capabilities
from crystalbench.harness.crystal import to_cif
from crystalbench.harness.oracle import BudgetedOracle


class ConformanceError(AssertionError):
    """A plugin broke the contract; the message says which check and how."""


def _require(condition: bool, check: str, detail: str) -> None:
    if not condition:
        raise ConformanceError(f"{check}: {detail}")


def _fingerprint(structures: Sequence[Structure | None]) -> list[str | None]:
    return [None if s is None else to_cif(s) for s in structures]


def check_task(task: Task, store: ArtifactStore, dataset: Dataset, problems: Sequence[str] | None = None,
               seeds: Sequence[int] = (0, 1)) -> None:
    """Check ``task``'s problems, directions, budgets, initial sets, oracle batching and penalties.

    ``problems``: which problems to load (default: the first); each is loaded for each of
    ``seeds`` and twice for the first seed, to check determinism. A task offering
    ``labelled_training_set`` must give the labelled set of those problems, named
    stably, with one finite value per crystal; one offering ``final_relaxation`` must
    finalize a structure into a ``FinalResult`` that survives ``result.json``.
    """
    names = task.problem_names()
    _require(bool(names) and len(set(names)) == len(names), "problem names", f"non-empty and distinct, got {names}")
    _require(names == task.problem_names(), "problem names", "two calls gave different orders")
    _require(task.offers <= capabilities.ALL, "offers",
             f"unknown capabilities {sorted(task.offers - capabilities.ALL)}; known: {sorted(capabilities.ALL)}")
    chosen = list(problems or names[:1])
    _require(set(chosen) <= set(names), "problems", f"{sorted(set(chosen) - set(names))} are not among {names}")
    artifact = task.prepare(store, dataset, chosen)
    _require(Path(artifact).is_dir(), "prepare", f"must return a directory, got {artifact!r}")
    _require(task.prepare(store, dataset, chosen) == artifact, "prepare", "a second prepare built a new artifact")
    for name in chosen:
        first = task.load_problem(name, dataset, artifact, seed=seeds[0])
        _check_problem(task, name, first)
        again = task.load_problem(name, dataset, artifact, seed=seeds[0])
        _require(np.array_equal(first.initial_values, again.initial_values, equal_nan=True)
                 and _fingerprint(first.initial_structures) == _fingerprint(again.initial_structures),
                 "load_problem", f"{name}: the same seed gave another initial set")
        for seed in seeds[1:]:
            _check_problem(task, name, task.load_problem(name, dataset, artifact, seed=seed))
    if capabilities.LABELLED_TRAINING_SET in task.offers:
        _check_labelled_set(task, store, dataset, chosen)
    if capabilities.FINAL_RELAXATION in task.offers:
        _check_finalize(task, task.load_problem(chosen[0], dataset, artifact, seed=seeds[0]))


def _check_finalize(task: Task, problem: Problem) -> None:
    where = f"{task.name}/{problem.name}"
    _require(problem.finalize is not None, "finalize", f"{where}: offers final_relaxation but has no finalize")
    final = problem.finalize(problem.initial_structures[0])
    _require(isinstance(final, FinalResult), "finalize", f"{where}: must return a FinalResult, got {type(final)}")
    stored = json.loads(json.dumps(final.to_json()))
    _require(Judgement.from_json(stored, where) == final.own, "finalize",
             f"{where}: the judgement does not survive result.json (JSON scalars only)")
    _require(len(FinalResult.structure_of(stored, where)) == len(final.structure), "finalize",
             f"{where}: the final structure does not survive result.json")


def _check_labelled_set(task: Task, store: ArtifactStore, dataset: Dataset, problems: list[str]) -> None:
    labelled = task.labelled_set(store, dataset, problems)
    _require(labelled.source == task.labelled_set(store, dataset, problems).source, "labelled set",
             "two calls named the labels differently")
    _require(labelled.direction in ("min", "max"), "labelled set",
             f"direction 'min' or 'max', got {labelled.direction!r}")
    _require(set(labelled.problems) <= set(problems), "labelled set",
             f"asked for {problems}, got {list(labelled.problems)}")
    crystals = labelled.load()
    n = len(crystals.structures)
    _require(n > 0 and len(crystals.ids) == n and len(crystals.problems) == n and crystals.values.shape == (n,),
             "labelled set", f"{n} structures with {len(crystals.ids)} ids, {len(crystals.problems)} problems and "
                             f"values of shape {crystals.values.shape}")
    _require(bool(np.all(np.isfinite(crystals.values))), "labelled set", "values must be finite")
    _require(set(crystals.problems) <= set(labelled.problems), "labelled set",
             f"crystals of {sorted(set(crystals.problems) - set(labelled.problems))} outside its problems")


def _check_problem(task: Task, name: str, problem: Problem) -> None:
    where = f"{task.name}/{name}"
    _require(isinstance(problem, Problem), "load_problem", f"{where}: must return a Problem, got {type(problem)}")
    _require(problem.task == task.name and problem.name == name, "load_problem",
             f"{where}: the problem calls itself {problem.task}/{problem.name}")
    _require(problem.direction in ("min", "max"), "direction", f"{where}: 'min' or 'max', got {problem.direction!r}")
    _require(isinstance(problem.default_budget, int) and problem.default_budget > 0, "default budget",
             f"{where}: a positive integer, got {problem.default_budget!r}")
    n = len(problem.initial_structures)
    _require(n > 0 and problem.initial_values.shape == (n,), "initial set",
             f"{where}: {n} structures with values of shape {problem.initial_values.shape}")
    _require(bool(np.all(np.isfinite(problem.initial_values))), "initial set", f"{where}: values must be finite")
    _require(np.isfinite(problem.invalid_penalty), "invalid penalty", f"{where}: must be finite")
    best_initial = problem.best(problem.initial_values)
    _require(not problem.better(problem.invalid_penalty, best_initial), "invalid penalty",
             f"{where}: the penalty {problem.invalid_penalty} beats the initial best {best_initial}")
    view = problem.view()
    _require(type(view) is ProblemView and not hasattr(view, "oracle"), "view", f"{where}: the view exposes the oracle")

    probe = list(problem.initial_structures[:2])
    together = np.asarray(problem.oracle([*probe, None]), dtype=float)
    _require(together.shape == (len(probe) + 1,), "oracle batching",
             f"{where}: {len(probe) + 1} structures gave values of shape {together.shape}")
    _require(bool(np.isnan(together[-1])), "oracle", f"{where}: None must give NaN, got {together[-1]}")
    one_by_one = np.array([np.asarray(problem.oracle([s]), dtype=float)[0] for s in probe])
    _require(np.allclose(together[:-1], one_by_one, rtol=1e-6, atol=1e-9, equal_nan=True), "oracle batching",
             f"{where}: a batch gave {together[:-1]}, one at a time {one_by_one}")
    _require(np.allclose(together[:-1], problem.initial_values[: len(probe)], rtol=1e-5, atol=1e-6),
             "initial values", f"{where}: the oracle gives {together[:-1]} for initial values "
                               f"{problem.initial_values[: len(probe)]}")
    if capabilities.SAMPLES_STRUCTURES in task.offers:
        _require(problem.sample is not None, "sample", f"{where}: offers samples_structures but has no sample")
        drawn = problem.sample(3, np.random.default_rng(0))
        _require(len(drawn) == 3 and all(isinstance(s, Structure) for s in drawn), "sample",
                 f"{where}: sample(3, rng) must give 3 structures")
        _require(_fingerprint(drawn) == _fingerprint(problem.sample(3, np.random.default_rng(0))), "sample",
                 f"{where}: the same rng seed drew other structures")


def check_method(method: type[Method], params: dict, task: Task, store: ArtifactStore, dataset: Dataset,
                 problem: str | None = None, budget: int = 6, batch_size: int = 2, seed: int = 0,
                 task_params: Mapping[str, object] | None = None) -> None:
    """Run ``method(**params)`` on ``task``'s ``problem`` (default: the first) through a budgeted oracle and check it.

    ``task`` is configured already; ``task_params`` are the parameters it was configured
    with, as the method's ``prepare`` sees them (``TaskView.params``).

    Checked: it may run on the task; ``prepare`` is content-addressed; ``ask(n)`` gives
    1..n structures or None; ``tell`` accepts the invalid penalty and NaN; the same seed
    gives the same proposals; and, where the method checkpoints, a reloaded state
    proposes what the original would.
    """
    reason = missing_capabilities(method, task)
    _require(reason is None, "compatibility", str(reason))
    view = TaskView.of(task, task_params or {})
    artifact = method.prepare(store, dataset, params, view)
    _require(artifact is None or Path(artifact).is_dir(), "prepare", f"a directory or None, got {artifact!r}")
    _require(method.prepare(store, dataset, params, view) == artifact, "prepare",
             "a second prepare built a new artifact")
    name = problem or task.problem_names()[0]
    task_artifact = task.prepare(store, dataset, [name])
    first = _trial(method, params, task.load_problem(name, dataset, task_artifact, seed=seed), artifact, seed, budget,
                   batch_size)
    second = _trial(method, params, task.load_problem(name, dataset, task_artifact, seed=seed), artifact, seed, budget,
                    batch_size)
    _require(first == second, "determinism", f"two runs with seed {seed} proposed differently")
    _check_tell_accepts_penalty_and_nan(method, params, task.load_problem(name, dataset, task_artifact, seed=seed),
                                        artifact, seed)
    _check_state_round_trip(method, params, task.load_problem(name, dataset, task_artifact, seed=seed), artifact,
                            seed, batch_size)


def _started(method: type[Method], params: dict, problem: Problem, artifact: Path | None, seed: int) -> Method:
    instance = method(**params)
    instance.setup(problem.view(), artifact, np.random.default_rng(seed))
    return instance


def _asked(instance: Method, n: int) -> list[Structure | None]:
    asked = instance.ask(n)
    _require(isinstance(asked, list) and 1 <= len(asked) <= n, "ask",
             f"ask({n}) must return a list of 1..{n} candidates, got {type(asked).__name__} of "
             f"{len(asked) if hasattr(asked, '__len__') else '?'}")
    _require(all(s is None or isinstance(s, Structure) for s in asked), "ask",
             f"candidates must be Structure or None, got {sorted({type(s).__name__ for s in asked})}")
    return asked


def _trial(method: type[Method], params: dict, problem: Problem, artifact: Path | None, seed: int, budget: int,
           batch_size: int) -> list[list[str | None]]:
    """The proposals (as CIFs) of one budgeted trial, batch by batch."""
    instance = _started(method, params, problem, artifact, seed)
    oracle = BudgetedOracle(problem.oracle, budget, problem.invalid_penalty)
    proposals = []
    while oracle.remaining > 0:
        try:
            asked = _asked(instance, min(batch_size, oracle.remaining))
        except Exhausted:
            break
        instance.tell(asked, oracle(asked).scores)
        proposals.append(_fingerprint(asked))
    _require(bool(proposals), "ask", "the method proposed nothing within its budget")
    return proposals


def _check_tell_accepts_penalty_and_nan(method: type[Method], params: dict, problem: Problem,
                                        artifact: Path | None, seed: int) -> None:
    instance = _started(method, params, problem, artifact, seed)
    try:
        asked = _asked(instance, 2)
    except Exhausted:
        return
    odd = np.full(len(asked), problem.invalid_penalty)
    odd[len(asked) // 2:] = np.nan  # one candidate: NaN alone; two or more: the penalty, then NaN
    try:
        instance.tell(asked, odd)
        _asked(instance, 1)
    except Exhausted:
        return
    except ConformanceError:
        raise
    except Exception as exc:  # noqa: BLE001 - any exception here is the finding
        raise ConformanceError(f"tell: told the invalid penalty and NaN, the method raised {exc!r}") from exc


def _check_state_round_trip(method: type[Method], params: dict, problem: Problem, artifact: Path | None, seed: int,
                            batch_size: int) -> None:
    instance = _started(method, params, problem, artifact, seed)
    oracle = BudgetedOracle(problem.oracle, 2 * batch_size + 2, problem.invalid_penalty)
    try:
        asked = _asked(instance, batch_size)
        instance.tell(asked, oracle(asked).scores)
        state = instance.state_dict()
    except NotImplementedError:
        return  # the method does not checkpoint
    except Exhausted:
        return
    reloaded = _started(method, params, problem, artifact, seed)  # as the harness resumes: setup, then the state
    reloaded.load_state_dict(state)
    try:
        original_next = _fingerprint(_asked(instance, batch_size))
        reloaded_next = _fingerprint(_asked(reloaded, batch_size))
    except Exhausted:
        return
    _require(original_next == reloaded_next, "state round trip",
             "after load_state_dict the method proposed differently from the one it was saved from")


__all__ = ["ConformanceError", "check_method", "check_task"]
