"""Latent-space quality of a trained stack, computed at prepare time (Crystal-LSBO §3.5, §5.1).

* validity of decodes of z ~ N(0, I) (the paper: 93% for the Combined-VAE, 49% for FTCP-VAE),
  and of the stricter checks: structural validity (``harness.crystal``: minimum distance ≥ 0.5 Å,
  ≥ 0.1 Å³ per atom), and that plus compositional validity (SMACT);
* held-out reconstruction through the whole stack (x -> z -> x̂): element accuracy over
  occupied slots, exact site-count rate, lattice MAE (Å, degrees), coordinate MAE;
* property-predictor MAE of the Combined-VAE predictor on held-out crystals (eV/atom, eV).
"""

from __future__ import annotations

import numpy as np
import torch

from crystalbench.api import is_compositionally_valid, is_structurally_plausible
from crystalbench.methods.crystal_lsbo.latent_space import LatentSpace
from crystalbench.methods.crystal_lsbo.representation import EMPTY, P1Arrays


def prior_validity(space: LatentSpace, n: int, rng: np.random.Generator) -> dict[str, float]:
    """Rates over ``n`` decodes of z ~ N(0, I): valid, structurally valid, and also compositionally valid."""
    z = torch.as_tensor(rng.standard_normal((n, space.config.latent_dim)), dtype=torch.float32)
    structures = space.decode(z)
    valid = [s for s in structures if s is not None]
    structural = [s for s in valid if is_structurally_plausible(s)]
    return {
        "prior_valid_rate": len(valid) / n,
        "prior_structurally_valid_rate": len(structural) / n,
        "prior_both_valid_rate": sum(is_compositionally_valid(s) for s in structural) / n,
        "prior_unique_formulas": len({s.composition.reduced_formula for s in valid}),
    }


def reconstruction(space: LatentSpace, arrays: P1Arrays, y: np.ndarray) -> dict[str, float]:
    """Whole-stack reconstruction and property MAE on held-out crystals (arrays (N, ...), y (N, 2))."""
    z = space.encode(arrays)
    out = space.decode_arrays(z)
    true_cls, pred_cls = arrays.elements.argmax(-1), out.elements.argmax(-1)
    occupied = (true_cls != EMPTY) | (pred_cls != EMPTY)
    sites = true_cls != EMPTY
    lattice_err = np.abs(out.lattice - arrays.lattice)
    with torch.no_grad():
        pred = space.combined.predictor(z) * space.stats["y_std"] + space.stats["y_mean"]
    prop_err = np.abs(pred.numpy() - y)
    return {
        "heldout_element_accuracy": float((true_cls == pred_cls)[occupied].mean()),
        "heldout_site_count_exact": float(((pred_cls != EMPTY).sum(-1) == sites.sum(-1)).mean()),
        "heldout_lattice_length_mae_A": float(lattice_err[:, :3].mean()),
        "heldout_lattice_angle_mae_deg": float(lattice_err[:, 3:].mean()),
        "heldout_coord_mae": float(np.abs(out.coords - arrays.coords)[sites].mean()),
        "heldout_formation_energy_mae": float(np.nanmean(prop_err[:, 0])),
        "heldout_band_gap_mae": float(np.nanmean(prop_err[:, 1])),
    }


def latent_quality(space: LatentSpace, heldout: P1Arrays, y: np.ndarray, rng: np.random.Generator) -> dict[str, float]:
    """All the metrics above, as one flat dict (written to ``quality.json`` in the stack artifact)."""
    return prior_validity(space, space.config.quality_samples, rng) | reconstruction(space, heldout, y)
