"""FTCP-VAE shapes: any row count (padded to a multiple of 4 inside), outputs in [0, 1]."""

from __future__ import annotations

import pytest
import torch

from crystalbench.methods.ftcp.vae import FTCPVAE, vae_loss


@pytest.mark.parametrize("n_rows", [145, 148, 23])
def test_shapes_round_trip_for_any_row_count(n_rows):
    model = FTCPVAE(n_rows, 63, latent_dim=16, n_properties=2).eval()
    x = torch.rand(5, n_rows, 63)
    mu, log_var = model.encode(x)
    assert mu.shape == log_var.shape == (5, 16)
    x_hat = model.decode(mu)
    assert x_hat.shape == (5, n_rows, 63) and 0 <= x_hat.min() and x_hat.max() <= 1
    assert model.predict_properties(mu).shape == (5, 2)
    out = model(x, torch.zeros(5, 16))
    assert torch.equal(out[0], x_hat), "zero noise decodes the mean"


def test_loss_sums_reconstruction_and_averages_kl():
    x = torch.zeros(2, 3, 4)
    y = torch.zeros(2, 2)
    mu, log_var = torch.ones(2, 5), torch.zeros(2, 5)
    loss = vae_loss(x, x + 0.5, y, y + 1, mu, log_var, kl_weight=2.0, property_weight=10.0)
    assert float(loss) == pytest.approx(2 * 3 * 4 * 0.25 + 2.0 * 0.5 + 10.0 * 4)
