"""CD-VAE parameters: bad ones are one-line UserErrors before any data or training; the split is stable."""

from __future__ import annotations

import pytest

from crystalbench.harness.errors import UserError
from crystalbench.harness.store import ArtifactStore
from crystalbench.methods.cdvae import prepare_cdvae
from crystalbench.methods.cdvae.config import CdvaeConfig
from crystalbench.methods.cdvae.training import split
from tests.helpers import task_view


@pytest.mark.parametrize(("params", "message"), [
    ({"epochs": 0}, "epochs must be a positive integer"),
    ({"latent_dim": 2.5}, "cdvae.latent_dim: input should be a valid integer, got 2.5"),
    ({"lr": "fast"}, "cdvae.lr: input should be a valid number, got 'fast'"),
    ({"lr": float("nan")}, "cdvae.lr must be a positive number"),
    ({"sigma_begin": 0.001}, "sigma_begin (0.001) must exceed sigma_end"),
    ({"test_fraction": 1.0}, "test_fraction must be in (0, 1)"),
    ({"compounds": ["NaCl", "XeF"]}, "compounds must be problems of task csp26, got XeF"),
    ({"compounds": "NaCl"}, "cdvae.compounds: input should be a valid tuple"),
    ({"epoch": 3}, "cdvae: unknown parameter 'epoch'"),
])
def test_bad_parameters_are_one_line_user_errors_before_anything_is_built(params, message, tmp_path):
    with pytest.raises(UserError) as caught:
        prepare_cdvae(ArtifactStore(tmp_path), None, task_view("csp26"), params)
    assert message in str(caught.value) and "\n" not in str(caught.value)
    assert list(tmp_path.iterdir()) == [], "nothing built for a rejected configuration"


def test_the_method_rejects_bad_model_parameters_when_the_spec_is_read():
    from crystalbench.api import registry

    with pytest.raises(UserError, match=r"methods\[0\] \(cdvae\): cdvae: unknown parameter 'layers'"):
        registry.construct(registry.get_method("cdvae"), {"model": {"layers": 2}}, "methods[0]")


def test_config_key_round_trips_through_params():
    config = CdvaeConfig.from_params({"epochs": 5, "compounds": ["Si", "C"]})
    assert CdvaeConfig.from_params(config.key()) == config


def test_held_out_split_follows_the_ids_not_their_order():
    ids = [f"csp26-NaCl-{i}" for i in range(200)]
    train, test = split(ids, 0.1)
    assert sorted(train + test) == list(range(200)) and 5 <= len(test) <= 40
    held = {ids[p] for p in test}
    shuffled = ids[::-1] + ["csp26-Si-extra"]
    assert {shuffled[p] for p in split(shuffled, 0.1)[1]} - {"csp26-Si-extra"} == held
