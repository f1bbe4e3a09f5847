"""A real process holding a run directory's lock, as a running driver does: ``python -m tests.harness.lock_holder DIR``.

It prints ``locked`` once it holds the lock and keeps it (with its heartbeat) until killed.
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

from tests.helpers import REPO


def hold_lock(run_dir: Path | str) -> subprocess.Popen:
    """Start a process that takes ``run_dir``'s lock; returns once it holds it."""
    proc = subprocess.Popen([sys.executable, "-m", "tests.harness.lock_holder", str(run_dir)], cwd=REPO,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    line = proc.stdout.readline()
    if line.strip() != "locked":
        proc.kill()
        raise RuntimeError(f"the lock holder did not take the lock: {line}{proc.stdout.read()}")
    return proc


def main(run_dir: str) -> None:
    from crystalbench.harness.lock import RunDirLock
    from crystalbench.harness.storage import location

    with RunDirLock(location(run_dir), print, "lock_holder"):
        print("locked", flush=True)
        while True:
            time.sleep(60)


if __name__ == "__main__":
    main(sys.argv[1])
