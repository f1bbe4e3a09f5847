"""CdvaeModel: encode/decode shapes, determinism, cell-setting invariance, valid decodes with the asked species."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from pymatgen.core import Structure

from crystalbench.harness.crystal import is_structurally_valid
from crystalbench.methods.cdvae import CdvaeModel
from crystalbench.tasks.csp.compounds import polymorphs

NACL_8 = ["Na"] * 4 + ["Cl"] * 4


@pytest.fixture(scope="module")
def model(tiny_model_dir) -> CdvaeModel:
    return CdvaeModel.load(tiny_model_dir)


def test_encode_gives_deterministic_posterior_means(model, tiny_structures):
    z = model.encode(tiny_structures[:5])
    assert z.shape == (5, model.latent_dim) == (5, 8)
    assert torch.equal(z, model.encode(tiny_structures[:5]))
    assert torch.isfinite(z).all() and not torch.allclose(z[0], z[1])


def test_encode_does_not_depend_on_the_cell_setting(model):
    rocksalt = polymorphs("NaCl")["rocksalt"]
    other_cell = Structure.from_sites(rocksalt.sites)
    other_cell.make_supercell([[1, 1, 0], [0, 1, 0], [0, 0, 1]])  # same lattice, a sheared basis
    other_cell.rotate_sites(theta=0.7, axis=[1, 2, 3])
    torch.testing.assert_close(model.encode([other_cell]), model.encode([rocksalt]), atol=1e-4, rtol=1e-4)


def test_decode_is_reproducible_under_a_fixed_generator(model, tiny_structures):
    z = model.encode(tiny_structures[:3])
    species = [[site.specie.symbol for site in s] for s in tiny_structures[:3]]
    first = model.decode(z, species, torch.Generator().manual_seed(7))
    again = model.decode(z, species, torch.Generator().manual_seed(7))
    other = model.decode(z, species, torch.Generator().manual_seed(8))
    assert [s is None for s in first] == [s is None for s in again]
    decoded = [(a, b) for a, b in zip(first, again, strict=True) if a is not None]
    assert decoded, "the tiny model decodes at least one of three crystals"
    for a, b in decoded:
        np.testing.assert_array_equal(a.frac_coords, b.frac_coords)
        np.testing.assert_array_equal(a.lattice.matrix, b.lattice.matrix)
    assert any(o is not None and not np.allclose(o.frac_coords, a.frac_coords)
               for o, a in zip(other, first, strict=True) if a is not None)


def test_decode_returns_valid_crystals_with_the_requested_species(model):
    z = torch.zeros(6, model.latent_dim)
    species = [["Na", "Cl"], NACL_8, ["Si", "Si"], ["Si"] * 4, ["Cl", "Na"], ["Na", "Cl"]]
    decoded = model.decode(z, species, torch.Generator().manual_seed(0))
    assert len(decoded) == 6 and any(s is not None for s in decoded)
    for structure, asked in zip(decoded, species, strict=True):
        if structure is not None:
            assert [site.specie.symbol for site in structure] == asked
            assert is_structurally_valid(structure)


def test_decode_rejects_a_species_list_per_latent_mismatch(model):
    with pytest.raises(ValueError, match="2 latents but 1 species"):
        model.decode(torch.zeros(2, model.latent_dim), [["Na", "Cl"]], torch.Generator())


def test_loaded_weights_reproduce_the_saved_model(tiny_model_dir, tiny_structures, model):
    state = torch.load(tiny_model_dir / "model.pt", weights_only=True)
    assert "sigmas" in state and state["sigmas"].shape == (4,)
    again = CdvaeModel.load(tiny_model_dir)
    assert torch.equal(again.encode(tiny_structures[:2]), model.encode(tiny_structures[:2]))
