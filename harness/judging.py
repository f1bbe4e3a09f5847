"""Judging: add a judge's verdicts on the final structures of a run's trials, after the search.

A task may judge a trial's final structure by a costlier model than the one the
search used (csp26: a GPAW single point on the structure its trial relaxed with
CHGNet, ``Task.judge_structure``). Doing that inside each trial would hold the
trial's core for minutes and repeat the calculation for every trial that ended in
the same structure, so it is a stage of its own:

* every complete trial of a task that knows the judge, whose ``extra.final`` (a
  ``FinalResult``) has a structure and whose ``extra.judged`` has no verdict of the
  judge yet, is collected;
* per problem, final structures that ``StructureMatcher`` matches under tight
  tolerances (``DEDUP``: the same minimum reached from different starts) are judged
  once, one single-CPU Ray task per distinct structure, across the cluster;
* each verdict (a ``Judgement``) lands in ``extra.judged.<judge>`` of the ``result.json``
  of every trial that shares the structure as soon as it arrives, and is logged as
  ``final.<judge>.*`` metrics on their MLflow child runs. An interrupted stage keeps what it judged; running it
  again judges the rest.

The sweep runs this stage for the judges its tasks ask for
(``Task.requested_judges``); ``crystalbench judge RUN_DIR --judge NAME`` runs it on
a finished run.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

import ray
import yaml
from pymatgen.analysis.structure_matcher import StructureMatcher
from pymatgen.core import Structure
from tqdm import tqdm

from crystalbench.api import FinalResult, Judgement, registry
from crystalbench.harness.errors import UserError
from crystalbench.harness.history import SPEC_FILE, SWEEP_FILE, TRIALS_DIR, TrialResult, read_results
from crystalbench.harness.storage import Location, Where, location
from crystalbench.harness.tracking import child_run_ids, log_final_metrics

DEDUP = {"ltol": 0.02, "stol": 0.05, "angle_tol": 1.0}
"""StructureMatcher tolerances under which two final structures count as one: far tighter than its
defaults (0.2, 0.3, 5°), so that structures sharing a verdict differ by meV/atom, not by a distortion."""


@dataclass
class Distinct:
    """One distinct final structure of a problem and the trials that ended in it."""

    task: str
    problem: str
    structure: Structure
    cell_ids: list[str]


@dataclass
class JudgeOutcome:
    """What one call of the stage did, by cell id."""

    judge: str
    judged: list[str] = field(default_factory=list)
    """Cell ids that gained the judge's verdict in this call."""
    structures: int = 0
    """Distinct structures judged in this call."""
    already: int = 0
    """Trials that had the verdict before this call."""
    failed: dict[str, str] = field(default_factory=dict)
    """Cell id -> one-line error of the judge on its structure."""


def judged_tasks(run_dir: Where | Location, judge: str) -> dict[str, dict]:
    """Task name -> parameters of every task of ``run_dir``'s spec that knows ``judge``.

    Raises :class:`UserError` when ``run_dir`` is not a sweep's run directory or no task knows the judge.
    """
    run_dir = location(run_dir, "run directory")
    return _tasks_with(_spec_record(run_dir), judge, run_dir)


def judge_run(
    run_dir: Where | Location,
    judge: str,
    tasks: dict[str, dict] | None = None,
    progress: bool = True,
) -> JudgeOutcome:
    """Judge every not-yet-judged final structure of ``run_dir``'s trials by ``judge`` on the current Ray.

    ``tasks`` maps task names to their parameters (default: ``judged_tasks``).
    """
    run_dir = location(run_dir, "run directory")
    record = _spec_record(run_dir)
    tasks = tasks or _tasks_with(record, judge, run_dir)
    plugins = list(record.get("plugins") or [])
    outcome = JudgeOutcome(judge)
    results = {r.cell_id: r for r in read_results(run_dir) if r.task in tasks}
    pending = []
    for r in results.values():
        if r.status != "complete" or not r.extra.get("final"):
            continue
        if judge in r.extra.get("judged", {}):
            outcome.already += 1
        else:
            pending.append(r)
    distinct, unreadable = distinct_structures(pending)
    outcome.failed |= unreadable
    outcome.structures = len(distinct)
    state = json.loads((run_dir / SWEEP_FILE).read_text())
    run_ids = child_run_ids(state["tracking_uri"], state["parent_run_id"])
    refs = {_judge_one.remote(d.task, tasks[d.task], plugins, d.problem, d.structure, judge): d
            for d in distinct}
    bar = tqdm(total=len(refs), desc=f"judge {judge}", unit="structure", disable=not progress)
    while refs:
        (ref,), _ = ray.wait(list(refs), num_returns=1)
        d = refs.pop(ref)
        bar.update()
        try:
            verdict = ray.get(ref)
        except ray.exceptions.RayError as exc:  # the judge failed on this structure: the trials stay unjudged
            outcome.failed |= {c: _first_line(exc) for c in d.cell_ids}
            continue
        for cell_id in d.cell_ids:
            result = results[cell_id]
            result.extra.setdefault("judged", {})[judge] = verdict.to_json()
            result.write(run_dir / TRIALS_DIR / cell_id)
        log_final_metrics(state["tracking_uri"], run_ids, {c: verdict.scalars(f"{judge}.") for c in d.cell_ids})
        outcome.judged += d.cell_ids
    bar.close()
    return outcome


def _spec_record(run_dir: Location) -> dict:
    """The run's ``spec.yaml``, with its plugins loaded; :class:`UserError` when ``run_dir`` is not a sweep's."""
    if not (run_dir / SPEC_FILE).is_file() or not (run_dir / SWEEP_FILE).is_file():
        raise UserError(f"{run_dir} is not a sweep's run directory: it has no {SPEC_FILE} and {SWEEP_FILE}")
    record = yaml.safe_load((run_dir / SPEC_FILE).read_text())
    registry.load(list(record.get("plugins") or []))
    return record


def _tasks_with(record: dict, judge: str, run_dir: Location) -> dict[str, dict]:
    tasks = {t["name"]: t.get("params") or {} for t in record["tasks"] if judge in registry.get_task(t["name"]).judges}
    if not tasks:
        known = sorted({j for t in record["tasks"] for j in registry.get_task(t["name"]).judges})
        raise UserError(f"no task of {run_dir} has judge {judge!r}; known: {', '.join(known) or 'none'}")
    return tasks


def distinct_structures(trials: list[TrialResult]) -> tuple[list[Distinct], dict[str, str]]:
    """The distinct final (relaxed) structures of ``trials``, per task and problem, in a stable order.

    Also returns cell id -> error for the trials whose final structure does not parse.
    """
    by_problem: dict[tuple[str, str], list[tuple[str, Structure]]] = {}
    unreadable = {}
    for r in sorted(trials, key=lambda r: r.cell_id):
        try:
            structure = FinalResult.structure_of(r.extra["final"], f"trial {r.cell_id} (result.json)")
        except ValueError as exc:
            unreadable[r.cell_id] = f"its final structure does not parse: {_first_line(exc)}"
            continue
        by_problem.setdefault((r.task, r.problem), []).append((r.cell_id, structure))
    matcher = StructureMatcher(**DEDUP)
    found = []
    for (task, problem), members in by_problem.items():
        groups: list[Distinct] = []
        for cell_id, structure in members:
            same = next((g for g in groups if matcher.fit(g.structure, structure)), None)
            if same is None:
                groups.append(Distinct(task, problem, structure, [cell_id]))
            else:
                same.cell_ids.append(cell_id)
        found += groups
    return found, unreadable


@ray.remote(num_cpus=1)
def _judge_one(task: str, params: dict, plugins: list[str], problem: str, structure: Structure,
               judge: str) -> Judgement:
    registry.load(plugins)
    verdict = registry.get_task(task)(**params).judge_structure(problem, structure, judge)
    if not isinstance(verdict, Judgement):
        raise TypeError(f"task {task}: judge_structure must return a Judgement, got {type(verdict)}")
    return verdict


def _first_line(exc: BaseException) -> str:
    cause = getattr(exc, "cause", None) or exc  # a RayTaskError wraps the judge's own exception
    text = f"{type(cause).__name__}: {cause}"
    return text.strip().splitlines()[0][:300]
