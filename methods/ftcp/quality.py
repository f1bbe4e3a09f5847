"""Latent-space quality of an FTCP-VAE: how often latents decode to crystals, and how well it reconstructs.

Reported like the Crystal-LSBO stack (its §3.5 measured the FTCP-VAE at 49 %):

- ``prior_valid_rate`` / ``prior_both_valid_rate``: of ``quality_samples``
  latents z ~ N(0, I), the fraction that decode to a valid crystal
  (``harness.crystal.is_valid``), and to one both structurally and compositionally valid (``harness.crystal``).
- ``box_valid_rate``: the same for z uniform in the search box [-3, 3]^d, what
  ``ftcp_random`` proposes.
- Held-out reconstruction from the latent mean, with the reference code's
  error measures: lattice lengths and angles MAPE (%), fractional coordinate
  MAE over the true sites, element accuracy over the used element columns,
  site-count accuracy (occupancy threshold 0.05), the fraction decoding to a
  valid crystal, and the property branch's MAE in physical units.
"""

from __future__ import annotations

import numpy as np

from crystalbench.api import is_compositionally_valid, is_structurally_plausible
from crystalbench.methods.ftcp.elements import MAX_Z
from crystalbench.methods.ftcp.latent_space import SEARCH_BOUND, LatentSpace
from crystalbench.methods.ftcp.representation import OCCUPANCY_THRESHOLD, decode
from crystalbench.methods.ftcp.training import PROPERTIES, TrainingConfig


def valid_rates(space: LatentSpace, z: np.ndarray) -> tuple[float, float]:
    """Fractions of latents z (n, dim) decoding to valid crystals, and to structurally and compositionally valid ones."""
    crystals = space.decode(z)
    valid = [c for c in crystals if c is not None]
    both = sum(is_structurally_plausible(c) and is_compositionally_valid(c) for c in valid)
    return len(valid) / len(z), both / len(z)


def reconstruction(space: LatentSpace, matrices: np.ndarray, labels: np.ndarray) -> dict[str, float]:
    """Reconstruction errors of held-out FTCP matrices (n, R, C) with their labels (n, 2)."""
    layout = space.layout
    mu = space.encode_matrices(matrices)
    recon = space.decode_matrices(mu)
    occupancy = matrices[:, layout.occupancy_rows, : layout.width]
    n_sites = (occupancy.max(axis=2) > 0.5).sum(axis=1)
    recon_sites = (recon[:, layout.occupancy_rows, : layout.width].max(axis=2) >= OCCUPANCY_THRESHOLD).sum(axis=1)
    true_site = np.arange(layout.max_sites)[None, :] < n_sites[:, None]  # (n, S)
    coords = matrices[:, layout.coords_rows, :3][true_site]
    recon_coords = recon[:, layout.coords_rows, :3][true_site]
    used_column = matrices[:, :MAX_Z, : layout.width].max(axis=1) > 0.5  # (n, E)
    elements = matrices[:, :MAX_Z, : layout.width].argmax(axis=1)[used_column]
    recon_elements = recon[:, :MAX_Z, : layout.width].argmax(axis=1)[used_column]
    rows = (layout.lengths_row, layout.angles_row)
    lengths, angles = (matrices[:, r, :3] for r in rows)
    recon_lengths, recon_angles = (recon[:, r, :3] for r in rows)
    property_mae = np.abs(space.predict_properties(mu) - labels).mean(axis=0)
    return {
        "recon_lengths_mape": float(100 * np.mean(np.abs(recon_lengths - lengths) / lengths)),
        "recon_angles_mape": float(100 * np.mean(np.abs(recon_angles - angles) / angles)),
        "recon_coords_mae": float(np.mean(np.abs(recon_coords - coords))),
        "recon_element_accuracy": float(np.mean(recon_elements == elements)),
        "recon_n_sites_accuracy": float(np.mean(recon_sites == n_sites)),
        "recon_valid_rate": float(np.mean([decode(m, layout) is not None for m in recon])),
        **{f"property_mae_{name}": float(mae) for name, mae in zip(PROPERTIES, property_mae)},
    }


def measure(space: LatentSpace, test_matrices: np.ndarray, test_labels: np.ndarray,
            config: TrainingConfig) -> dict[str, float]:
    """All quality metrics; prior and box samples are drawn from a generator seeded by ``config.seed``."""
    metrics = reconstruction(space, test_matrices, test_labels)
    if config.quality_samples > 0:
        rng = np.random.default_rng([config.seed, 1])
        n, d = config.quality_samples, space.dim
        prior = valid_rates(space, rng.standard_normal((n, d)))
        box = valid_rates(space, rng.uniform(-SEARCH_BOUND, SEARCH_BOUND, (n, d)))
        metrics |= {"prior_valid_rate": prior[0], "prior_both_valid_rate": prior[1],
                    "box_valid_rate": box[0], "box_both_valid_rate": box[1],
                    "quality_samples": n}
    return metrics
