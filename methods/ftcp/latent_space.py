"""The FTCP-VAE latent space: a trained model with the scalers that map it to and from crystals.

Saved as ``model.pt`` (tensors only: the state dict and the scalers; loaded
with ``weights_only=True``) and ``config.json`` (the ``TrainingConfig``), inside
the artifact built by ``methods.ftcp.artifact``. Trials ``load`` it and use
``encode``/``decode`` in batches.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np
import torch
from pymatgen.core import Structure

from crystalbench.methods.ftcp.representation import Layout, decode, encode
from crystalbench.methods.ftcp.training import MinMax, TrainingConfig
from crystalbench.methods.ftcp.vae import FTCPVAE

MODEL_FILE = "model.pt"
CONFIG_FILE = "config.json"
SEARCH_BOUND = 3.0
"""The latent search box [-3, 3]^d shared with the LSBO methods (Crystal-LSBO §4.2.1, §5.2)."""


class LatentSpace:
    """A trained FTCP-VAE with the scalers that map its [0, 1] outputs back to FTCP matrices."""

    def __init__(self, model: FTCPVAE, layout: Layout, x_scaler: MinMax, y_scaler: MinMax):
        self.model = model.eval()
        self.layout = layout
        self.x_scaler = x_scaler
        self.y_scaler = y_scaler

    @property
    def dim(self) -> int:
        return self.model.latent_dim

    @torch.no_grad()
    def encode_matrices(self, matrices: np.ndarray) -> np.ndarray:
        """Latent means of unscaled FTCP matrices (n, R, C) -> (n, dim)."""
        x = torch.as_tensor(self.x_scaler.scale(matrices), dtype=torch.float32)
        return self.model.encode(x)[0].double().numpy()

    def encode(self, structures: list[Structure]) -> np.ndarray:
        """Latent means of crystals that fit the layout, shape (n, dim)."""
        return self.encode_matrices(np.stack([encode(s, self.layout) for s in structures]))

    @torch.no_grad()
    def decode_matrices(self, z: np.ndarray) -> np.ndarray:
        """Unscaled FTCP matrices (n, R, C) decoded from latents z (n, dim)."""
        x = self.model.decode(torch.as_tensor(z, dtype=torch.float32)).double().numpy()
        return self.x_scaler.unscale(x)

    def decode(self, z: np.ndarray) -> list[Structure | None]:
        """Crystals decoded from latents z (n, dim); None where the decode is not a valid crystal."""
        return [decode(m, self.layout) for m in self.decode_matrices(z)]

    @torch.no_grad()
    def predict_properties(self, mu: np.ndarray) -> np.ndarray:
        """The property branch on latent means (n, dim) -> (n, 2) in physical units (eV/atom, eV)."""
        y = self.model.predict_properties(torch.as_tensor(mu, dtype=torch.float32)).double().numpy()
        return self.y_scaler.unscale(y)

    def save(self, directory: Path, config: TrainingConfig) -> None:
        tensors = {"model": self.model.state_dict(), "x_lo": torch.from_numpy(self.x_scaler.lo),
                   "x_hi": torch.from_numpy(self.x_scaler.hi), "y_lo": torch.from_numpy(self.y_scaler.lo),
                   "y_hi": torch.from_numpy(self.y_scaler.hi)}
        torch.save(tensors, directory / MODEL_FILE)
        (directory / CONFIG_FILE).write_text(json.dumps(dataclasses.asdict(config), indent=2, sort_keys=True))

    @classmethod
    def load(cls, directory: Path) -> "LatentSpace":
        config = TrainingConfig(**json.loads((Path(directory) / CONFIG_FILE).read_text()))
        tensors = torch.load(Path(directory) / MODEL_FILE, weights_only=True)
        layout = config.layout
        model = FTCPVAE(layout.n_rows, layout.n_channels, config.latent_dim, len(tensors["y_lo"]))
        model.load_state_dict(tensors["model"])
        return cls(model, layout, MinMax(tensors["x_lo"].numpy(), tensors["x_hi"].numpy()),
                   MinMax(tensors["y_lo"].numpy(), tensors["y_hi"].numpy()))

