"""The trained-surrogate artifact of lcom and sl: one per (latent space, labels, training settings, loss).

``prepare_surrogate`` finds (or trains) the latent space first — the CD-VAE where
the task fixes each problem's composition (csp26), else the Crystal-LSBO stack (the
very artifact crystal_lsbo and random_search use with the same ``stack`` settings)
— then trains Ê on the task's labelled set in that space (``training_set``) and saves:

* ``surrogate.pt`` / ``surrogate.json``: the model (``surrogate.Surrogate``);
* ``latent.json``: which latent space (kind and directory) the surrogate lives in;
* ``quality.json``: held-out MSE (task units²), the over-estimation gap on held-out
  latents after ``QUALITY_STEPS`` descent steps, final α, train seconds;
* ``metrics.json``: per-epoch training MSE, gap and α.

Key: the task, the latent artifact's name (a content digest), the labelled set's
source (a content digest of the configured task's labels, so non-default task
parameters train their own surrogate), the training settings, the loss
("supervised" or "conservative" with its settings) and ``ARTIFACT_VERSION``.
Optimisation settings (T, step size, restarts) do not key it. Trials never retrain.
"""

from __future__ import annotations

import json
import math
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Literal

import numpy as np
import torch

from crystalbench.api import ArtifactStore, Dataset, TaskView, UserError, capabilities
from crystalbench.api.params import Settings
from crystalbench.methods.cdvae import prepare_cdvae
from crystalbench.methods.cdvae.config import CdvaeConfig
from crystalbench.methods.crystal_lsbo.latent_space import StackConfig, prepare_stack
from crystalbench.methods.lcom.cdvae_codec import CdvaeCodec
from crystalbench.methods.lcom.codec import LatentCodec
from crystalbench.methods.lcom.combined_codec import CombinedVAECodec
from crystalbench.methods.lcom.surrogate import Surrogate, energy_sign
from crystalbench.methods.lcom.training import Conservatism, over_estimation_gap, train_surrogate
from crystalbench.methods.lcom.training_set import TrainingSet, training_set

ARTIFACT_KIND = "lcom_surrogate"
ARTIFACT_VERSION = 2
"""Bump when the surrogate, its training or its training set change: it keys the artifacts."""
LATENT_FILE = "latent.json"
QUALITY_FILE = "quality.json"
METRICS_FILE = "metrics.json"
QUALITY_STEPS = 50
QUALITY_STEP_SIZE = 0.05
"""The descent used for the held-out over-estimation gap: fixed, so lcom and sl artifacts compare."""

LatentKind = Literal["combined_vae", "cdvae"]


@dataclass(frozen=True)
class SurrogateConfig(Settings):
    """Training settings of Ê (LCOM App. C: 2 × 2048 hidden, lr 3e-5, batch 128, 50 epochs)."""

    where = "surrogate"

    hidden: int = 2048
    lr: float = 3e-5
    batch_size: int = 128
    epochs: int = 50
    holdout_fraction: float = 0.1
    train_seed: int = 0

    def check(self) -> None:
        for name in ("hidden", "batch_size", "epochs"):
            if getattr(self, name) < 1:
                raise UserError(f"surrogate.{name} must be >= 1, got {getattr(self, name)}")
        if not (math.isfinite(self.lr) and self.lr > 0):
            raise UserError(f"surrogate.lr must be a positive number, got {self.lr}")
        if not 0 <= self.holdout_fraction < 1:
            raise UserError(f"surrogate.holdout_fraction must be in [0, 1), got {self.holdout_fraction}")


@dataclass(frozen=True)
class LatentSource:
    """A prepared latent space: its kind and artifact directory."""

    kind: LatentKind
    directory: Path

    def codec(self) -> LatentCodec:
        if self.kind == "cdvae":
            return CdvaeCodec.load(self.directory)
        return CombinedVAECodec.load(self.directory)


def prepare_surrogate(store: ArtifactStore, dataset: Dataset, task: TaskView, stack: dict, cdvae: dict,
                      config: SurrogateConfig, conservatism: Conservatism | None) -> Path:
    """The surrogate's artifact directory for ``task`` (built once per key; see the module docstring)."""
    if capabilities.FIXED_COMPOSITION in task.offers:
        latent = LatentSource("cdvae", prepare_cdvae(store, dataset, task, cdvae))
        labelled = task.labelled_set(store, dataset, CdvaeConfig.from_params(cdvae).resolved(task).compounds)
    else:
        latent = LatentSource("combined_vae", prepare_stack(store, dataset, StackConfig.from_params(stack)))
        labelled = task.labelled_set(store, dataset)
    key = {
        "version": ARTIFACT_VERSION,
        "task": task.name,
        "latent": {"kind": latent.kind, "artifact": latent.directory.name},
        "labels": labelled.source,
        "surrogate": asdict(config),
        "loss": asdict(conservatism) | {"kind": "conservative"} if conservatism else {"kind": "supervised"},
    }

    def build(out: Path) -> None:
        _build(out, latent, training_set(labelled, latent.codec()), config, conservatism)

    return store.get_or_build(ARTIFACT_KIND, key, build)


def holdout_split(n: int, config: SurrogateConfig) -> tuple[np.ndarray, np.ndarray]:
    """Seeded (train, held-out) rows of ``n`` training crystals."""
    order = np.random.default_rng(config.train_seed).permutation(n)
    n_held = round(config.holdout_fraction * n)
    return np.sort(order[n_held:]), np.sort(order[:n_held])


def _build(out: Path, latent: LatentSource, data: TrainingSet, config: SurrogateConfig,
           conservatism: Conservatism | None) -> None:
    if len(data.values) < 2:
        raise UserError(f"the surrogate needs at least 2 labelled crystals, the training set has {len(data.values)}")
    train, held = holdout_split(len(data.values), config)
    z_train = data.z[train]
    energy_train = energy_sign(data.direction) * data.values[train]
    surrogate = Surrogate.seeded(
        config.train_seed, latent_dim=data.z.shape[1], condition_dim=data.c.shape[1], hidden=config.hidden,
        direction=data.direction, z_mean=z_train.mean(0), z_std=z_train.std(0).clamp_min(1e-6),
        y_mean=float(energy_train.mean()), y_std=float(energy_train.std().clamp_min(1e-6)))
    u = surrogate.standardise(data.z)
    target = surrogate.standardise_values(data.values)
    start = time.perf_counter()
    log = train_surrogate(surrogate, u[train], data.c[train], target[train], config.epochs, config.batch_size,
                          config.lr, torch.Generator().manual_seed(config.train_seed), conservatism)
    train_seconds = time.perf_counter() - start
    surrogate.save(out)
    (out / LATENT_FILE).write_text(json.dumps(asdict(latent) | {"directory": str(latent.directory),
                                                                "labels": data.source}, indent=1))
    quality = {"train_seconds": train_seconds, "n_train": len(train), "n_heldout": len(held),
               "final_train_mse_standardised": log.mse[-1]}
    if len(held):
        with torch.no_grad():
            predicted = surrogate.value(surrogate(u[held], data.c[held]))
        quality["heldout_mse"] = float((predicted - data.values[held]).pow(2).mean())
        quality["heldout_gap_standardised"] = over_estimation_gap(surrogate, u[held], data.c[held], QUALITY_STEPS,
                                                                  QUALITY_STEP_SIZE)
    if conservatism is not None:
        quality["final_alpha"] = log.alpha[-1]
        quality["final_train_gap_standardised"] = log.gap[-1]
    (out / QUALITY_FILE).write_text(json.dumps(quality, indent=1))
    (out / METRICS_FILE).write_text(json.dumps(asdict(log), indent=1))


def load_latent(artifact_dir: Path) -> LatentSource:
    meta = json.loads((Path(artifact_dir) / LATENT_FILE).read_text())
    return LatentSource(meta["kind"], Path(meta["directory"]))
