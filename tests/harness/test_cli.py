"""The console script: user errors are one line on stderr and exit code 2, never a traceback."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

CLI = str(Path(sys.executable).with_name("crystalbench"))


def run_cli(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([CLI, *args], capture_output=True, text=True, cwd=cwd, timeout=120)


@pytest.mark.parametrize(
    "text, message",
    [
        ("suite: x\nmethods: [nope]\ntasks: [electronegativity]\n", "unknown method 'nope'"),
        ("suite: x\nmethods: [database]\ntasks: [nope]\n", "unknown task 'nope'"),
        ("suite: x\nmethods: [database]\ntasks: [{name: electronegativity, budget: -3}]\n",
         "budget must be a positive integer"),
        ("suite: x\nmethods: [database\ntasks: [electronegativity]\n", "malformed YAML at line"),
    ],
)
def test_bad_spec_is_one_line_and_exit_2(tmp_path: Path, text: str, message: str):
    spec = tmp_path / "spec.yaml"
    spec.write_text(text)
    proc = run_cli("run", str(spec), cwd=tmp_path)
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("crystalbench: error: ") and message in lines[0]
    assert not (tmp_path / "runs").exists(), "nothing is started for an invalid spec"


def test_missing_spec_file(tmp_path: Path):
    proc = run_cli("run", str(tmp_path / "absent.yaml"))
    assert proc.returncode == 2
    assert proc.stderr.strip() == f"crystalbench: error: spec file not found: {tmp_path / 'absent.yaml'}"


def test_report_of_a_missing_run_dir(tmp_path: Path):
    proc = run_cli("report", str(tmp_path / "nothing"))
    assert proc.returncode == 2 and "run directory not found" in proc.stderr


def test_list_shows_methods_with_their_tasks():
    proc = run_cli("list")
    assert proc.returncode == 0
    assert "database" in proc.stdout and "formation_energy" in proc.stdout and "electronegativity" in proc.stdout


def test_data_info_counts_the_bundled_crystals():
    proc = run_cli("data", "info")
    assert proc.returncode == 0
    assert "crystals: 2485 (skipped 0 unparsable)" in proc.stdout


def test_fetch_mp_without_a_key_is_a_one_line_error(tmp_path: Path, monkeypatch):
    monkeypatch.delenv("MP_API_KEY", raising=False)
    proc = run_cli("data", "fetch-mp", "--out", str(tmp_path / "mp.csv.gz"))
    assert proc.returncode == 2
    assert len(proc.stderr.strip().splitlines()) == 1 and "MP_API_KEY" in proc.stderr


def test_a_spec_asking_for_gpaw_without_the_dft_extra_names_the_command_to_install_it(tmp_path: Path):
    spec = tmp_path / "spec.yaml"
    spec.write_text("suite: x\nmethods: [random_search]\ntasks: [{name: csp26, params: {judge: gpaw}}]\n")
    hide_gpaw = ("import sys; sys.modules['gpaw'] = None; "  # as if never installed
                 f"from crystalbench.harness.cli import main; sys.exit(main(['run', {str(spec)!r}]))")
    # Hidden this way, an installed GPAW still has its ASE plugin entry point, whose failed import ASE warns about.
    quiet_ase = "ignore:Failed to register external IO format:UserWarning"
    proc = subprocess.run([sys.executable, "-W", quiet_ase, "-c", hide_gpaw], capture_output=True, text=True,
                          cwd=tmp_path, timeout=120)
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "GPAW (the `dft` extra) is not installed: run `make dft`" in lines[0], proc.stderr
