"""The trained Crystal-LSBO stack: four VAEs, their normalisation, batched encode and decode (Fig. 3).

Crystal -> P1 arrays -> part encoders (means) -> standardised part latents
(B, 35) -> Combined-VAE encoder -> material latent z (B, 20); decoding runs the
chain backwards. ``prepare_stack`` trains the stack once per content hash in two
artifacts: the part VAEs (keyed by dataset and part settings) and the Combined-VAE
on top (keyed by the parts artifact and combined settings), so sweeps over
Combined-VAE settings (``configs/model_selection.yaml``) train the part VAEs once.
"""

from __future__ import annotations

import json
import shutil
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch
from pymatgen.core import Structure
from torch import Tensor

from crystalbench.api import ArtifactStore, Dataset
from crystalbench.api.params import Settings
from crystalbench.methods.crystal_lsbo.representation import N_CLASSES, P1Arrays, decode_arrays, encode_structures
from crystalbench.methods.crystal_lsbo.training import Consistency, seeded, train_vae
from crystalbench.methods.crystal_lsbo.vaes import VAE, CombinedVAE, CoordinateVAE, ElementVAE, LatticeVAE

PARTS = ("lattice", "coordinate", "element")
STACK_VERSION = 1
"""Part of every artifact key: bump it when the models, training or representation change."""
PROPERTY_COLUMNS = ("formation_energy_per_atom", "band_gap")


@dataclass(frozen=True)
class StackConfig(Settings):
    """Every setting that changes the trained stack (and so its artifact key)."""

    where = "stack"

    max_sites: int = 40
    lattice_dim: int = 3
    coordinate_dim: int = 16
    element_dim: int = 16
    part_beta: float = 0.01
    part_w: float = 1.0
    latent_dim: int = 20
    beta: float = 0.01
    w: float = 5.0
    part_epochs: int = 30
    combined_epochs: int = 100
    batch_size: int = 64
    lr: float = 1e-3
    holdout_fraction: float = 0.1
    train_seed: int = 0
    quality_samples: int = 1000

    def part_key(self) -> dict:
        return {k: v for k, v in asdict(self).items()
                if k not in ("latent_dim", "beta", "w", "combined_epochs", "quality_samples")}

    @property
    def part_dims(self) -> dict[str, int]:
        return {"lattice": self.lattice_dim, "coordinate": self.coordinate_dim, "element": self.element_dim}


def build_parts(config: StackConfig) -> dict[str, VAE]:
    """Untrained part VAEs (weights drawn from ``config.train_seed``)."""
    kw = {"beta": config.part_beta, "w": config.part_w}
    builders = {
        "lattice": lambda: LatticeVAE(config.lattice_dim, **kw),
        "coordinate": lambda: CoordinateVAE(config.max_sites, config.coordinate_dim, **kw),
        "element": lambda: ElementVAE(config.max_sites, N_CLASSES, config.element_dim, **kw),
    }
    return {name: seeded(config.train_seed + i, builders[name]) for i, name in enumerate(PARTS)}


def build_combined(config: StackConfig) -> CombinedVAE:
    part_dim = sum(config.part_dims.values())
    return seeded(config.train_seed + len(PARTS), lambda: CombinedVAE(part_dim, config.latent_dim, config.beta, config.w))


class LatentSpace:
    """A trained stack with its normalisation statistics. Models are in eval mode except while retraining."""

    def __init__(self, config: StackConfig, parts: dict[str, VAE], combined: CombinedVAE, stats: dict[str, list]):
        self.config = config
        self.parts = parts
        self.combined = combined
        self.stats = {k: torch.tensor(v, dtype=torch.float32) for k, v in stats.items()}
        """lattice_mean/std (6,), y_mean/y_std (N_PROPERTIES,), part_mean/part_std (part_dim,)."""

    # -- inputs -------------------------------------------------------------------------------
    def part_inputs(self, arrays: P1Arrays) -> dict[str, Tensor]:
        """Model inputs of each part VAE: lattice (N, 6) standardised, coords (N, S, 3), elements (N, S, C)."""
        return {
            "lattice": (torch.as_tensor(arrays.lattice, dtype=torch.float32) - self.stats["lattice_mean"])
            / self.stats["lattice_std"],
            "coordinate": torch.as_tensor(arrays.coords, dtype=torch.float32),
            "element": torch.as_tensor(arrays.elements, dtype=torch.float32),
        }

    def standardise_y(self, y: np.ndarray) -> tuple[Tensor, Tensor]:
        """Labels (N, N_PROPERTIES) with NaN for unknown -> (standardised, zero-filled (N, P); labelled (N,))."""
        y = torch.as_tensor(y, dtype=torch.float32)
        labelled = torch.isfinite(y).all(-1)
        return torch.nan_to_num((y - self.stats["y_mean"]) / self.stats["y_std"]), labelled

    # -- encode -------------------------------------------------------------------------------
    @torch.no_grad()
    def encode_parts(self, arrays: P1Arrays) -> Tensor:
        """Standardised concatenated part-latent means, (N, part_dim)."""
        inputs = self.part_inputs(arrays)
        h = torch.cat([self.parts[p].encode(inputs[p])[0] for p in PARTS], dim=-1)
        return (h - self.stats["part_mean"]) / self.stats["part_std"]

    @torch.no_grad()
    def encode(self, arrays: P1Arrays) -> Tensor:
        """Material latents (Combined-VAE means), (N, latent_dim)."""
        return self.combined.encode(self.encode_parts(arrays))[0]

    def encode_structures(self, structures: list[Structure]) -> Tensor:
        return self.encode(encode_structures(structures, self.config.max_sites))

    # -- decode -------------------------------------------------------------------------------
    @torch.no_grad()
    def split_parts(self, h: Tensor) -> dict[str, Tensor]:
        """Standardised part latents (N, part_dim) -> raw part latents, one (N, d_part) per part."""
        raw = h * self.stats["part_std"] + self.stats["part_mean"]
        return dict(zip(PARTS, raw.split(list(self.config.part_dims.values()), dim=-1)))

    @torch.no_grad()
    def decode_arrays(self, z: Tensor) -> P1Arrays:
        """Material latents (N, latent_dim) -> P1 arrays (element entries are class probabilities)."""
        parts = self.split_parts(self.combined.decode(z))
        lattice = self.parts["lattice"].decode(parts["lattice"]) * self.stats["lattice_std"] + self.stats["lattice_mean"]
        coords = torch.sigmoid(self.parts["coordinate"].decode(parts["coordinate"]))
        elements = torch.softmax(self.parts["element"].decode(parts["element"]), dim=-1)
        return P1Arrays(lattice.double().numpy(), coords.double().numpy(), elements.double().numpy())

    def decode(self, z: Tensor) -> list[Structure | None]:
        """Material latents (N, latent_dim) -> crystals; None where the decode is not a valid crystal."""
        return decode_arrays(self.decode_arrays(z))

    # -- persistence --------------------------------------------------------------------------
    def save(self, directory: Path) -> None:
        """State dicts (torch.save of tensors only) plus ``stack.json`` (config and statistics)."""
        torch.save({p: self.parts[p].state_dict() for p in PARTS}, directory / "parts.pt")
        torch.save(self.combined.state_dict(), directory / "combined.pt")
        stats = {k: v.tolist() for k, v in self.stats.items()}
        (directory / "stack.json").write_text(json.dumps({"config": asdict(self.config), "stats": stats}, indent=1))

    @classmethod
    def load(cls, directory: Path) -> "LatentSpace":
        """A fresh, independent copy of a saved stack (weights loaded with ``weights_only=True``)."""
        meta = json.loads((directory / "stack.json").read_text())
        config = StackConfig(**meta["config"])
        parts, combined = build_parts(config), build_combined(config)
        for p, state in torch.load(directory / "parts.pt", weights_only=True).items():
            parts[p].load_state_dict(state)
        combined.load_state_dict(torch.load(directory / "combined.pt", weights_only=True))
        for model in (*parts.values(), combined):
            model.eval()
        return cls(config, parts, combined, meta["stats"])

    # -- training -----------------------------------------------------------------------------
    def train_parts(self, arrays: P1Arrays, y: np.ndarray, epochs: int, generator: torch.Generator,
                    consistency: dict[str, Consistency] | None = None) -> dict[str, list[float]]:
        """Train (or retrain, with LCA ``consistency`` per part) the three part VAEs; loss per epoch."""
        inputs = self.part_inputs(arrays)
        y_std, labelled = self.standardise_y(y)
        c = self.config
        return {p: train_vae(self.parts[p], inputs[p], y_std, labelled, epochs, c.batch_size, c.lr, generator,
                             (consistency or {}).get(p))
                for p in PARTS}

    def train_combined(self, arrays: P1Arrays, y: np.ndarray, epochs: int, generator: torch.Generator) -> list[float]:
        """Re-derive the part-latent statistics from ``arrays`` and train the Combined-VAE on them."""
        inputs = self.part_inputs(arrays)
        with torch.no_grad():
            h = torch.cat([self.parts[p].encode(inputs[p])[0] for p in PARTS], dim=-1)
        self.stats["part_mean"], self.stats["part_std"] = h.mean(0), h.std(0).clamp_min(1e-6)
        y_std, labelled = self.standardise_y(y)
        h = (h - self.stats["part_mean"]) / self.stats["part_std"]
        c = self.config
        return train_vae(self.combined, h, y_std, labelled, epochs, c.batch_size, c.lr, generator)


def dataset_arrays(dataset: Dataset, max_sites: int) -> tuple[P1Arrays, np.ndarray, np.ndarray]:
    """P1 arrays (N, ...), labels (N, N_PROPERTIES) and dataset rows (N,) of the crystals with <= max_sites sites."""
    rows = np.flatnonzero(dataset.table["n_sites"].to_numpy() <= max_sites)
    arrays = encode_structures(dataset.structures(rows), max_sites)
    y = np.stack([dataset.labels(c)[rows] for c in PROPERTY_COLUMNS], axis=1)
    return arrays, y, rows


def holdout_split(n: int, config: StackConfig) -> tuple[np.ndarray, np.ndarray]:
    """Seeded (train, held-out) positions of ``n`` crystals."""
    order = np.random.default_rng(config.train_seed).permutation(n)
    n_held = int(round(config.holdout_fraction * n))
    return np.sort(order[n_held:]), np.sort(order[:n_held])


def subset(arrays: P1Arrays, idx: np.ndarray) -> P1Arrays:
    return P1Arrays(arrays.lattice[idx], arrays.coords[idx], arrays.elements[idx])


def prepare_stack(store: ArtifactStore, dataset: Dataset, config: StackConfig) -> Path:
    """The trained stack's artifact directory: parts built once per part key, the combined model on top."""
    parts_dir = store.get_or_build(
        "crystal_lsbo_parts", {"stack_version": STACK_VERSION, "dataset": dataset.digest, **config.part_key()},
        lambda tmp: _build_parts(tmp, dataset, config))
    key = {"parts": parts_dir.name, "latent_dim": config.latent_dim, "beta": config.beta, "w": config.w,
           "combined_epochs": config.combined_epochs, "quality_samples": config.quality_samples}
    return store.get_or_build("crystal_lsbo_stack", key, lambda tmp: _build_stack(tmp, parts_dir, dataset, config))


def save_training_data(directory: Path, arrays: P1Arrays, y: np.ndarray) -> None:
    """The dataset's P1 arrays (element classes as ints) and labels, for LCA retraining without CIF parsing."""
    np.savez(directory / "training_data.npz", lattice=arrays.lattice, coords=arrays.coords,
             classes=arrays.elements.argmax(-1), y=y)


def load_training_data(directory: Path) -> tuple[P1Arrays, np.ndarray]:
    """What ``save_training_data`` wrote: P1 arrays (N, ...) and labels (N, N_PROPERTIES)."""
    with np.load(directory / "training_data.npz", allow_pickle=False) as data:
        elements = np.eye(N_CLASSES)[data["classes"]]
        return P1Arrays(data["lattice"], data["coords"], elements), data["y"]


def _build_parts(directory: Path, dataset: Dataset, config: StackConfig) -> None:
    start = time.perf_counter()
    arrays, y, _ = dataset_arrays(dataset, config.max_sites)
    train, _ = holdout_split(len(arrays), config)
    train_arrays = subset(arrays, train)
    lattice = torch.as_tensor(train_arrays.lattice, dtype=torch.float32)
    y_train = torch.as_tensor(y[train], dtype=torch.float32)
    stats = {"lattice_mean": lattice.mean(0).tolist(), "lattice_std": lattice.std(0).clamp_min(1e-6).tolist(),
             "y_mean": y_train.nanmean(0).tolist(),
             "y_std": torch.nan_to_num(y_train - y_train.nanmean(0)).pow(2).mean(0).sqrt().clamp_min(1e-6).tolist(),
             "part_mean": [], "part_std": []}
    space = LatentSpace(config, build_parts(config), build_combined(config), stats)
    losses = space.train_parts(train_arrays, y[train], config.part_epochs,
                               torch.Generator().manual_seed(config.train_seed))
    torch.save({p: space.parts[p].state_dict() for p in PARTS}, directory / "parts.pt")
    meta = {"config": asdict(config), "stats": stats, "final_loss": {p: v[-1] for p, v in losses.items()},
            "train_seconds": time.perf_counter() - start, "n_train": len(train)}
    (directory / "parts.json").write_text(json.dumps(meta, indent=1))


def _build_stack(directory: Path, parts_dir: Path, dataset: Dataset, config: StackConfig) -> None:
    from crystalbench.methods.crystal_lsbo.quality import latent_quality

    start = time.perf_counter()
    parts_meta = json.loads((parts_dir / "parts.json").read_text())
    space = LatentSpace(config, build_parts(config), build_combined(config), parts_meta["stats"])
    for p, state in torch.load(parts_dir / "parts.pt", weights_only=True).items():
        space.parts[p].load_state_dict(state)
        space.parts[p].eval()
    shutil.copy(parts_dir / "parts.pt", directory / "parts.pt")
    arrays, y, _ = dataset_arrays(dataset, config.max_sites)
    train, held = holdout_split(len(arrays), config)
    losses = space.train_combined(subset(arrays, train), y[train], config.combined_epochs,
                                  torch.Generator().manual_seed(config.train_seed + 1))
    combined_seconds = time.perf_counter() - start
    space.save(directory)
    save_training_data(directory, arrays, y)
    quality = latent_quality(space, subset(arrays, held), y[held], np.random.default_rng(config.train_seed))
    quality |= {"train_seconds_parts": parts_meta["train_seconds"], "train_seconds_combined": combined_seconds,
                "final_loss_combined": losses[-1], "n_train": len(train), "n_heldout": len(held)}
    (directory / "quality.json").write_text(json.dumps(quality, indent=1))
