"""The cluster-launcher YAMLs validate against Ray's own schema; the submit entry point finds specs."""

from __future__ import annotations

import copy
from pathlib import Path

import jsonschema
import pytest
import yaml
from ray.autoscaler._private.util import prepare_config, validate_config

CLUSTER = Path(__file__).resolve().parents[2] / "cluster"
LAUNCHER_YAMLS = ["aws.yaml", "gcp.yaml", "local.yaml"]


@pytest.mark.parametrize("name", LAUNCHER_YAMLS)
def test_cluster_yaml_matches_rays_schema(name):
    config = yaml.safe_load((CLUSTER / name).read_text())
    validate_config(prepare_config(copy.deepcopy(config)))
    assert any("pip install" in c and "torch==2.13" in c for c in config["setup_commands"]), "pinned install"


@pytest.mark.parametrize("name", LAUNCHER_YAMLS)
def test_the_schema_check_would_catch_a_mistake(name):
    config = yaml.safe_load((CLUSTER / name).read_text())
    config["max_workerz"] = 3
    with pytest.raises(jsonschema.ValidationError):
        validate_config(prepare_config(copy.deepcopy(config)))


def test_rayjob_runs_crystalbench_on_shared_storage():
    job = yaml.safe_load((CLUSTER / "rayjob.yaml").read_text())
    assert job["kind"] == "RayJob" and job["apiVersion"] == "ray.io/v1"
    assert job["spec"]["entrypoint"].startswith("crystalbench run configs/nightly.yaml")
    assert job["spec"]["rayClusterSpec"]["rayVersion"] == "2.60.0"


def test_submit_resolves_a_spec_relative_to_the_checkout(tmp_path, monkeypatch):
    import importlib.util

    spec = importlib.util.spec_from_file_location("submit", CLUSTER / "submit.py")
    submit = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(submit)
    monkeypatch.chdir(tmp_path)
    assert submit.resolve_spec(["configs/smoke.yaml", "--resume"]) == [
        str(CLUSTER.parent / "configs" / "smoke.yaml"), "--resume"]
    assert submit.resolve_spec(["missing.yaml"]) == ["missing.yaml"]
