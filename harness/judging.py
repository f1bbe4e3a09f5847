"""Judging: a judge's verdicts on a run's final structures or best proposals, after the search.

A task may judge its trials by a costlier model than the one the search used — csp26 a
GPAW single point on the structure its trial relaxed with CHGNet, a property task its
interatomic-potential rung (``Task.judge_structure``). Doing that inside each trial would
hold the trial's core for minutes and repeat the calculation for every trial that found
the same structure, so it is a stage of its own:

* the task builds what the judge needs once (``Task.prepare_judge``, a Ray task);
* what is judged per complete trial: its final structure (``extra.final``, a
  ``FinalResult``) when ``Task.judged_proposals(judge)`` is 0, else its k best distinct
  proposals by the oracle's score (``StructureMatcher``-distinct within the trial, from
  its history; the trial's best is always among them, whatever its validity), unless
  ``extra.judged`` has the judge's verdicts already;
* per problem, structures that ``StructureMatcher`` matches under tight tolerances
  (``DEDUP``: the same crystal reached by several trials) are judged once, one single-CPU
  Ray task per distinct structure, across the cluster;
* each verdict (a ``Judgement``) lands in ``extra.judged.<judge>`` — a list of entries
  ``{"step", "score", **judgement}``, ``step`` None for the final structure — of every
  trial that has the structure as soon as all of a trial's structures are judged, and
  its numbers are logged to the trial's MLflow child run (``final.<judge>.*`` for a
  final structure, ``verified.*`` for proposals: ``harness.verified``). An interrupted
  stage keeps what it judged; running it again judges the rest.

The sweep runs this stage for the judges its tasks ask for
(``Task.requested_judges``); ``crystalbench judge RUN_DIR --judge NAME`` runs it on
a finished run.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

import polars as pl
import ray
import yaml
from pymatgen.analysis.structure_matcher import StructureMatcher
from pymatgen.core import Structure
from tqdm import tqdm

from crystalbench.api import FinalResult, Judgement, registry
from crystalbench.harness import remote
from crystalbench.harness.crystal import from_cif
from crystalbench.harness.dataset import Dataset, bundled_path
from crystalbench.harness.errors import UserError
from crystalbench.harness.history import SPEC_FILE, SWEEP_FILE, TRIALS_DIR, TrialResult, read_history, read_results
from crystalbench.harness.prepare import prepare_dataset
from crystalbench.harness.storage import Location, Where, location
from crystalbench.harness.store import ArtifactStore, default_artifact_root, local_artifact
from crystalbench.harness.tracking import child_run_ids, log_final_metrics
from crystalbench.harness.verified import verified_summary

DEDUP = {"ltol": 0.02, "stol": 0.05, "angle_tol": 1.0}
"""StructureMatcher tolerances under which two structures count as one: far tighter than its
defaults (0.2, 0.3, 5°), so that structures sharing a verdict differ by meV/atom, not by a distortion."""


@dataclass
class Candidate:
    """One structure of one trial to judge: its final structure (``step`` None) or a proposal."""

    cell_id: str
    structure: Structure
    step: int | None = None
    score: float | None = None


@dataclass
class Distinct:
    """One distinct structure of a problem and the candidates (of one or several trials) that are it."""

    task: str
    problem: str
    structure: Structure
    members: list[Candidate]

    @property
    def cell_ids(self) -> list[str]:
        return sorted({c.cell_id for c in self.members})


@dataclass
class JudgeOutcome:
    """What one call of the stage did, by cell id."""

    judge: str
    judged: list[str] = field(default_factory=list)
    """Cell ids that gained the judge's verdicts in this call."""
    structures: int = 0
    """Distinct structures judged in this call."""
    already: int = 0
    """Trials that had the verdicts before this call."""
    failed: dict[str, str] = field(default_factory=dict)
    """Cell id -> one-line error of the judge on (one of) its structures."""


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
    """Judge every not-yet-judged trial of ``run_dir`` by ``judge`` on the current Ray (see the module docstring).

    ``tasks`` maps task names to their parameters (default: ``judged_tasks``).
    """
    run_dir = location(run_dir, "run directory")
    record = _spec_record(run_dir)
    tasks = tasks or _tasks_with(record, judge, run_dir)
    plugins = list(record.get("plugins") or [])
    outcome = JudgeOutcome(judge)
    configured = {name: registry.get_task(name)(**params) for name, params in tasks.items()}
    results = {r.cell_id: r for r in read_results(run_dir) if r.task in tasks and r.status == "complete"}
    pending = {}
    for r in results.values():
        if judge in r.extra.get("judged", {}):
            outcome.already += 1
        else:
            pending[r.cell_id] = r
    candidates, unreadable = _candidates(run_dir, pending, configured, judge)
    outcome.failed |= unreadable
    distinct = distinct_structures(candidates, {c: pending[c].task for c in candidates},
                                   {c: pending[c].problem for c in candidates})
    outcome.structures = len(distinct)
    if not distinct:
        return outcome
    artifacts = {name: _judge_artifact(record, name, tasks[name], plugins, judge) for name in
                 {d.task for d in distinct}}
    state = json.loads((run_dir / SWEEP_FILE).read_text())
    run_ids = child_run_ids(state["tracking_uri"], state["parent_run_id"])
    refs = {_judge_one.remote(d.task, tasks[d.task], plugins, d.problem, d.structure, judge, artifacts[d.task]): d
            for d in distinct}
    verdicts: dict[str, list[dict]] = {cell: [] for cell in candidates}
    remaining = {cell: len(members) for cell, members in candidates.items()}
    bar = tqdm(total=len(refs), desc=f"judge {judge}", unit="structure", disable=not progress)
    while refs:
        (ref,), _ = ray.wait(list(refs), num_returns=1)
        d = refs.pop(ref)
        bar.update()
        try:
            verdict = ray.get(ref).to_json()
        except ray.exceptions.RayError as exc:  # the judge failed on this structure: its trials stay unjudged
            outcome.failed |= {c: _first_line(exc) for c in d.cell_ids}
        for member in d.members:
            remaining[member.cell_id] -= 1
            if member.cell_id not in outcome.failed:
                verdicts[member.cell_id].append({"step": member.step, "score": member.score, **verdict})
            if remaining[member.cell_id] == 0 and member.cell_id not in outcome.failed:
                _keep(run_dir, results[member.cell_id], judge, verdicts[member.cell_id], state, run_ids)
                outcome.judged.append(member.cell_id)
    bar.close()
    return outcome


def _keep(run_dir: Location, result: TrialResult, judge: str, entries: list[dict], state: dict,
          run_ids: dict[str, str]) -> None:
    """Write a trial's verdicts (best proposal first) to its result.json and their numbers to its child run."""
    entries = sorted(entries, key=lambda e: (e["step"] is not None, _rank(e["score"], result.direction)))
    result.extra.setdefault("judged", {})[judge] = entries
    result.write(run_dir / TRIALS_DIR / result.cell_id)
    if entries[0]["step"] is None:
        numbers = Judgement.from_json(entries[0], result.cell_id).scalars(f"{judge}.")
        log_final_metrics(state["tracking_uri"], run_ids, {result.cell_id: numbers})
    else:
        summary = verified_summary(entries, result.direction)
        log_final_metrics(state["tracking_uri"], run_ids, {result.cell_id: summary}, prefix="verified.")


def _rank(score: float | None, direction: str) -> float:
    if score is None:
        return 0.0
    return score if direction == "min" else -score


def _candidates(run_dir: Location, pending: dict[str, TrialResult], tasks: dict, judge: str
                ) -> tuple[dict[str, list[Candidate]], dict[str, str]]:
    """Cell id -> what to judge of each pending trial; and cell id -> why a trial has nothing judgeable."""
    found, unreadable = {}, {}
    for cell_id, r in sorted(pending.items()):
        k = tasks[r.task].judged_proposals(judge)
        try:
            if k == 0:
                if not r.extra.get("final"):
                    continue
                found[cell_id] = [Candidate(cell_id, FinalResult.structure_of(r.extra["final"], cell_id))]
            else:
                found[cell_id] = best_proposals(read_history(run_dir / TRIALS_DIR / cell_id), r.direction, k)
        except ValueError as exc:
            unreadable[cell_id] = f"its structure does not parse: {_first_line(exc)}"
            continue
        if not found[cell_id]:
            del found[cell_id]
    return found, unreadable


def best_proposals(history: pl.DataFrame | None, direction: str, k: int) -> list[Candidate]:
    """A trial's ``k`` best valid proposals by score, ``StructureMatcher``-distinct (default tolerances)."""
    if history is None:
        return []
    rows = history.filter(pl.col("valid") & pl.col("cif").is_not_null()).sort(
        ["score", "step"], descending=[direction == "max", False])
    matcher, chosen = StructureMatcher(), []
    for row in rows.iter_rows(named=True):
        structure = from_cif(row["cif"])
        if not any(matcher.fit(structure, c.structure) for c in chosen):
            chosen.append(Candidate(row["cell_id"], structure, int(row["step"]), float(row["score"])))
        if len(chosen) == k:
            break
    return chosen


def _judge_artifact(record: dict, task: str, params: dict, plugins: list[str], judge: str) -> str | None:
    """What the task's judge needs, built once as a Ray task (store-wide name), or None.

    The judge is prepared on the sweep's whole dataset file, whatever its ``dataset_filter``:
    a hull needs every competing phase (a ternary's binaries and elements), and novelty is
    judged against every known crystal.
    """
    store_root = str(location(record.get("artifacts") or default_artifact_root(), "storage.artifacts"))
    source = record.get("dataset") or str(bundled_path())
    dataset_path = prepare_dataset(source, {}, store_root)
    return remote.get(_prepare_judge.remote(task, params, plugins, store_root, dataset_path, judge),
                      f"preparing the {judge} judge of task {task}")


@ray.remote(num_cpus=1)
def _prepare_judge(task: str, params: dict, plugins: list[str], store_root: str, dataset_path: str,
                   judge: str) -> str | None:
    registry.load(plugins)
    store = ArtifactStore(store_root)
    built = registry.get_task(task)(**params).prepare_judge(store, Dataset.load(local_artifact(dataset_path)), judge)
    return store.where(built) if built is not None else None


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


def distinct_structures(candidates: dict[str, list[Candidate]], task_of: dict[str, str],
                        problem_of: dict[str, str]) -> list[Distinct]:
    """The distinct structures of ``candidates`` (cell id -> candidates), per task and problem, in a stable order."""
    by_problem: dict[tuple[str, str], list[Candidate]] = {}
    for cell_id in sorted(candidates):
        by_problem.setdefault((task_of[cell_id], problem_of[cell_id]), []).extend(candidates[cell_id])
    matcher = StructureMatcher(**DEDUP)
    found = []
    for (task, problem), members in by_problem.items():
        groups: list[Distinct] = []
        for candidate in members:
            formula = candidate.structure.composition.reduced_formula
            same = next((g for g in groups if g.structure.composition.reduced_formula == formula
                         and matcher.fit(g.structure, candidate.structure)), None)
            if same is None:
                groups.append(Distinct(task, problem, candidate.structure, [candidate]))
            else:
                same.members.append(candidate)
        found += groups
    return found


@ray.remote(num_cpus=1)
def _judge_one(task: str, params: dict, plugins: list[str], problem: str, structure: Structure, judge: str,
               artifact: str | None) -> Judgement:
    registry.load(plugins)
    artifact_dir = local_artifact(artifact) if artifact is not None else None
    verdict = registry.get_task(task)(**params).judge_structure(problem, structure, judge, artifact_dir)
    if not isinstance(verdict, Judgement):
        raise TypeError(f"task {task}: judge_structure must return a Judgement, got {type(verdict)}")
    return verdict


def _first_line(exc: BaseException) -> str:
    cause = getattr(exc, "cause", None) or exc  # a RayTaskError wraps the judge's own exception
    text = f"{type(cause).__name__}: {cause}"
    return text.strip().splitlines()[0][:300]
