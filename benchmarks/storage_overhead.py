"""What an object-store run directory and artifact store cost: the same small sweep, local vs S3.

Runs one small sweep (``database`` on ``electronegativity``, the 300-crystal test
subset of the bundled data) side by side in one process and one local Ray: with a
local run directory and artifact store, and with both in S3 served by a moto
server on loopback (so the figure is the harness's overhead — requests,
uploads, the node cache — not a network's). "cold": a fresh artifact store (the
prepare steps build and publish); "warm": the artifacts exist (the S3 sweep
downloads them into an empty node cache). A throwaway sweep first warms Ray up.

    python benchmarks/storage_overhead.py [--seeds 2] [--budget 50] [--out benchmarks/results/storage_overhead.json]
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import fsspec
import ray

from crystalbench.harness.dataset import bundled_path, read_table
from crystalbench.harness.spec import parse_spec
from crystalbench.harness.sweep import run_sweep

BUCKET = "crystalbench-bench"


def start_s3(log: Path) -> tuple[subprocess.Popen, dict[str, str]]:
    """A moto S3 server on a free loopback port, in its own process group, and the environment for it."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with open(log, "w") as out:
        server = subprocess.Popen([str(Path(sys.executable).with_name("moto_server")), "-H", "127.0.0.1",
                                   "-p", str(port)], stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    env = {"AWS_ENDPOINT_URL": f"http://127.0.0.1:{port}", "AWS_ACCESS_KEY_ID": "bench",
           "AWS_SECRET_ACCESS_KEY": "bench", "AWS_DEFAULT_REGION": "us-east-1"}
    os.environ.update(env)
    for _ in range(150):
        try:
            urllib.request.urlopen(env["AWS_ENDPOINT_URL"], timeout=1).close()
            break
        except OSError:
            time.sleep(0.2)
    fsspec.filesystem("s3").mkdir(BUCKET)
    return server, env


def timed_sweep(spec: dict) -> float:
    start = time.perf_counter()
    outcome = run_sweep(parse_spec(spec), progress=False)
    assert outcome.complete and not outcome.failed, outcome
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=2)
    parser.add_argument("--budget", type=int, default=50)
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results/storage_overhead.json"))
    args = parser.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="storage_overhead."))
    dataset = tmp / "small.csv"
    read_table(bundled_path()).gather_every(8).head(300).write_csv(dataset)
    server, env = start_s3(tmp / "moto.log")
    try:
        ray.init(address="local", include_dashboard=False, logging_level="WARNING",
                 runtime_env={"env_vars": {"PYTHONPATH": os.getcwd(), **env}})

        def spec(name: str, run_dir: str, artifacts: str) -> dict:
            return {"suite": name, "seeds": args.seeds, "dataset": str(dataset), "methods": ["database"],
                    "tasks": [{"name": "electronegativity", "budget": args.budget}],
                    "storage": {"run_dir": run_dir, "artifacts": artifacts}}

        timed_sweep(spec("warmup", str(tmp / "warmup"), str(tmp / "warmup_artifacts")))
        seconds = {}
        for phase in ("cold", "warm"):
            os.environ["CRYSTALBENCH_CACHE"] = str(tmp / f"cache_{phase}")  # an empty node cache each phase
            seconds[f"local_{phase}"] = timed_sweep(spec(f"local_{phase}", str(tmp / f"local_{phase}"),
                                                         str(tmp / "artifacts")))
            seconds[f"s3_{phase}"] = timed_sweep(spec(f"s3_{phase}", f"s3://{BUCKET}/runs/{phase}",
                                                      f"s3://{BUCKET}/artifacts"))
        ray.shutdown()
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=10)
    record = {
        "what": "wall seconds of one sweep (database x electronegativity, 300-crystal subset), local vs S3 (moto)",
        "seeds": args.seeds,
        "budget": args.budget,
        "seconds": {k: round(v, 2) for k, v in seconds.items()},
        "ratio_s3_over_local": {p: round(seconds[f"s3_{p}"] / seconds[f"local_{p}"], 2) for p in ("cold", "warm")},
        "cpus": os.cpu_count(),
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(record, indent=2) + "\n")
    print(json.dumps(record, indent=2))


if __name__ == "__main__":
    main()
