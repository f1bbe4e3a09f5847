"""The surrogate's two losses on real latents: conservatism lowers over-estimation, α follows the dual rule."""

from __future__ import annotations

import pytest
import torch

from crystalbench.methods.lcom.artifact import SurrogateConfig
from crystalbench.methods.lcom.codec import LatentCodec
from crystalbench.methods.lcom.combined_codec import CombinedVAECodec
from crystalbench.methods.lcom.descent import descend
from crystalbench.methods.lcom.surrogate import Surrogate
from crystalbench.methods.lcom.training import Conservatism, over_estimation_gap, train_surrogate
from crystalbench.methods.lcom.training_set import TrainingSet, training_set
from tests.helpers import task_view
from tests.methods.lcom.conftest import TINY_SURROGATE


@pytest.fixture(scope="module")
def codec(surrogates) -> LatentCodec:
    from crystalbench.methods.lcom.artifact import load_latent

    return CombinedVAECodec.load(load_latent(surrogates["sl", "electronegativity"]).directory)


@pytest.fixture(scope="module")
def data(lcom_store, small_dataset, codec) -> TrainingSet:
    """Electronegativity of the small dataset's crystals in the tiny Combined-VAE space."""
    return training_set(task_view("electronegativity").labelled_set(lcom_store, small_dataset), codec)


def trained(data: TrainingSet, conservatism: Conservatism | None, epochs: int = 20) -> tuple[Surrogate, list]:
    config = SurrogateConfig(**TINY_SURROGATE)
    surrogate = Surrogate.seeded(0, latent_dim=data.z.shape[1], condition_dim=0, hidden=config.hidden,
                                 direction=data.direction, z_mean=data.z.mean(0), z_std=data.z.std(0),
                                 y_mean=float(-data.values.mean()), y_std=float(data.values.std()))
    u = surrogate.standardise(data.z)
    log = train_surrogate(surrogate, u, data.c, surrogate.standardise_values(data.values), epochs,
                          config.batch_size, config.lr, torch.Generator().manual_seed(0), conservatism)
    return surrogate, log


def test_the_training_set_is_every_encodable_dataset_crystal_with_a_value(data, small_dataset):
    assert data.z.shape == (len(data.values), 20) and data.c.shape == (len(data.values), 0)
    assert 200 < len(data.values) <= len(small_dataset)
    assert data.direction == "max" and torch.isfinite(data.values).all()
    assert 0.5 < float(data.values.min()) and float(data.values.max()) < 4.0, "Pauling electronegativities"


def test_conservatism_pushes_the_surrogate_up_on_its_own_optimised_latents(data):
    sl, _ = trained(data, None)
    lcom, log = trained(data, Conservatism(adversarial_steps=10))
    u_sl, u_lcom = sl.standardise(data.z), lcom.standardise(data.z)
    gap_sl = over_estimation_gap(sl, u_sl, data.c, 10, 0.05)
    gap_lcom = over_estimation_gap(lcom, u_lcom, data.c, 10, 0.05)
    assert gap_sl > 0.5, f"plain regression lets descent find latents it scores far below the data ({gap_sl})"
    assert gap_lcom < 0.5 * gap_sl, (gap_lcom, gap_sl)
    # both still fit the data: conservatism is a regulariser, not a different target
    assert log.mse[-1] < 0.8 and log.mse[-1] < log.mse[0]


def test_alpha_follows_the_lagrangian_dual(data):
    _, loose = trained(data, Conservatism(tau=50.0, adversarial_steps=5), epochs=3)
    _, strict = trained(data, Conservatism(tau=1e-3, adversarial_steps=5), epochs=3)
    assert all(g < 50.0 for g in loose.gap) and loose.alpha[0] < 1.0 and loose.alpha[-1] < loose.alpha[0], \
        "a gap under tau shrinks alpha"
    assert all(g > 1e-3 for g in strict.gap) and strict.alpha[0] > 1.0 and strict.alpha[-1] > strict.alpha[0], \
        "a gap over tau grows alpha"


def test_descent_lowers_the_surrogate_energy_and_moves_only_the_latent(data):
    surrogate, _ = trained(data, None, epochs=5)
    surrogate.zero_grad(set_to_none=True)
    before = {k: v.clone() for k, v in surrogate.state_dict().items()}
    u0 = surrogate.standardise(data.z[:8])
    path = descend(surrogate, u0, data.c[:8], steps=12, step_size=0.02)
    assert path.energies.shape == (13, 8) and path.path.shape == (13, 8, 20)
    assert torch.equal(path.path[0], u0)
    with torch.no_grad():
        assert torch.allclose(path.energies[0], surrogate(u0, data.c[:8]))
    mean = path.energies.mean(1)
    assert (mean[1:] <= mean[:-1] + 1e-4).all(), "small steps descend monotonically on average"
    assert all(p.grad is None for p in surrogate.parameters())
    assert all(torch.equal(before[k], v) for k, v in surrogate.state_dict().items())


def test_the_surrogate_turns_energies_back_into_task_values():
    maximised = Surrogate(latent_dim=2, condition_dim=0, hidden=4, direction="max", z_mean=torch.zeros(2),
                          z_std=torch.ones(2), y_mean=-2.0, y_std=0.5)
    values = torch.tensor([1.5, 2.0, 3.0])
    energies = maximised.standardise_values(values)
    assert torch.allclose(maximised.value(energies), values)
    assert energies[2] < energies[0], "a higher value of a maximised task is a lower energy"
