"""The csp26 oracle: energy per atom from a named energy model, served by one Ray actor per node.

Loading an MLIP costs seconds and its forward pass is far cheaper per structure
in a batch, so trials do not each hold a model: ``start_energy_services`` (run by
the sweep's driver before any trial) places one ``EnergyService`` actor on every
alive node, and each trial's ``EnergyOracle`` sends its structures to the actor
on its own node. The actor gathers the requests that arrive within
``BATCH_WINDOW_S`` from all of that node's trials into one batched call.

Outside Ray, or on a node without a service (a node that joined after the
sweep started), the oracle evaluates in its own process: the same values,
without the sharing.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import numpy as np
import ray
from pymatgen.core import Structure
from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

BATCH_WINDOW_S = 0.02
NAMESPACE = "crystalbench"


def service_name(model: str, node_id: str) -> str:
    return f"energy-{model}-{node_id}"


@ray.remote
class EnergyService:
    """Batched single-point energies per atom for every trial on one node (an async actor)."""

    def __init__(self, model: str):
        from crystalbench.physics.energy_models import get_energy_model

        self._model = get_energy_model(model)
        self._pending: list[tuple[list[Structure], asyncio.Future]] = []
        self.requests = 0
        self.batches = 0

    async def energy_per_atom(self, structures: list[dict]) -> list[float]:
        """Energies per atom of ``structures`` (``Structure.as_dict()`` each), in order."""
        future = asyncio.get_running_loop().create_future()
        self._pending.append(([Structure.from_dict(d) for d in structures], future))
        self.requests += 1
        if len(self._pending) == 1:
            asyncio.get_running_loop().call_later(BATCH_WINDOW_S, self._flush)
        return await future

    def _flush(self) -> None:
        batch, self._pending = self._pending, []
        flat = [s for structures, _ in batch for s in structures]
        self.batches += 1
        try:
            values = np.asarray(self._model.energy_per_atom(flat), dtype=float).tolist()
        except Exception as exc:  # noqa: BLE001 — every waiting trial gets the error, none hangs
            for _, future in batch:
                future.set_exception(exc)
            return
        start = 0
        for structures, future in batch:
            future.set_result(values[start : start + len(structures)])
            start += len(structures)

    def stats(self) -> dict:
        """How many requests arrived and in how many batched model calls they were served."""
        return {"requests": self.requests, "batches": self.batches, "node": ray.get_runtime_context().get_node_id()}


def start_energy_services(model: str, num_cpus: float = 0.0, num_gpus: float = 0.25) -> list:
    """One ``EnergyService`` per alive node (GPU share only on nodes that have GPUs); returns the handles.

    A service computes while the trials that called it wait, so by default it takes
    no CPU slot of its own (raise ``num_cpus`` to reserve one). The handles belong to
    the caller: keep them for as long as trials run.
    """
    handles = []
    for node in ray.nodes():
        if not node["Alive"]:
            continue
        gpus = num_gpus if node["Resources"].get("GPU", 0) > 0 else 0
        handles.append(
            EnergyService.options(
                name=service_name(model, node["NodeID"]),
                namespace=NAMESPACE,
                get_if_exists=True,
                num_cpus=num_cpus,
                num_gpus=gpus,
                scheduling_strategy=NodeAffinitySchedulingStrategy(node["NodeID"], soft=False),
            ).remote(model)
        )
    ray.get([h.stats.remote() for h in handles])  # wait until every model is loaded
    return handles


class EnergyOracle:
    """The contract's oracle: ``structures (n,) -> energy per atom (n,)``, NaN for None or a failed calculation."""

    def __init__(self, model: str):
        self.model = model

    def __call__(self, structures: Sequence[Structure | None]) -> np.ndarray:
        values = np.full(len(structures), np.nan)
        rows = [i for i, s in enumerate(structures) if s is not None]
        if rows:
            values[rows] = self._evaluate([structures[i] for i in rows])
        return values

    def _evaluate(self, structures: list[Structure]) -> np.ndarray:
        service = self._node_service()
        if service is None:
            from crystalbench.physics.energy_models import get_energy_model

            return np.asarray(get_energy_model(self.model).energy_per_atom(structures), dtype=float)
        return np.asarray(ray.get(service.energy_per_atom.remote([s.as_dict() for s in structures])), dtype=float)

    def _node_service(self):
        if not ray.is_initialized():
            return None
        node = ray.get_runtime_context().get_node_id()
        try:
            return ray.get_actor(service_name(self.model, node), namespace=NAMESPACE)
        except ValueError:
            return None
