"""The csp26 side of lcom/sl without an energy model: the composition condition and the CD-VAE codec."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from crystalbench.methods.cdvae.config import CdvaeConfig
from crystalbench.methods.cdvae.training import train
from crystalbench.methods.lcom.cdvae_codec import CdvaeCodec
from crystalbench.methods.lcom.composition import MAX_Z, element_fractions
from crystalbench.tasks.csp.compounds import polymorphs
from crystalbench.tasks.csp.training_data import generate_structures
from tests.methods.lcom.conftest import TINY_CDVAE


@pytest.fixture(scope="module")
def codec() -> CdvaeCodec:
    """A tiny CD-VAE trained in seconds on the unlabelled NaCl structures of the csp26 training-data generator."""
    structures = [s for _, s in generate_structures("NaCl", np.random.default_rng(0))]
    model, _ = train(structures, CdvaeConfig.from_params(TINY_CDVAE | {"compounds": ["NaCl"]}))
    return CdvaeCodec(model.eval())


def test_element_fractions_describe_the_composition():
    rocksalt, zincblende = polymorphs("NaCl")["rocksalt"], polymorphs("ZnO")["zinc_blende"]
    c = element_fractions([rocksalt, zincblende])
    assert c.shape == (2, MAX_Z) and torch.allclose(c.sum(1), torch.ones(2))
    assert c[0, 10] == 0.5 and c[0, 16] == 0.5, "Na (Z 11) and Cl (Z 17)"
    assert c[1, 29] == 0.5 and c[1, 7] == 0.5, "Zn (Z 30) and O (Z 8)"
    assert torch.equal(element_fractions([rocksalt * (2, 1, 1)]), c[:1]), "a supercell has the same condition"


def test_the_cdvae_codec_decodes_with_the_starts_species(codec):
    start = polymorphs("NaCl")["rocksalt"] * (2, 1, 1)
    z = codec.encode([start, start])
    assert z.shape == (2, codec.latent_dim) and torch.allclose(z[0], z[1], atol=1e-5)
    assert codec.condition([start]).shape == (1, codec.condition_dim)
    decoded = codec.decode(z, [start, start], torch.Generator().manual_seed(0))
    again = codec.decode(z, [start, start], torch.Generator().manual_seed(0))
    for s, t in zip(decoded, again, strict=True):
        assert (s is None) == (t is None)
        if s is not None:
            assert sorted(site.specie.symbol for site in s) == sorted(site.specie.symbol for site in start)
            assert np.allclose(s.frac_coords, t.frac_coords), "equal generator states decode equally"
