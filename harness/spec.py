"""Benchmark specs: YAML in, a validated ``Spec`` and its grid of cells out.

A spec names methods, tasks and seeds; the grid is methods × problems × seeds.
Every mistake a user can make in a spec is a ``UserError`` with one line that
says where it is. ``spec_hash`` covers what determines results (methods, tasks,
seeds, dataset), not where they are written, so the same experiment keeps its
identity across machines and tracking servers.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from crystalbench.api import registry
from crystalbench.harness.errors import UserError
from crystalbench.harness.spec_file import read_spec_yaml
from crystalbench.harness.storage import location
from crystalbench.harness.store import default_artifact_root

TOP_KEYS = {
    "suite",
    "seeds",
    "methods",
    "tasks",
    "dataset",
    "dataset_filter",
    "resources",
    "tracking",
    "storage",
    "execution",
    "plugins",
}
METHOD_KEYS = {"name", "label", "params"}
TASK_KEYS = {"name", "params", "problems", "budget", "batch_size"}
NAME_RE = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]*$")
MAX_SEEDS = 10_000
"""Seeds per spec: far beyond any benchmark (the papers use 5-10), well below what exhausts memory."""
MAX_CELLS = 100_000
"""Trials per sweep (tasks x problems x methods x seeds)."""
MAX_SHOWN = 60
"""Characters of an offending value shown in an error line."""


@dataclass(frozen=True)
class MethodSpec:
    """A method and its parameters; ``label`` tells apart several settings of one method."""

    name: str
    label: str
    params: dict = field(default_factory=dict)


@dataclass(frozen=True)
class TaskSpec:
    """A task, its parameters, which of its problems to run (None: all), budget and batch size."""

    name: str
    params: dict = field(default_factory=dict)
    problems: tuple[str, ...] | None = None
    budget: int | None = None
    batch_size: int = 1


@dataclass(frozen=True)
class Cell:
    """One grid cell: one trial of a method on a problem with a seed."""

    method: str
    method_label: str
    method_params: dict
    task: str
    task_params: dict
    problem: str
    seed: int
    budget: int
    batch_size: int

    @property
    def cell_id(self) -> str:
        """Deterministic, filesystem-safe identity of the cell (also its MLflow run name)."""
        return f"{self.task}.{self.problem}.{self.method_label}.s{self.seed}"


@dataclass(frozen=True)
class SkippedCell:
    method_label: str
    task: str
    reason: str


@dataclass(frozen=True)
class Spec:
    """A validated benchmark spec."""

    suite: str
    seeds: tuple[int, ...]
    methods: tuple[MethodSpec, ...]
    tasks: tuple[TaskSpec, ...]
    dataset: str | None = None
    """Path of a dataset file in the on-disk format; None: the bundled MP-20 subset."""
    dataset_filter: dict = field(default_factory=dict)
    """``Dataset.filter`` arguments (n_elements, max_sites, max_e_above_hull); every method and task sees the subset."""
    cpu: float = 1.0
    gpu: float = 0.0
    tracking_uri: str | None = None
    experiment: str | None = None
    run_dir: str | None = None
    artifacts: str | None = None
    max_concurrent_trials: int | None = None
    max_retries: int = 0
    plugins: tuple[str, ...] = ()

    @property
    def resolved_run_dir(self) -> str:
        """The run directory: an absolute path or an object-store URI."""
        return str(location(self.run_dir or f"runs/{self.suite}", "storage.run_dir"))

    @property
    def resolved_artifacts(self) -> str:
        """The artifact store's root: an absolute path or an object-store URI."""
        return str(location(self.artifacts or default_artifact_root(), "storage.artifacts"))

    @property
    def experiment_name(self) -> str:
        return self.experiment or f"crystalbench-{self.suite}"

    @property
    def spec_hash(self) -> str:
        """sha256 of what determines results: suite, seeds, methods, tasks, dataset (and its filter when set).

        A field added to specs later enters the hash only when it is set, so every
        spec written before it keeps its hash and its runs can still be resumed.
        """
        content = {
            "suite": self.suite,
            "seeds": list(self.seeds),
            "methods": [asdict(m) for m in self.methods],
            "tasks": [asdict(t) for t in self.tasks],
            "dataset": self.dataset,
        }
        if self.dataset_filter:
            content["dataset_filter"] = self.dataset_filter
        return hashlib.sha256(json.dumps(content, sort_keys=True, default=str).encode()).hexdigest()

    def grid(self) -> tuple[list[Cell], list[SkippedCell]]:
        """Cells (tasks × problems × methods × seeds, in that order) and the incompatible pairs skipped.

        More than ``MAX_CELLS`` cells is a ``UserError``, raised before any cell is built.
        """
        tasks = [(task, registry.get_task(task.name)(**task.params)) for task in self.tasks]
        problem_names = {task.name: task.problems or tuple(obj.problem_names()) for task, obj in tasks}
        count = sum(len(p) for p in problem_names.values()) * len(self.methods) * len(self.seeds)
        if count > MAX_CELLS:
            raise UserError(f"the grid has {count} trials (problems x methods x seeds); the limit is {MAX_CELLS}")
        cells, skipped = [], []
        for task, task_obj in tasks:
            problems = problem_names[task.name]
            budget = task.budget if task.budget is not None else task_obj.default_budget
            for method in self.methods:
                reason = registry.incompatibility(method.name, task.name)
                if reason:
                    skipped.append(SkippedCell(method.label, task.name, reason))
                    continue
                for problem in problems:
                    for seed in self.seeds:
                        cells.append(
                            Cell(
                                method=method.name,
                                method_label=method.label,
                                method_params=dict(method.params),
                                task=task.name,
                                task_params=dict(task.params),
                                problem=problem,
                                seed=seed,
                                budget=budget,
                                batch_size=task.batch_size,
                            )
                        )
        return cells, skipped


def load_spec(path: str | Path) -> Spec:
    """Read, parse and validate a spec file (within the bounds of ``harness.spec_file``)."""
    path = Path(path)
    raw = read_spec_yaml(path)
    if not isinstance(raw, dict):
        raise UserError(f"{path}: a spec is a YAML mapping with keys {sorted(TOP_KEYS)}")
    try:
        return parse_spec(raw)
    except UserError as exc:
        raise UserError(f"{path}: {exc}") from exc


def parse_spec(raw: dict) -> Spec:
    """Validate a spec mapping (already parsed from YAML) into a ``Spec``."""
    _check_keys(raw, TOP_KEYS, "spec")
    plugins = tuple(_list_of(raw.get("plugins", []), str, "plugins"))
    registry.load(list(plugins))

    suite = raw.get("suite")
    if not isinstance(suite, str) or not NAME_RE.match(suite):
        raise UserError("'suite' must be a name of letters, digits, '_', '.', '-'")
    seeds = _seeds(raw.get("seeds", 1))
    methods = _methods(raw.get("methods"))
    tasks = _tasks(raw.get("tasks"))

    resources = _mapping(raw.get("resources", {}), "resources", {"cpu", "gpu"})
    tracking = _mapping(raw.get("tracking", {}), "tracking", {"uri", "experiment"})
    storage = _mapping(raw.get("storage", {}), "storage", {"run_dir", "artifacts"})
    execution = _mapping(raw.get("execution", {}), "execution", {"max_concurrent_trials", "max_retries"})
    dataset = raw.get("dataset")
    if dataset is not None:
        if not isinstance(dataset, str):
            raise UserError("'dataset' must be a file path")
        if not Path(dataset).expanduser().is_file():
            raise UserError(f"dataset file not found: {dataset}")

    dataset_filter = _dataset_filter(raw.get("dataset_filter", {}))

    cpu = _number(resources.get("cpu", 1.0), "resources.cpu", minimum=0.0)
    gpu = _number(resources.get("gpu", 0.0), "resources.gpu", minimum=0.0)
    if cpu == 0 and gpu == 0:
        raise UserError("resources: a trial needs some cpu or gpu")
    max_concurrent = execution.get("max_concurrent_trials")
    if max_concurrent is not None:
        max_concurrent = _positive_int(max_concurrent, "execution.max_concurrent_trials")
    max_retries = execution.get("max_retries", 0)
    if not isinstance(max_retries, int) or isinstance(max_retries, bool) or max_retries < 0:
        raise UserError("execution.max_retries must be a non-negative integer")

    return Spec(
        suite=suite,
        seeds=seeds,
        methods=methods,
        tasks=tasks,
        dataset=str(Path(dataset).expanduser().resolve()) if dataset else None,
        dataset_filter=dataset_filter,
        cpu=cpu,
        gpu=gpu,
        tracking_uri=_optional_str(tracking.get("uri"), "tracking.uri"),
        experiment=_optional_str(tracking.get("experiment"), "tracking.experiment"),
        run_dir=_storage(storage.get("run_dir"), "storage.run_dir"),
        artifacts=_storage(storage.get("artifacts"), "storage.artifacts"),
        max_concurrent_trials=max_concurrent,
        max_retries=max_retries,
        plugins=plugins,
    )


def _seeds(value: Any) -> tuple[int, ...]:
    if isinstance(value, int) and not isinstance(value, bool):
        if value < 1:
            raise UserError("'seeds' as a count must be at least 1")
        if value > MAX_SEEDS:
            raise UserError(f"'seeds': {value} seeds; the limit is {MAX_SEEDS}")
        return tuple(range(value))
    seeds = _list_of(value, int, "seeds")
    if len(seeds) > MAX_SEEDS:
        raise UserError(f"'seeds': {len(seeds)} seeds; the limit is {MAX_SEEDS}")
    if not seeds or any(s < 0 for s in seeds) or len(set(seeds)) != len(seeds):
        raise UserError("'seeds' must be a count or a non-empty list of distinct non-negative integers")
    return tuple(seeds)


def _methods(value: Any) -> tuple[MethodSpec, ...]:
    entries = _entries(value, "methods")
    methods = []
    for i, entry in enumerate(entries):
        where = f"methods[{i}]"
        _check_keys(entry, METHOD_KEYS, where)
        name = _name(entry.get("name"), f"{where}.name")
        params = _mapping(entry.get("params", {}), f"{where}.params")
        registry.construct(registry.get_method(name), params, where)
        label = _name(entry.get("label", name), f"{where}.label")
        methods.append(MethodSpec(name=name, label=label, params=params))
    duplicate = _first_duplicate([m.label for m in methods])
    if duplicate:
        raise UserError(f"method {duplicate!r} appears twice; give each setting a distinct 'label'")
    return tuple(methods)


def _tasks(value: Any) -> tuple[TaskSpec, ...]:
    entries = _entries(value, "tasks")
    tasks = []
    for i, entry in enumerate(entries):
        where = f"tasks[{i}]"
        _check_keys(entry, TASK_KEYS, where)
        name = _name(entry.get("name"), f"{where}.name")
        params = _mapping(entry.get("params", {}), f"{where}.params")
        task = registry.construct(registry.get_task(name), params, where)
        problems = entry.get("problems")
        if problems is not None:
            problems = tuple(_list_of(problems, str, f"{where}.problems"))
            known = task.problem_names()
            unknown = [p for p in problems if p not in known]
            if not problems or unknown:
                raise UserError(f"{where}.problems: unknown {unknown or 'empty list'}; known: {', '.join(known)}")
        budget = entry.get("budget")
        if budget is not None:
            budget = _positive_int(budget, f"{where}.budget")
        batch_size = _positive_int(entry.get("batch_size", 1), f"{where}.batch_size")
        tasks.append(TaskSpec(name=name, params=params, problems=problems, budget=budget, batch_size=batch_size))
    duplicate = _first_duplicate([t.name for t in tasks])
    if duplicate:
        raise UserError(f"task {duplicate!r} appears twice")
    return tuple(tasks)


def _first_duplicate(names: list[str]) -> str | None:
    return next((x for x in names if names.count(x) > 1), None)


def _entries(value: Any, where: str) -> list[dict]:
    """A non-empty list whose items are names or mappings with a 'name'."""
    if not isinstance(value, list) or not value:
        raise UserError(f"'{where}' must be a non-empty list")
    return [{"name": item} if isinstance(item, str) else _mapping(item, f"{where}[{i}]") for i, item in enumerate(value)]


def _check_keys(mapping: dict, allowed: set[str], where: str) -> None:
    unknown = sorted(set(mapping) - allowed, key=str)
    if unknown:
        raise UserError(f"{where}: unknown key {_shown(unknown[0])} (allowed: {', '.join(sorted(allowed))})")


def _mapping(value: Any, where: str, allowed: set[str] | None = None) -> dict:
    if value is None:
        value = {}
    if not isinstance(value, dict):
        raise UserError(f"'{where}' must be a mapping")
    if allowed is not None:
        _check_keys(value, allowed, where)
    return dict(value)


def _list_of(value: Any, kind: type, where: str) -> list:
    if not isinstance(value, list) or not all(isinstance(v, kind) and not isinstance(v, bool) for v in value):
        raise UserError(f"'{where}' must be a list of {kind.__name__}")
    return list(value)


def _name(value: Any, where: str) -> str:
    if not isinstance(value, str) or not NAME_RE.match(value):
        raise UserError(f"{where} must be a name of letters, digits, '_', '.', '-'")
    return value


def _dataset_filter(value: Any) -> dict:
    """``dataset_filter``: n_elements (an int or a list of ints ≥ 1), max_sites (int ≥ 1), max_e_above_hull (≥ 0)."""
    raw = _mapping(value, "dataset_filter", {"n_elements", "max_sites", "max_e_above_hull"})
    checked: dict = {}
    if "n_elements" in raw:
        counts = raw["n_elements"] if isinstance(raw["n_elements"], list) else [raw["n_elements"]]
        if not counts:
            raise UserError("dataset_filter.n_elements must not be empty")
        checked["n_elements"] = sorted({_positive_int(c, "dataset_filter.n_elements") for c in counts})
    if "max_sites" in raw:
        checked["max_sites"] = _positive_int(raw["max_sites"], "dataset_filter.max_sites")
    if "max_e_above_hull" in raw:
        checked["max_e_above_hull"] = _number(raw["max_e_above_hull"], "dataset_filter.max_e_above_hull", minimum=0.0)
    return checked


def _positive_int(value: Any, where: str) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise UserError(f"{where} must be a positive integer, got {_shown(value)}")
    return value


def _number(value: Any, where: str, minimum: float) -> float:
    if not isinstance(value, (int, float)) or isinstance(value, bool) or not value >= minimum:
        raise UserError(f"{where} must be a number >= {minimum}, got {_shown(value)}")
    return float(value)


def _shown(value: Any) -> str:
    """``repr(value)`` cut to ``MAX_SHOWN`` characters: an error line names a value, it does not print a list."""
    if isinstance(value, (list, dict)) and len(value) > MAX_SHOWN:
        return f"a {type(value).__name__} of {len(value)} items"
    shown = repr(value)
    return shown if len(shown) <= MAX_SHOWN else shown[:MAX_SHOWN] + "…"


def _storage(value: Any, where: str) -> str | None:
    """A storage location as written (a path or a URI), checked to have a known protocol and backend."""
    value = _optional_str(value, where)
    if value is not None:
        location(value, where)
    return value


def _optional_str(value: Any, where: str) -> str | None:
    if value is not None and not isinstance(value, str):
        raise UserError(f"{where} must be a string")
    return value
