"""A driver killed at five moments and interrupted once, resumed each time: in the end nothing is lost or doubled.

One run directory goes through seven drivers (real ``crystalbench run`` processes, each in
its own process group): SIGKILL while preparing, Ctrl-C during a trial, SIGKILL mid-trial
with a partial history, SIGKILL between two trials, SIGKILL while judging, SIGKILL while
writing the report, and a last ``--resume`` that finishes. Where each kill lands (how long
after its moment begins, which trial) is drawn from a seed, new each run and printed
(``CRYSTALBENCH_FAULT_SEED`` replays one). Every driver has an AWS secret in its environment,
which must appear nowhere under Ray's session directories (its logs: ``runtime_env_agent.log``
once held Ray Tune's copy of it) or in the run directory with its MLflow store.
"""

from __future__ import annotations

import io
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import polars as pl
import pytest
import yaml
from mlflow import MlflowClient

from tests.helpers import REPO

CLI = str(Path(sys.executable).with_name("crystalbench"))
BUDGET = 24
SECONDS_PER_ASK = 0.3
"""24 calls of 0.3 s: a trial of about 7 s, which flushes a partial history once (every 5 s)."""
SEEDS = 4
SECRET = "sentinel-5ecret-do-not-log"


class Driver:
    """``crystalbench run`` in its own process group, its console read line by line as it comes."""

    def __init__(self, spec: Path, env: dict, resume: bool):
        self.proc = subprocess.Popen([CLI, "run", str(spec), *(["--resume"] if resume else [])], cwd=spec.parent,
                                     env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                                     start_new_session=True)
        self.lines: list[str] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        for line in self.proc.stdout:
            self.lines.append(line.rstrip("\n"))

    def saw(self, text: str) -> bool:
        return any(text in line for line in self.lines)

    def alive(self) -> bool:
        return self.proc.poll() is None

    def signal(self, sig: int) -> None:
        os.killpg(self.proc.pid, sig)

    def kill(self) -> None:
        assert self.alive(), "the kill must land while the driver runs:\n" + self.output()
        self.signal(signal.SIGKILL)
        self.wait()

    def wait(self, timeout: float = 600) -> int:
        code = self.proc.wait(timeout=timeout)
        self._reader.join(timeout=10)
        return code

    def output(self) -> str:
        return "\n".join(self.lines)


def wait_until(what: str, condition, driver: Driver, timeout: float = 300) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert driver.alive(), f"the driver ended before {what}:\n{driver.output()[-3000:]}"
        assert time.monotonic() < deadline, f"no {what} in {timeout} s:\n{driver.output()[-3000:]}"
        time.sleep(0.1)


def results(run_dir: Path) -> dict[str, dict]:
    found = {}
    for path in (run_dir / "trials").glob("*/result.json"):
        try:
            found[path.parent.name] = json.loads(path.read_text())
        except ValueError:  # being written
            continue
    return found


def complete(run_dir: Path) -> set[str]:
    return {cell for cell, r in results(run_dir).items() if r["status"] == "complete"}


def partial_histories(run_dir: Path) -> dict[str, int]:
    """Cells whose history holds some but not all of the budget's rows (and no complete result)."""
    done, partial = complete(run_dir), {}
    for path in (run_dir / "trials").glob("*/history.parquet"):
        try:
            rows = pl.read_parquet(io.BytesIO(path.read_bytes())).height
        except Exception:  # noqa: BLE001 - being replaced
            continue
        if path.parent.name not in done and 0 < rows < BUDGET:
            partial[path.parent.name] = rows
    return partial


def history_times(run_dir: Path, cells: set[str]) -> dict[str, int]:
    return {cell: (run_dir / "trials" / cell / "history.parquet").stat().st_mtime_ns for cell in cells}


def sweep_runs(run_dir: Path) -> tuple[MlflowClient, str, list]:
    """The MLflow client of the run directory's store, its parent run id and the parent's child runs."""
    state = json.loads((run_dir / "sweep.json").read_text())
    client = MlflowClient(state["tracking_uri"])
    experiment = client.get_run(state["parent_run_id"]).info.experiment_id
    children = client.search_runs([experiment], f"tags.mlflow.parentRunId = '{state['parent_run_id']}'")
    return client, state["parent_run_id"], children


def live_child(run_dir: Path) -> bool:
    """Whether a RUNNING child run already shows its trial's best_so_far (logged while the trial runs)."""
    try:
        client, _, children = sweep_runs(run_dir)
    except (OSError, ValueError, KeyError):
        return False
    return any(c.info.status == "RUNNING" and client.get_metric_history(c.info.run_id, "best_so_far")
               for c in children)


def best_so_far(client: MlflowClient, run_id: str) -> list[tuple[int, float]]:
    return sorted((m.step, m.value) for m in client.get_metric_history(run_id, "best_so_far"))


def takeover_line(driver: Driver) -> str:
    return next((line for line in driver.lines if line.startswith("took over the lock")), "")


@pytest.fixture
def ray_tmp():
    """A fresh RAY_TMPDIR of a short path (Ray's socket paths must fit 107 bytes), removed afterwards."""
    path = Path(tempfile.mkdtemp(prefix="cbf", dir="/tmp"))
    yield path
    shutil.rmtree(path, ignore_errors=True)


def test_a_driver_killed_at_five_moments_and_interrupted_once_loses_nothing(small_dataset_csv, tmp_path, ray_tmp,
                                                                            catalogue):
    seed = int(os.environ.get("CRYSTALBENCH_FAULT_SEED", time.time_ns() % 2**31))
    print(f"fault seed {seed} (CRYSTALBENCH_FAULT_SEED={seed} replays it)")
    rng = random.Random(seed)
    run_dir = tmp_path / "run"
    spec = {"suite": "faults", "seeds": SEEDS, "dataset": str(small_dataset_csv),
            "plugins": ["tests.plugins.methods", "tests.harness.fault_plugins"],
            "methods": [{"name": "slow_database", "params": {"seconds_per_ask": SECONDS_PER_ASK}}],
            "tasks": [{"name": "judged_electronegativity", "budget": BUDGET, "params": {"judge_seconds": 3.0}}],
            "storage": {"run_dir": str(run_dir), "artifacts": str(tmp_path / "artifacts")},
            "execution": {"max_concurrent_trials": 1}}
    spec_path = tmp_path / "spec.yaml"
    spec_path.write_text(yaml.safe_dump(spec))
    env = {**os.environ, "PYTHONPATH": str(REPO), "RAY_TMPDIR": str(ray_tmp), "AWS_ACCESS_KEY_ID": "AKIAFAULTS",
           "AWS_SECRET_ACCESS_KEY": SECRET}
    env.pop("MLFLOW_TRACKING_URI", None)
    moments, lines = [], []  # each kill's moment, and the line with which the next driver took its lock over
    driver = None
    try:
        # 1. SIGKILL while preparing (a fresh artifact store: the dataset and the tasks are built)
        driver = Driver(spec_path, env, resume=False)
        wait_until("prepare step", lambda: driver.saw("preparing the dataset"), driver)
        time.sleep(rng.uniform(0.0, 1.0))
        driver.kill()
        assert not (run_dir / "trials").exists(), "killed before any trial"
        moments.append("while preparing")

        # 2. Ctrl-C during a trial (SIGINT to the process group, as a terminal sends it)
        driver = Driver(spec_path, env, resume=True)
        wait_until("a trial part-way", lambda: partial_histories(run_dir), driver)
        time.sleep(rng.uniform(0.0, 1.0))
        driver.signal(signal.SIGINT)
        assert driver.wait() == 130, driver.output()
        lines.append(takeover_line(driver))
        interrupted = [line for line in driver.lines if "trials did not run" in line]
        assert interrupted and f"`crystalbench run {spec_path} --resume` runs them" in interrupted[0], driver.output()
        assert "Tuner.restore" not in driver.output() and "Traceback" not in driver.output(), driver.output()
        assert not (run_dir / "driver.lock").exists(), "an interrupted driver releases its lock"
        catalogue.add("Ctrl-C during a trial (then --resume finishes)", "12", 130,
                      interrupted[0].replace(str(tmp_path), "<tmp>"))

        # 3. SIGKILL mid-trial, with a partial history on disk (the k-th trial of this attempt)
        driver = Driver(spec_path, env, resume=True)
        before, k = complete(run_dir), rng.randint(1, 2)
        wait_until(f"trial {k} part-way, shown live in MLflow", lambda: len(complete(run_dir) - before) >= k - 1
                   and partial_histories(run_dir) and live_child(run_dir), driver)
        time.sleep(rng.uniform(0.0, 0.5))
        driver.kill()
        assert not takeover_line(driver), "the interrupted driver had released its lock"
        assert partial_histories(run_dir), "the kill left a partial history"
        moments.append("mid-trial, with a partial history")
        kept = history_times(run_dir, complete(run_dir))

        # 4. SIGKILL between two trials (just after one ends)
        driver = Driver(spec_path, env, resume=True)
        before = complete(run_dir)
        wait_until("a trial's end", lambda: complete(run_dir) - before, driver)
        time.sleep(rng.uniform(0.0, 0.2))
        driver.kill()
        lines.append(takeover_line(driver))
        moments.append("between two trials")

        # 5. SIGKILL while judging (every trial complete, the first verdicts in)
        driver = Driver(spec_path, env, resume=True)
        wait_until("a verdict", lambda: any(r["extra"].get("judged") for r in results(run_dir).values()), driver)
        time.sleep(rng.uniform(0.0, 1.0))
        judged = sum(1 for r in results(run_dir).values() if r["extra"].get("judged"))
        assert 0 < judged < SEEDS, "the kill lands while judging"
        driver.kill()
        lines.append(takeover_line(driver))
        moments.append("while judging")

        # 6. SIGKILL while writing the report
        driver = Driver(spec_path, env, resume=True)
        wait_until("the report", lambda: driver.saw("writing the report"), driver)
        time.sleep(rng.uniform(0.0, 0.2))
        driver.kill()
        lines.append(takeover_line(driver))
        moments.append("while writing the report")

        # 7. --resume finishes
        client, _, children = sweep_runs(run_dir)
        logged = {c.data.tags["cell_id"]: (c.info.run_id, best_so_far(client, c.info.run_id))
                  for c in children if c.info.status == "FINISHED"}
        driver = Driver(spec_path, env, resume=True)
        assert driver.wait() == 0, driver.output()
        lines.append(takeover_line(driver))
        assert "Traceback" not in driver.output()
    finally:
        if driver is not None and driver.alive():
            driver.signal(signal.SIGKILL)
    assert all(line.startswith(f"took over the lock of run directory {run_dir} from a driver that is gone")
               for line in lines), lines

    final = results(run_dir)
    assert sorted(final) == sorted(p.name for p in (run_dir / "trials").iterdir()) and len(final) == SEEDS
    assert all(r["status"] == "complete" and r["n_calls"] == BUDGET for r in final.values())
    assert all("slow_judge" in r["extra"]["judged"] for r in final.values()), "every final structure judged"
    history = pl.read_parquet(run_dir / "trials" / "*" / "history.parquet")
    assert history.group_by("cell_id").agg(pl.col("step").n_unique(), pl.len())["len"].to_list() == [BUDGET] * SEEDS
    assert (run_dir / "report" / "leaderboard.md").is_file()

    assert history_times(run_dir, set(kept)) == kept, "trials complete before a kill are kept, not run again"

    client, parent_id, children = sweep_runs(run_dir)
    experiment = client.get_run(parent_id).info.experiment_id
    parents = client.search_runs([experiment], "tags.kind = 'sweep'")
    assert [p.info.run_id for p in parents] == [parent_id], "one parent run through seven drivers"
    assert parents[0].info.status == "FINISHED"
    assert sorted(c.data.tags["cell_id"] for c in children) == sorted(final), "one child run per cell"
    assert all(c.info.status == "FINISHED" for c in children)
    assert client.search_runs([experiment], "attributes.status = 'RUNNING'") == [], "nothing left RUNNING"
    runs = {c.data.tags["cell_id"]: (c.info.run_id, best_so_far(client, c.info.run_id)) for c in children}
    assert {cell: runs[cell] for cell in logged} == logged, "finished cells' child runs are untouched"
    assert all(len(steps) == BUDGET for _, steps in runs.values()), "every step logged once"

    leaked = [str(p) for root in (ray_tmp, run_dir) for p in root.rglob("*")
              if p.is_file() and not p.is_symlink() and SECRET.encode() in p.read_bytes()]
    assert leaked == [], "the driver's secret reached these files"
    assert list(ray_tmp.glob("ray/session_*/logs/runtime_env_agent.log")), "the search covered Ray's logs"
    for moment, line in zip(moments, lines, strict=True):
        catalogue.add(f"driver SIGKILL {moment} (then --resume finishes)", "", 0, line.replace(str(tmp_path), "<tmp>"))
