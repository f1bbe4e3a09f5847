"""The prepared stack: content-addressed and deterministic, batched decode, quality metrics."""

from __future__ import annotations

import json

import pytest
import torch

from crystalbench.harness.errors import UserError
from crystalbench.harness.store import ArtifactStore
from crystalbench.methods.crystal_lsbo.latent_space import LatentSpace, StackConfig, prepare_stack
from crystalbench.methods.crystal_lsbo.representation import N_CLASSES
from tests.methods.crystal_lsbo.conftest import TINY


def test_decode_is_batched_with_the_expected_shapes(tiny_stack):
    space = LatentSpace.load(tiny_stack)
    z = torch.randn(7, space.config.latent_dim, generator=torch.Generator().manual_seed(0))
    arrays = space.decode_arrays(z)
    assert arrays.lattice.shape == (7, 6) and arrays.coords.shape == (7, 20, 3)
    assert arrays.elements.shape == (7, 20, N_CLASSES)
    assert ((arrays.coords >= 0) & (arrays.coords <= 1)).all()
    structures = space.decode(z)
    assert len(structures) == 7 and any(s is not None for s in structures)


def test_encode_gives_one_latent_per_crystal(tiny_stack, small_dataset):
    space = LatentSpace.load(tiny_stack)
    z = space.encode_structures(small_dataset.structures(range(5)))
    assert z.shape == (5, 20) and torch.isfinite(z).all()


def test_quality_metrics_are_recorded(tiny_stack):
    quality = json.loads((tiny_stack / "quality.json").read_text())
    for key in ("prior_valid_rate", "prior_structurally_valid_rate", "heldout_element_accuracy",
                "heldout_lattice_length_mae_A", "heldout_coord_mae", "heldout_formation_energy_mae"):
        assert 0 <= quality[key] < float("inf"), key


def test_prepare_is_deterministic_and_shares_the_part_vaes(tiny_stack, small_dataset, tmp_path):
    store = ArtifactStore(tmp_path)
    again = prepare_stack(store, small_dataset, StackConfig(**TINY))
    assert again.name == tiny_stack.name, "same data and settings, same content address"
    for name in ("parts.pt", "combined.pt"):
        a, b = (torch.load(d / name, weights_only=True) for d in (tiny_stack, again))
        flat_a = a if name == "combined.pt" else {f"{p}.{k}": v for p, s in a.items() for k, v in s.items()}
        flat_b = b if name == "combined.pt" else {f"{p}.{k}": v for p, s in b.items() for k, v in s.items()}
        assert all(torch.equal(flat_a[k], flat_b[k]) for k in flat_a), name
    assert json.loads((again / "quality.json").read_text())["prior_valid_rate"] == \
        json.loads((tiny_stack / "quality.json").read_text())["prior_valid_rate"]
    other = prepare_stack(store, small_dataset, StackConfig(**TINY | {"latent_dim": 16, "beta": 0.1}))
    assert other != again and len(list((tmp_path / "crystal_lsbo_parts").iterdir())) == 1
    assert LatentSpace.load(other).config.latent_dim == 16


def test_settings_written_as_int_or_float_share_one_artifact_key():
    assert StackConfig(w=5, beta=1).part_key() == StackConfig(w=5.0, beta=1.0).part_key()
    assert StackConfig(w=5) == StackConfig(w=5.0) and isinstance(StackConfig(w=5).w, float)
    for bad in ({"latent_dim": 2.5}, {"beta": "0.1"}, {"w": True}):
        with pytest.raises(UserError, match=f"stack.{next(iter(bad))}: input should be a valid"):
            StackConfig(**bad)
