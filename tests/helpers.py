"""Plain helpers shared by tests (fixtures live in tests/conftest.py)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from crystalbench.api import TaskView, registry

REPO = Path(__file__).resolve().parents[1]
S3_BUCKET = "crystalbench-test"
"""The bucket of the ``s3`` fixture's server."""


def small_spec(run_dir: Path, dataset: Path, **changes) -> dict:
    """A tiny spec on the small dataset: database on both property tasks, 2 seeds, budget 6."""
    spec = {
        "suite": "t",
        "seeds": 2,
        "dataset": str(dataset),
        "methods": ["database"],
        "tasks": [{"name": "electronegativity", "budget": 6}, {"name": "formation_energy", "budget": 6}],
        "storage": {"run_dir": str(run_dir)},
    }
    spec.update(changes)
    return spec


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def stop_process_group(proc: subprocess.Popen, timeout: float) -> None:
    """End a server started with ``start_new_session=True`` and every child it spawned (SIGTERM, then SIGKILL)."""
    os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)


def start_mlflow_server(backend_uri: str, log: Path, *args: str) -> tuple[subprocess.Popen, str]:
    """``mlflow server`` on a free loopback port over ``backend_uri``, in its own process group; (process, URL).

    It answers ``/health`` after about 17 s here; end it with ``stop_process_group``.
    """
    port = free_port()
    mlflow = Path(sys.executable).with_name("mlflow")
    proc = subprocess.Popen(
        [str(mlflow), "server", "--host", "127.0.0.1", "--port", str(port), "--backend-store-uri", backend_uri, *args],
        stdout=open(log, "w"), stderr=subprocess.STDOUT, start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.time() + 120
    while True:
        try:
            with urllib.request.urlopen(f"{url}/health", timeout=2) as r:
                if r.status == 200:
                    return proc, url
        except OSError:
            pass
        if proc.poll() is not None or time.time() > deadline:
            stop_process_group(proc, timeout=10)
            raise RuntimeError(f"mlflow server did not start: {log.read_text()[-2000:]}")
        time.sleep(1)


def task_view(name: str, **params) -> TaskView:
    """The read-only view a method's ``prepare`` gets of the registered task ``name`` configured with ``params``."""
    return TaskView.of(registry.get_task(name)(**params), params)
