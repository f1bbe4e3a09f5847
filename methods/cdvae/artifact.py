"""The CD-VAE ``prepare`` artifact: trained once per (the task's labelled set, hyperparameters, code version).

``prepare_cdvae`` asks the task (a ``TaskView``; csp26 offers its training data)
for the labelled crystals of the configured compounds, holds out a deterministic
share of them, trains on the rest, and
measures on the held-out structures (``quality.json``): the reconstruction
match rate (``StructureMatcher`` with default tolerances, decode(encode(x))
with x's own species against x) and the valid-decode rate (pymatgen-valid, no
two atoms closer than 0.5 Å). ``metrics.json`` holds the training time. The
key names the labelled set's source (csp26: the training-data index artifact,
itself a content hash of every compound's set and of the energy model), so a
rebuilt set retrains the model.

    python -m crystalbench.methods.cdvae.artifact --task csp26 [--task-params JSON] [--artifacts DIR] [--params JSON]
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

import numpy as np
import torch
from pymatgen.analysis.structure_matcher import StructureMatcher
from pymatgen.core import Structure

from crystalbench.api import ArtifactStore, Dataset, LabelledCrystals, TaskView, default_artifact_root, registry
from crystalbench.methods.cdvae.config import CdvaeConfig
from crystalbench.methods.cdvae.model import CdvaeModel, default_device
from crystalbench.methods.cdvae.training import split, train

ARTIFACT_KIND = "cdvae"
ARTIFACT_VERSION = 2
"""Bump when the model or training code changes: it keys the artifacts."""
QUALITY_FILE = "quality.json"
METRICS_FILE = "metrics.json"


def prepare_cdvae(store: ArtifactStore, dataset: Dataset, task: TaskView, params: dict) -> Path:
    """Train (once per content key: labelled set + hyperparameters + code version) and return the artifact dir.

    ``params``: ``CdvaeConfig`` fields (a bad one is a one-line ``UserError``).
    """
    config = CdvaeConfig.from_params(params).resolved(task)
    labelled = task.labelled_set(store, dataset, config.compounds)
    key = {"kind": ARTIFACT_KIND, "version": ARTIFACT_VERSION, "training_data": labelled.source, "config": config.key()}
    return store.get_or_build(ARTIFACT_KIND, key, lambda out: build(out, labelled.load(), config))


def build(out: Path, crystals: LabelledCrystals, config: CdvaeConfig) -> None:
    """Split, train, measure; write the model, ``quality.json`` and ``metrics.json`` into ``out``."""
    ids, structures = crystals.ids, crystals.structures
    train_pos, test_pos = split(ids, config.test_fraction)
    model, history = train([structures[p] for p in train_pos], config)
    model.save(out)
    start = time.perf_counter()
    quality = measure(model, [structures[p] for p in test_pos], torch.Generator().manual_seed(config.seed))
    quality["measure_seconds"] = time.perf_counter() - start
    (out / QUALITY_FILE).write_text(json.dumps(quality, indent=2, sort_keys=True))
    metrics = {
        "train_seconds": history["train_seconds"],
        "train_cpu_seconds": history["train_cpu_seconds"],
        "final_loss": history["epoch_loss"][-1],
        "n_train": len(train_pos),
        "n_test": len(test_pos),
        "device": str(default_device()),
        "torch_threads": torch.get_num_threads(),
    }
    (out / METRICS_FILE).write_text(json.dumps(metrics, indent=2, sort_keys=True))


def measure(model: CdvaeModel, structures: list[Structure], generator: torch.Generator) -> dict:
    """Reconstruction match rate, valid-decode rate and match RMS of decode(encode(x)) over ``structures``."""
    if not structures:
        return {"n_held_out": 0}
    decoded = model.decode(model.encode(structures), [[s.specie.symbol for s in x] for x in structures], generator)
    matcher = StructureMatcher()
    rms = [matcher.get_rms_dist(d, x) if d is not None else None for d, x in zip(decoded, structures, strict=True)]
    matched = [r[0] for r in rms if r is not None]
    return {
        "n_held_out": len(structures),
        "reconstruction_match_rate": len(matched) / len(structures),
        "valid_decode_rate": sum(d is not None for d in decoded) / len(structures),
        "match_rms_mean": float(np.mean(matched)) if matched else None,
    }


def main(argv: list[str] | None = None) -> None:
    """Train the CD-VAE on a task's labelled set (or find it) and print its quality and training time."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--task", required=True, help="a task offering a labelled training set, e.g. csp26")
    parser.add_argument("--task-params", default="{}", help="the task's parameters as JSON")
    parser.add_argument("--artifacts", type=Path, default=None, help="artifact store (default: the user cache)")
    parser.add_argument("--params", default="{}", help="CdvaeConfig overrides as JSON, e.g. '{\"epochs\": 50}'")
    args = parser.parse_args(argv)
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    torch.set_num_threads(1)
    task_params = json.loads(args.task_params)
    task = TaskView.of(registry.get_task(args.task)(**task_params), task_params)
    store = ArtifactStore(args.artifacts or default_artifact_root())
    directory = prepare_cdvae(store, Dataset.from_file(), task, json.loads(args.params))
    print(directory)
    for name in (QUALITY_FILE, METRICS_FILE):
        print(name, (directory / name).read_text())


if __name__ == "__main__":
    main()
