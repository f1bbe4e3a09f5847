"""One driver per run directory: real processes contend for the lock, on a local disk and on S3."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import yaml
from mlflow import MlflowClient

from crystalbench.harness.lock import LOCK_FILE, RunDirLock, RunDirLocked
from crystalbench.harness.storage import location
from tests.harness.lock_holder import hold_lock
from tests.helpers import REPO, S3_BUCKET

CLI = str(Path(sys.executable).with_name("crystalbench"))


def stale_record(path: Path, **fields) -> None:
    record = {"host": socket.gethostname(), "pid": 0, "token": "old", "command": "crystalbench run",
              "since": time.time() - 3600, "heartbeat": time.time()} | fields
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(record))


def test_two_drivers_started_together_on_one_run_directory_run_it_once(artifact_root, small_dataset_csv, tmp_path,
                                                                       catalogue):
    run_dir = tmp_path / "run"
    spec = {"suite": "lock", "seeds": 2, "dataset": str(small_dataset_csv), "methods": ["database"],
            "tasks": [{"name": "electronegativity", "budget": 3}], "storage": {"run_dir": str(run_dir)}}
    (tmp_path / "spec.yaml").write_text(yaml.safe_dump(spec))
    env = {**os.environ, "PYTHONPATH": str(REPO), "CRYSTALBENCH_ARTIFACTS": str(artifact_root)}
    start = time.monotonic()
    drivers = [subprocess.Popen([CLI, "run", str(tmp_path / "spec.yaml"), "--resume", "--no-progress"], cwd=tmp_path,
                                env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
               for _ in range(2)]
    ended = {}
    while len(ended) < 2:
        for i, d in enumerate(drivers):
            if i not in ended and d.poll() is not None:
                ended[i] = (d.returncode, time.monotonic() - start, *d.communicate())
        time.sleep(0.1)
    codes = sorted(code for code, *_ in ended.values())
    assert codes == [0, 2], [e[3][-2000:] for e in ended.values()]
    _, seconds, out, err = next(e for e in ended.values() if e[0] == 2)
    assert not out and len(err.strip().splitlines()) == 1, err
    assert "is in use by another driver (crystalbench run, pid" in err
    assert seconds < 15, "refused before Ray starts"

    state = json.loads((run_dir / "sweep.json").read_text())
    client = MlflowClient(state["tracking_uri"])
    experiment = client.get_run(state["parent_run_id"]).info.experiment_id
    assert len(client.search_runs([experiment], "tags.kind = 'sweep'")) == 1, "one parent run"
    children = client.search_runs([experiment], f"tags.mlflow.parentRunId = '{state['parent_run_id']}'")
    assert sorted(r.data.tags["cell_id"] for r in children) == sorted(p.name for p in (run_dir / "trials").iterdir())
    assert len(children) == 2 and all(r.info.status == "FINISHED" for r in children)
    assert not (run_dir / LOCK_FILE).exists(), "the lock goes with its driver"
    catalogue.add("two drivers started together with --resume on one new run directory", "1", 2,
                  err.strip().replace(str(tmp_path), "<tmp>"))


def test_the_lock_of_a_killed_driver_is_taken_over_saying_so(tmp_path):
    holder = hold_lock(tmp_path / "run")
    holder.send_signal(signal.SIGKILL)
    holder.wait()
    said = []
    with RunDirLock(location(tmp_path / "run"), said.append):
        record = json.loads((tmp_path / "run" / LOCK_FILE).read_text())
        assert record["pid"] == os.getpid()
    assert len(said) == 1
    assert said[0].startswith(f"took over the lock of run directory {tmp_path / 'run'} from a driver that is gone "
                              f"(lock_holder, pid {holder.pid} on {socket.gethostname()}, since ")
    assert said[0].endswith(f": process {holder.pid} no longer exists)")
    assert not (tmp_path / "run" / LOCK_FILE).exists()


def test_a_live_holder_refuses_the_lock_and_keeps_it(tmp_path):
    holder = hold_lock(tmp_path / "run")
    try:
        before = (tmp_path / "run" / LOCK_FILE).read_text()
        with pytest.raises(RunDirLocked, match=rf"in use by another driver \(lock_holder, pid {holder.pid} on "):
            RunDirLock(location(tmp_path / "run"), print).acquire()
        assert json.loads((tmp_path / "run" / LOCK_FILE).read_text())["token"] == json.loads(before)["token"]
    finally:
        holder.kill()
        holder.wait()


def test_a_lock_from_another_host_is_stale_only_once_its_heartbeat_stops(tmp_path):
    lock_file = tmp_path / "run" / LOCK_FILE
    stale_record(lock_file, host="elsewhere", pid=1, heartbeat=time.time() - 5)
    with pytest.raises(RunDirLocked, match="pid 1 on elsewhere"):
        RunDirLock(location(tmp_path / "run"), print).acquire()
    stale_record(lock_file, host="elsewhere", pid=1, heartbeat=time.time() - 120)
    said = []
    with RunDirLock(location(tmp_path / "run"), said.append):
        pass
    assert len(said) == 1 and "pid 1 on elsewhere" in said[0] and "no heartbeat for 120 s" in said[0]


def test_of_two_drivers_finding_one_stale_lock_only_one_takes_it_over(tmp_path):
    stale_record(tmp_path / "run" / LOCK_FILE, host="elsewhere", heartbeat=time.time() - 600)
    barrier = threading.Barrier(2)
    outcomes: list[str] = []
    locks = [RunDirLock(location(tmp_path / "run"), lambda text: None) for _ in range(2)]

    def contend(lock: RunDirLock) -> None:
        barrier.wait()
        try:
            lock.acquire()
            outcomes.append("took it")
        except RunDirLocked:
            outcomes.append("refused")

    threads = [threading.Thread(target=contend, args=(lock,)) for lock in locks]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(outcomes) == ["refused", "took it"]
    for lock in locks:
        lock.release()
    assert not (tmp_path / "run" / LOCK_FILE).exists() and not list((tmp_path / "run").glob(f"{LOCK_FILE}*"))


def test_the_heartbeat_keeps_the_lock_fresh(tmp_path):
    with RunDirLock(location(tmp_path / "run"), print, heartbeat_s=0.1):
        first = json.loads((tmp_path / "run" / LOCK_FILE).read_text())["heartbeat"]
        time.sleep(0.5)
        assert json.loads((tmp_path / "run" / LOCK_FILE).read_text())["heartbeat"] > first


def test_the_lock_works_on_an_object_store(s3):
    uri = f"s3://{S3_BUCKET}/locks/run"
    holder = hold_lock(uri)
    try:
        with pytest.raises(RunDirLocked, match=f"run directory {uri} is in use by another driver"):
            RunDirLock(location(uri), print).acquire()
    finally:
        holder.kill()
        holder.wait()
    said = []
    with RunDirLock(location(uri), said.append):
        assert location(f"{uri}/{LOCK_FILE}").is_file()
    assert len(said) == 1 and "no longer exists" in said[0]
    assert not location(f"{uri}/{LOCK_FILE}").exists()
