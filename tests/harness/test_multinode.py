"""Sweeps on a multi-node Ray cluster started on this machine (head + 2 workers)."""

from __future__ import annotations

import math

import pytest
import ray
from ray.cluster_utils import Cluster

from crystalbench.harness.errors import UserError
from crystalbench.harness.history import read_results
from crystalbench.harness.spec import parse_spec
from crystalbench.harness.sweep import run_sweep
from tests.helpers import REPO, small_spec


@pytest.fixture(scope="module")
def three_nodes():
    env = {"env_vars": {"PYTHONPATH": str(REPO)}}
    cluster = Cluster(initialize_head=True, head_node_args={"num_cpus": 1, "resources": {"head_node": 1}})
    cluster.add_node(num_cpus=1, resources={"worker_a": 1})
    cluster.add_node(num_cpus=1, resources={"worker_b": 1})
    cluster.wait_for_nodes()
    ray.init(address=cluster.address, runtime_env=env, logging_level="WARNING")
    yield cluster
    ray.shutdown()
    cluster.shutdown()


def test_trials_spread_over_nodes(three_nodes, artifact_root, small_dataset_csv, mlflow_server, tmp_path):
    spec = parse_spec(small_spec(tmp_path / "run", small_dataset_csv, seeds=3,
                                 tracking={"uri": mlflow_server, "experiment": "multinode"}))
    outcome = run_sweep(spec, progress=False)
    assert len(outcome.complete) == 6 and not outcome.failed
    nodes = {r.extra["node"] for r in read_results(outcome.run_dir)}
    alive = {n["NodeID"] for n in ray.nodes() if n["Alive"]}
    assert len(nodes) > 1 and nodes <= alive, "trials ran on more than one node of the cluster"


def test_a_multinode_sweep_needs_a_tracking_server(three_nodes, small_dataset_csv, tmp_path, monkeypatch):
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    spec = parse_spec(small_spec(tmp_path / "run", small_dataset_csv))
    with pytest.raises(UserError, match="this Ray cluster has 3 nodes: set tracking.uri"):
        run_sweep(spec, progress=False)
    assert not (tmp_path / "run").exists(), "nothing is written before the check"


def test_one_energy_service_per_node_serves_that_nodes_calls(three_nodes):
    from crystalbench.tasks.csp.compounds import polymorphs
    from crystalbench.tasks.csp.energy_service import EnergyOracle, start_energy_services

    services = start_energy_services("chgnet")
    try:
        placed = [ray.get(s.stats.remote())["node"] for s in services]
        alive = {n["NodeID"] for n in ray.nodes() if n["Alive"]}
        assert sorted(placed) == sorted(alive), "exactly one service on every node"

        @ray.remote(num_cpus=0)
        def call_here(structures):
            return ray.get_runtime_context().get_node_id(), EnergyOracle("chgnet")(structures).tolist()

        nacl = list(polymorphs("NaCl").values())
        for resource in ("head_node", "worker_a", "worker_b"):
            before = {p: ray.get(s.stats.remote())["requests"] for p, s in zip(placed, services)}
            node, values = ray.get(call_here.options(resources={resource: 0.01}).remote(nacl))
            after = {p: ray.get(s.stats.remote())["requests"] for p, s in zip(placed, services)}
            assert len(values) == len(nacl) and all(math.isfinite(v) for v in values)
            assert {p for p in placed if after[p] != before[p]} == {node}, f"{resource}: served on its own node"
    finally:
        for service in services:
            ray.kill(service)
