"""What a sweep checks before it starts Ray or prepares anything, so a bad input costs seconds, not minutes.

Each check refuses in one line (a ``UserError``) and is bounded in time: the dataset file
reads as a dataset table, the tracking URI answers (``harness.tracking.check_reachable``),
a Ray cluster given by ``--address`` accepts a connection, and a trial's resources fit a
node. The resources of a local Ray are known before it starts (this machine's CPUs and
GPUs, as Ray counts them); a cluster's nodes are compared once Ray has connected
(``check_cluster_resources``), unless it autoscales and may add bigger nodes later.
"""

from __future__ import annotations

import os
import socket
from pathlib import Path

from crystalbench.harness.dataset import read_table
from crystalbench.harness.errors import UserError
from crystalbench.harness.spec import Spec
from crystalbench.harness.tracking import check_reachable

CONNECT_TIMEOUT_S = 5.0
"""How long a check waits for a server (the tracking server, a Ray cluster) to accept a connection."""
RAY_CLIENT_PORT = 10001
AUTOSCALER_CONFIG = Path("~/ray_bootstrap_config.yaml")
"""Present on a cluster-launcher cluster's head: Ray Tune's own test for an autoscaling cluster."""


def check_before_ray(spec: Spec, address: str | None, ray_running: bool = False) -> None:
    """Every check that needs no cluster: dataset file, tracking URI, ``--address``, a local Ray's resources.

    With ``ray_running`` (this process is already connected to a Ray), the resources are
    checked against its nodes instead, once the sweep starts (``check_cluster_resources``).
    """
    if spec.dataset is not None:
        read_table(Path(spec.dataset))
    if spec.tracking_uri:
        check_reachable(spec.tracking_uri, "tracking.uri", CONNECT_TIMEOUT_S)
    elif os.environ.get("MLFLOW_TRACKING_URI"):
        check_reachable(os.environ["MLFLOW_TRACKING_URI"], "MLFLOW_TRACKING_URI", CONNECT_TIMEOUT_S)
    if ray_running:
        return
    if address in (None, "local"):
        cpus, gpus = local_resources()
        _check_fits(spec, [{"CPU": cpus, "GPU": gpus}], "this machine (a local Ray)")
    else:
        check_address(address)


def check_address(address: str) -> None:
    """Refuse, within ``CONNECT_TIMEOUT_S``, an ``--address`` where no Ray cluster accepts a connection.

    ``auto`` is resolved as Ray resolves it (``RAY_ADDRESS``, then the last ``ray start`` on
    this machine); ``ray://host:port`` is a Ray Client server; anything else is a GCS address.
    """
    from ray._private.services import canonicalize_bootstrap_address, parse_address

    try:
        if address.startswith("ray://"):
            host, _, port = address.removeprefix("ray://").partition(":")
            target = (host, int(port or RAY_CLIENT_PORT))
        else:  # where ray.init would connect
            resolved = canonicalize_bootstrap_address(address)
            if resolved is None:
                raise UserError(f"--address {address}: no running Ray cluster found (RAY_ADDRESS is unset and no "
                                "`ray start` ran on this machine); leave out --address to start a local Ray")
            target = parse_address(resolved)
    except (ConnectionError, ValueError) as exc:
        raise UserError(f"--address {address}: {' '.join(str(exc).split())}") from None
    if target is None:
        raise UserError(f"--address {address}: not host:port")
    host, port = target[0], int(target[1])
    try:
        socket.create_connection((host, port), timeout=CONNECT_TIMEOUT_S).close()
    except OSError as exc:
        reason = "timed out" if isinstance(exc, TimeoutError) else (exc.strerror or str(exc))
        raise UserError(f"no Ray cluster at --address {address} ({host}:{port}: {reason.lower()}, "
                        f"waited at most {CONNECT_TIMEOUT_S:g} s)") from None


def local_resources() -> tuple[float, float]:
    """The CPUs and GPUs a local Ray started here would have (Ray's own detection, before starting it)."""
    from ray._private.resource_and_label_spec import ResourceAndLabelSpec

    spec = ResourceAndLabelSpec().resolve(is_head=True, node_ip_address="127.0.0.1")
    return float(spec.num_cpus), float(spec.num_gpus)


def check_cluster_resources(spec: Spec) -> None:
    """Refuse a trial's resources that no node of the connected cluster has, unless the cluster autoscales."""
    import ray

    if AUTOSCALER_CONFIG.expanduser().exists():
        return
    nodes = [n["Resources"] for n in ray.nodes() if n["Alive"]]
    _check_fits(spec, nodes, "the largest node of this cluster")


def _check_fits(spec: Spec, nodes: list[dict], where: str) -> None:
    """Refuse unless some node has the CPUs and GPUs one trial asks for."""
    if any(n.get("CPU", 0) >= spec.cpu and n.get("GPU", 0) >= spec.gpu for n in nodes):
        return
    key = (lambda n: (n.get("GPU", 0), n.get("CPU", 0))) if spec.gpu else (lambda n: (n.get("CPU", 0), n.get("GPU", 0)))
    largest = max(nodes, key=key, default={})
    raise UserError(f"resources: a trial asks for {{cpu: {spec.cpu:g}, gpu: {spec.gpu:g}}}, but {where} has "
                    f"{{cpu: {largest.get('CPU', 0):g}, gpu: {largest.get('GPU', 0):g}}}, so it would never start; "
                    "lower resources in the spec")
