"""A catalogue of malformed inputs: each one is refused in one line that says what and where, nothing is lost.

Table-driven: every case writes its inputs (a spec, a dataset, a run directory in some
state), runs the command in-process (``crystalbench.harness.cli.main``) and checks the exit
code, that the user sees one line naming the problem and no traceback, and that the run
directory and its MLflow store are as they were (or, for a refusal before anything ran,
that no run directory appeared). The cases before ``RAY_CASES`` need no cluster and must be
refused before Ray starts, in about a second each. Faults that need a real process (a killed
or interrupted driver, two drivers at once) are in ``test_faults.py`` and ``test_lock.py``;
all of them add their rows to the catalogue (``tests/harness/catalogue.md``).
"""

from __future__ import annotations

import hashlib
import http.server
import json
import shutil
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl
import pytest
import ray
import yaml
from mlflow import MlflowClient

from crystalbench.harness.cli import main
from crystalbench.harness.dataset import read_table
from tests.harness.lock_holder import hold_lock
from tests.helpers import free_port

PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)) * 4


@dataclass(frozen=True)
class Case:
    """One malformed input: what to write, which command to run, and what the user must see.

    ``spec``: changes to the base spec (None: no spec file); ``text``/``raw``: the spec file's
    whole text or bytes instead. ``files``: name -> bytes, or a function of (the small dataset,
    the run directory) returning them, written beside it. ``run``: the state of the run
    directory before the command (``None`` fresh, ``"finished"`` a copy of a finished sweep);
    ``ray``: a fresh run that gets as far as Ray (the module's local Ray). ``argv`` may use
    ``{spec}``, ``{run}`` and ``{tmp}``. ``line``: a fragment of the one line the user sees (on
    stderr; for exit 0, the one warning line). ``defect``: its number in issue 18.
    """

    name: str
    argv: tuple[str, ...]
    code: int
    line: str
    defect: str = ""
    spec: dict | None = field(default_factory=dict)
    text: str | None = None
    raw: bytes | None = None
    files: dict = field(default_factory=dict)
    env: dict = field(default_factory=dict)
    run: str | None = None
    ray: bool = False
    before: Callable | None = None
    """Called with (tmp, run dir) after the inputs are written: damage a file, hold the lock, ..."""


RUN = ("run", "{spec}", "--no-progress")


def bomb(levels: int = 7) -> str:
    """A YAML alias bomb: ``levels`` anchors, each ten of the last: 10**levels values in a few hundred bytes."""
    lines = ["a0: &a0 [1, 1, 1, 1, 1, 1, 1, 1, 1, 1]"]
    lines += [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 10)}]" for i in range(1, levels)]
    return "\n".join(lines) + "\n"


def truncate(path: Path, keep: float = 0.5) -> None:
    data = path.read_bytes()
    path.write_bytes(data[: int(len(data) * keep)])


def first_trial(run_dir: Path) -> Path:
    return sorted((run_dir / "trials").iterdir())[0]


def bad_quote_csv(dataset: Path, run: Path) -> bytes:
    header = dataset.read_text().split("\n", 1)[0]
    return f"{header}\nmp-1,\"Li2O,1,2,3,Li O,12,\"data_\n".encode()


def no_cif_csv(dataset: Path, run: Path) -> bytes:
    return read_table(dataset).head(20).with_columns(pl.lit("not a CIF").alias("cif")).write_csv().encode()


def baseline_lacking_a_key(dataset: Path, run: Path) -> bytes:
    from crystalbench.harness.regress import summarise

    record = summarise(run)
    cell = next(iter(record["cells"]))
    del record["cells"][cell]["valid_rate"]
    return json.dumps(record).encode()


class NotMLflow(http.server.BaseHTTPRequestHandler):
    """A web server that is not a tracking server: 404 with an HTML page for every path."""

    def do_GET(self):
        self.send_response(404)
        self.send_header("Content-Type", "text/html")
        self.end_headers()
        self.wfile.write(b"<html>no such page</html>")

    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def web_server() -> str:
    server = http.server.HTTPServer(("127.0.0.1", free_port()), NotMLflow)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()


CASES = [
    # --- the spec's schema (each already one located line before issue 18; they stay so) ---
    Case("unknown method", RUN, 2, "unknown method 'nope'", spec={"methods": ["nope"]}),
    Case("unknown task", RUN, 2, "unknown task 'nope'", spec={"tasks": ["nope"]}),
    Case("negative budget", RUN, 2, "tasks[0].budget must be a positive integer, got -3",
         spec={"tasks": [{"name": "electronegativity", "budget": -3}]}),
    Case("malformed YAML", RUN, 2, "malformed YAML at line 3", spec=None, text="suite: x\nmethods: [database\n"),
    Case("missing spec file", ("run", "{tmp}/absent.yaml"), 2, "spec file not found", spec=None),
    Case("spec is a list", RUN, 2, "a spec is a YAML mapping", spec=None, text="- a\n- b\n"),
    Case("empty spec file", RUN, 2, "a spec is a YAML mapping", spec=None, text=""),
    Case("unknown top-level key", RUN, 2, "spec: unknown key 'colour'", spec={"colour": "blue"}),
    Case("suite with a space", RUN, 2, "'suite' must be a name", spec={"suite": "has space"}),
    Case("zero seeds", RUN, 2, "'seeds' as a count must be at least 1", spec={"seeds": 0}),
    Case("duplicate seeds", RUN, 2, "distinct non-negative integers", spec={"seeds": [1, 1]}),
    Case("no methods", RUN, 2, "'methods' must be a non-empty list", spec={"methods": []}),
    Case("unknown method parameter", RUN, 2, "methods[0].params: unknown parameter 'lr'",
         spec={"methods": [{"name": "database", "params": {"lr": 1}}]}),
    Case("one method twice", RUN, 2, "'database' appears twice", spec={"methods": ["database", "database"]}),
    Case("negative cpu", RUN, 2, "resources.cpu must be a number >= 0.0, got -1", spec={"resources": {"cpu": -1}}),
    Case("neither cpu nor gpu", RUN, 2, "a trial needs some cpu or gpu", spec={"resources": {"cpu": 0}}),
    Case("missing dataset file", RUN, 2, "dataset file not found: /nonexistent/data.csv",
         spec={"dataset": "/nonexistent/data.csv"}),
    Case("plugin that does not import", RUN, 2, "cannot import plugin module 'no.such.module'",
         spec={"plugins": ["no.such.module"]}),
    Case("unknown problem", RUN, 2, "tasks[0].problems: unknown ['MgO']",
         spec={"tasks": [{"name": "electronegativity", "problems": ["MgO"]}]}),
    Case("fractional batch size", RUN, 2, "tasks[0].batch_size must be a positive integer, got 1.5",
         spec={"tasks": [{"name": "electronegativity", "batch_size": 1.5}]}),
    Case("negative retries", RUN, 2, "execution.max_retries must be a non-negative integer",
         spec={"execution": {"max_retries": -1}}),
    Case("zero concurrent trials", RUN, 2, "execution.max_concurrent_trials must be a positive integer",
         spec={"execution": {"max_concurrent_trials": 0}}),
    Case("unknown dataset_filter key", RUN, 2, "dataset_filter: unknown key 'colour'",
         spec={"dataset_filter": {"colour": "red"}}),
    Case("zero elements filter", RUN, 2, "dataset_filter.n_elements must be a positive integer",
         spec={"dataset_filter": {"n_elements": 0}}),
    Case("tracking URI not a string", RUN, 2, "tracking.uri must be a string", spec={"tracking": {"uri": 123}}),
    Case("unknown storage protocol", RUN, 2, "storage.run_dir 'nope://bucket/run': unknown storage protocol",
         spec={"storage": {"run_dir": "nope://bucket/run"}}),
    Case("task parameter out of range", RUN, 2, "n_initial must be positive",
         spec={"tasks": [{"name": "electronegativity", "params": {"n_initial": 0}}]}),
    Case("run directory not writable", RUN + ("--run-dir", "/proc/crystalbench-run"), 2,
         "storage.run_dir /proc/crystalbench-run is not writable"),
    # --- 9: task and method parameter types ---
    Case("fractional task parameter", RUN, 2, "tasks[0].params.n_initial: input should be a valid integer, got 2.5",
         defect="9", spec={"tasks": [{"name": "formation_energy", "params": {"n_initial": 2.5}}]}),
    Case("task parameter of the wrong type", RUN, 2,
         "tasks[0].params.n_initial: input should be a valid integer, got 'abc'", defect="9",
         spec={"tasks": [{"name": "formation_energy", "params": {"n_initial": "abc"}}]}),
    Case("method parameter of the wrong type", RUN, 2, "methods[0].params.seconds_per_ask", defect="9",
         spec={"plugins": ["tests.plugins.methods"],
               "methods": [{"name": "slow_database", "params": {"seconds_per_ask": "fast"}}]}),
    # --- 7: size and depth ---
    Case("a billion seeds", RUN, 2, "'seeds': 1000000000 seeds; the limit is 10000", defect="7",
         spec={"seeds": 1_000_000_000}),
    Case("a YAML alias bomb in budget", RUN, 2, "more than 100000 values with its aliases expanded", defect="7",
         spec=None, text=bomb() + "suite: x\nmethods: [database]\ntasks: [{name: electronegativity, budget: *a6}]\n"),
    Case("100,000-deep nesting", RUN, 2, "nesting deeper than 32 levels at line 2 (the limit is 32)", defect="7",
         spec=None, text="suite: x\nmethods: " + "[" * 100_000 + "]" * 100_000 + "\n"),
    Case("a spec of 2 MiB", RUN, 2, "bytes is too large for a spec (the limit is 1048576 bytes)", defect="7",
         spec=None, text="suite: x\n" + "# padding\n" * 220_000),
    Case("a grid of too many trials", RUN, 2, "the grid has 200000 trials", defect="7",
         spec={"seeds": 10_000, "methods": [{"name": "database", "label": f"db{i}"} for i in range(20)]}),
    # --- 8: encoding ---
    Case("a spec that is not UTF-8", RUN, 2, "a spec is UTF-8 text, but byte 0 is 0x89", defect="8", spec=None,
         raw=PNG),
    Case("a spec in Latin-1", RUN, 2, "a spec is UTF-8 text, but byte 10 is 0xe9", defect="8", spec=None,
         raw="suite: caf\u00e9\n".encode("latin-1")),
    # --- 2: resources no node has ---
    Case("100 GPUs per trial", RUN, 2, "a trial asks for {cpu: 1, gpu: 100}, but this machine (a local Ray) has",
         defect="2", spec={"resources": {"gpu": 100}}),
    Case("100 CPUs per trial", RUN, 2, "a trial asks for {cpu: 100, gpu: 0}, but this machine (a local Ray) has",
         defect="2", spec={"resources": {"cpu": 100}}),
    # --- 3: the tracking server ---
    Case("dead tracking server", RUN, 2,
         "tracking server http://127.0.0.1:9 (tracking.uri) is unreachable: connection refused", defect="3",
         spec={"tracking": {"uri": "http://127.0.0.1:9"}}),
    Case("MLFLOW_TRACKING_URI=garbage", RUN, 2, "tracking URI 'garbage' (MLFLOW_TRACKING_URI) is a file store path",
         defect="3", env={"MLFLOW_TRACKING_URI": "garbage"}),
    Case("tracking URI of a web server that is not MLflow", RUN, 2, "answers HTTP 404 but not as an MLflow tracking "
         "server", defect="3", spec={"tracking": {"uri": "{web}"}}),
    Case("tracking URI of an unknown scheme", RUN, 2, "unknown scheme 'ftp'", defect="3",
         spec={"tracking": {"uri": "ftp://127.0.0.1/mlflow"}}),
    Case("dead database tracking store", RUN, 2, "postgresql://127.0.0.1:9/mlflow (tracking.uri) is unreachable",
         defect="3", spec={"tracking": {"uri": "postgresql://127.0.0.1:9/mlflow"}}),
    # --- 10: the Ray cluster address ---
    Case("dead --address", RUN + ("--address", "127.0.0.1:9"), 2, "no Ray cluster at --address 127.0.0.1:9",
         defect="10"),
    Case("dead Ray Client address", RUN + ("--address", "ray://127.0.0.1:9"), 2,
         "no Ray cluster at --address ray://127.0.0.1:9 (127.0.0.1:9: connection refused", defect="10"),
    Case("malformed --address", RUN + ("--address", "nonsense"), 2, "--address nonsense: Invalid address format",
         defect="10"),
    # --- 5: dataset files (now refused before Ray; the prepare step's own errors are below) ---
    Case("a PNG as the dataset", RUN, 2, "cannot read dataset {tmp}/data.png: invalid utf-8 sequence", defect="5",
         spec={"dataset": "{tmp}/data.png"}, files={"data.png": PNG}),
    Case("a dataset lacking columns", RUN, 2, "dataset {tmp}/other.csv lacks columns ['material_id'", defect="5",
         spec={"dataset": "{tmp}/other.csv"}, files={"other.csv": b"a,b\n1,2\n"}),
    Case("a dataset with an unbalanced quote", RUN, 2, "a field is not properly escaped (an unbalanced quote?)",
         defect="5", spec={"dataset": "{tmp}/quote.csv"}, files={"quote.csv": bad_quote_csv}),
    # --- 13: data info ---
    Case("data info of a CSV with an unbalanced quote", ("data", "info", "{tmp}/quote.csv"), 2,
         "cannot read dataset {tmp}/quote.csv: invalid csv file: a field is not properly escaped", defect="13",
         spec=None, files={"quote.csv": bad_quote_csv}),
    Case("data info of a PNG", ("data", "info", "{tmp}/data.png"), 2, "invalid utf-8 sequence", spec=None,
         files={"data.png": PNG}),
    Case("data info of a missing file", ("data", "info", "{tmp}/nothing.csv"), 2, "dataset file not found",
         spec=None),
    # --- regress and report without a run ---
    Case("regress with no baseline", ("regress", "{run}", "--baseline", "{tmp}/none.json"), 2,
         "baseline not found: {tmp}/none.json", spec=None, run="finished"),
    Case("regress with a baseline that is not JSON", ("regress", "{run}", "--baseline", "{tmp}/b.json"), 2,
         "is not a crystalbench baseline: JSONDecodeError", spec=None, run="finished", files={"b.json": b"{oops"}),
    Case("regress with a baseline cell lacking a key", ("regress", "{run}", "--baseline", "{tmp}/b.json"), 2,
         "lacks 'valid_rate'; write the baseline again with --update-baseline", defect="11", spec=None,
         run="finished", files={"b.json": baseline_lacking_a_key}),
    Case("regress of a missing run directory", ("regress", "{tmp}/nothing"), 2, "run directory not found", spec=None),
    Case("report of a missing run directory", ("report", "{tmp}/nothing"), 2, "run directory not found", spec=None),
    # --- 4: corrupt run files ---
    Case("report with a truncated result.json", ("report", "{run}", "--out", "{tmp}/report"), 0,
         "result.json is unreadable (JSONDecodeError", defect="4", spec=None, run="finished",
         before=lambda tmp, run: truncate(first_trial(run) / "result.json")),
    Case("report with a truncated history.parquet", ("report", "{run}", "--out", "{tmp}/report"), 0,
         "history.parquet is unreadable (ComputeError", defect="4", spec=None, run="finished",
         before=lambda tmp, run: truncate(first_trial(run) / "history.parquet")),
    Case("judge with a corrupt sweep.json", ("judge", "{run}", "--judge", "gpaw"), 2,
         "sweep.json is unreadable (JSONDecodeError", defect="4", spec=None, run="finished",
         before=lambda tmp, run: (run / "sweep.json").write_text("{\"spec_hash\": ")),
    Case("judge with a corrupt spec.yaml", ("judge", "{run}", "--judge", "gpaw"), 2, "spec.yaml is unreadable",
         defect="4", spec=None, run="finished", before=lambda tmp, run: (run / "spec.yaml").write_text("a: [\n")),
    # --- 1: the run directory in use or in another state ---
    Case("a run directory another driver holds", RUN + ("--resume",), 2,
         "is in use by another driver (lock_holder, pid", defect="1", run="finished",
         before=lambda tmp, run: hold_lock(run)),
    Case("judge while another driver holds the run directory", ("judge", "{run}", "--judge", "gpaw"), 2,
         "is in use by another driver (lock_holder", defect="1", spec=None, run="finished",
         before=lambda tmp, run: hold_lock(run)),
    Case("a used run directory without --resume", RUN, 2, "already holds a sweep; use --resume or another run_dir",
         run="finished"),
    Case("--resume with another spec", RUN + ("--resume",), 2, "it was run from a different spec",
         spec={"seeds": 3}, run="finished"),
    Case("--resume with a truncated result.json", RUN + ("--resume",), 0, "result.json is unreadable "
         "(JSONDecodeError", defect="4", run="finished",
         before=lambda tmp, run: truncate(first_trial(run) / "result.json")),
    Case("--resume with a truncated history.parquet", RUN + ("--resume",), 0, "history.parquet is unreadable "
         "(ComputeError", defect="4", run="finished",
         before=lambda tmp, run: truncate(first_trial(run) / "history.parquet")),
    Case("--resume with a corrupt sweep.json", RUN + ("--resume",), 0, "sweep.json is unreadable (JSONDecodeError",
         defect="4", run="finished", before=lambda tmp, run: (run / "sweep.json").write_text("{\"spec_hash\": ")),
    Case("a dataset whose CIFs do not parse", RUN, 2, "none of its 20 CIFs parses as a crystal", defect="5",
         ray=True, spec={"dataset": "{tmp}/nocif.csv"}, files={"nocif.csv": no_cif_csv}),
    Case("a dataset_filter that keeps nothing", RUN, 2, "dataset_filter {'n_elements': [9]} leaves no crystals",
         ray=True, spec={"dataset_filter": {"n_elements": 9}}),
    Case("more CPUs than the connected cluster's largest node", RUN, 2,
         "a trial asks for {cpu: 3, gpu: 0}, but the largest node of this cluster has {cpu: 2, gpu: 0}", defect="2",
         ray=True, spec={"resources": {"cpu": 3}}),
    Case("a prepare step that fails with a plugin's bug", RUN, 1,
         "preparing task broken_prepare failed: RuntimeError: deliberate failure in prepare (traceback in "
         "{run}/prepare-error.txt)", defect="5", ray=True,
         spec={"plugins": ["tests.harness.fault_plugins"], "tasks": [{"name": "broken_prepare", "budget": 2}]}),
    Case("the corrected spec where a sweep failed before any trial", RUN, 0,
         "holds a sweep that stopped before any trial: starting this spec there", defect="6", ray=True,
         files={"nocif.csv": no_cif_csv}, before=lambda tmp, run: fail_before_any_trial(tmp, run)),
    Case("the stale lock of a killed driver", RUN, 0, "took over the lock of run directory", defect="1", ray=True,
         before=lambda tmp, run: kill(hold_lock(run))),
]
RAY_CASES = next(i for i, c in enumerate(CASES) if c.run is not None or c.ray)
"""Cases from here on use a local Ray (a finished sweep, or a run that gets that far); those before are refused
before Ray."""


def fail_before_any_trial(tmp: Path, run: Path) -> None:
    """A sweep into ``run`` that fails in its prepare step (a dataset with no crystal), before any trial."""
    spec = yaml.safe_load((tmp / "spec.yaml").read_text())
    (tmp / "bad.yaml").write_text(yaml.safe_dump({**spec, "dataset": str(tmp / "nocif.csv"), "seeds": 3}))
    assert main(["run", str(tmp / "bad.yaml"), "--no-progress"]) == 2
    assert (run / "sweep.json").is_file() and not (run / "trials").exists()


def kill(proc):
    proc.kill()
    proc.wait()


@pytest.fixture(scope="module")
def finished(local_ray, artifact_root, small_dataset_csv, tmp_path_factory) -> tuple[Path, dict]:
    """A finished sweep (database on electronegativity, 2 seeds, budget 3): its run directory and spec."""
    root = tmp_path_factory.mktemp("finished")
    spec = base_spec(small_dataset_csv, root / "run")
    (root / "spec.yaml").write_text(yaml.safe_dump(spec))
    assert main(["run", str(root / "spec.yaml"), "--no-progress"]) == 0
    return root / "run", spec


def base_spec(dataset: Path, run_dir: Path) -> dict:
    return {"suite": "catalogue", "seeds": 2, "dataset": str(dataset), "methods": ["database"],
            "tasks": [{"name": "electronegativity", "budget": 3}], "storage": {"run_dir": str(run_dir)}}


def snapshot(run_dir: Path) -> dict[str, str]:
    """Every file of the run directory (but the lock, whose heartbeat moves) with its digest."""
    if not run_dir.exists():
        return {}
    return {str(p.relative_to(run_dir)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(run_dir.rglob("*")) if p.is_file() and not p.name.startswith("driver.lock")}


def running_runs(run_dir: Path) -> list[str]:
    """MLflow runs left RUNNING in the run directory's embedded store."""
    if not (run_dir / "mlflow.db").is_file():
        return []
    client = MlflowClient(f"sqlite:///{run_dir / 'mlflow.db'}")
    experiments = [e.experiment_id for e in client.search_experiments()]
    return [r.info.run_id for r in client.search_runs(experiments, "attributes.status = 'RUNNING'")]


def fill(text: str, paths: dict[str, str]) -> str:
    for key, value in paths.items():
        text = text.replace("{" + key + "}", value)
    return text


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_a_malformed_input_is_refused_in_one_line(case: Case, tmp_path, request, small_dataset_csv, artifact_root,
                                                  monkeypatch, capsys, catalogue):
    run_dir = tmp_path / "run"
    paths = {"tmp": str(tmp_path), "run": str(run_dir), "spec": str(tmp_path / "spec.yaml")}
    if case.run == "finished":
        source, spec = request.getfixturevalue("finished")
        shutil.copytree(source, run_dir)
        state = json.loads((run_dir / "sweep.json").read_text())
        (run_dir / "sweep.json").write_text(json.dumps({**state, "tracking_uri": f"sqlite:///{run_dir}/mlflow.db"}))
    if "{web}" in json.dumps(case.spec):
        paths["web"] = request.getfixturevalue("web_server")
    if case.ray:
        request.getfixturevalue("local_ray")
    for name, content in case.files.items():
        (tmp_path / name).write_bytes(content(small_dataset_csv, run_dir) if callable(content) else content)
    if case.spec is not None:
        spec = base_spec(small_dataset_csv, run_dir)
        spec.update(json.loads(fill(json.dumps(case.spec), paths)))
        (tmp_path / "spec.yaml").write_text(yaml.safe_dump(spec))
    elif case.text is not None:
        (tmp_path / "spec.yaml").write_text(case.text)
    elif case.raw is not None:
        (tmp_path / "spec.yaml").write_bytes(case.raw)
    for key, value in case.env.items():
        monkeypatch.setenv(key, value)
    holder = case.before(tmp_path, run_dir) if case.before else None
    before = snapshot(run_dir)
    ray_before = ray.is_initialized()
    capsys.readouterr()
    try:
        code = main([fill(a, paths) for a in case.argv])
    finally:
        if holder is not None and hasattr(holder, "kill"):
            holder.kill()
            holder.wait()
    out, err = capsys.readouterr()

    lines = err.strip().splitlines()
    assert code == case.code, err[-3000:]
    assert "Traceback" not in out + err
    assert len(lines) == 1, f"one line, not: {err[-3000:]}"
    assert fill(case.line, paths) in lines[0]
    if case.code:
        assert lines[0].startswith("crystalbench: error: ") and not out
    if case.run is not None and (case.code or case.argv[0] != "run"):
        assert snapshot(run_dir) == before, "a refused or read-only command changes nothing in the run directory"
    if case.run is None and not case.ray:
        assert not run_dir.exists(), "a refused sweep leaves no run directory behind"
    if case.argv[0] == "run" and case.code == 0:
        results = [json.loads(p.read_text()) for p in run_dir.glob("trials/*/result.json")]
        assert results and all(r["status"] == "complete" for r in results), "the sweep finished every cell"
    if CASES.index(case) < RAY_CASES:
        assert not ray_before and not ray.is_initialized(), "refused before Ray starts"
    assert running_runs(run_dir) == [], "no MLflow run is left RUNNING"
    catalogue.add(case.name, case.defect, code,
                  lines[0].replace(str(tmp_path), "<tmp>").replace(str(small_dataset_csv.parent), "<data>"))
