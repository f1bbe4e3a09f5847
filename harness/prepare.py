"""The prepare phase of a sweep: the dataset, task and method artifacts its trials read, built as Ray tasks.

Every artifact lives in the artifact store under a key of what it was built from, so a
second sweep (or a resumed one) finds it instead of building it again. The Ray tasks are
module-level functions, so a worker on any node imports them by name.
"""

from __future__ import annotations

from pathlib import Path

import ray

from crystalbench.api import TaskView, registry
from crystalbench.harness.console import phase
from crystalbench.harness.dataset import Dataset, bundled_path, file_digest
from crystalbench.harness.errors import UserError
from crystalbench.harness.remote import get
from crystalbench.harness.runner import TrialContext, method_artifact_key
from crystalbench.harness.spec import Spec
from crystalbench.harness.storage import Location
from crystalbench.harness.store import ArtifactStore, local_artifact


def prepare_artifacts(spec: Spec, run_dir: Location, progress: bool = True) -> TrialContext:
    """Build (or find) the dataset, task and method artifacts as Ray tasks, in parallel where independent.

    Method artifacts (trained generative models) are built once per method setting, whatever the
    tasks, and ask for a whole GPU when the cluster has one. Each step returns its artifact's
    store-wide name (``ArtifactStore.where``), which a trial on any node resolves to a local path.
    A step's ``UserError`` is raised as itself, any other failure as ``StepFailed`` (``harness.remote``).
    """
    store_root = spec.resolved_artifacts
    source = Path(spec.dataset) if spec.dataset else bundled_path()
    with phase("preparing the dataset", progress):
        dataset_path = get(_prepare_dataset.remote(str(source), spec.dataset_filter, store_root),
                           "preparing the dataset")
    task_refs = {t.name: _prepare_task.remote(t.name, t.params, t.problems, store_root, dataset_path,
                                              list(spec.plugins))
                 for t in spec.tasks}
    train = _prepare_method.options(num_gpus=1 if ray.cluster_resources().get("GPU", 0) >= 1 else 0)
    method_refs = {
        method_artifact_key(m.label, t.name): train.remote(m.name, m.params, t.name, t.params, store_root,
                                                           dataset_path, list(spec.plugins))
        for m in spec.methods
        for t in spec.tasks
        if registry.incompatibility(m.name, t.name) is None
    }
    names = {ref: f"task {name}" for name, ref in task_refs.items()}
    names |= {ref: key.replace("|", " on ") for key, ref in method_refs.items()}
    with phase(f"preparing {len(names)} artifacts (oracles, trained models; cached after the first run)",
               progress) as running:
        _wait_all(names, running)
    return TrialContext(
        suite=spec.suite,
        run_dir=str(run_dir),
        dataset_path=dataset_path,
        task_artifacts={k: ray.get(v) for k, v in task_refs.items()},
        method_artifacts={k: ray.get(v) for k, v in method_refs.items()},
        plugins=spec.plugins,
    )


def _wait_all(names: dict[ray.ObjectRef, str], running) -> None:
    """Wait for every ref, keeping ``running.detail`` on what is still being built (the first error raises)."""
    pending = dict(names)
    while pending:
        running.detail = f"{len(names) - len(pending)} of {len(names)} ready; building " + ", ".join(
            sorted(set(pending.values()))[:3]) + (" …" if len(set(pending.values())) > 3 else "")
        done, _ = ray.wait(list(pending), num_returns=1, timeout=1.0)
        for ref in done:
            get(ref, f"preparing {names[ref]}")
            pending.pop(ref)


@ray.remote
def _prepare_dataset(source: str, dataset_filter: dict, store_root: str) -> str:
    return prepare_dataset(source, dataset_filter, store_root)


def prepare_dataset(source: str, dataset_filter: dict, store_root: str) -> str:
    """The parsed, filtered dataset of ``source`` in the store (built once); its store-wide name."""
    key = {"source_digest": file_digest(Path(source)), **({"filter": dataset_filter} if dataset_filter else {})}
    store = ArtifactStore(store_root)

    def build(out: Path) -> None:
        parsed = Dataset.from_file(Path(source))
        if len(parsed) == 0:
            raise UserError(f"dataset {source}: none of its {parsed.skipped} CIFs parses as a crystal")
        dataset = parsed.filter(**dataset_filter)
        if len(dataset) == 0:
            raise UserError(f"dataset_filter {dataset_filter} leaves no crystals of {source} "
                            f"(of its {len(parsed)} parsable ones)")
        dataset.save(out / "dataset.parquet")

    path = store.get_or_build("dataset", key, build)
    return store.where(path / "dataset.parquet")


@ray.remote
def _prepare_task(
    name: str, params: dict, problems: tuple[str, ...] | None, store_root: str, dataset_path: str, plugins: list[str]
) -> str:
    registry.load(plugins)
    task = registry.get_task(name)(**params)
    store = ArtifactStore(store_root)
    return store.where(task.prepare(store, Dataset.load(local_artifact(dataset_path)), problems))


@ray.remote
def _prepare_method(
    name: str, params: dict, task: str, task_params: dict, store_root: str, dataset_path: str, plugins: list[str]
) -> str | None:
    registry.load(plugins)
    store = ArtifactStore(store_root)
    view = TaskView.of(registry.get_task(task)(**task_params), task_params)
    path = registry.get_method(name).prepare(store, Dataset.load(local_artifact(dataset_path)), params, view)
    return store.where(path) if path else None
