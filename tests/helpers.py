"""Plain helpers shared by tests (fixtures live in tests/conftest.py)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
from pathlib import Path

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
