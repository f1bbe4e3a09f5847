"""The CD-VAE ``prepare`` artifact: trained once per (csp26 training data, hyperparameters, code version).

``prepare_cdvae`` builds (or finds) the csp26 training data of the configured
compounds, holds out a deterministic share of it, trains on the rest, and
measures on the held-out structures (``quality.json``): the reconstruction
match rate (``StructureMatcher`` with default tolerances, decode(encode(x))
with x's own species against x) and the valid-decode rate (pymatgen-valid, no
two atoms closer than 0.5 Å). ``metrics.json`` holds the training time. The
key names the training-data index artifact, whose path is itself a content
hash of every compound's set, so a rebuilt set retrains the model.

    python -m crystalbench.methods.cdvae.artifact [--artifacts DIR] [--params JSON]
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

from crystalbench.api import ArtifactStore, default_artifact_root
from crystalbench.methods.cdvae.config import CdvaeConfig
from crystalbench.methods.cdvae.model import CdvaeModel, default_device
from crystalbench.methods.cdvae.training import split, train
from crystalbench.tasks.csp.training_data import load_training_data, prepare_training_data

ARTIFACT_KIND = "cdvae"
ARTIFACT_VERSION = 2
"""Bump when the model or training code changes: it keys the artifacts."""
QUALITY_FILE = "quality.json"
METRICS_FILE = "metrics.json"


def prepare_cdvae(store: ArtifactStore, params: dict) -> Path:
    """Train (once per content key: training data index + hyperparameters + code version) and return the artifact dir.

    ``params``: ``CdvaeConfig`` fields (a bad one is a one-line ``UserError``).
    """
    config = CdvaeConfig.from_params(params)
    index = prepare_training_data(store, config.energy_model, config.compounds)
    key = {"kind": ARTIFACT_KIND, "version": ARTIFACT_VERSION, "training_data": index.name, "config": config.key()}
    return store.get_or_build(ARTIFACT_KIND, key, lambda out: build(out, index, config))


def training_structures(index: Path, compounds: tuple[str, ...]) -> tuple[list[str], list[Structure]]:
    """(material ids, structures) of the csp26 training data of ``compounds``."""
    ids, structures = [], []
    for compound in compounds:
        data = load_training_data(index, compound)
        ids.extend(data.table["material_id"].to_list())
        structures.extend(data.structure(i) for i in range(len(data)))
    return ids, structures


def build(out: Path, index: Path, config: CdvaeConfig) -> None:
    """Split, train, measure; write the model, ``quality.json`` and ``metrics.json`` into ``out``."""
    ids, structures = training_structures(index, config.compounds)
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
    """Train the default CD-VAE on the csp26 training data (or find it) and print its quality and training time."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--artifacts", type=Path, default=None, help="artifact store (default: the user cache)")
    parser.add_argument("--params", default="{}", help="CdvaeConfig overrides as JSON, e.g. '{\"epochs\": 50}'")
    args = parser.parse_args(argv)
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    torch.set_num_threads(1)
    directory = prepare_cdvae(ArtifactStore(args.artifacts or default_artifact_root()), json.loads(args.params))
    print(directory)
    for name in (QUALITY_FILE, METRICS_FILE):
        print(name, (directory / name).read_text())


if __name__ == "__main__":
    main()
